"""`python -m tests.lab up` says how to scan the lab by hand, password variable included."""

from __future__ import annotations

from tests.lab import lab, twins
from tests.lab.__main__ import by_hand


def test_the_lab_says_how_to_scan_it_by_hand() -> None:
    twin = twins.Twin("win1", "workstation", 5986, 5985, 1, "/nowhere")
    lines = by_hand(lab.LabState(twins=[twin]))
    assert f"export {twins.PASSWORD_ENV}=" in lines[1]
    assert str(twins.PASSWORD_FILE) in lines[1]
    assert lines[-1].strip() == f"osiris scan -i {lab.INVENTORY_FILE}"
    assert not any(twins.PASSWORD_ENV in line for line in by_hand(lab.LabState()))
