"""Audit benchmark (issue 14): ``audit --db`` of real signed events, envelope checks on every core.

    python benchmarks/audit.py [--events 30000] [--db URL ...] [--json]

On each database: ingest ``--events`` custody events (after 1,000 registrations), then time the full audit
(leaves, tiles, checkpoints, every envelope parsed and its Ed25519 signature verified) with ``--jobs 1``
and ``--jobs <cores>``, alternated twice (the better of each kept). The ceiling, measured in the same run:
PyNaCl's raw verification rate of the same signed messages on one core, times ``os.cpu_count()``. Target:
the audit with one job per core at >= 0.8 of it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adamas import Ledger, audit
from ingest import registered_keys, verify_ceiling, verify_jobs
from results import Figure, record
from workload import build, clock_after, fresh


def run(url: str, events: int) -> dict[str, Any]:
    """Build the ledger, then measure the audit with one job and one per core; the figures as a dict."""
    fresh(url)
    setup, custody = build(events)
    with Ledger.open(url, create=True, clock=clock_after(custody)) as ledger:
        for group in (setup, custody):
            for i in range(0, len(group), 1000):
                assert all(o.ok for o in ledger.submit(group[i : i + 1000]))
        size = ledger.size
        backend = ledger.engine.dialect.name
    cores = os.cpu_count() or 1
    envelopes = [*setup, *custody]
    signed = verify_jobs(envelopes, registered_keys(setup))
    best: dict[int, float] = {}
    cpu: dict[int, float] = {}
    verify = 0.0
    verify_cpu = float("inf")
    for jobs in (1, cores, 1, cores):
        # The ceiling beside each audit (the best kept: the machine is shared, a higher ceiling is stricter).
        rate, cpu_us = verify_ceiling(signed)
        verify = max(verify, rate)
        verify_cpu = min(verify_cpu, cpu_us / 1e6)
        before = _cpu()
        start = time.perf_counter()
        report = audit(db=url, jobs=jobs)
        seconds = time.perf_counter() - start
        used = _cpu() - before
        assert report.ok and report.envelopes == size, report.faults[:3]
        if seconds < best.get(jobs, float("inf")):
            best[jobs], cpu[jobs] = seconds, used
    start = time.perf_counter()
    assert audit(db=url, opaque=True).ok
    opaque_s = time.perf_counter() - start
    return {
        "backend": backend,
        "events": size,
        "cores": cores,
        "raw_verify_per_s": round(verify),
        "ceiling_per_s": round(verify * cores),
        "audit_1_per_s": round(size / best[1]),
        "audit_n_per_s": round(size / best[cores]),
        "opaque_per_s": round(size / opaque_s),
        "ratio_1": round(size / best[1] / verify, 3),
        "ratio_n": round(size / best[cores] / (verify * cores), 3),
        "speedup": round(best[1] / best[cores], 2),
        # CPU of this process and its workers per event: what an idle machine's throughput follows.
        "cpu_us_per_event_1": round(cpu[1] / size * 1e6, 1),
        "cpu_us_per_event_n": round(cpu[cores] / size * 1e6, 1),
        "raw_verify_us": round(1e6 / verify, 1),
        # Load-independent: the share of the audit's CPU that is raw Ed25519, which bounds the ratio an
        # idle machine can reach with every core busy.
        "raw_verify_cpu_us": round(verify_cpu * 1e6, 1),
        "cpu_ratio_n": round(verify_cpu * 1e6 / (cpu[cores] / size * 1e6), 3),
    }


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the audit's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def figures(out: dict[str, Any]) -> list[Figure]:
    """The run's figures in the shared format."""
    cores = out["cores"]
    return [
        Figure(
            f"audit --db signed events/s (--jobs {cores})",
            "events/s",
            out["audit_n_per_s"],
            backend=out["backend"],
            ceiling=out["ceiling_per_s"],
            ceiling_name=f"raw Ed25519 verify x {cores} cores",
            ratio=out["ratio_n"],
            target=">= 0.8",
            met=out["ratio_n"] >= 0.8,
            events=out["events"],
            extra={
                "speedup_over_jobs_1": out["speedup"],
                "opaque_per_s": out["opaque_per_s"],
                "cpu_us_per_event": out["cpu_us_per_event_n"],
                "raw_verify_us": out["raw_verify_us"],
                "raw_verify_cpu_us": out["raw_verify_cpu_us"],
                "cpu_ratio": out["cpu_ratio_n"],
            },
        ),
        Figure(
            "audit --db signed events/s (--jobs 1)",
            "events/s",
            out["audit_1_per_s"],
            backend=out["backend"],
            ceiling=out["raw_verify_per_s"],
            ceiling_name="raw Ed25519 verify, one core",
            ratio=out["ratio_1"],
            events=out["events"],
            extra={"cpu_us_per_event": out["cpu_us_per_event_1"]},
        ),
    ]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--db", action="append", help="database URL (repeatable); it is emptied")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = [run(url, args.events) for url in args.db or ["sqlite:///.bench/audit.db"]]
    record("audit", [f for out in results for f in figures(out)])
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for out in results:
        print(
            f"{out['backend']}: {out['events']} signed events; audit --jobs 1 {out['audit_1_per_s']}/s, "
            f"--jobs {out['cores']} {out['audit_n_per_s']}/s (x{out['speedup']}); ceiling "
            f"{out['ceiling_per_s']}/s ({out['raw_verify_per_s']}/s x {out['cores']} cores): ratio "
            f"{out['ratio_n']} (target >= 0.8); opaque audit {out['opaque_per_s']}/s; CPU per event "
            f"{out['cpu_us_per_event_1']} us (--jobs 1), {out['cpu_us_per_event_n']} us "
            f"(--jobs {out['cores']}), raw verify {out['raw_verify_us']} us "
            f"({out['raw_verify_cpu_us']} us CPU): CPU ratio {out['cpu_ratio_n']}"
        )


if __name__ == "__main__":
    main()
