"""`osiris l2 log`: the call log as a table and as JSON. The rows are written by the real
planner, whose real anthropic SDK talks to the local Anthropic API stand-in
(tests/stubs/anthropic_api.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from osiris.store import open_database
from tests.stubs.anthropic_api import TEST_KEY, AnthropicStub, tool_answer
from tests.unit.l2_support import CATALOG, NOW, USB_OPEN, lab_host, open_incident, planner


def test_l2_log_lists_calls_newest_first_without_the_key(osiris, tmp_path: Path) -> None:
    assert osiris("init").returncode == 0
    db = open_database(tmp_path / "home" / "osiris.db")
    usb = CATALOG.get("lnx_usb_storage")
    with AnthropicStub() as stub:
        stub.push(tool_answer("linux_usb_storage", 0.9, "blocks the module", input_tokens=2000))
        l2 = planner(stub)
        l2.choose(db, open_incident(db, usb, USB_OPEN, "h1"), lab_host("h1"), NOW)
        l2.choose(db, open_incident(db, usb, USB_OPEN, "h2"), lab_host("h2"), NOW + timedelta(1))
    newest = osiris("l2", "log", "--json", "--limit", "1")
    assert newest.returncode == 0, newest.stderr
    (row,) = json.loads(newest.stdout)
    assert (row["id"], row["host"], row["cached_from"], row["cost"]) == (2, "h2", 1, 0)
    both = json.loads(osiris("l2", "log", "--json").stdout)
    assert [r["id"] for r in both] == [2, 1]
    asked = both[1]
    assert (asked["verdict"], asked["decision"], asked["input_tokens"]) == (
        "chosen",
        "linux_usb_storage",
        2000,
    )
    assert asked["reasoning"] == "blocks the module" and "<host_data>" in asked["prompt"]
    table = osiris("l2", "log", env={"COLUMNS": "200"})
    assert table.returncode == 0
    assert "cache of 1" in table.stdout and "2000/90" in table.stdout
    for output in (newest.stdout, json.dumps(both), table.stdout):
        assert TEST_KEY not in output


def test_l2_log_of_a_site_without_calls_is_empty(osiris) -> None:
    assert osiris("init").returncode == 0
    result = osiris("l2", "log", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == []
