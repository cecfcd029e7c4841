"""Inventories as Ansible users write them: relative paths, INI errors with their line,
host lists ('web1,root@db1:2222,'), and local Ansible runs on osiris's own Python."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from osiris.ansible.inventory import generate
from osiris.ansible.runner import Outcome, run_playbook
from osiris.errors import InputError
from osiris.inventory import load_inventory, local_host
from osiris.model import Connection
from osiris.transport import TransportOptions


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_a_relative_inventory_path_is_the_working_directorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: "The `src` field must be an absolute path" for `-i hosts.ini`."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "hosts.ini", "[web]\nweb1 ansible_host=10.0.0.5\n")
    (tmp_path / "more").mkdir()
    write(tmp_path / "more" / "db.yml", "all:\n  hosts:\n    db1: {ansible_port: 2200}\n")
    hosts = {h.name: h for h in load_inventory([Path("hosts.ini"), Path("more/db.yml")])}
    assert (hosts["web1"].address, hosts["web1"].groups) == ("10.0.0.5", ("web",))
    assert hosts["db1"].port == 2200
    write(tmp_path / "bad.ini", "[web]\nweb1 ansible_port\n")
    with pytest.raises(InputError) as error:
        load_inventory([Path("bad.ini")])
    assert str(error.value).startswith("bad.ini:2: invalid INI inventory:")  # as typed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[web]\nweb1 ansible_port\n", "2: invalid INI inventory: Expected key=value host"),
        ("[a]\n# a comment\nh1 a=1 b\n", "3: invalid INI inventory: Expected key=value host"),
        ("[web:vars]\nfoo\n", "2: invalid INI inventory: Expected key=value, got: foo"),
        ("[g]\nh1\n[g:children]\nnope nope\n", "4: invalid INI inventory: Expected group name"),
        ("[g]\nh1\n[g:bogus]\n", "3: invalid INI inventory: Section [g:bogus] has unknown type"),
        ("[web\nweb1\n", "1: invalid INI inventory: cannot read '[web'"),
        (
            "[web]\nweb1\n\n[other:vars]\na=1\n",
            "4: invalid INI inventory: cannot read '[other:vars]': Section [other:vars] not"
            " valid for undefined group 'other'.",
        ),
    ],
)
def test_ini_errors_name_the_line(tmp_path: Path, text: str, expected: str) -> None:
    """Before: the first, second, sixth and seventh named no line."""
    path = write(tmp_path / "bad.ini", text)
    with pytest.raises(InputError) as error:
        load_inventory([path])
    assert str(error.value).startswith(f"{path}:{expected}")


def test_a_host_list_is_an_inventory_of_ssh_hosts() -> None:
    hosts = load_inventory([Path("web1,root@db1:2222,[fe80::1]:2200,10.0.0.7,")])
    found = [(h.name, h.address, h.port, h.user, h.connection) for h in hosts]
    assert found == [
        ("web1", "web1", None, None, Connection.SSH),
        ("db1", "db1", 2222, "root", Connection.SSH),
        ("fe80::1", "fe80::1", 2200, None, Connection.SSH),
        ("10.0.0.7", "10.0.0.7", None, None, Connection.SSH),
    ]
    assert [h.name for h in load_inventory([Path("web1,web2,db1,")], limit="web*")] == [
        "web1",
        "web2",
    ]
    assert [h.name for h in load_inventory([Path("web1,db1,")], limit="all:!db1")] == ["web1"]


def test_host_lists_and_files_together(tmp_path: Path) -> None:
    inventory = write(tmp_path / "hosts.yml", "all:\n  hosts:\n    file1: {}\n")
    hosts = load_inventory([inventory, Path("listed1,listed2,")], limit="*1")
    assert [h.name for h in hosts] == ["file1", "listed1"]
    with pytest.raises(InputError, match="--limit 'nothing' matches no host"):
        load_inventory([inventory, Path("listed1,")], limit="nothing")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web1 web2,", "'web1 web2' is not [user@]host[:port]"),
        ("root@,", "'root@' names no host"),
        ("ro ot@web1,", "'ro ot' is not a user name"),
        ("web1:99999,", "ansible_port: host web1: 99999 is out of range"),
        ("web1,web1:2222,", "host web1 is given twice"),
        (",,", "the host list names no host"),
    ],
)
def test_a_bad_host_list_is_one_clear_error(text: str, expected: str) -> None:
    with pytest.raises(InputError) as error:
        load_inventory([Path(text)])
    assert expected in str(error.value)


def test_local_ansible_runs_use_the_python_that_runs_osiris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: a pyenv-style shim first on PATH answered for `python3`, and every module
    run on this machine failed ("Module result deserialization failed")."""
    shims = tmp_path / "shims"
    shims.mkdir()
    for name in ("python", "python3"):
        shim = write(shims / name, "#!/bin/sh\necho 'pyenv: python3: command not found' >&2\n")
        shim.write_text(shim.read_text() + "exit 127\n")
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")
    playbook = write(
        tmp_path / "play.yml",
        """\
        - hosts: all
          gather_facts: false
          tasks:
            - ansible.builtin.command: "true"
        """,
    )
    inventory = generate([local_host()], TransportOptions())
    variables = next(iter(inventory.data["all"]["hosts"].values()))
    assert variables["ansible_python_interpreter"] == sys.executable
    run = run_playbook(playbook, inventory, forks=1)
    assert [r.outcome for r in run.results] == [Outcome.OK], run.output_tail
