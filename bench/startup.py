"""How long the CLI takes to start: `osiris --help` (and a few read-only commands) against
Python's own start-up, measured on the same machine in the same minute.

    .venv/bin/python -m bench.startup [--runs 10] [--quick]

Each command runs ``--runs`` times; the best run counts (the least disturbed by the
rest of the machine). Printed: each command's best time, what it costs beyond
``python3 -c pass``, and the ratio. Goal: `osiris --help` costs at most 0.25 s beyond
Python's own start.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

GOAL_SECONDS = 0.25
COMMANDS: dict[str, list[str]] = {
    "osiris --help": ["--help"],
    "osiris --version": ["--version"],
    "osiris checks list --json": ["checks", "list", "--json"],
    "osiris runs --json": ["runs", "--json"],
}


def best_of(argv: Sequence[str], runs: int, env: dict[str, str] | None = None) -> float:
    """The fastest of ``runs`` runs of ``argv``, in seconds; each must exit 0."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, env=env, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {result.returncode}: {result.stderr!r}")
        best = min(best, elapsed)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs per command (best counts)")
    parser.add_argument("--quick", action="store_true", help="2 runs each (for the tests)")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else args.runs
    python = sys.executable
    with tempfile.TemporaryDirectory() as home:
        env = {"OSIRIS_HOME": str(Path(home) / "site"), "PATH": "/usr/bin:/bin"}
        subprocess.run([python, "-m", "osiris", "init"], env=env, capture_output=True, check=True)
        floor = best_of([python, "-c", "pass"], runs, env)
        print(f"python -c pass: {floor * 1000:.0f} ms (best of {runs})")
        for name, command in COMMANDS.items():
            took = best_of([python, "-m", "osiris", *command], runs, env)
            extra = took - floor
            print(
                f"{name}: {took * 1000:.0f} ms, {extra * 1000:.0f} ms beyond Python,"
                f" {took / floor:.1f}x"
            )
            if name == "osiris --help":
                verdict = "meets" if extra <= GOAL_SECONDS else "misses"
                goal = f"--help at most {GOAL_SECONDS * 1000:.0f} ms beyond Python"
                print(f"goal ({goal}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
