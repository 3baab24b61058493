"""Ingest benchmark: signed custody events into a fresh SQLite ledger, against the raw Ed25519 ceiling.

    python benchmarks/ingest.py [--events 100000] [--batch 1000] [--db sqlite:///.bench/ingest.db]

Prints events/s, the single-core verification rate of libsodium (PyNaCl) on the same envelopes in the same
run, their ratio, and the peak resident memory. Target (issue 2): ratio >= 0.5 on SQLite.
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import nacl.signing

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adamas import Ledger
from adamas.crypto import canonicalize
from workload import build, clock_after, fresh


def registered_keys(setup: list[dict[str, Any]]) -> dict[str, bytes]:
    """Raw public keys by key id, as the setup events register them."""
    keys: dict[str, bytes] = {}
    for env in setup:
        body = env["body"]
        for spec in body.get("participant", body.get("administrator", {})).get("keys", []):
            keys[spec["id"]] = base64.b64decode(spec["public_key"])
    return keys


def verify_ceiling(envelopes: list[dict[str, Any]], world_keys: dict[str, bytes]) -> float:
    """Signatures verified per second, one core, on the exact signed bytes of ``envelopes``."""
    jobs = []
    for env in envelopes:
        body = env["body"]
        assert isinstance(body, dict)
        jobs.append(
            (
                nacl.signing.VerifyKey(world_keys[body["key"]]),
                canonicalize(body),
                base64.b64decode(str(env["sig"])),
            )
        )
    start = time.perf_counter()
    for key, message, signature in jobs:
        key.verify(message, signature)
    return len(jobs) / (time.perf_counter() - start)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--db", default="sqlite:///.bench/ingest.db")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    fresh(args.db)

    t0 = time.perf_counter()
    setup, custody = build(args.events)
    print(
        f"built {len(setup)} setup and {len(custody)} custody envelopes in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    # As `adamas sign` writes them: one canonical JSON envelope per line.
    lines = [canonicalize(env) for env in custody]
    keys = registered_keys(setup)

    # The ledger logs the workload as if it had just happened (its events span about a day).
    ledger = Ledger.open(args.db, create=True, clock=clock_after(custody))
    for start in range(0, len(setup), args.batch):
        outcomes = ledger.submit(setup[start : start + args.batch])
        assert all(o.ok for o in outcomes), [o.to_json() for o in outcomes if not o.ok][:3]

    t1 = time.perf_counter()
    cpu1 = time.process_time()
    for start in range(0, len(lines), args.batch):
        outcomes = ledger.submit(lines[start : start + args.batch])
        bad = [o.to_json() for o in outcomes if not o.ok]
        assert not bad, bad[:3]
    elapsed = time.perf_counter() - t1
    main_cpu = time.process_time() - cpu1
    ledger.close()
    worker_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu_s = worker_cpu.ru_utime + worker_cpu.ru_stime

    rate = len(lines) / elapsed
    ceiling = verify_ceiling(custody, keys)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "events": len(lines),
        "batch": args.batch,
        "seconds": round(elapsed, 2),
        "events_per_s": round(rate),
        "verify_ceiling_per_s": round(ceiling),
        "ratio": round(rate / ceiling, 3),
        "peak_rss_mib": round(peak_mib),
        "main_cpu_us_per_event": round(main_cpu / len(lines) * 1e6, 1),
        "worker_cpu_us_per_event": round(worker_cpu_s / len(lines) * 1e6, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"ingest: {figures['events']} events in {figures['seconds']} s", end=" ")
        print(f"= {figures['events_per_s']} events/s")
        print(f"ceiling: PyNaCl Ed25519 verify, one core = {figures['verify_ceiling_per_s']} signatures/s")
        print(f"ratio: {figures['ratio']} (target >= 0.5)")
        print(f"peak memory: {figures['peak_rss_mib']} MiB")
        print(
            f"CPU per event: main process {figures['main_cpu_us_per_event']} µs, "
            f"verification worker {figures['worker_cpu_us_per_event']} µs"
        )


if __name__ == "__main__":
    main()
