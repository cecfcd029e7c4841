"""Osiris: HIPAA Security Rule compliance for the hosts of small healthcare practices.

Scan hosts against a check catalog, heal drift, and keep signed evidence. The layers,
from the bottom: ``model`` (statuses, ids, boundary dataclasses), then ``config``,
``inventory``, ``transport``, ``catalog``, ``store``, then ``scan``, then ``cli``.
Imports point down only.
"""

__version__ = "0.1.0"
