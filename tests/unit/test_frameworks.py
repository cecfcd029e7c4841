"""The framework-id registry: shipped data, lookups, malformed files, catalog citations."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.model import References
from osiris.errors import InputError
from osiris.frameworks import (
    FrameworkId,
    UnknownControlError,
    UnknownFrameworkError,
    load_framework_file,
    load_registry,
)
from osiris.frameworks.registry import DATA_DIR
from osiris.yamlfile import load_yaml_text


@pytest.fixture(scope="module")
def registry():
    return load_registry()


# --- the shipped data ---------------------------------------------------------------


def test_the_six_framework_keys_are_the_catalog_reference_keys():
    assert [f.value for f in FrameworkId] == list(References.model_fields)


def test_every_framework_loads(registry):
    assert list(registry.frameworks) == list(FrameworkId)
    for fid, framework in registry.frameworks.items():
        assert framework.id is fid
        assert framework.name and framework.version and framework.source
        assert registry.controls(fid), fid


def test_titles_present_exactly_when_the_framework_ships_them(registry):
    for fid, framework in registry.frameworks.items():
        titled = {c.title is not None for c in registry.controls(fid)}
        assert titled == {framework.has_titles}, fid
    assert [f.id for f in registry.frameworks.values() if not f.has_titles] == [
        FrameworkId.CIS_V8,
        FrameworkId.PCI_DSS,
        FrameworkId.SOC2,
    ]


def test_packaged_registry_is_loaded_once(registry):
    assert load_registry() is registry


def test_loading_all_six_files_is_fast():
    best = min(_timed(lambda: load_registry(DATA_DIR)) for _ in range(3))
    assert best < 0.1, f"loading the six framework files took {best * 1000:.0f} ms"


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- spot checks of real ids and titles -----------------------------------------------


@pytest.mark.parametrize(
    ("framework", "control_id", "title"),
    [
        ("hipaa", "164.312(a)(2)(iv)", "Encryption and decryption"),
        ("hipaa", "164.308(a)(1)(ii)(B)", "Risk management"),
        ("hipaa", "164.308(a)(5)", "Security awareness and training"),
        ("hipaa", "164.310(d)(1)", "Device and media controls"),
        ("hipaa", "164.312(e)(1)", "Transmission security"),
        ("hipaa", "164.316(b)(2)(i)", "Time limit"),
        ("nist_800_53", "AC-6", "Least Privilege"),
        ("nist_800_53", "AC-6(2)", "Non-privileged Access for Nonsecurity Functions"),
        ("nist_800_53", "SC-28(1)", "Cryptographic Protection"),
        ("nist_800_53", "SI-2(5)", "Automatic Software and Firmware Updates"),
        ("nist_800_53", "SC-45(1)", "Synchronization with Authoritative Time Source"),
        ("nist_800_53", "SR-12", "Component Disposal"),
        ("nist_csf", "PR", "PROTECT"),
        ("nist_csf", "PR.AA", "Identity Management, Authentication, and Access Control"),
        (
            "nist_csf",
            "PR.AA-01",
            "Identities and credentials for authorized users, services, and hardware are "
            "managed by the organization",
        ),
        (
            "nist_csf",
            "DE.CM-09",
            "Computing hardware and software, runtime environments, and their data are "
            "monitored to find potentially adverse events",
        ),
    ],
)
def test_known_titles(registry, framework, control_id, title):
    control = registry.get(framework, control_id)
    assert (control.framework, control.id, control.title) == (framework, control_id, title)


def test_hipaa_marks_required_and_addressable(registry):
    assert registry.get("hipaa", "164.312(a)(2)(iv)").kind == "addressable"
    assert registry.get("hipaa", "164.308(a)(7)(ii)(A)").kind == "required"
    assert registry.get("hipaa", "164.312(b)").kind == "standard"
    kinds = {c.kind for c in registry.controls("hipaa")}
    assert kinds == {"section", "paragraph", "standard", "required", "addressable"}


def test_ids_only_frameworks(registry):
    assert registry.get("cis_v8", "4.3").title is None
    assert registry.get(FrameworkId.SOC2, "CC6.1").title is None
    assert registry.get("pci_dss", "8.3.6").title is None
    assert registry.knows("pci_dss", "8.3.10.1")
    assert registry.knows("pci_dss", "9.5.1.2.1")


def test_counts_match_the_published_catalogs(registry):
    nist = [c.id for c in registry.controls("nist_800_53")]
    assert len(nist) == 1014  # 5.1.1: controls and enhancements in force
    assert sum("(" not in c for c in nist) == 300
    assert len({c.split("-")[0] for c in nist}) == 20
    csf = [c.id for c in registry.controls("nist_csf")]
    assert [
        sum(1 for c in csf if c.count(".") == 0),
        sum(1 for c in csf if "." in c and "-" not in c),
    ] == [6, 22]
    assert sum("-" in c for c in csf) == 106
    cis = [c.id for c in registry.controls("cis_v8")]
    assert sum("." in c for c in cis) == 153
    assert [c for c in cis if "." not in c] == [str(n) for n in range(1, 19)]
    assert len(registry.controls("soc2")) == 61


# --- unknown ids --------------------------------------------------------------------


def test_unknown_ids_are_reported(registry):
    assert registry.unknown("soc2", ["CC6.1", "CC6.9", "CC6.9", "X"]) == ["CC6.9", "X"]
    assert registry.unknown("nist_800_53", ["AC-6", "AC-6(2)"]) == []
    assert not registry.knows("nist_800_53", "AU-8(1)")  # withdrawn in Rev. 5
    assert not registry.knows("hipaa", "164.308(b)(4)")  # pre-2013 numbering


def test_get_unknown_id_raises_key_error_with_a_hint(registry):
    with pytest.raises(UnknownControlError) as info:
        registry.get("nist_800_53", "AC-06(2)")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "unknown nist_800_53 control id 'AC-06(2)' (did you mean 'AC-6(2)'?)"
    with pytest.raises(UnknownControlError, match=r"'pr\.aa-01'.*'PR\.AA-01'"):
        registry.get("nist_csf", "pr.aa-01")


def test_unknown_framework_raises(registry):
    with pytest.raises(UnknownFrameworkError, match="unknown framework 'iso27001'"):
        registry.knows("iso27001", "A.5.1")


def test_validate_references_names_file_line_and_field(registry):
    text = (
        'id: x\nreferences:\n  hipaa: ["164.312(b)"]\n  nist_800_53:\n    - AU-8\n    - AU-8(1)\n'
    )
    data, lines = load_yaml_text(text, "checks/x.yaml")
    registry.validate_references({"hipaa": ["164.312(b)"]}, file="checks/x.yaml", lines=lines)
    with pytest.raises(InputError) as info:
        registry.validate_references(data["references"], file="checks/x.yaml", lines=lines)
    err = info.value
    assert (err.file, err.line, err.field) == ("checks/x.yaml", 6, "references.nist_800_53.1")
    assert "unknown nist_800_53 control id 'AU-8(1)'" in str(err)


# --- malformed data files -------------------------------------------------------------

_GOOD_HEADER = (
    "framework:\n"
    "  id: soc2\n"
    '  name: "SOC 2"\n'
    '  version: "2017"\n'
    '  source: "test"\n'
    "  titles: false\n"
)


@pytest.mark.parametrize(
    ("body", "line", "field", "message"),
    [
        ('controls:\n  "CC6.1": null\n  "CC6.1": null\n', 9, "controls.CC6.1", "duplicate key"),
        (
            'controls:\n  "CC6.1": null\n  "CC99": null\n',
            9,
            "controls.CC99",
            "not a soc2 control id",
        ),
        ('controls:\n  "CC6.1": "Logical access"\n', 8, "controls.CC6.1", "ids only"),
        ("controls:\n  CC6.1: null\n  6.1: null\n", 9, "controls.6.1", "quoted string"),
        ("controls: {}\n", 7, "controls", "non-empty mapping"),
        ('controls:\n  "CC6.1": null\n  "CC6.2": [null\n', 10, None, "invalid YAML"),
        ('controls:\n  "CC6.1": null\nextra: 1\n', 9, "extra", "unknown key 'extra'"),
    ],
)
def test_malformed_file_gives_file_and_line(tmp_path, body, line, field, message):
    path = tmp_path / "soc2.yaml"
    path.write_text(_GOOD_HEADER + body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_framework_file(path)
    err = info.value
    assert message in err.message
    assert (err.file, err.line, err.field) == (str(path), line, field)


@pytest.mark.parametrize(
    ("header", "line", "field", "message"),
    [
        ("id: soc3", 2, "framework.id", "unknown framework 'soc3'"),
        ("id: cis_v8", 2, "framework.id", "does not match 'soc2'"),
        ("id: soc2\n  owner: me", 3, "framework.owner", "unknown key 'owner'"),
        ('id: soc2\n  titles: "no"', 3, "framework.titles", "true or false"),
    ],
)
def test_malformed_header_gives_file_and_line(tmp_path, header, line, field, message):
    text = _GOOD_HEADER.replace("id: soc2", header)
    if "titles:" in header:
        text = text.replace("  titles: false\n", "")
    path = tmp_path / "soc2.yaml"
    path.write_text(text + 'controls:\n  "CC6.1": null\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_framework_file(path)
    err = info.value
    assert message in err.message
    assert (err.file, err.line, err.field) == (str(path), line, field)


def test_titled_framework_needs_titles_and_known_kinds(tmp_path):
    path = tmp_path / "hipaa.yaml"
    header = _GOOD_HEADER.replace("soc2", "hipaa").replace("titles: false", "titles: true")
    path.write_text(header + 'controls:\n  "164.312(b)": {kind: standard}\n', encoding="utf-8")
    with pytest.raises(InputError, match="needs a title") as info:
        load_framework_file(path)
    assert (info.value.line, info.value.field) == (8, "controls.164.312(b)")
    path.write_text(
        header + 'controls:\n  "164.312(b)": {title: "Audit controls", kind: optional}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="kind 'optional' is not one of") as info:
        load_framework_file(path)
    assert (info.value.line, info.value.field) == (8, "controls.164.312(b).kind")


def test_registry_directory_must_hold_exactly_the_six_files(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    assert load_registry(data).knows("soc2", "CC6.1")
    (data / "iso27001.yaml").write_text("framework: {}\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a framework data file"):
        load_registry(data)
    (data / "iso27001.yaml").unlink()
    (data / "pci_dss.yaml").unlink()
    with pytest.raises(InputError, match="missing") as info:
        load_registry(data)
    assert info.value.file == str(data / "pci_dss.yaml")


def test_a_broken_shipped_file_is_reported_through_load_registry(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "nist_800_53.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, text in enumerate(lines) if text.startswith('  "AC-6(2)"'))
    lines[at] = '  "AC-6(02)": "Non-privileged Access for Nonsecurity Functions"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_registry(data)
    assert (info.value.file, info.value.line) == (str(path), at + 1)
    assert info.value.field == "controls.AC-6(02)"


# --- the whole shipped catalog --------------------------------------------------------


def test_every_catalog_citation_is_known(registry):
    unknown = [
        f"{framework} {control_id} (cited by {check.spec.id})"
        for check in load_catalog()
        for framework, ids in check.spec.references.by_framework().items()
        for control_id in registry.unknown(framework, ids)
    ]
    assert not unknown, (
        "citations the framework registry does not know (fix the check files, or add the id "
        "to osiris/frameworks/data only if the published source has it):\n  " + "\n  ".join(unknown)
    )


def test_data_files_are_where_the_package_ships_them():
    assert sorted(p.name for p in DATA_DIR.glob("*.yaml")) == sorted(
        f"{f.value}.yaml" for f in FrameworkId
    )
    assert Path(__file__).resolve().parents[2] / "osiris" / "frameworks" / "data" == DATA_DIR
