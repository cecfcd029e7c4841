"""`osiris checks lint`: everything wrong with a catalog directory, not just the first.

Looks at: each file's schema, conditions and citations (the loader's own validation),
duplicate ids, PowerShell syntax of Windows probes (inside the bundle they run in), that
every runbook fixing a check either follows each threshold the check compares or says
why not (``not_following``), and, in a checkout, that a test under tests/ names every
check. It sits above the catalog, the scan layer (it checks probes inside the bundle the
scan engine builds) and heal's runbook registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from osiris.catalog.loader import Catalog, load_catalog, load_check
from osiris.catalog.model import Check
from osiris.catalog.powershell import parse_problem, parser_available, powershell7_constructs
from osiris.errors import InputError
from osiris.heal.runbooks import RunbookRegistry, load_runbooks
from osiris.model import Platform
from osiris.scan.bundle import build_bundle


def lint(
    directory: Path, tests_dir: Path | None = None, playbooks_dir: Path | None = None
) -> list[str]:
    """One line per problem; an empty list means the catalog is clean. The runbooks in
    ``playbooks_dir`` (default: the shipped ones) are linted against a catalog that
    loads."""
    problems: list[str] = []
    checks: dict[str, Check] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            check = load_check(path)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if check.id in checks:
            problems.append(f"{path}: id: duplicate check id '{check.id}'")
        checks[check.id] = check
    if not checks and not problems:
        problems.append(f"{directory}: no checks found")
    problems.extend(_powershell_problems(checks.values()))
    if checks and not problems:
        problems.extend(_runbook_lint(directory, playbooks_dir))
    if tests_dir is not None and tests_dir.is_dir():
        problems.extend(_untested(checks.values(), tests_dir))
    return problems


def _runbook_lint(directory: Path, playbooks_dir: Path | None) -> list[str]:
    try:
        catalog = load_catalog(directory)
        registry = load_runbooks(catalog, playbooks_dir)
    except InputError as exc:
        return [str(exc)]
    return runbook_problems(catalog, registry)


def runbook_problems(catalog: Catalog, registry: RunbookRegistry) -> list[str]:
    """Each threshold a fixed check compares that its runbook neither follows nor names
    in ``not_following``: a fix blind to a site's threshold may never meet its check."""
    problems = []
    for runbook in registry:
        accounted = runbook.spec.thresholds_followed() | set(runbook.spec.not_following)
        for check_id in runbook.spec.fixes:
            for name in sorted(compared_thresholds(catalog.checks[check_id])):
                target = f"{check_id}.{name}"
                if target not in accounted:
                    problems.append(
                        f"{runbook.playbook}: follows: {runbook.id} neither follows '{target}'"
                        " nor says why not (not_following)"
                    )
    return problems


def compared_thresholds(check: Check) -> set[str]:
    """The thresholds the check's evaluate rules compare a fact with."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if set(node) == {"threshold"}:
                found.add(str(node["threshold"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    for rule in check.spec.evaluate:
        walk(rule.when)
    return found


def _powershell_problems(checks: Iterable[Check]) -> list[str]:
    windows = [c for c in checks if c.platform is Platform.WINDOWS]
    if not windows:
        return []
    if not parser_available():
        return ["PowerShell not checked: tree-sitter-powershell is not installed (osiris[test])"]
    found = []
    for check in windows:
        # the probe as it runs: inside the bundle's scriptblock
        bundle = build_bundle(Platform.WINDOWS, [check], "0" * 16)
        problem = parse_problem(bundle)
        if problem:
            found.append(f"{check.source}: probe.script: PowerShell {problem}")
        for construct in powershell7_constructs(bundle):
            found.append(f"{check.source}: probe.script: not PowerShell 5.1: {construct}")
    return found


def _untested(checks: Iterable[Check], tests_dir: Path) -> list[str]:
    text = "\n".join(p.read_text(errors="replace") for p in sorted(tests_dir.rglob("*.py")))
    named = set(re.findall(r"\b(?:lnx|win)_[a-z0-9_]+\b", text))
    return [
        f"{c.source}: id: no test under {tests_dir} names '{c.id}'"
        for c in checks
        if c.id not in named
    ]
