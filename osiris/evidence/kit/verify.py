#!/usr/bin/env python3
"""Verify an Osiris auditor kit offline. Needs Python 3.9+ and PyNaCl, nothing else.

    python3 verify.py [KIT_DIR] [--genesis-key HEX]

Checks, naming what fails: the key rotation chain from the genesis key; every
checkpoint's signature (by the key valid at its size) and its consistency with the
newest; every envelope's signature (by the key valid at its leaf), its payload against
its leaf hash, its inclusion proof up to the newest checkpoint's root, its statement (a
host's scan, or a heal action); every artifact against its digest; every .ots proof
against its checkpoint note.
Exit 0 when everything holds, 1 when anything fails, 2 when the kit cannot be read.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

OTS_MAGIC = b"\x00OpenTimestamps\x00\x00Proof\x00\xbf\x89\xe2\xe8\x84\xe8\x92\x94"
# (size, root) of a checkpoint that verified; Optional: the kit runs on Python 3.9
Tree = Optional[tuple[int, bytes]]  # noqa: UP045


class Report:
    """Counts per property and the failures, each naming its property and subject."""

    def __init__(self) -> None:
        self.checked: dict[str, int] = {}
        self.failures: list[str] = []

    def check(self, what: str, ok: bool, subject: str, why: str) -> bool:
        self.checked[what] = self.checked.get(what, 0) + 1
        if not ok:
            self.failures.append(f"{what}: {subject}: {why}")
        return ok


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def keyid(key: bytes) -> str:
    return sha256(key).hex()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: the bytes an envelope's signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def verify_sig(key: bytes, message: bytes, sig: bytes) -> bool:
    try:
        VerifyKey(key).verify(message, sig)
        return True
    except (BadSignatureError, ValueError):
        return False


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def root_from_inclusion(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root an inclusion proof leads to (None if malformed)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def consistent(old: int, new: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2: the tree (new, new_root) extends (old, old_root)."""
    if old > new:
        return False
    if old == new:
        return old_root == new_root and not path
    if old == 0:
        return not path
    if not path:
        return False
    path = ([old_root] if old & (old - 1) == 0 else []) + path
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def open_checkpoint(note: str, origin: str, key: bytes) -> Tree:
    """(size, root) of a C2SP signed note for ``origin`` signed by ``key``, else None."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        return None
    text += "\n"
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != origin or not lines[1].isdigit():
        return None
    want = sha256(origin.encode() + b"\n\x01" + key)[:4]
    for line in sigs[:-1].split("\n"):
        name, _, blob = line[2:].rpartition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            return None
        if line.startswith("\u2014 ") and name == origin and raw[:4] == want:
            if verify_sig(key, text.encode(), raw[4:]):
                return int(lines[1]), base64.b64decode(lines[2])
            return None
    return None


@dataclass
class Epoch:
    """A site key and its span of the log: leaves [first, end), checkpoints of
    first..end leaves (end None: the current key)."""

    keyid: str
    key: bytes
    first: int = 0
    end: int | None = None

    def signs_checkpoint(self, size: int) -> bool:
        return self.first <= size and (self.end is None or size <= self.end)


class Chain:
    """The site's keys in order, from the genesis key through each rotation."""

    def __init__(self, genesis: bytes) -> None:
        self.epochs = [Epoch(keyid(genesis), genesis)]

    def for_leaf(self, index: int) -> Epoch:
        return [e for e in self.epochs if e.first <= index][-1]


def check_rotations(kit: Path, site: str, chain: Chain, report: Report) -> None:
    """Each rotation record is for this site, next in sequence, and signed by the key
    it retires and by the key it introduces; a broken link ends the chain."""
    path = kit / "keys" / "rotations.jsonl"
    for number, line in enumerate(path.read_text().splitlines() if path.exists() else [], 1):
        subject, env = f"rotation {number}", json.loads(line)["envelope"]
        payload = base64.b64decode(env["payload"])
        record, current = json.loads(payload), chain.epochs[-1]
        new_key = bytes.fromhex(record["public_key"])
        message = pae(env["payloadType"], payload)
        sigs = {s["keyid"]: base64.b64decode(s["sig"]) for s in env["signatures"]}
        links = [
            (record.get("site") == site, "is for another site"),
            (record.get("sequence") == number, "is out of sequence"),
            (record.get("keyid") == keyid(new_key), "names a keyid not of its key"),
            (record.get("previous_keyid") == current.keyid, "does not retire the current key"),
            (
                verify_sig(current.key, message, sigs.get(current.keyid, b"")),
                f"is not signed by its predecessor, key {current.keyid[:16]}",
            ),
            (verify_sig(new_key, message, sigs.get(keyid(new_key), b"")), "lacks the new key's"),
        ]
        broken = next((why for ok, why in links if not ok), None)
        if not report.check("rotation_chain", broken is None, subject, str(broken)):
            return  # later keys are not trusted
        current.end = record["log_size"]
        chain.epochs.append(Epoch(keyid(new_key), new_key, record["log_size"]))


