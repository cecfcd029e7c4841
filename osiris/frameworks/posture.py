"""A framework's posture: which of its controls the results show met (docs/scan.md).

Pure: results and citations in, a :class:`FrameworkPosture` out; nothing is read or
written. The scan prints one line per framework from it and the report builds its
control matrix from it::

    citations = catalog_citations(catalog)            # check id -> framework -> ids
    hipaa = posture(results, citations, load_registry(), "hipaa")
    hipaa.line()   # 'HIPAA: 14 of 19 controls met, 3 partly, 2 not met (2 not assessed)'
    for control in hipaa.controls:                     # registry order
        control.control.id, control.status, [t.check_id for t in control.checks]

The rule, for each control a check with at least one result cites:

- **not met** when any result of any citing check is ``fail``;
- else **partly met** when any is ``warning``, or some are ``pass`` and others ``error``;
- else **met** when at least one is ``pass`` (the rest ``na``);
- else **not assessed** (every result ``na`` or ``error``: no citing check decided).

A control is an id as the checks cite it: citing 164.312(a)(2)(iv) says nothing of
164.312(a) as a whole. Registry controls no citing check has a result for are listed in
``not_assessed_by_scanning`` and never counted. An excepted result counts as its true
status: an exception accepts a risk, it does not remove it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from osiris.frameworks.model import Control, Framework, FrameworkId
from osiris.frameworks.registry import Registry
from osiris.model import Status

# What each framework is called in one line of output (the data files hold full names).
SHORT_NAMES: Mapping[FrameworkId, str] = {
    FrameworkId.HIPAA: "HIPAA",
    FrameworkId.NIST_800_53: "NIST 800-53",
    FrameworkId.NIST_CSF: "NIST CSF",
    FrameworkId.CIS_V8: "CIS v8",
    FrameworkId.PCI_DSS: "PCI DSS",
    FrameworkId.SOC2: "SOC 2",
}

# check id -> framework key -> the control ids that check cites there
Citations = Mapping[str, Mapping[str, Sequence[str]]]


class ControlStatus(StrEnum):
    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"
    NOT_ASSESSED = "not_assessed"  # cited, but no citing check decided


class Judged(Protocol):
    """One result, as a scan records it (:class:`osiris.model.CheckResult` is one)."""

    @property
    def host(self) -> str: ...
    @property
    def check_id(self) -> str: ...
    @property
    def status(self) -> Status: ...


class _References(Protocol):
    def by_framework(self) -> dict[str, tuple[str, ...]]: ...


class _Spec(Protocol):
    @property
    def references(self) -> _References: ...


class CitingCheck(Protocol):
    """A catalog check, as far as citations go (:class:`osiris.catalog.model.Check`)."""

    @property
    def id(self) -> str: ...
    @property
    def spec(self) -> _Spec: ...


@dataclass(frozen=True)
class CheckTally:
    """One citing check's results, by status (every host it ran on)."""

    check_id: str
    counts: Mapping[Status, int]


@dataclass(frozen=True)
class ControlPosture:
    control: Control
    status: ControlStatus
    checks: tuple[CheckTally, ...]  # the citing checks with results, by id


@dataclass(frozen=True)
class FrameworkPosture:
    framework: Framework
    controls: tuple[ControlPosture, ...]  # counted: a citing check has results; registry order
    not_assessed_by_scanning: tuple[Control, ...]  # listed, never counted

    def count(self, status: ControlStatus) -> int:
        return sum(1 for c in self.controls if c.status is status)

    @property
    def assessed(self) -> int:
        """Controls decided one way or another (met, partly met or not met)."""
        return len(self.controls) - self.count(ControlStatus.NOT_ASSESSED)

    def line(self) -> str:
        """The line a scan prints, e.g. 'HIPAA: 14 of 19 controls met, 3 partly, 2 not
        met (2 not assessed)'."""
        name = short_name(self.framework.id)
        unknown = f" ({self.count(ControlStatus.NOT_ASSESSED)} not assessed)"
        if not self.assessed:
            return f"{name}: no control assessed{unknown}"
        return (
            f"{name}: {self.count(ControlStatus.MET)} of {self.assessed} controls met,"
            f" {self.count(ControlStatus.PARTLY_MET)} partly,"
            f" {self.count(ControlStatus.NOT_MET)} not met{unknown}"
        )


def short_name(framework: FrameworkId) -> str:
    return SHORT_NAMES[framework]


def catalog_citations(checks: Iterable[CitingCheck]) -> dict[str, dict[str, tuple[str, ...]]]:
    """The citations of catalog checks, as :func:`posture` takes them."""
    return {c.id: c.spec.references.by_framework() for c in checks}


def control_status(statuses: Iterable[Status]) -> ControlStatus:
    """The rule (module docstring) over every result of every citing check."""
    seen = set(statuses)
    if Status.FAIL in seen:
        return ControlStatus.NOT_MET
    if Status.WARNING in seen or {Status.PASS, Status.ERROR} <= seen:
        return ControlStatus.PARTLY_MET
    if Status.PASS in seen:
        return ControlStatus.MET
    return ControlStatus.NOT_ASSESSED


def posture(
    results: Iterable[Judged],
    citations: Citations,
    registry: Registry,
    framework: FrameworkId | str,
) -> FrameworkPosture:
    """The posture of ``framework`` shown by ``results`` (one per host and check, e.g.
    one run's). Citations of checks without results, and results of checks not in
    ``citations``, play no part. An unknown framework raises UnknownFrameworkError."""
    info = registry.framework(framework)
    tallies: dict[str, Counter[Status]] = {}
    for r in results:
        tallies.setdefault(r.check_id, Counter())[r.status] += 1
    citing: dict[str, list[str]] = {}
    for check_id in sorted(tallies):
        for control_id in citations.get(check_id, {}).get(info.id.value, ()):
            citing.setdefault(control_id, []).append(check_id)
    counted, uncounted = [], []
    for control in registry.controls(info.id):
        check_ids = citing.get(control.id)
        if not check_ids:
            uncounted.append(control)
            continue
        checks = tuple(CheckTally(c, dict(tallies[c])) for c in check_ids)
        statuses = (s for t in checks for s, n in t.counts.items() if n)
        counted.append(ControlPosture(control, control_status(statuses), checks))
    return FrameworkPosture(info, tuple(counted), tuple(uncounted))


def postures(
    results: Iterable[Judged], citations: Citations, registry: Registry
) -> list[FrameworkPosture]:
    """The posture of every framework some result speaks to, in registry order."""
    results = list(results)
    found = [posture(results, citations, registry, f) for f in registry.frameworks]
    return [p for p in found if p.controls]
