"""Transparency-log benchmark: the Merkle tree in the ledger database at a million leaves.

    python benchmarks/log.py [--leaves 1000000] [--proofs 20000] [--db sqlite:///.bench/log.db] [--json]

1. Builds a ledger of ``--leaves`` synthetic leaves (arbitrary bytes with the length distribution of real
   canonical envelopes) through the ledger's own storage code -- ``events`` rows and
   ``TransparencyLog.append`` (stored tiles plus a signed, consistency-checked checkpoint) in chunks of
   10,000 -- instead of signing a million events.
2. Inclusion and consistency proof generation through ``Ledger.prove`` / ``Ledger.consistency`` (a pooled
   connection and two queries each), p50 and p99 over ``--proofs`` random queries; target p99 <= 1 ms.
3. Proof verification rate (``adamas.log.verify_inclusion`` / ``verify_consistency``).
4. ``audit(opaque=True)`` of the database and of its exported tiles, as a ratio to raw hashlib SHA-256 leaf
   hashing of the same leaves in the same run; target >= 0.3.
5. Separately, the envelope checks ``audit`` adds without ``--opaque`` (canonical form, schema, Ed25519), on
   a ledger of ``--signed`` real signed events, against PyNaCl's raw verification rate on the same events.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, update

from adamas import Ledger, audit
from adamas.crypto import canonicalize
from adamas.log import Verifier, open_checkpoint, verify_consistency, verify_inclusion
from adamas.store import schema
from adamas.store.database import HEAD, begin_write
from ingest import registered_keys, verify_ceiling, verify_jobs
from results import Figure, record
from workload import build, clock_after, fresh

CHUNK = 10_000


def synthetic_leaves(count: int, lengths: list[int]) -> list[bytes]:
    """``count`` distinct leaves whose lengths follow ``lengths`` (real canonical envelopes)."""
    rnd = random.Random(9162)
    pad = hashlib.sha256(b"adamas").hexdigest() * 16
    out = []
    for i in range(count):
        head = b'{"synthetic":%d,"pad":"' % i
        size = lengths[rnd.randrange(len(lengths))]
        out.append(head + pad[: max(0, size - len(head) - 2)].encode() + b'"}')
    return out


def build_log(url: str, leaves: list[bytes]) -> tuple[Ledger, float]:
    """The ledger holding ``leaves``, written as ``submit`` writes them; and the seconds it took."""
    ledger = Ledger.open(url, create=True, origin="bench.adamas.example/log")
    start = time.perf_counter()
    for head in range(0, len(leaves), CHUNK):
        chunk = leaves[head : head + CHUNK]
        hashes = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in chunk]
        rows = [
            {
                "seq": head + i,
                "event_id": f"syn-{head + i}",
                "type": "synthetic",
                "actor": "bench",
                "key_id": "bench",
                "time_ns": 0,
                "envelope": leaf,
                "leaf_hash": digest,
            }
            for i, (leaf, digest) in enumerate(zip(chunk, hashes, strict=True))
        ]
        with begin_write(ledger.engine) as conn:
            conn.execute(insert(schema.events), rows)
            conn.execute(
                update(schema.meta).where(schema.meta.c.name == HEAD).values(value=str(head + len(chunk)))
            )
            ledger.log.append(conn, head, hashes, now_ns=time.time_ns())
    return ledger, time.perf_counter() - start


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in microseconds."""
    ordered = sorted(samples)
    return (
        statistics.median(ordered) * 1e6,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6,
    )


