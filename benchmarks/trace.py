"""Trace benchmark: backward trace from polished stones and forward trace of a 1,110-descendant lot.

    python benchmarks/trace.py [--events 100000] [--db sqlite:///.bench/trace.db] [--samples 300] [--json]

Builds the custody workload (benchmarks/workload.py) plus a lot split ten ways three times, ingests it, runs
ANALYZE (PostgreSQL), then times ``Ledger.trace`` backward from random polished stones, forward from the
wide lot (whole and first page of 100) and prints p50/p99 in ms against the issue's ceilings (backward
p99 <= 5 ms SQLite / 10 ms PostgreSQL at 1M events; forward 1,000 descendants p99 <= 50 ms).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import text

from adamas import Ledger
from adamas.store import normalize_url
from workload import STORY_EVENTS, build, clock_after, fresh

BACKWARD_CEILING_MS = {"sqlite": 5.0, "postgresql": 10.0}
FORWARD_CEILING_MS = 50.0


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 of ``samples`` (seconds), in ms."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.50), 3), "p99_ms": round(pick(0.99), 3)}


def timed(call: Any, count: int) -> list[float]:
    """Wall times of ``count`` calls."""
    out = []
    for _ in range(count):
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    return out


def run(url: str, events: int, samples: int, batch: int = 1000) -> dict[str, Any]:
    """Build, ingest and measure on one database; the figures as a dict."""
    url = normalize_url(url)
    fresh(url)
    setup, custody = build(events, fanout=1000)
    t0 = time.perf_counter()
    with Ledger.open(url, create=True, clock=clock_after(custody)) as ledger:
        everything = setup + custody
        for i in range(0, len(everything), batch):
            outcomes = ledger.submit(everything[i : i + batch])
            assert all(o.status == "accepted" for o in outcomes), [o.error for o in outcomes if o.error]
        ingest_s = time.perf_counter() - t0
        if ledger.engine.dialect.name == "postgresql":
            with ledger.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        backend = ledger.engine.dialect.name
        stories = events // STORY_EVENTS
        rng = random.Random(14)
        stones = [f"R{rng.randrange(stories):07d}p1" for _ in range(samples)]
        assert len(ledger.trace(stones[0]).mines) == 1
        for lot in stones[:20]:  # warm the caches
            ledger.trace(lot)
        it = iter(stones)
        backward = timed(lambda: ledger.trace(next(it)), samples)
        whole = ledger.trace("FAN", direction="forward")
        descendants = len(whole.nodes) - 1
        forward_samples = max(10, samples // 10)
        forward = timed(lambda: ledger.trace("FAN", direction="forward"), forward_samples)
        page = timed(lambda: ledger.trace_page("FAN", direction="forward", limit=100), forward_samples)
        size = ledger.size
    back = percentiles(backward)
    fwd = percentiles(forward)
    return {
        "backend": backend,
        "events": size,
        "ingest_s": round(ingest_s, 1),
        "backward": back,
        "backward_ceiling_ms": BACKWARD_CEILING_MS[backend],
        "backward_met": back["p99_ms"] <= BACKWARD_CEILING_MS[backend],
        "forward_descendants": descendants,
        "forward": fwd,
        "forward_page_100": percentiles(page),
        "forward_ceiling_ms": FORWARD_CEILING_MS,
        "forward_met": fwd["p99_ms"] <= FORWARD_CEILING_MS,
    }


def main() -> None:
    """Run the benchmark on each database given and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--db", action="append", help="database URL (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = [run(url, args.events, args.samples) for url in args.db or ["sqlite:///.bench/trace.db"]]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['backend']}: {r['events']} events (ingest {r['ingest_s']} s); backward p50 "
            f"{r['backward']['p50_ms']} ms p99 {r['backward']['p99_ms']} ms (ceiling "
            f"{r['backward_ceiling_ms']} ms, {'met' if r['backward_met'] else 'missed'}); forward "
            f"{r['forward_descendants']} descendants p50 {r['forward']['p50_ms']} ms p99 "
            f"{r['forward']['p99_ms']} ms (ceiling {r['forward_ceiling_ms']} ms, "
            f"{'met' if r['forward_met'] else 'missed'}); first page of 100 p99 "
            f"{r['forward_page_100']['p99_ms']} ms"
        )


if __name__ == "__main__":
    main()
