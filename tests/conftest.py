"""Shared fixtures. Lab fixtures (real hosts, WinRM twins) live in tests/lab/fixtures.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.lab.fixtures"]


@pytest.fixture
def osiris(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real `osiris` CLI in a subprocess with its own site home."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
        full_env = {**os.environ, "OSIRIS_HOME": str(tmp_path / "home"), **(env or {})}
        full_env.pop("OSIRIS_CATALOG", None) if env is None or "OSIRIS_CATALOG" not in env else None
        # a key in the developer's environment would turn L2 on against the real API:
        # only a test that passes one (with the stub's base URL) gets L2
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
            if name not in (env or {}):
                full_env.pop(name, None)
        return subprocess.run(
            [sys.executable, "-m", "osiris", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=tmp_path,
        )

    return run