def check_checkpoints(kit: Path, manifest: dict[str, Any], chain: Chain, report: Report) -> Tree:
    """Every checkpoint note is signed by the key valid at its size, and the newest
    extends every other; every .ots proof is for its note. Returns the newest tree."""
    good: dict[str, Tree] = {}
    for path in sorted((kit / "checkpoints").glob("*.note")):
        opened: Tree = None
        for epoch in chain.epochs:
            opened = open_checkpoint(path.read_text(), manifest["origin"], epoch.key)
            if opened is not None:
                report.check(
                    "key_validity",
                    epoch.signs_checkpoint(opened[0]),
                    path.name,
                    f"signed by key {epoch.keyid[:16]}, not the key valid at {opened[0]} leaves",
                )
                break
        if report.check("checkpoint_signature", opened is not None, path.name, "bad signature"):
            good[path.name] = opened
    newest = good.get(manifest["checkpoint"])
    report.check("checkpoint_signature", newest is not None, manifest["checkpoint"], "missing")
    proofs = kit / "checkpoints" / "consistency.jsonl"
    for line in proofs.read_text().splitlines() if proofs.exists() else []:
        item = json.loads(line)
        old, path_ = good.get(item["from"]), [bytes.fromhex(h) for h in item["path"]]
        ok = old is not None and newest is not None
        ok = ok and consistent(old[0], newest[0], old[1], newest[1], path_)  # type: ignore[index]
        report.check("consistency", ok, item["from"], "the newest checkpoint does not extend it")
    for ots in sorted((kit / "checkpoints").glob("*.note.ots")):
        note = ots.with_suffix("")
        digest = sha256(note.read_bytes()) if note.exists() else b"-"
        ok = ots.read_bytes().startswith(OTS_MAGIC + b"\x01\x08" + digest)
        report.check("timestamps", ok, ots.name, "the proof is not for this checkpoint note")
    return newest


def check_rotation_positions(kit: Path, newest: Tree, report: Report) -> None:
    """Each rotation names a state of the log that the newest checkpoint extends."""
    path = kit / "keys" / "rotations.jsonl"
    for number, line in enumerate(path.read_text().splitlines() if path.exists() else [], 1):
        item = json.loads(line)
        record = json.loads(base64.b64decode(item["envelope"]["payload"]))
        proof = [bytes.fromhex(h) for h in item.get("consistency", [])]
        size, root = record["log_size"], bytes.fromhex(record["log_root"])
        ok = newest is not None and consistent(size, newest[0], root, newest[1], proof)
        why = "the log it names is not a prefix of the newest checkpoint's log"
        report.check("rotation_chain", ok, f"rotation {number}", why)


