"""Loading the catalog: the shipped checks are valid; bad files name file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.catalog.loader import load_check
from osiris.errors import InputError
from osiris.model import Platform, Status

GOOD = """\
id: lnx_example
title: An example check
description: Shows the format of a check file.
platform: linux
severity: medium
probe:
  context: root
  script: |
    echo '{"count": 3, "mode": "on"}'
facts:
  count: {type: integer}
  mode: {type: string}
thresholds:
  limit: {default: 2, source: "test fixture"}
evaluate:
  - id: over_limit
    status: fail
    when: {fact: count, gt: {threshold: limit}}
    reason: "count {count} is over {threshold.limit}"
  - id: within_limit
    status: pass
    reason: "count {count}"
references:
  hipaa: ["164.312(b)"]
"""


def write(tmp_path: Path, text: str, name: str = "lnx_example.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_catalog_loads_and_covers_both_platforms() -> None:
    catalog = load_catalog()
    assert len(catalog.for_platform(Platform.LINUX)) >= 8
    assert len(catalog.for_platform(Platform.WINDOWS)) >= 8
    for check in catalog:
        assert Path(check.source).stem == check.id


def test_good_check_evaluates_with_thresholds(tmp_path: Path) -> None:
    check = load_check(write(tmp_path, GOOD))
    assert evaluate(check, {"count": 3, "mode": "on"}, {"limit": 2}) == (
        Status.FAIL,
        "count 3 is over 2",
    )
    assert evaluate(check, {"count": 3, "mode": "on"}, {"limit": 5}) == (Status.PASS, "count 3")


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"mode": "on"}, "probe did not report fact 'count'"),
        ({"count": "3", "mode": "on"}, "fact 'count' should be integer, got str"),
        ({"count": True, "mode": "on"}, "fact 'count' should be integer, got bool"),
        ({"count": None, "mode": "on"}, "fact 'count' is null"),
    ],
)
def test_missing_or_mistyped_facts_are_errors_never_pass(
    tmp_path: Path, facts: dict, reason: str
) -> None:
    check = load_check(write(tmp_path, GOOD))
    assert evaluate(check, facts, {"limit": 2}) == (Status.ERROR, reason)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("severity: medium", "severity: severe", 5, "severity", "Input should be"),
        (
            "when: {fact: count,",
            "when: {fact: cuont,",
            18,
            "evaluate.0.when",
            "unknown fact 'cuont'",
        ),
        (
            'over {threshold.limit}"',
            'over {threshold.limt}"',
            19,
            "evaluate.0.reason",
            "unknown threshold 'limt'",
        ),
        (
            "  count: {type: integer}",
            "  count: {type: int}",
            11,
            "facts.count.type",
            "Input should",
        ),
        ("platform: linux", "platform: windows", 1, None, "starts with 'win_'"),
        ('hipaa: ["164.312(b)"]', "hipaa: []", 24, "references.hipaa", "at least 1 item"),
        (
            "  - id: over_limit\n    status: fail",
            "  - status: fail",
            16,
            "evaluate.0.id",
            "Field required",
        ),
        ("id: within_limit", "id: over_limit", 20, "evaluate.1.id", "has the id 'over_limit'"),
        ("id: within_limit", "id: Within-limit", 20, "evaluate.1.id", "should match pattern"),
        (
            "    status: pass\n",
            "    status: pass\n    when: {fact: mode, eq: on}\n",
            1,
            None,
            "last evaluate rule needs no 'when'",
        ),
    ],
)
def test_bad_check_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str | None, message: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(InputError) as caught:
        load_check(path)
    error = caught.value
    assert error.file == str(path)
    assert message in error.message
    assert error.field == field
    if field:
        assert error.line == line


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("severity: medium", "severity: [medium"))
    with pytest.raises(InputError, match=r"lnx_example.yaml:\d+: invalid YAML"):
        load_check(path)


def test_file_name_must_match_id(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file name must match the id 'lnx_example'"):
        load_check(write(tmp_path, GOOD, name="lnx_other.yaml"))


def test_unknown_check_id_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown check id 'lnx_nope'"):
        load_catalog().select(ids=["lnx_nope"])


def test_a_citation_the_registry_does_not_know_is_a_load_error(tmp_path: Path) -> None:
    text = GOOD.replace('hipaa: ["164.312(b)"]', 'hipaa: ["164.312(b)"]\n  nist_800_53: [AU-8(1)]')
    with pytest.raises(InputError) as caught:
        load_check(write(tmp_path, text))
    assert "unknown nist_800_53 control id 'AU-8(1)'" in caught.value.message
    assert caught.value.line == 25
    assert caught.value.field == "references.nist_800_53.0"
