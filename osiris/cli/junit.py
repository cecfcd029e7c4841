"""JUnit XML for CI dashboards: a suite per host, a case per check.

The caller checks the path before scanning (:func:`osiris.cli.output.check_output`);
the file is written whole or not at all, replacing an existing one only with ``force``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from osiris.cli.output import written_whole
from osiris.model import HostOutcome, Status


def write_junit(outcomes: Sequence[HostOutcome], path: Path, *, force: bool = False) -> None:
    """fail/warning -> <failure>, error -> <error>, na -> <skipped>."""
    suites = ET.Element("testsuites", name="osiris")
    for outcome in sorted(outcomes, key=lambda o: o.host.name):
        results = sorted(outcome.results, key=lambda r: r.check_id)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=outcome.host.name,
            tests=str(len(results)),
            failures=str(sum(r.status in (Status.FAIL, Status.WARNING) for r in results)),
            errors=str(sum(r.status is Status.ERROR for r in results)),
            skipped=str(sum(r.status is Status.NA for r in results)),
            time=f"{outcome.duration_ms / 1000:.3f}",
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=outcome.host.name,
                name=result.check_id,
                time=f"{result.duration_ms / 1000:.3f}",
            )
            if result.status in (Status.FAIL, Status.WARNING):
                ET.SubElement(case, "failure", type=result.status.value, message=result.reason)
            elif result.status is Status.ERROR:
                ET.SubElement(case, "error", message=result.reason)
            elif result.status is Status.NA:
                ET.SubElement(case, "skipped", message=result.reason)
    with written_whole(path, force=force) as output:
        ET.ElementTree(suites).write(output.temporary, encoding="utf-8", xml_declaration=True)
