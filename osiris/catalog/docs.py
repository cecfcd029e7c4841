"""docs/checks.md, generated from the catalog and the framework registry.

`osiris checks docs --output docs/checks.md` writes it; a test keeps the committed file
in sync, so the documentation cannot drift from the checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from osiris.catalog.loader import Catalog
from osiris.catalog.model import Check
from osiris.frameworks import FrameworkId, Registry, load_registry
from osiris.model import Platform

_FRAMEWORK_LABELS = {
    FrameworkId.NIST_800_53: "NIST SP 800-53 r5",
    FrameworkId.NIST_CSF: "NIST CSF 2.0",
    FrameworkId.CIS_V8: "CIS Controls v8",
    FrameworkId.PCI_DSS: "PCI DSS 4.0",
    FrameworkId.SOC2: "SOC 2 TSC",
}


def render_markdown(catalog: Catalog, registry: Registry | None = None) -> str:
    """The whole document, deterministic for a given catalog."""
    registry = registry or load_registry()
    parts = [
        "# The check catalog\n",
        "Generated from `checks/` by `osiris checks docs`; do not edit by hand.\n",
        "Statuses: pass, warning, fail, error (could not decide), na (does not apply).\n",
    ]
    for platform in Platform:
        checks = catalog.for_platform(platform)
        parts.append(f"\n## {platform.value.capitalize()} ({len(checks)} checks)\n")
        parts.append(_summary_table(checks))
        parts.extend(_section(check, registry) for check in checks)
    return "\n".join(parts)


def _summary_table(checks: Iterable[Check]) -> str:
    rows = ["| check | title | severity | roles | HIPAA |", "|---|---|---|---|---|"]
    for check in checks:
        roles = ", ".join(check.spec.applies.roles) or "all"
        hipaa = ", ".join(check.spec.references.hipaa)
        rows.append(
            f"| [`{check.id}`](#{check.id}) | {_cell(check.spec.title)} |"
            f" {check.spec.severity.value} | {roles} | {hipaa} |"
        )
    return "\n".join(rows) + "\n"


def _section(check: Check, registry: Registry) -> str:
    spec = check.spec
    lines = [
        f"\n### {check.id}\n",
        f"**{spec.title}** ({spec.severity.value})\n",
        spec.description.strip() + "\n",
    ]
    lines.append(f"- Probe reads: {spec.probe.context}")
    if spec.applies.roles:
        lines.append(f"- Applies to: {', '.join(spec.applies.roles)}")
    if spec.applies.requires:
        lines.append(
            f"- Needs: {', '.join(spec.applies.requires)} (absent: {spec.applies.when_missing})"
        )
    statuses = ", ".join(dict.fromkeys(rule.status.value for rule in check.rules))
    lines.append(f"- Can report: {statuses}")
    for name, threshold in spec.thresholds.items():
        lines.append(f"- Threshold `{name}` = `{threshold.default}` (source: {threshold.source})")
    lines.append(
        "- HIPAA: "
        + "; ".join(
            f"{cid} {registry.get(FrameworkId.HIPAA, cid).title}" for cid in spec.references.hipaa
        )
    )
    for framework, label in _FRAMEWORK_LABELS.items():
        ids = spec.references.by_framework()[framework.value]
        if ids:
            lines.append(f"- {label}: {', '.join(ids)}")
    if spec.guidance:
        lines.append(f"- Fix: {spec.guidance.strip()}")
    if spec.remediation:
        lines.append(f"- Runbook (`osiris heal`): `{spec.remediation}`")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
