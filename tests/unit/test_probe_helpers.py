"""The probe preamble's helpers, run for real in a local shell.

"Could not read" is not "absent": a probe run by a user who may not read a file says so,
and the check is ``error``, never ``pass``. Commands resolve in /usr/sbin and /sbin whatever
the caller's PATH. Processes of a container on the host are not the host's own.

The unprivileged user is ``nobody``, entered with ``setpriv`` (the tests run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osiris.catalog import load_catalog
from osiris.catalog.evaluate import evaluate
from osiris.catalog.model import Check, CheckSpec, compile_check
from osiris.model import Platform, Status
from osiris.scan.bundle import build_bundle, new_nonce, parse_output

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def make_check(check_id: str, script: str, facts: dict, evaluate_rules: list, **extra) -> Check:
    spec = {
        "id": check_id,
        "title": "A test check",
        "description": "A check built by a test.",
        "platform": "linux",
        "severity": "low",
        "probe": {"context": "test", "script": textwrap.dedent(script), "timeout": 10},
        "facts": facts,
        "evaluate": evaluate_rules,
        "references": {"hipaa": ["164.312(b)"]},
        **extra,
    }
    return compile_check(CheckSpec.model_validate(spec), "<test>")


def _rule(status: str, reason: str, when: dict | None = None, rule_id: str = "") -> dict:
    rule: dict[str, object] = {"id": rule_id or status, "status": status, "reason": reason}
    if when is not None:
        rule["when"] = when
    return rule


# empty_accounts: the accounts whose /etc/shadow password is empty, as a probe reads them
SHADOW_CHECK = make_check(
    "lnx_shadow",
    """
    shadow=$(osiris_cat /etc/shadow)
    printf '{"empty_accounts":%s}\\n' \\
      "$(printf '%s\\n' "$shadow" | awk -F: '$2 == "" { print $1 }' | osiris_qlist)"
    """,
    {"empty_accounts": {"type": "list", "items": "string"}},
    [
        _rule("fail", "empty passwords", {"fact": "empty_accounts", "ne": []}, "empty"),
        _rule("pass", "no empty passwords", rule_id="none_empty"),
    ],
)


def run_bundle(
    checks: list[Check], *, user: list[str] | None = None, env: dict[str, str] | None = None
) -> dict[str, tuple[Status, str, dict | None]]:
    """Run the bundle with ``sh -s`` (as ``user`` if given); each check's outcome."""
    nonce = new_nonce()
    process = subprocess.run(
        [*(user or []), "sh", "-s"],
        input=build_bundle(Platform.LINUX, checks, nonce),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd="/",
    )
    outputs = parse_output(process.stdout, nonce, [c.id for c in checks])
    found: dict[str, tuple[Status, str, dict | None]] = {}
    for check in checks:
        output = outputs[check.id]
        if output.missing is not None:
            found[check.id] = (Status.NA, f"missing {output.missing}", None)
        elif output.facts is None:
            found[check.id] = (Status.ERROR, output.error or "", None)
        else:
            status, reason = evaluate(check, output.facts, check.default_thresholds())
            found[check.id] = (status, reason, output.facts)
    return found


