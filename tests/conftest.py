"""Shared fixtures. Lab fixtures (real hosts, WinRM twins) live in tests/lab/fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.osiris_cli import Runner, osiris_runner

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.lab.fixtures"]


@pytest.fixture
def osiris(tmp_path: Path) -> Runner:
    """Run the real `osiris` CLI in a subprocess with its own site home."""
    return osiris_runner(tmp_path)
