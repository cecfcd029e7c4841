"""Evidence speed: sign + append rate, full-verify time, inclusion-proof size and time.

    .venv/bin/python -m bench.evidence [--count 100000] [--count 1000000] [--results 10]
    .venv/bin/python -m bench.evidence --quick     # tiny sizes, the test suite's run

For each --count it builds a fresh site (real key, real SQLite in a temporary
directory) and records that many host outcomes through the path a scan takes: seal
(statement → scrub → RFC 8785 → DSSE, Ed25519) then one transaction per host writing
the host row, its result rows, the envelope, the leaf and the completed Merkle nodes;
runs of --hosts hosts, each ending with a signed checkpoint. Then it runs the full
`osiris verify` check (every signature, payload, statement, result row, node and
checkpoint) and times inclusion proofs against the final checkpoint.

Goals: >= 2,000 bundles/s appended; 1M bundles verified in <= 60 s; an inclusion proof
checked in <= 1 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from osiris.evidence.bundle import seal_scan
from osiris.evidence.clock import ClockInfo
from osiris.evidence.dsse import Envelope
from osiris.evidence.keys import SiteSigner, keyid, load_signing_key
from osiris.evidence.log import (
    append_bundles,
    current_root,
    leaf_index_of,
    prove_inclusion,
    write_checkpoint,
)
from osiris.evidence.merkle import leaf_hash, verify_inclusion
from osiris.evidence.verify import Trust, verify_log
from osiris.model import CheckResult, Connection, Host, HostOutcome, Platform, Role, Status
from osiris.site import init_site
from osiris.store import open_database
from osiris.store.runs import RunStatus, finish_run, record_host, record_hosts, start_run

STATUSES = [Status.PASS, Status.PASS, Status.PASS, Status.WARNING, Status.FAIL]


def outcome(host: Host, n_results: int, rng: random.Random) -> HostOutcome:
    results = tuple(
        CheckResult(
            host.name,
            f"lnx_check_{i:02d}",
            rng.choice(STATUSES),
            f"value {rng.randint(0, 100)} against threshold 80",
            facts={
                "enabled": rng.random() < 0.5,
                "value": rng.randint(0, 10_000),
                "load": round(rng.random() * 4, 2),
                "items": [f"item-{rng.randint(0, 99)}" for _ in range(3)],
                # one result in ten holds PHI-like text, scrubbed before signing
                "owner": f"user{rng.randint(0, 9)}@clinic.example" if i == 0 else "root",
            },
            duration_ms=rng.random() * 50,
            probe_digest=hashlib.sha256(f"probe {i}".encode()).hexdigest(),  # one per check
        )
        for i in range(n_results)
    )
    raw = rng.getrandbits(256).to_bytes(32, "big").hex().encode()  # a probe bundle's output
    return HostOutcome(host, results, duration_ms=900.0, raw_output=raw)


def build(
    home: Path, count: int, n_results: int, per_run: int, *, per_host: bool
) -> tuple[float, float, int]:
    """Record ``count`` bundles in runs of ``per_run`` hosts, each run ending with a
    signed checkpoint; one transaction per run (``per_host`` False: the run's results
    and bundles appended together, one executemany each) or per host (what a scan
    does as outcomes arrive one by one). Returns (seconds, seconds sealing, runs)."""
    site = init_site(home, "bench-site")
    signer = SiteSigner("bench-site", load_signing_key(site.private_key_path))
    db = site.database()
    hosts = [
        Host(f"host-{i:03d}", f"10.0.{i // 250}.{i % 250}", Connection.SSH, Platform.LINUX,
             Role.SERVER)
        for i in range(per_run)
    ]  # fmt: skip
    rng = random.Random(7)
    clock = ClockInfo("ntp", 0.2, 16.0)
    pool = [[outcome(h, n_results, rng) for h in hosts] for _ in range(20)]  # made untimed
    sealing, runs, done = 0.0, 0, 0
    started = time.perf_counter()
    while done < count:
        batch = pool[runs % len(pool)][: min(per_run, count - done)]
        run_id = start_run(
            db, engine="direct", inventory=(), host_count=len(batch), check_count=n_results
        )
        t0 = time.perf_counter()
        bundles = [
            seal_scan(signer, run_id, o, finished=datetime.now(UTC), clock=clock) for o in batch
        ]
        sealing += time.perf_counter() - t0
        if per_host:
            for o, b in zip(batch, bundles, strict=True):
                record_host(db, run_id, o, within=partial(append_bundles, db, [b]))
        else:
            record_hosts(db, run_id, batch, within=partial(append_bundles, db, bundles))
        finish_run(db, run_id, RunStatus.COMPLETE)
        write_checkpoint(db, signer, run_id)
        runs += 1
        done += len(batch)
    return time.perf_counter() - started, sealing, runs


def proofs(home: Path, samples: int) -> tuple[int, float, float]:
    """(longest proof in hashes, ms to build one, ms to check one) against the final
    tree, averaged over ``samples`` random bundles; the leaf is re-hashed from the
    stored envelope's payload, as an auditor would."""
    db = open_database(home / "osiris.db")
    size, root = current_root(db)
    rng = random.Random(3)
    built, checked, length = 0.0, 0.0, 0
    for env_id in (rng.randrange(1, size + 1) for _ in range(samples)):
        text = db.execute("SELECT envelope FROM envelopes WHERE id = ?", [env_id]).fetchone()[0]
        payload = Envelope.from_json(text).payload
        t0 = time.perf_counter()
        index = leaf_index_of(db, env_id)
        proof = prove_inclusion(db, index, size)
        t1 = time.perf_counter()
        verify_inclusion(leaf_hash(payload), index, size, proof, root)
        t2 = time.perf_counter()
        built += t1 - t0
        checked += t2 - t1
        length = max(length, len(proof))
    return length, built / samples * 1000, checked / samples * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.evidence", description=__doc__)
    parser.add_argument("--count", type=int, action="append", help="bundles (repeatable)")
    parser.add_argument("--results", type=int, default=10, help="check results per bundle")
    parser.add_argument("--hosts", type=int, default=50, help="hosts per run")
    parser.add_argument(
        "--scan-path", type=int, default=20_000, help="bundles for the per-host figure"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: tmp)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the test suite's run)")
    args = parser.parse_args(argv)
    samples = 1000
    if args.quick:
        args.count, args.hosts, args.scan_path, samples = [300], 10, 100, 50
    print(f"{os.cpu_count()} CPUs; {args.results} results per bundle, {args.hosts} hosts per run")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="osiris-bench-") as tmp:
        total, sealing, _ = build(
            Path(tmp) / "site", args.scan_path, args.results, args.hosts, per_host=True
        )
        _rate("scan path (a transaction per host)", args.scan_path, total, sealing)
    for count in args.count or [100_000]:
        with tempfile.TemporaryDirectory(dir=args.dir, prefix="osiris-bench-") as tmp:
            home = Path(tmp) / "site"
            total, sealing, runs = build(home, count, args.results, args.hosts, per_host=False)
            size_mb = (home / "osiris.db").stat().st_size / 1e6
            print(f"== {count:,} bundles, {runs:,} runs, database {size_mb:,.0f} MB")
            _rate("sign+append (a transaction per run)", count, total, sealing)
            db = open_database(home / "osiris.db")
            key = load_signing_key(home / "keys" / "site.key").verify_key
            report = verify_log(db, Trust("bench-site", {keyid(key): key}))
            assert report.ok, report.failed
            print(
                f"full verify: {report.seconds:.1f} s ({count / report.seconds:,.0f} bundles/s;"
                f" goal: 1M in <= 60 s)"
            )
            length, build_ms, check_ms = proofs(home, samples)
            print(
                f"inclusion proof: {length} hashes ({length * 32} bytes); built in"
                f" {build_ms:.3f} ms, checked in {check_ms:.4f} ms (goal <= 1 ms)"
            )


def _rate(label: str, count: int, total: float, sealing: float) -> None:
    print(
        f"{label}: {count / total:,.0f} bundles/s (goal >= 2,000); per bundle: sealing"
        f" {sealing / count * 1e6:.0f} us, database {(total - sealing) / count * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