def test_a_file_the_user_may_not_read_is_an_error_never_a_pass() -> None:
    """Before: nobody's probe read nothing from /etc/shadow and passed."""
    status, reason, _ = run_bundle([SHADOW_CHECK], user=NOBODY)["lnx_shadow"]
    assert (status, reason) == (
        Status.ERROR,
        "could not read /etc/shadow: scan as root (or with become) to decide this check",
    )
    # root reads it, and the same probe decides
    assert run_bundle([SHADOW_CHECK])["lnx_shadow"][0] in (Status.PASS, Status.FAIL)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory anyone may enter (pytest's own temporary directories are root's only)."""
    path = Path(tempfile.mkdtemp(prefix="osiris-probe-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_an_absent_file_is_absent_not_unreadable(open_dir: Path) -> None:
    tmp_path = open_dir
    readable = tmp_path / "readable"
    readable.write_text("one\n")
    hidden = tmp_path / "hidden"
    hidden.mkdir(mode=0o700)
    (hidden / "inside").write_text("secret\n")
    check = make_check(
        "lnx_reads",
        f"""
        out=$(osiris_cat {readable} {tmp_path}/absent {tmp_path}/absent/below \\
          {hidden}/inside); rc=$?
        printf '{{"text":%s,"rc":%s}}\\n' "$(osiris_q "$out")" "$rc"
        """,
        {"text": {"type": "string"}, "rc": {"type": "integer"}},
        [_rule("pass", "read {text}")],
    )
    as_root = run_bundle([check])["lnx_reads"]
    assert as_root[2] == {"text": "one\nsecret", "rc": 0}
    as_nobody = run_bundle([check], user=NOBODY)["lnx_reads"]
    # what could be read is there; what could not is named, and decides the status
    assert as_nobody[2] == {"text": "one", "rc": 1, "_unreadable": [f"{hidden}/inside"]}
    assert as_nobody[0] is Status.ERROR and f"could not read {hidden}/inside" in as_nobody[1]


def test_a_probe_that_fails_after_an_unreadable_read_says_what_it_could_not_read() -> None:
    check = make_check(
        "lnx_dies",
        "osiris_cat /etc/shadow >/dev/null || { echo 'no shadow' >&2; exit 3; }",
        {"value": {"type": "string"}},
        [_rule("pass", "fine")],
    )
    status, reason, _ = run_bundle([check], user=NOBODY)["lnx_dies"]
    assert status is Status.ERROR
    assert reason.startswith("could not read /etc/shadow: scan as root")
    assert reason.endswith("(probe exited 3: no shadow)")


def test_commands_in_sbin_are_found_whatever_the_callers_path() -> None:
    """Before: a user whose PATH lacks /usr/sbin was told sshd is not installed."""
    assert Path("/usr/sbin/nologin").exists()
    check = make_check(
        "lnx_sbin",
        """printf '{"where":%s}\\n' "$(osiris_q "$(command -v nologin)")" """,
        {"where": {"type": "string"}},
        [_rule("pass", "{where}")],
        applies={"requires": ["nologin"]},
    )
    found = run_bundle([check], user=NOBODY, env={"PATH": "/usr/bin:/bin"})["lnx_sbin"]
    assert found[:2] == (Status.PASS, "/usr/sbin/nologin")


def test_a_tool_in_a_directory_on_the_callers_path_does_not_shadow_the_systems(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "stat"
    fake.write_text("#!/bin/sh\necho fake\n")
    fake.chmod(0o755)
    check = make_check(
        "lnx_stat",
        """printf '{"where":%s}\\n' "$(osiris_q "$(command -v stat)")" """,
        {"where": {"type": "string"}},
        [_rule("pass", "{where}")],
    )
    found = run_bundle([check], env={"PATH": f"{tmp_path}:/usr/bin:/bin"})["lnx_stat"]
    assert found[:2] == (Status.PASS, "/usr/bin/stat")


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A uniquely named copy of sleep, and a root directory (for chroot) that holds it."""
    name = f"osl{os.getpid() % 100000}"
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/sleep", root / "bin" / name)
    libraries = subprocess.run(["ldd", "/bin/sleep"], capture_output=True, text=True).stdout
    for word in libraries.split():
        if word.startswith("/"):
            target = root / word.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(word, target)
    yield name, root


def _wait_for(name: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
        if len(found.split()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} processes named {name} never started")


def test_processes_of_containers_on_the_host_are_not_the_hosts_own(
    sleeper: tuple[str, Path],
) -> None:
    """Before: pgrep counted a container's clamd (or sshd) as the host's."""
    name, root = sleeper
    program = str(root / "bin" / name)
    own = subprocess.Popen([program, "60"])
    contained = [
        # another pid namespace (as a container's processes are)
        subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", program, "60"]),
        # this pid namespace, another root directory (as a chroot's)
        subprocess.Popen(["chroot", str(root), f"/bin/{name}", "60"]),
    ]
    try:
        _wait_for(name, 3)
        check = make_check(
            "lnx_procs",
            f"""printf '{{"pids":%s}}\\n' "$(osiris_pgrep {name} | osiris_qlist)" """,
            {"pids": {"type": "list", "items": "string"}},
            [_rule("pass", "{pids}")],
        )
        _, _, facts = run_bundle([check])["lnx_procs"]
        assert facts == {"pids": [str(own.pid)]}
    finally:
        for process in (own, *contained):
            process.kill()
            process.wait()


def test_unreadable_frames_become_the_reserved_fact() -> None:
    nonce = "ab" * 8
    text = (
        f'@@osiris {nonce} begin lnx_x\n{{"value": "a"}}\n\n@@osiris {nonce} end lnx_x 0 5\n'
        f"@@osiris {nonce} unreadable lnx_x /etc/shadow\n"
        f"@@osiris {nonce} unreadable lnx_x /etc/sudoers.d/*\n"
        f'@@osiris {nonce} begin lnx_y\n{{"value": "b"}}\n\n@@osiris {nonce} end lnx_y 0 5\n'
    )
    parsed = parse_output(text, nonce, ["lnx_x", "lnx_y"])
    assert parsed["lnx_x"].facts == {
        "value": "a",
        "_unreadable": ["/etc/shadow", "/etc/sudoers.d/*"],
    }
    assert parsed["lnx_y"].facts == {"value": "b"}


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        (["/etc/shadow"], "could not read /etc/shadow: "),
        (["a", "b", "c"], "could not read a, b and c: "),
        ("garbled", "could not read garbled: "),
    ],
)
def test_anything_unread_is_an_error_even_where_the_rules_would_pass(marker, reason) -> None:
    status, text = evaluate(SHADOW_CHECK, {"empty_accounts": [], "_unreadable": marker}, {})
    assert status is Status.ERROR and text.startswith(reason)
    assert evaluate(SHADOW_CHECK, {"empty_accounts": []}, {}) == (
        Status.PASS,
        "no empty passwords",
    )


def test_no_check_declares_a_fact_the_bundle_reserves() -> None:
    """``_unreadable`` (and any name starting with ``_``) belongs to the bundle."""
    reserved = {
        (check.id, name) for check in load_catalog() for name in check.spec.facts if name[0] == "_"
    }
    assert not reserved
