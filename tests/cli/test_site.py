"""`osiris init` and the site workspace."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import platformdirs
from nacl.signing import SigningKey

from osiris.config import resolve_home
from osiris.evidence.keys import load_signing_key
from osiris.store.migrations import SCHEMA_VERSION


def test_init_creates_config_private_key_and_database(osiris, tmp_path: Path) -> None:
    home = tmp_path / "site-a"
    result = osiris("init", "--site-id", "clinic-a", "--home", str(home))
    assert result.returncode == 0, result.stderr
    assert "clinic-a" in result.stdout
    assert "site_id: clinic-a" in (home / "config.yaml").read_text()
    key_mode = stat.S_IMODE((home / "keys" / "site.key").stat().st_mode)
    assert key_mode == 0o600
    signing = load_signing_key(home / "keys" / "site.key")
    assert isinstance(signing, SigningKey)
    assert (home / "keys" / "site.pub").read_text().strip() == signing.verify_key.encode().hex()
    version = sqlite3.connect(home / "osiris.db").execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION
    # the private key never lands in the config or the database
    secret_hex = signing.encode().hex()
    assert secret_hex not in (home / "config.yaml").read_text()
    assert secret_hex.encode() not in (home / "osiris.db").read_bytes()


def test_init_twice_is_a_one_line_error(osiris, tmp_path: Path) -> None:
    home = tmp_path / "site-b"
    assert osiris("init", "--home", str(home)).returncode == 0
    before = (home / "keys" / "site.key").read_bytes()
    again = osiris("init", "--home", str(home))
    assert again.returncode == 2
    assert again.stderr.strip() == f"osiris: error: {home}: a site is already initialised here"
    assert (home / "keys" / "site.key").read_bytes() == before


def test_bad_site_id_writes_nothing(osiris, tmp_path: Path) -> None:
    home = tmp_path / "site-c"
    result = osiris("init", "--home", str(home), "--site-id", "Bad Id!")
    assert result.returncode == 2
    assert result.stderr.startswith("osiris: error: --site-id: 'Bad Id!' is not a valid site id")
    assert not home.exists()


def test_home_precedence(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OSIRIS_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_home() == tmp_path / "env"
    monkeypatch.delenv("OSIRIS_HOME")
    if os.geteuid() == 0:
        assert resolve_home() == Path("/var/lib/osiris")
    else:
        assert resolve_home() == Path(platformdirs.user_data_dir("osiris"))
