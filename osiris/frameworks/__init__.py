"""The registry of framework control ids that citations are checked against.

Six frameworks, one data file each under ``data/``: HIPAA Security Rule, NIST SP 800-53
Rev. 5 and CSF 2.0 (ids with titles, public domain), CIS Controls v8, PCI DSS 4.0 and
SOC 2 TSC (ids only). See :mod:`osiris.frameworks.registry` for the API.
"""

from osiris.frameworks.loader import FrameworkFile, load_framework_file
from osiris.frameworks.model import Control, Framework, FrameworkId
from osiris.frameworks.registry import (
    Registry,
    UnknownControlError,
    UnknownFrameworkError,
    load_registry,
)

__all__ = [
    "Control",
    "Framework",
    "FrameworkFile",
    "FrameworkId",
    "Registry",
    "UnknownControlError",
    "UnknownFrameworkError",
    "load_framework_file",
    "load_registry",
]
