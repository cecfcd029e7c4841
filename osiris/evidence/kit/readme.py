"""The README.md of an auditor kit: what each file is and how to check it by hand."""

# ruff: noqa: E501  (markdown table rows and shell commands are kept whole)

from __future__ import annotations

BY_HAND_MARKER = "<!-- by-hand -->"

_TEMPLATE = """\
# Osiris evidence kit: site {site_id}

Signed evidence of the HIPAA Security Rule checks run at site `{site_id}`, bundles
appended from {since} to {until} ({envelopes} bundles). Everything here was PHI-scrubbed
before it was signed; nothing in this kit is secret.

## What each file is

| file | what it is |
|---|---|
| `envelopes.jsonl` | one signed bundle per line: `id`, `run`, `host`, `kind` (`scan` or `heal`), `action` (a heal bundle's action id), `created_at`, `leaf_index` (its position in the site's log) and `envelope`, a [DSSE](https://github.com/secure-systems-lab/dsse) envelope whose payload is an [in-toto Statement v1](https://github.com/in-toto/attestation) (RFC 8785 JSON). A `scan` bundle says what was checked on that host and each result (predicate type `https://osiris.dev/scan-result/v1`); a `heal` bundle says what one remediation did: the incident, check, runbook, tier, status before and after, outcome, times and pattern signature (`https://osiris.dev/heal-action/v1`). Both carry the digests of their raw artifacts |
| `artifacts/<sha256>` | the raw artifacts (probe output, transport errors, a runbook's output, the re-run check's probe output), named by their SHA-256, the statements' subjects |
| `proofs.jsonl` | for each envelope, its RFC 6962 leaf hash and the inclusion proof (`path`, hex) from its leaf to the root of the newest checkpoint (`tree_size` leaves) |
| `checkpoints/<id>.note` | signed checkpoints of the site's log ([C2SP tlog-checkpoint](https://c2sp.org/tlog-checkpoint) notes: origin, size, base64 root, Ed25519 signature); the newest is `{checkpoint}` |
| `checkpoints/consistency.jsonl` | RFC 9162 consistency proofs from each older checkpoint here to the newest: the log only grew |
| `checkpoints/<id>.note.ots` | OpenTimestamps proofs of those notes (standard .ots files: `ots verify checkpoints/<id>.note.ots` checks them against Bitcoin) |
| `keys/genesis.pub` | the site's first public key (hex): **compare it with the key registered for the site** (at enrolment, in your records); everything else is trusted through it |
| `keys/<keyid>.pub`, `keys/<keyid>.pem` | every site key (hex, and PEM for openssl); keyid = SHA-256 of the raw 32-byte key |
| `keys/rotations.jsonl` | key rotations, in order: each a DSSE envelope signed by the key it retires and the key it introduces, naming the log position from which the new key signs, with a consistency proof from that position to the newest checkpoint |
| `manifest.json` | site, origin, period, counts, the newest checkpoint |
| `verify.py` | a verifier that needs only Python 3.9+ and PyNaCl |

## Verify everything

```sh
python3 -m venv venv && venv/bin/pip install pynacl
venv/bin/python verify.py . --genesis-key <the site's registered key, hex>
```

It re-derives each signature's pre-authentication encoding and checks it with the key
valid at the envelope's log position (following the rotation chain from the genesis
key), each payload against its leaf hash, each inclusion proof up to the newest
checkpoint's root, each checkpoint's signature and consistency, and each artifact and
.ots file against its digest. It prints every property with a count and each failure
by name, and exits 0 when everything holds, 1 when anything fails.

## Check one signature by hand, with openssl

A DSSE signature covers `DSSEv1 <len(type)> <type> <len(payload)> <payload>` (lengths
in decimal, single spaces), with the payload base64-decoded. This writes those bytes
(`pae.bin`) and the raw 64-byte signature (`sig.bin`) of the first envelope, and the
key that signed it (`keyid.txt`), then asks openssl 3 to verify the Ed25519 signature
with that key's PEM file:

{by_hand}
```sh
python3 - <<'EOF'
import base64, json
line = json.loads(open("envelopes.jsonl").readline())
envelope = line["envelope"]
payload = base64.b64decode(envelope["payload"])
kind = envelope["payloadType"].encode()
open("pae.bin", "wb").write(b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload))
open("sig.bin", "wb").write(base64.b64decode(envelope["signatures"][0]["sig"]))
open("keyid.txt", "w").write(envelope["signatures"][0]["keyid"])
EOF
openssl pkeyutl -verify -pubin -inkey "keys/$(cat keyid.txt).pem" -rawin -in pae.bin -sigfile sig.bin
```

openssl prints `Signature Verified Successfully`. The keyid is the SHA-256 of the raw
key (`keys/<keyid>.pub`, hex); it must be the genesis key, or the key a rotation in
`keys/rotations.jsonl` made valid at the envelope's `leaf_index`:

```sh
python3 -c 'import hashlib, sys; print(hashlib.sha256(bytes.fromhex(open(sys.argv[1]).read())).hexdigest())' "keys/$(cat keyid.txt).pub"
```
"""


def render_readme(*, site_id: str, since: str, until: str, envelopes: int, checkpoint: str) -> str:
    """The kit's README.md; the by-hand commands follow :data:`BY_HAND_MARKER`."""
    return _TEMPLATE.format(
        site_id=site_id,
        since=since,
        until=until,
        envelopes=envelopes,
        checkpoint=checkpoint,
        by_hand=BY_HAND_MARKER,
    )
