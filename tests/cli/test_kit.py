"""`osiris evidence export`: the auditor kit, checked the way an auditor would.

The kit comes from real CLI scans of this machine, across a key rotation, with a
checkpoint anchored on the local calendar stub. Its verify.py runs in a fresh venv that
holds only PyNaCl (copied from this venv, no network); one signature is checked with the openssl
commands its README gives.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import venv
import zipfile
from pathlib import Path

import nacl
import pytest
import yaml

from osiris.evidence.kit.readme import BY_HAND_MARKER
from tests.cli.test_scan_local import make_catalog
from tests.cli.test_verify import PROBES, osiris
from tests.unit.test_evidence_ots import CalendarStub

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


@pytest.fixture(scope="module")
def kit_zip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("kit")
    catalog = make_catalog(root / "catalog", PROBES)
    home = root / "home"
    stub = CalendarStub()
    try:
        assert osiris(home, "init", "--site-id", "clinic-a").returncode == 0
        config = yaml.safe_load((home / "config.yaml").read_text())
        config["anchor"] = {"calendars": [stub.url], "timeout": 5}
        (home / "config.yaml").write_text(yaml.safe_dump(config))
        for _ in range(2):
            assert osiris(home, "scan", catalog=catalog).returncode == 1
        assert osiris(home, "anchor").returncode == 0
        stub.confirm(height=840_000)
        assert osiris(home, "anchor", "--upgrade").returncode == 0
        assert osiris(home, "keys", "rotate", "--reason", "kit test").returncode == 0
        assert osiris(home, "scan", catalog=catalog).returncode == 1
    finally:
        stub.close()
    out = root / "kit.zip"
    result = osiris(
        home,
        "evidence",
        "export",
        "--since",
        "2020-01-01",
        "--until",
        "2099-12-31",
        str(out),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


# PyNaCl and what it needs at run time, copied from our own venv: tests never reach PyPI.
PYNACL_PARTS = ("nacl", "pynacl-*.dist-info", "cffi", "cffi-*.dist-info", "_cffi_backend.*")


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding PyNaCl (with its cffi runtime) and nothing else of ours."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        env=CLEAN_ENV,
    ).stdout.strip()
    ours = Path(nacl.__file__).parent.parent
    for pattern in PYNACL_PARTS:
        matches = list(ours.glob(pattern))
        assert matches, f"{pattern} not found in {ours}"
        for part in matches:
            target = Path(site_packages) / part.name
            if part.is_dir():
                shutil.copytree(part, target)
            else:
                shutil.copy2(part, target)
    for module, importable in (("nacl.signing", True), ("osiris", False), ("yaml", False)):
        check = subprocess.run(
            [str(python), "-c", f"import {module}"], capture_output=True, cwd=where, env=CLEAN_ENV
        )
        assert (check.returncode == 0) == importable, (module, check.stderr)
    return python


@pytest.fixture
def kit(kit_zip: tuple[Path, dict], tmp_path: Path) -> Path:
    directory = tmp_path / "kit"
    with zipfile.ZipFile(kit_zip[0]) as archive:
        archive.extractall(directory)
    return directory


def run_verifier(python: Path, kit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "verify.py", "."],
        capture_output=True,
        text=True,
        cwd=kit,
        env=CLEAN_ENV,
        timeout=120,
    )


def test_the_kit_holds_what_an_auditor_needs(kit: Path, kit_zip: tuple[Path, dict]) -> None:
    summary = kit_zip[1]
    assert (summary["envelopes"], summary["rotations"], summary["timestamps"]) == (3, 1, 1)
    names = {str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file()}
    assert {
        "README.md",
        "verify.py",
        "manifest.json",
        "envelopes.jsonl",
        "proofs.jsonl",
        "keys/genesis.pub",
        "keys/rotations.jsonl",
        "checkpoints/consistency.jsonl",
    } <= names
    assert len([n for n in names if n.endswith(".pem")]) == 2  # genesis and rotated-in key
    assert len([n for n in names if n.startswith("artifacts/")]) == 3
    assert len([n for n in names if n.endswith(".note.ots")]) == 1
    lines = (kit / "envelopes.jsonl").read_text().splitlines()
    assert [json.loads(line)["leaf_index"] for line in lines] == [0, 1, 2]
    readme = (kit / "README.md").read_text()
    assert "openssl pkeyutl -verify -pubin" in readme and "python3 verify.py" not in readme[:10]


def test_verify_py_in_a_fresh_venv_with_only_pynacl(kit: Path, fresh_python: Path) -> None:
    result = run_verifier(fresh_python, kit)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESULT: the kit verifies" in result.stdout
    for name in (
        "rotation_chain",
        "key_validity",
        "envelope_signature",
        "inclusion",
        "consistency",
        "timestamps",
        "artifacts",
    ):
        assert f"  {name}" in result.stdout and "FAILED" not in result.stdout


def _edit_payload(kit: Path) -> str:
    lines = (kit / "envelopes.jsonl").read_text().splitlines()
    item = json.loads(lines[1])
    payload = base64.b64decode(item["envelope"]["payload"])
    payload = payload.replace(b'"status":"fail"', b'"status":"pass"')
    item["envelope"]["payload"] = base64.b64encode(payload).decode()
    lines[1] = json.dumps(item)
    (kit / "envelopes.jsonl").write_text("\n".join(lines) + "\n")
    return "envelope_signature: envelope 2: signature by key"


def _edit_artifact(kit: Path) -> str:
    path = sorted((kit / "artifacts").iterdir())[0]
    path.write_bytes(path.read_bytes() + b" ")
    return f"artifacts: envelope {_artifact_owner(kit, path.name)} artifact {path.name[:16]}"


def _artifact_owner(kit: Path, digest: str) -> int:
    for line in (kit / "envelopes.jsonl").read_text().splitlines():
        item = json.loads(line)
        if digest in base64.b64decode(item["envelope"]["payload"]).decode():
            return int(item["id"])
    raise AssertionError(digest)


def _edit_checkpoint(kit: Path) -> str:
    manifest = json.loads((kit / "manifest.json").read_text())
    path = kit / "checkpoints" / manifest["checkpoint"]
    path.write_text(path.read_text().replace("\n3\n", "\n2\n", 1))
    return f"checkpoint_signature: {manifest['checkpoint']}: bad signature"


def _edit_proof(kit: Path) -> str:
    lines = (kit / "proofs.jsonl").read_text().splitlines()
    item = json.loads(lines[0])
    item["path"][0] = "00" * 32
    lines[0] = json.dumps(item)
    (kit / "proofs.jsonl").write_text("\n".join(lines) + "\n")
    return "inclusion: envelope 1: its inclusion proof does not lead"


def _drop_rotation(kit: Path) -> str:
    (kit / "keys" / "rotations.jsonl").write_text("")
    return "envelope_signature: envelope 3: signed by no site key"


@pytest.mark.parametrize(
    "edit", [_edit_payload, _edit_artifact, _edit_checkpoint, _edit_proof, _drop_rotation]
)
def test_a_tampered_kit_fails_naming_what(kit: Path, fresh_python: Path, edit) -> None:
    expected = edit(kit)
    result = run_verifier(fresh_python, kit)
    assert result.returncode == 1, result.stdout
    assert "RESULT: FAILED" in result.stdout
    assert any(line.startswith(f"FAIL {expected}") for line in result.stdout.splitlines()), (
        expected,
        result.stdout,
    )


def test_one_signature_checks_by_hand_with_the_readme_openssl_commands(kit: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    readme = (kit / "README.md").read_text()
    block = readme.split(BY_HAND_MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert "openssl pkeyutl -verify -pubin -inkey" in block and "-rawin" in block
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        capture_output=True,
        text=True,
        cwd=kit,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout
    pae = (kit / "pae.bin").read_bytes()
    assert pae.startswith(b"DSSEv1 28 application/vnd.in-toto+json ")
    # the same commands refuse a signature over other bytes
    (kit / "pae.bin").write_bytes(pae.replace(b'"status":"pass"', b'"status":"fail"', 1))
    refused = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            f"keys/{(kit / 'keyid.txt').read_text()}.pem",
            "-rawin",
            "-in",
            "pae.bin",
            "-sigfile",
            "sig.bin",
        ],
        capture_output=True,
        text=True,
        cwd=kit,
    )
    assert refused.returncode != 0


def test_export_filters_by_date_and_refuses_bad_ones(
    kit_zip: tuple[Path, dict], tmp_path: Path
) -> None:
    home = kit_zip[0].parent / "home"
    out = tmp_path / "old.zip"
    result = osiris(home, "evidence", "export", "--until", "2000-01-01", str(out), "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["envelopes"] == 0
    for bad in (["--since", "yesterday"], ["--since", "2030-01-02", "--until", "2030-01-01"]):
        result = osiris(home, "evidence", "export", *bad, str(out))
        assert result.returncode == 2 and "--since" in result.stderr