def check_envelopes(
    kit: Path, manifest: dict[str, Any], chain: Chain, newest: Tree, report: Report
) -> None:
    """Each envelope: signature by the key valid at its leaf, payload hashing to its
    leaf, inclusion proof to the newest root, statement, artifacts."""
    proofs = {}
    for line in (kit / "proofs.jsonl").read_text().splitlines():
        item = json.loads(line)
        proofs[item["envelope"]] = item
    for line in (kit / "envelopes.jsonl").read_text().splitlines():
        item = json.loads(line)
        env, index, subject = item["envelope"], item["leaf_index"], f"envelope {item['id']}"
        payload, epoch = base64.b64decode(env["payload"]), chain.for_leaf(item["leaf_index"])
        sigs = {s["keyid"]: base64.b64decode(s["sig"]) for s in env["signatures"]}
        signers = [e for e in chain.epochs if e.keyid in sigs]
        signer = epoch if epoch in signers else (signers[0] if signers else None)
        if signer is None:
            report.check("envelope_signature", False, subject, "signed by no site key")
        else:
            message = pae(env["payloadType"], payload)
            ok = verify_sig(signer.key, message, sigs[signer.keyid])
            why = f"signature by key {signer.keyid[:16]} does not verify"
            if report.check("envelope_signature", ok, subject, why):
                why = f"leaf {index} is signed by key {signer.keyid[:16]}, not {epoch.keyid[:16]}"
                report.check("key_validity", signer is epoch, subject, why)
        leaf, proof = sha256(b"\x00" + payload), proofs.get(item["id"], {})
        ok = proof.get("leaf_hash") == leaf.hex()
        report.check("leaf_hash", ok, subject, "its payload does not hash to its leaf")
        path = [bytes.fromhex(h) for h in proof.get("path", [])]
        reached = root_from_inclusion(leaf, index, proof.get("tree_size", 0), path)
        ok = newest is not None and (proof.get("tree_size"), reached) == newest
        why = "its inclusion proof does not lead to the newest checkpoint's root"
        report.check("inclusion", ok, subject, why)
        statement = json.loads(payload)
        check_statement(statement, item, manifest["site_id"], subject, report)
        for digest in (s["digest"]["sha256"] for s in statement.get("subject", [])):
            art = kit / "artifacts" / digest
            ok = art.exists() and sha256(art.read_bytes()).hex() == digest
            why = "missing, or its bytes hash to another digest"
            report.check("artifacts", ok, f"{subject} artifact {digest[:16]}", why)


PREDICATE_TYPES = {
    "scan": "https://osiris.dev/scan-result/v1",
    "heal": "https://osiris.dev/heal-action/v1",
}


def check_statement(
    statement: dict[str, Any], item: dict[str, Any], site: str, subject: str, report: Report
) -> None:
    """An in-toto statement of the line's kind, for this site, run and host; a heal
    bundle's also for the action the line names."""
    kind, predicate = item.get("kind", "scan"), statement.get("predicate", {})
    ok = (
        statement.get("_type") == "https://in-toto.io/Statement/v1"
        and statement.get("predicateType") == PREDICATE_TYPES.get(kind)
        and (predicate.get("site"), predicate.get("kind")) == (site, kind)
        and (predicate.get("run"), predicate.get("host", {}).get("name"))
        == (item["run"], item["host"])
    )
    why = "not a statement for this site, run and host"
    if kind == "heal":
        ok = ok and predicate.get("action", {}).get("id") == item.get("action")
        subject, why = f"{subject} (action {item.get('action')})", why + " and action"
    report.check("statement", ok, subject, why)


def main() -> int:
    parser = argparse.ArgumentParser(description="Verify an Osiris auditor kit.")
    parser.add_argument("kit", nargs="?", default=Path(__file__).parent, type=Path)
    parser.add_argument("--genesis-key", help="the site's first public key (hex), to pin it")
    args = parser.parse_args()
    kit, report = args.kit, Report()
    try:
        manifest = json.loads((kit / "manifest.json").read_text())
        genesis_hex = args.genesis_key or (kit / "keys" / "genesis.pub").read_text()
        chain = Chain(bytes.fromhex(genesis_hex.strip()))
        check_rotations(kit, manifest["site_id"], chain, report)
        newest = check_checkpoints(kit, manifest, chain, report)
        check_rotation_positions(kit, newest, report)
        check_envelopes(kit, manifest, chain, newest, report)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"verify.py: the kit cannot be read: {exc!r}", file=sys.stderr)
        return 2
    site, since, until = manifest["site_id"], manifest["since"], manifest["until"]
    print(f"Osiris evidence of site {site}, {since} to {until}")
    print(f"genesis key {chain.epochs[0].keyid} (compare with the key registered for the site)")
    for what, count in report.checked.items():
        failed = sum(1 for f in report.failures if f.startswith(what + ":"))
        print(f"  {what:22} {'FAILED' if failed else 'ok':7} {count} checked")
    for failure in report.failures[:200]:
        print(f"FAIL {failure}")
    print("RESULT: " + ("FAILED" if report.failures else "the kit verifies"))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
