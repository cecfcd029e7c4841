"""The framework ids, the shape of a control id per framework, and the records.

These are the six keys a check uses under ``references:``. The id patterns live here,
in code, so a data file cannot loosen the format it is checked against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class FrameworkId(StrEnum):
    """A framework the registry knows; the value is the key used under ``references:``."""

    HIPAA = "hipaa"
    NIST_800_53 = "nist_800_53"
    NIST_CSF = "nist_csf"
    CIS_V8 = "cis_v8"
    PCI_DSS = "pci_dss"
    SOC2 = "soc2"


# The form of a control id, per framework (full match), as checks write them: no zero
# padding ("AC-6(2)", not "AC-06(02)"; "4.3", not "4.03"). Examples in comments.
ID_PATTERNS: dict[FrameworkId, re.Pattern[str]] = {
    # 164.312, 164.312(a), 164.312(a)(2)(iv), 164.308(a)(1)(ii)(B)
    FrameworkId.HIPAA: re.compile(
        r"164\.3(?:0[2468]|1[02468])(?:\([a-z]\)(?:\([1-9]\)(?:\((?:i|ii|iii|iv|v)\)(?:\([A-E]\))?)?)?)?"
    ),
    # AC-6, AC-6(2), SC-28(1)
    FrameworkId.NIST_800_53: re.compile(r"[A-Z]{2}-[1-9]\d?(?:\([1-9]\d?\))?"),
    # PR, PR.AA, PR.AA-01
    FrameworkId.NIST_CSF: re.compile(r"(?:GV|ID|PR|DE|RS|RC)(?:\.[A-Z]{2}(?:-\d{2})?)?"),
    # 4, 4.3, 18.5
    FrameworkId.CIS_V8: re.compile(r"(?:1[0-8]|[1-9])(?:\.[1-9]\d?)?"),
    # 8, 8.3, 8.3.6, 8.3.10.1, 9.5.1.2.1, A1.1.1
    FrameworkId.PCI_DSS: re.compile(r"(?:1[0-2]|[1-9]|A[1-3])(?:\.[1-9]\d?){0,4}"),
    # CC6.1, A1.2, C1.1, PI1.5, P6.7
    FrameworkId.SOC2: re.compile(r"(?:CC[1-9]|A1|C1|PI1|P[1-8])\.[1-9]"),
}


# The ``kind`` values a framework's data file may give a control; absent: no kinds.
KINDS: dict[FrameworkId, frozenset[str]] = {
    FrameworkId.HIPAA: frozenset({"section", "paragraph", "standard", "required", "addressable"}),
}


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework as its data file describes it."""

    id: FrameworkId
    name: str
    version: str
    source: str  # where the id list (and titles, if any) came from
    has_titles: bool  # False: ids only (CIS, PCI DSS, SOC 2 text is not ours to ship)


@dataclass(frozen=True, slots=True)
class Control:
    """One citable control id. ``title`` is None exactly when the framework ships ids only.

    ``kind`` is an optional classifier from the data file; for HIPAA it is one of
    ``section``, ``paragraph``, ``standard``, ``required``, ``addressable``.
    """

    framework: FrameworkId
    id: str
    title: str | None
    kind: str | None = None
