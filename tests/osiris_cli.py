"""The real `osiris` CLI, run in a subprocess for tests (the `osiris` fixture uses it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Taken from the developer's environment only when a test passes them: a stray
# OSIRIS_CATALOG would change what is checked, and an API key would turn L2 on against
# the real API (a test that wants L2 passes one, with the stub's base URL).
_NOT_INHERITED = ("OSIRIS_CATALOG", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")

Runner = Callable[..., subprocess.CompletedProcess[str]]


def osiris_runner(home: Path) -> Runner:
    """A runner of `osiris ARGS` with its site home in ``home / "home"`` and ``home`` as
    its working directory. Safe to call from worker threads."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        return subprocess.run(
            [sys.executable, "-m", "osiris", *args],
            capture_output=True,
            text=True,
            env={**inherited, "OSIRIS_HOME": str(home / "home"), **(env or {})},
            timeout=timeout,
            cwd=home,
        )

    return run
