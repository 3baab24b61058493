"""Sequencer benchmark: the time per event spent inside the sequencer's lock (the serial fraction of ingest).

    python benchmarks/sequencer.py [--events 20000] [--batch 1000] [--db URL ...] [--json]

Ingests the custody workload (benchmarks/workload.py) in batches and times, per batch, the whole ``submit``
and the part of it inside ``Ledger._record`` (the write transaction that holds the head row's lock: load
state, check rules, write rows and tiles, sign the checkpoint, commit with its fsync). Parsing and signature
checks happen before it and can run on any number of front-ends. From the measured serial fraction ``s``
it prints what N front-ends reach by Amdahl's law, ``rate_1 / (s + (1 - s) / N)``, and where the single
sequencer saturates, ``1 / (time inside the lock per event)`` (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adamas import Ledger
from adamas.store import normalize_url
from results import Figure, record
from workload import build, clock_after, fresh

FRONT_ENDS = (1, 2, 4, 8, 16, 32)


class TimedLedger(Ledger):
    """A ledger that adds up the wall time spent inside the sequencer's write transaction."""

    inside_s = 0.0

    def _record(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return super()._record(*args, **kwargs)
        finally:
            self.inside_s += time.perf_counter() - start


def run(url: str, events: int, batch: int) -> dict[str, Any]:
    """Ingest and measure on one database; the figures as a dict."""
    url = normalize_url(url)
    fresh(url)
    setup, custody = build(events)
    with TimedLedger.open(url, create=True, clock=clock_after(custody)) as ledger:
        assert isinstance(ledger, TimedLedger)
        ledger.submit(setup)
        ledger.inside_s = 0.0
        start = time.perf_counter()
        for i in range(0, len(custody), batch):
            outcomes = ledger.submit(custody[i : i + batch])
            assert all(o.status == "accepted" for o in outcomes)
        total_s = time.perf_counter() - start
        inside_s = ledger.inside_s
        backend = ledger.engine.dialect.name
    serial = inside_s / total_s
    rate_1 = len(custody) / total_s
    ceiling = len(custody) / inside_s
    return {
        "backend": backend,
        "events": len(custody),
        "batch": batch,
        "us_per_event_total": round(total_s / len(custody) * 1e6, 1),
        "us_per_event_in_lock": round(inside_s / len(custody) * 1e6, 1),
        "serial_fraction": round(serial, 3),
        "rate_1_front_end": round(rate_1),
        "sequencer_ceiling_events_per_s": round(ceiling),
        "amdahl": {n: round(rate_1 / (serial + (1 - serial) / n)) for n in FRONT_ENDS},
    }


def main() -> None:
    """Run the benchmark on each database given and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--db", action="append", help="database URL (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    urls = args.db or ["sqlite:///.bench/sequencer.db"]
    results = [run(url, args.events, args.batch) for url in urls]
    record(
        "sequencer",
        [
            Figure(
                "time inside the sequencer's lock per event (serial fraction as ratio)",
                "µs",
                r["us_per_event_in_lock"],
                backend=r["backend"],
                ceiling=r["us_per_event_total"],
                ceiling_name="µs per event, whole submit",
                ratio=r["serial_fraction"],
                events=r["events"],
                note=f"sequencer ceiling {r['sequencer_ceiling_events_per_s']}/s",
            )
            for r in results
        ],
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['backend']}: {r['events']} events in batches of {r['batch']}: "
            f"{r['us_per_event_total']} us/event, {r['us_per_event_in_lock']} us inside the lock "
            f"(serial fraction {r['serial_fraction']}); one front-end {r['rate_1_front_end']}/s, "
            f"sequencer ceiling {r['sequencer_ceiling_events_per_s']}/s; Amdahl "
            + ", ".join(f"N={n}: {v}/s" for n, v in r["amdahl"].items())
        )


if __name__ == "__main__":
    main()
