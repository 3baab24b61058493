"""Disk per event: what a ledger of the custody workload occupies, against its canonical envelopes' size.

    python benchmarks/disk.py [--events 100000] [--db sqlite:///.bench/disk.db] [--db postgresql://..]

Ingests the custody workload (benchmarks/workload.py: 1,000 registrations, then ``--events`` custody events)
into a fresh ledger on each database given, then measures it as it stands:

- SQLite: the WAL checkpointed into the file, ``page_count * page_size`` (free pages included: the file
  a user keeps), split per table and index with ``dbstat``; the size after ``VACUUM`` is shown beside it.
- PostgreSQL: after ``VACUUM ANALYZE``, ``pg_total_relation_size`` of every Adamas table (heap, its
  indexes, TOAST, free-space and visibility maps), split into heap, TOAST and each index.

The denominator is the mean byte length of the canonical envelopes stored (the log's leaves, as the ledger
frames them from each submitted envelope). Issue 14's target: at most 2.5 times that per event, on both
backends. The figures go to .bench/results/disk.json (``benchmarks/results.py``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Engine, make_url, text

from adamas import Ledger
from adamas.model.events import parse_envelope
from adamas.store import metadata, normalize_url, open_engine
from results import Figure, record
from workload import build, clock_after, fresh

TARGET = 2.5


def ingest(url: str, events: int, batch: int) -> tuple[int, float, float]:
    """Ingest the workload into a fresh ledger at ``url``: (events stored, mean canonical bytes, seconds)."""
    fresh(url)
    setup, custody = build(events)
    everything = setup + custody
    leaves = [len(parse_envelope(raw).leaf) for raw in everything]
    t0 = time.perf_counter()
    with Ledger.open(url, create=True, clock=clock_after(custody)) as ledger:
        for i in range(0, len(everything), batch):
            outcomes = ledger.submit(everything[i : i + batch])
            assert all(o.status == "accepted" for o in outcomes), [o.error for o in outcomes if o.error]
        size = ledger.size
    assert size == len(leaves), (size, len(leaves))
    return size, sum(leaves) / len(leaves), time.perf_counter() - t0


def sqlite_sizes(url: str) -> dict[str, Any]:
    """The SQLite file's bytes after a WAL checkpoint, per table and index (``dbstat``), and after VACUUM."""
    path = make_url(url).database or ""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        total = conn.execute("PRAGMA page_count").fetchone()[0] * page_size
        free = conn.execute("PRAGMA freelist_count").fetchone()[0] * page_size
        owners = {
            name: (kind, table)
            for kind, name, table in conn.execute("SELECT type, name, tbl_name FROM sqlite_master")
        }
        tables: dict[str, dict[str, Any]] = {}
        for name, pgsize in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            kind, table = owners.get(name, ("table", name))
            entry = tables.setdefault(table, {"table": 0, "toast": 0, "indexes": {}, "rows": 0})
            if kind == "index":
                entry["indexes"][name] = pgsize
            else:
                entry["table"] += pgsize
        for table, entry in tables.items():
            if table in metadata.tables:
                entry["rows"] = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            entry["total"] = entry["table"] + sum(entry["indexes"].values())
        conn.execute("VACUUM")
        vacuumed = conn.execute("PRAGMA page_count").fetchone()[0] * page_size
    finally:
        conn.close()
    return {"total": total, "free": free, "vacuumed": vacuumed, "tables": tables}