def proof_figures(ledger: Ledger, leaves: list[bytes], count: int) -> dict[str, Any]:
    """Proof generation latencies and verification rates."""
    size = len(leaves)
    rnd = random.Random(6962)
    verifier = Verifier.from_vkey(ledger.vkey)
    checkpoint, _ = open_checkpoint(ledger.checkpoint().encode(), origin=ledger.origin, verifiers=[verifier])
    root = checkpoint.root_hash
    indexes = [rnd.randrange(size) for _ in range(count)]
    inclusion: list[tuple[int, list[bytes]]] = []
    timings = []
    for index in indexes:
        t = time.perf_counter()
        proof = ledger.prove(index)
        timings.append(time.perf_counter() - t)
        inclusion.append((index, proof))
    inclusion_p50, inclusion_p99 = percentiles(timings)

    sizes = list(range(CHUNK, size, CHUNK))
    with ledger.engine.connect() as conn:
        roots = {
            int(row.size): open_checkpoint(row.note.encode(), origin=ledger.origin, verifiers=[verifier])[
                0
            ].root_hash
            for row in conn.execute(schema.log_checkpoints.select())
        }
    consistency: list[tuple[int, list[bytes]]] = []
    timings = []
    for _ in range(count):
        old = rnd.choice(sizes) if rnd.random() < 0.5 else rnd.randrange(1, size)
        t = time.perf_counter()
        proof = ledger.consistency(old)
        timings.append(time.perf_counter() - t)
        consistency.append((old, proof))
    consistency_p50, consistency_p99 = percentiles(timings)

    hashes = {index: hashlib.sha256(b"\x00" + leaves[index]).digest() for index in indexes}
    t = time.perf_counter()
    for index, proof in inclusion:
        verify_inclusion(hashes[index], index, size, proof, root)
    inclusion_rate = len(inclusion) / (time.perf_counter() - t)
    checked = [(old, proof) for old, proof in consistency if old in roots]
    t = time.perf_counter()
    for old, proof in checked:
        verify_consistency(old, size, proof, roots[old], root)
    consistency_rate = len(checked) / (time.perf_counter() - t) if checked else 0.0
    return {
        "inclusion_p50_us": round(inclusion_p50, 1),
        "inclusion_p99_us": round(inclusion_p99, 1),
        "consistency_p50_us": round(consistency_p50, 1),
        "consistency_p99_us": round(consistency_p99, 1),
        "verify_inclusion_per_s": round(inclusion_rate),
        "verify_consistency_per_s": round(consistency_rate),
    }


def audit_figures(url: str, leaves: list[bytes], ledger: Ledger, tiles: Path) -> dict[str, Any]:
    """Audit throughput of the database and of its exported tiles, against raw SHA-256 leaf hashing."""
    sha256 = hashlib.sha256
    t = time.perf_counter()
    for leaf in leaves:
        sha256(b"\x00" + leaf).digest()
    raw_rate = len(leaves) / (time.perf_counter() - t)

    t = time.perf_counter()
    report = audit(db=url, opaque=True)
    db_rate = report.size / (time.perf_counter() - t)
    assert report.ok, report.faults[:3]

    shutil.rmtree(tiles, ignore_errors=True)
    t = time.perf_counter()
    ledger.export_tiles(tiles)
    export_seconds = time.perf_counter() - t
    t = time.perf_counter()
    report = audit(tiles=tiles, vkey=ledger.vkey, opaque=True)
    tiles_rate = report.size / (time.perf_counter() - t)
    assert report.ok, report.faults[:3]
    return {
        "raw_leaf_hash_per_s": round(raw_rate),
        "audit_db_leaves_per_s": round(db_rate),
        "audit_db_ratio": round(db_rate / raw_rate, 3),
        "export_tiles_s": round(export_seconds, 1),
        "audit_tiles_leaves_per_s": round(tiles_rate),
        "audit_tiles_ratio": round(tiles_rate / raw_rate, 3),
    }


def signature_figures(count: int, url: str) -> dict[str, Any]:
    """What the envelope checks (canonical form, schema, Ed25519; custody entries by the lean check of
    ``adamas.audit_lean``, the others parsed) add to an audit, on real signed events."""
    fresh(url)
    setup, custody = build(count)
    with Ledger.open(url, create=True, clock=clock_after(custody)) as ledger:
        for start in range(0, len(setup), 1000):
            assert all(o.ok for o in ledger.submit(setup[start : start + 1000]))
        for start in range(0, len(custody), 1000):
            assert all(o.ok for o in ledger.submit(custody[start : start + 1000]))
        size = ledger.size
    t = time.perf_counter()
    assert audit(db=url, opaque=True).ok
    opaque = time.perf_counter() - t
    t = time.perf_counter()
    report = audit(db=url)
    full = time.perf_counter() - t
    assert report.ok and report.envelopes == size, report.faults[:3]
    ceiling, _ = verify_ceiling(verify_jobs([*setup, *custody], registered_keys(setup)))
    return {
        "signed_events": size,
        "audit_full_per_s": round(size / full),
        "envelope_checks_per_s": round(size / (full - opaque)),
        "raw_ed25519_verify_per_s": round(ceiling),
        "envelope_checks_ratio": round(size / (full - opaque) / ceiling, 3),
    }


