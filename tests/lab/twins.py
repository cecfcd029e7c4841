"""The lab's WinRM twins: one process per simulated Windows host, on 127.0.0.1.

Roles rotate workstation, member server, domain controller. Each twin serves HTTPS
(certificate from the lab's test CA) and HTTP; its Windows state lives in a JSON file
that tests may read and drift. The password is generated per lab, kept in a 0600 file,
and reaches osiris through the environment variable named in the inventory.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.paths import CA_DIR, LAB_DIR, TWINS_DIR

USER = "osiris"
PASSWORD_ENV = "OSIRIS_LAB_WINRM_PASSWORD"
PASSWORD_FILE = LAB_DIR / "winrm-password"
ROLES = ("workstation", "member_server", "domain_controller")
OSIRIS_ROLE = {
    "workstation": "workstation",
    "member_server": "server",
    "domain_controller": "domain_controller",
}
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Twin:
    name: str
    role: str  # the twin's Windows role: workstation, member_server, domain_controller
    https_port: int
    http_port: int
    pid: int
    state_path: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def password() -> str:
    """The lab's WinRM password (created on first use, mode 0600)."""
    if not PASSWORD_FILE.exists():
        LAB_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(18))
    return PASSWORD_FILE.read_text().strip()


def ca_file() -> Path:
    return CA_DIR / "ca.pem"


def start_all(count: int, profile: str, timeout: float = 30.0) -> list[Twin]:
    if count == 0:
        return []
    from tests.lab.winrm_twin.ca import issue_server_cert, make_ca
    from tests.lab.winrm_twin.state import WindowsState

    ca_cert, ca_key = make_ca(CA_DIR)
    if ca_cert != ca_file():
        ca_file().write_bytes(ca_cert.read_bytes())
    cert, key = issue_server_cert(
        ca_cert, ca_key, CA_DIR, hostnames=["localhost"], ips=["127.0.0.1"]
    )
    TWINS_DIR.mkdir(parents=True, exist_ok=True)
    password()
    started = []
    for index in range(1, count + 1):
        name = f"win{index}"
        role = ROLES[(index - 1) % len(ROLES)]
        state_path = TWINS_DIR / f"{name}.json"
        preset = profile if profile in ("clean", "drifted") else "clean"
        WindowsState.preset(role, preset).save(state_path)
        ready = TWINS_DIR / f"{name}.ready"
        ready.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "tests.lab.winrm_twin",
            "serve",
            "--name",
            name,
            "--state",
            str(state_path),
            "--ready",
            str(ready),
            "--user",
            USER,
            "--password-file",
            str(PASSWORD_FILE),
            "--cert",
            str(cert),
            "--key",
            str(key),
        ]
        with (TWINS_DIR / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        started.append((name, role, state_path, ready, process))
    return [_await(name, role, state, ready, p, timeout) for name, role, state, ready, p in started]


def _await(
    name: str, role: str, state: Path, ready: Path, process: subprocess.Popen[bytes], timeout: float
) -> Twin:
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            log = (TWINS_DIR / f"{name}.log").read_text(errors="replace")[-500:]
            raise RuntimeError(f"twin {name} did not start: {log}")
        time.sleep(0.05)
    ports = json.loads(ready.read_text())
    return Twin(name, role, ports["https"], ports["http"], process.pid, str(state))


def inventory_group(twins: list[Twin]) -> dict[str, Any]:
    return {
        "vars": {
            "ansible_connection": "winrm",
            "ansible_user": USER,
            "ansible_password": f"{{{{ lookup('env', '{PASSWORD_ENV}') }}}}",
            "ansible_winrm_transport": "ntlm",
            "ansible_winrm_scheme": "https",
            "ansible_winrm_server_cert_validation": "validate",
            "ansible_winrm_ca_trust_path": str(ca_file()),
        },
        "hosts": {
            t.name: {
                "ansible_host": "127.0.0.1",
                "ansible_port": t.https_port,
                "osiris_role": OSIRIS_ROLE[t.role],
            }
            for t in twins
        },
    }