def postgres_sizes(engine: Engine) -> dict[str, Any]:
    """Bytes of every Adamas table after VACUUM ANALYZE: heap, TOAST, each index, and the total."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    tables: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for name in metadata.tables:
            row = conn.execute(
                text(
                    "SELECT pg_total_relation_size(c.oid), pg_relation_size(c.oid), "
                    "COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0) "
                    "FROM pg_class c WHERE c.oid = to_regclass(:name)"
                ),
                {"name": f'"{name}"'},
            ).first()
            if row is None:
                continue
            found = conn.execute(
                text(
                    "SELECT i.relname, pg_total_relation_size(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(:name)"
                ),
                {"name": f'"{name}"'},
            )
            indexes = {str(index): int(size) for index, size in found}
            rows = conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            # The heap's share: everything that is neither an index nor TOAST (main fork, FSM, VM).
            tables[name] = {
                "total": row[0],
                "table": row[0] - row[2] - sum(indexes.values()),
                "toast": row[2],
                "indexes": indexes,
                "rows": rows,
            }
    return {"total": sum(t["total"] for t in tables.values()), "tables": tables}


def run(url: str, events: int, batch: int) -> dict[str, Any]:
    """Ingest and measure on one database; the figures as a dict."""
    url = normalize_url(url)
    size, mean, seconds = ingest(url, events, batch)
    engine = open_engine(url)
    try:
        backend = engine.dialect.name
        sizes = sqlite_sizes(url) if backend == "sqlite" else postgres_sizes(engine)
    finally:
        engine.dispose()
    per_event = sizes["total"] / size
    return {
        "backend": backend,
        "events": size,
        "ingest_s": round(seconds, 1),
        "envelope_mean_bytes": round(mean, 1),
        "bytes_per_event": round(per_event, 1),
        "ratio": round(per_event / mean, 3),
        "met": per_event / mean <= TARGET,
        **sizes,
    }


def breakdown(result: dict[str, Any]) -> list[str]:
    """Lines of the per table and per index breakdown, in bytes per event, largest first."""
    n = result["events"]
    lines = []
    ordered = sorted(result["tables"].items(), key=lambda item: -item[1]["total"])
    for name, t in ordered:
        if t["total"] == 0:
            continue
        toast = f", toast {t['toast'] / n:.1f}" if t["toast"] else ""
        lines.append(
            f"  {name:<20} {t['total'] / n:8.1f} B/event  (table {t['table'] / n:.1f}{toast}; "
            f"{t['rows']} rows)"
        )
        for index, bytes_ in sorted(t["indexes"].items(), key=lambda item: -item[1]):
            lines.append(f"    {index:<30} {bytes_ / n:8.1f}")
    return lines


def main() -> None:
    """Run the benchmark on each database given, print the breakdown and record the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000, help="custody events (plus 1,000+ setup)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--db", action="append", help="database URL (repeatable; emptied first)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = [run(url, args.events, args.batch) for url in args.db or ["sqlite:///.bench/disk.db"]]
    figures = []
    for r in results:
        ceiling = TARGET * r["envelope_mean_bytes"]
        figures.append(
            Figure(
                "disk per event",
                "bytes",
                r["bytes_per_event"],
                backend=r["backend"],
                ceiling=round(ceiling, 1),
                ceiling_name=f"{TARGET} x canonical envelope ({r['envelope_mean_bytes']} B)",
                ratio=r["ratio"],
                target=f"<= {TARGET} x envelope",
                met=r["met"],
                events=r["events"],
                extra={
                    "tables": {name: t for name, t in r["tables"].items() if t["total"]},
                    **({"vacuumed_bytes": r["vacuumed"], "free_bytes": r["free"]} if "vacuumed" in r else {}),
                },
            )
        )
    record("disk", figures)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        vacuumed = (
            f"; after VACUUM {r['vacuumed'] / r['events']:.1f} B/event" if r["backend"] == "sqlite" else ""
        )
        print(
            f"{r['backend']}: {r['events']} events (ingest {r['ingest_s']} s); {r['bytes_per_event']} "
            f"B/event, canonical envelope {r['envelope_mean_bytes']} B, ratio {r['ratio']} (target <= "
            f"{TARGET}: {'met' if r['met'] else 'missed'}){vacuumed}"
        )
        print("\n".join(breakdown(r)))


if __name__ == "__main__":
    main()
