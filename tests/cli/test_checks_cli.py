"""`osiris checks list|show|lint|docs`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from osiris.catalog import default_catalog_dir, load_catalog
from osiris.catalog.docs import render_markdown

REPO = Path(__file__).resolve().parents[2]


def test_docs_checks_md_is_in_sync_with_the_catalog() -> None:
    committed = (REPO / "docs" / "checks.md").read_text()
    assert committed == render_markdown(load_catalog()), (
        "docs/checks.md is stale: run `osiris checks docs -o docs/checks.md`"
    )


def test_list_filters_and_show(osiris) -> None:
    listed = json.loads(osiris("checks", "list", "--platform", "windows", "--json").stdout)
    assert listed and all(c["platform"] == "windows" for c in listed)
    pci = json.loads(osiris("checks", "list", "--framework", "pci_dss", "--json").stdout)
    assert pci and all(c["references"]["pci_dss"] for c in pci)
    shown = json.loads(osiris("checks", "show", "lnx_firewall", "--json").stdout)
    assert shown["id"] == "lnx_firewall" and "nft" in shown["probe"]["script"]
    missing = osiris("checks", "show", "lnx_nope")
    assert missing.returncode == 2 and "unknown check id 'lnx_nope'" in missing.stderr


def test_lint_of_the_shipped_catalog_is_clean(osiris) -> None:
    result = osiris("checks", "lint")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("checks: clean")


def test_lint_reports_every_problem_at_once(osiris, tmp_path: Path) -> None:
    catalog = tmp_path / "checks"
    shutil.copytree(default_catalog_dir(), catalog)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(
        "\n".join(repr(c.id) for c in load_catalog() if c.id != "lnx_suid_files")
    )
    firewall = catalog / "lnx_firewall.yaml"
    firewall.write_text(firewall.read_text().replace("SC-7(5)", "SC-7(99)"))
    smb = catalog / "win_smbv1.yaml"
    text = smb.read_text()
    smb.write_text(text.replace("  script: |\n", "  script: |\n    if ($x {\n", 1))
    result = osiris("checks", "lint", "--dir", str(catalog))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("lnx_firewall.yaml:" in line and "'SC-7(99)'" in line for line in lines)
    assert any(
        "win_smbv1.yaml: probe.script: PowerShell syntax error at line" in line for line in lines
    )
    assert any("no test under" in line and "'lnx_suid_files'" in line for line in lines)