def record_figures(f: dict[str, Any]) -> None:
    """Leave this run's figures for `make bench`'s table (benchmarks/report.py)."""
    n, backend = f["leaves"], "sqlite"
    raw = f["raw_leaf_hash_per_s"]
    record(
        "log",
        [
            Figure(
                "inclusion proof from the database, p99",
                "µs",
                f["inclusion_p99_us"],
                backend=backend,
                target="<= 1000 µs",
                met=f["inclusion_p99_us"] <= 1000,
                events=n,
            ),
            Figure(
                "consistency proof from the database, p99",
                "µs",
                f["consistency_p99_us"],
                backend=backend,
                target="<= 1000 µs",
                met=f["consistency_p99_us"] <= 1000,
                events=n,
            ),
            Figure(
                "`audit --db --opaque`",
                "leaves/s",
                f["audit_db_leaves_per_s"],
                backend=backend,
                ceiling=raw,
                ceiling_name="leaves/s raw SHA-256",
                ratio=f["audit_db_ratio"],
                target=">= 0.3",
                met=f["audit_db_ratio"] >= 0.3,
                events=n,
            ),
            Figure(
                "`audit --tiles --opaque`",
                "leaves/s",
                f["audit_tiles_leaves_per_s"],
                backend="tiles",
                ceiling=raw,
                ceiling_name="leaves/s raw SHA-256",
                ratio=f["audit_tiles_ratio"],
                target=">= 0.3",
                met=f["audit_tiles_ratio"] >= 0.3,
                events=n,
            ),
            Figure(
                "envelope checks of `audit` (canonical form, schema, Ed25519)",
                "events/s",
                f["envelope_checks_per_s"],
                backend=backend,
                ceiling=f["raw_ed25519_verify_per_s"],
                ceiling_name="sig/s raw Ed25519, one core",
                ratio=f["envelope_checks_ratio"],
                events=f["signed_events"],
            ),
        ],
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    parser.add_argument("--signed", type=int, default=20_000)
    parser.add_argument("--db", default="sqlite:///.bench/log.db")
    parser.add_argument("--tiles", default=".bench/log-tiles")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    fresh(args.db)
    _, sample = build(2_000)
    lengths = [len(canonicalize(envelope)) for envelope in sample]
    leaves = synthetic_leaves(args.leaves, lengths)
    ledger, seconds = build_log(args.db, leaves)
    figures: dict[str, Any] = {
        "leaves": len(leaves),
        "mean_leaf_bytes": round(sum(map(len, leaves)) / len(leaves)),
        "build_leaves_per_s": round(len(leaves) / seconds),
    }
    print(f"built {len(leaves)} leaves in {seconds:.1f} s", file=sys.stderr)
    figures.update(proof_figures(ledger, leaves, args.proofs))
    figures.update(audit_figures(args.db, leaves, ledger, Path(args.tiles)))
    ledger.close()
    signed_db = args.db.replace(".db", "-signed.db") if args.db.startswith("sqlite") else args.db
    figures.update(signature_figures(args.signed, signed_db))
    record_figures(figures)

    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"tree: {figures['leaves']} leaves of {figures['mean_leaf_bytes']} bytes on average, built at "
        f"{figures['build_leaves_per_s']} leaves/s (events rows + tiles + a checkpoint per {CHUNK})"
    )
    print(
        f"inclusion proof from the database: p50 {figures['inclusion_p50_us']} us, "
        f"p99 {figures['inclusion_p99_us']} us (target p99 <= 1000)"
    )
    print(
        f"consistency proof from the database: p50 {figures['consistency_p50_us']} us, "
        f"p99 {figures['consistency_p99_us']} us (target p99 <= 1000)"
    )
    print(
        f"verification: {figures['verify_inclusion_per_s']} inclusion proofs/s, "
        f"{figures['verify_consistency_per_s']} consistency proofs/s"
    )
    print(f"raw SHA-256 leaf hashing: {figures['raw_leaf_hash_per_s']} leaves/s")
    print(
        f"audit --db --opaque: {figures['audit_db_leaves_per_s']} leaves/s, "
        f"ratio {figures['audit_db_ratio']} (target >= 0.3)"
    )
    print(
        f"export-tiles: {figures['export_tiles_s']} s; audit --tiles --opaque: "
        f"{figures['audit_tiles_leaves_per_s']} leaves/s, ratio {figures['audit_tiles_ratio']}"
    )
    print(
        f"envelope checks (parse + Ed25519) on {figures['signed_events']} signed events: "
        f"{figures['envelope_checks_per_s']}/s vs raw PyNaCl verify {figures['raw_ed25519_verify_per_s']}/s "
        f"(ratio {figures['envelope_checks_ratio']}); full audit {figures['audit_full_per_s']} events/s"
    )


if __name__ == "__main__":
    main()
