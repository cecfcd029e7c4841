"""Content shipped beside the code: the check catalog, playbooks, report templates.

In a checkout they sit at the top of the repository; an installed wheel carries copies
under ``osiris/_data/`` (see setup.py).
"""

from __future__ import annotations

from pathlib import Path

from osiris.errors import OsirisError

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The directory ``name`` (``checks``, ``playbooks`` or ``reports``)."""
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise OsirisError(f"the shipped '{name}/' directory was not found (broken install?)")
