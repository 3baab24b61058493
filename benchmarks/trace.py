"""Trace benchmark: backward trace from polished stones and forward trace of a 1,110-descendant lot.

    python benchmarks/trace.py [--events 1000000] [--db sqlite:///.bench/trace-{events}.db ...] [--reuse]
                               [--warm] [--samples 300] [--build-only] [--json]

Streams the custody workload (benchmarks/workload.py) plus a lot split ten ways three times into each
database, batch by batch (never the whole workload in memory), analyzes it, then times ``Ledger.trace``
backward from random polished stones and ``Ledger.trace_page`` forward from the wide lot (first page of
100; the whole 1,110-lot trace is timed too, for reference), and prints and records
(``.bench/results/trace.json``) p50/p99 in ms against the issue's ceilings: backward p99 <= 5 ms SQLite /
10 ms PostgreSQL, forward (first page) p99 <= 50 ms, at every ledger size.

``--reuse`` keeps a database that already holds the workload at this size (its build is paid once: about
1 KB and 100-800 µs per event) and resumes an interrupted build; without it the database is emptied and
built again. ``{events}`` in a ``--db`` URL is replaced by the size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from adamas import Ledger
from adamas.model.values import parse_time
from adamas.store import normalize_url, open_engine, schema
from adamas.store.database import analyze
from results import RESULTS, Figure, record
from workload import STORY_EVENTS, fresh, stream

BACKWARD_CEILING_MS = {"sqlite": 5.0, "postgresql": 10.0}
FORWARD_CEILING_MS = 50.0
PAGE = 100


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 of ``samples`` (seconds), in ms."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.50), 3), "p99_ms": round(pick(0.99), 3)}


def timed(call: Any, count: int, beside: Any) -> tuple[list[float], list[float], list[float]]:
    """Wall and CPU times of ``count`` calls, and the wall times of ``beside`` (the reference read) called
    between them: a machine's load shows in both alike."""
    wall, cpu, ref = [], [], []
    for _ in range(count):
        c, t = time.process_time(), time.perf_counter()
        call()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        t = time.perf_counter()
        beside()
        ref.append(time.perf_counter() - t)
    return wall, cpu, ref


def _state(url: str) -> tuple[bool, int]:
    """(the fan-out lot ``FAN`` is there, events logged) of the benchmark ledger at ``url``."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return False, 0
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("lots"):
                return False, 0
            fan = conn.execute(select(schema.lots.c.id).where(schema.lots.c.id == "FAN")).first()
            head = conn.execute(select(schema.meta.c.value).where(schema.meta.c.name == "head")).scalar()
        return fan is not None, int(head or 0)
    finally:
        engine.dispose()


def ledger_ready(url: str, events: int) -> bool:
    """True when ``url`` already holds this benchmark's ledger of ``events`` custody events (the fan-out
    lot ``FAN`` comes last, so an interrupted build is never taken for a finished one)."""
    fan, head = _state(url)
    return fan and events <= head < events + 10_000


def build_ledger(url: str, events: int, batch: int = 2000, *, resume: bool = False) -> float:
    """Ingest the workload (``events`` custody events and the fan-out) into ``url``, streamed batch by
    batch; the ledger's clock follows the batches (a 10M-event workload spans four months, more than the
    backdating allowance). ``resume``: continue an interrupted build of the same workload (the workload is
    deterministic: the envelopes already logged are generated again and skipped); otherwise the database
    is emptied first. Returns the seconds taken."""
    fan, skip = _state(url) if resume else (False, 0)
    if fan or not skip or skip > events:  # finished, empty, or an interrupted build of a larger workload
        fresh(url)
        skip = 0
    now = [0]
    t0 = time.perf_counter()
    done = 0
    with Ledger.open(url, create=True, clock=lambda: now[0]) as ledger:
        for envelopes in stream(events, fanout=1000, batch=batch):
            now[0] = max([now[0], *(parse_time(e["body"]["time"], "time") for e in envelopes)])
            done += len(envelopes)
            if done <= skip:
                continue
            todo = envelopes[len(envelopes) - min(len(envelopes), done - skip) :]
            outcomes = ledger.submit(todo)
            assert all(o.status == "accepted" for o in outcomes), [o.error for o in outcomes if o.error]
            if done % 100_000 < batch:
                rate = (done - skip) / (time.perf_counter() - t0)
                print(f"  {url}: {done} events logged ({rate:.0f}/s)", file=sys.stderr, flush=True)
    engine = open_engine(url)
    if engine.dialect.name == "postgresql":
        # What autovacuum does to an insert-only table in production: statistics, and the visibility
        # map that lets index-only scans (lot_edges) skip the heap.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM (ANALYZE)")
    else:
        analyze(engine)
    engine.dispose()
    return time.perf_counter() - t0


def prewarm(url: str) -> None:
    """PostgreSQL's ``--warm``: every Adamas table, index and TOAST relation read once into the OS page cache
    (``pg_prewarm`` in ``read`` mode, PostgreSQL's contrib module), as ``--warm`` reads a SQLite file."""
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            blocks = conn.exec_driver_sql(
                "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
                "WHERE c.relnamespace IN ('public'::regnamespace, 'pg_toast'::regnamespace) "
                "AND c.relkind IN ('r', 'i', 't') AND c.relpersistence = 'p'"
            ).scalar_one()
    except SQLAlchemyError as exc:
        print(f"  {url}: not warmed ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return
    finally:
        engine.dispose()
    print(f"  {url}: {int(blocks) * 8192 / 1e9:.1f} GB read once (pg_prewarm)", file=sys.stderr)


def run(url: str, events: int, samples: int, *, reuse: bool = False, warm: bool = False) -> dict[str, Any]:
    """Build (or reuse) and measure one database; the figures as a dict."""
    url = normalize_url(url)
    ingest_s = None
    if not (reuse and ledger_ready(url, events)):
        ingest_s = round(build_ledger(url, events, resume=reuse), 1)
    if warm and url.startswith("sqlite:///"):
        # The whole file through the OS page cache once: the steady state of a ledger that fits in memory
        # (a 1M-event ledger is about 0.9 GB), rather than the first touch of each page from disk.
        with Path(url.removeprefix("sqlite:///")).open("rb") as f:
            while f.read(1 << 20):
                pass
    elif warm:
        prewarm(url)
    with Ledger.open(url) as ledger:
        backend = ledger.engine.dialect.name
        stories = events // STORY_EVENTS
        rng = random.Random(14)
        stones = [f"R{rng.randrange(stories):07d}p1" for _ in range(samples + 20)]
        assert len(ledger.trace(stones[0]).mines) == 1
        for lot in stones[:20]:  # warm the caches
            ledger.trace(lot)
        it = iter(stones[20:])
        lot_read = lambda: ledger.lot(stones[0])  # noqa: E731
        backward, backward_cpu, ref = timed(lambda: ledger.trace(next(it)), samples, lot_read)
        whole = ledger.trace("FAN", direction="forward")
        descendants = len(whole.nodes) - 1
        forward_samples = max(20, samples // 5)
        page, page_cpu, _ = timed(
            lambda: ledger.trace_page("FAN", direction="forward", limit=PAGE), forward_samples, lot_read
        )
        forward, _, _ = timed(
            lambda: ledger.trace("FAN", direction="forward"), max(10, samples // 20), lot_read
        )
        size = ledger.size
    back = percentiles(backward)
    first = percentiles(page)
    return {
        "lot_read": percentiles(ref),
        "backward_cpu": percentiles(backward_cpu),
        "forward_page_cpu": percentiles(page_cpu),
        "load_1min": round(os.getloadavg()[0], 2),
        "backend": backend,
        "events": size,
        "custody_events": events,
        "ingest_s": ingest_s,
        "backward": back,
        "backward_ceiling_ms": BACKWARD_CEILING_MS[backend],
        "backward_met": back["p99_ms"] <= BACKWARD_CEILING_MS[backend],
        "forward_descendants": descendants,
        "forward_page": first,
        "forward_ceiling_ms": FORWARD_CEILING_MS,
        "forward_met": first["p99_ms"] <= FORWARD_CEILING_MS,
        "forward_whole": percentiles(forward),
    }


def figures(r: dict[str, Any]) -> list[Figure]:
    """The figures of one run for ``results.record``: each percentile against the issue's target."""
    out = []
    backend, events = r["backend"], r["custody_events"]
    for name, key, ceiling in (
        ("trace backward", "backward", r["backward_ceiling_ms"]),
        (f"trace forward first page of {PAGE}", "forward_page", r["forward_ceiling_ms"]),
    ):
        for q in ("p50", "p99"):
            value = r[key][f"{q}_ms"]
            target = q == "p99"
            ref = r["lot_read"][f"{q}_ms"]
            out.append(
                Figure(
                    f"{name} {q}",
                    "ms",
                    value,
                    backend=backend,
                    ceiling=ref,
                    ceiling_name=f"one lot read {q}, same run",
                    ratio=round(value / ref, 2) if ref else None,
                    target=f"<= {ceiling:g} ms" if target else "",
                    met=value <= ceiling if target else None,
                    events=events,
                    note=f"{r['forward_descendants']} descendants" if key == "forward_page" else "",
                    extra={"client_cpu_ms": r[f"{key}_cpu"][f"{q}_ms"], "load_1min": r["load_1min"]},
                )
            )
    out.append(
        Figure(
            f"trace forward whole ({r['forward_descendants']} descendants) p99",
            "ms",
            r["forward_whole"]["p99_ms"],
            backend=backend,
            events=events,
            note="reference: the whole graph, unpaged",
        )
    )
    return out


def earlier(results: list[dict[str, Any]]) -> list[Figure]:
    """The figures of the last recorded run for the sizes and backends this run did not measure (a 10M run
    keeps the 1M figures beside it), each noted as earlier."""
    path = RESULTS / "trace.json"
    measured = {(r["backend"], r["custody_events"]) for r in results}
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    kept = []
    for item in doc.get("figures", []):
        if (item.get("backend"), item.get("events")) not in measured:
            note = item.get("note") or ""
            if "recorded" not in note:
                item["note"] = f"{note}; recorded {doc.get('recorded', '?')}".lstrip("; ")
            kept.append(Figure(**item))
    return kept


def main() -> None:
    """Run the benchmark on each database given, print the figures and record them."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, action="append", help="custody events (repeatable)")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--db", action="append", help="database URL (repeatable); {events} is replaced")
    parser.add_argument("--reuse", action="store_true", help="keep a database already built at this size")
    parser.add_argument(
        "--warm", action="store_true", help="read the database once first (SQLite: its file; else pg_prewarm)"
    )
    parser.add_argument("--build-only", action="store_true", help="build (or reuse) and stop")
    parser.add_argument("--no-record", action="store_true", help="do not write .bench/results/trace.json")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    sizes = args.events or [100_000]
    urls = args.db or ["sqlite:///.bench/trace-{events}.db"]
    if args.build_only:
        for events in sizes:
            for pattern in urls:
                url = normalize_url(pattern.format(events=events))
                if not (args.reuse and ledger_ready(url, events)):
                    print(f"{url}: built in {build_ledger(url, events, resume=args.reuse):.0f} s")
        return
    results = [
        run(url.format(events=events), events, args.samples, reuse=args.reuse, warm=args.warm)
        for events in sizes
        for url in urls
    ]
    if not args.no_record:
        record("trace", earlier(results) + [f for r in results for f in figures(r)])
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['backend']}: {r['events']} events (ingest {r['ingest_s']} s); backward p50 "
            f"{r['backward']['p50_ms']} ms p99 {r['backward']['p99_ms']} ms (ceiling "
            f"{r['backward_ceiling_ms']} ms, {'met' if r['backward_met'] else 'missed'}); forward first "
            f"page of {PAGE} ({r['forward_descendants']} descendants) p50 {r['forward_page']['p50_ms']} ms "
            f"p99 {r['forward_page']['p99_ms']} ms (ceiling {r['forward_ceiling_ms']} ms, "
            f"{'met' if r['forward_met'] else 'missed'}); whole forward trace p99 "
            f"{r['forward_whole']['p99_ms']} ms; client CPU p50/p99 backward "
            f"{r['backward_cpu']['p50_ms']}/{r['backward_cpu']['p99_ms']} ms, page "
            f"{r['forward_page_cpu']['p50_ms']}/{r['forward_page_cpu']['p99_ms']} ms; one lot read p50/p99 "
            f"{r['lot_read']['p50_ms']}/{r['lot_read']['p99_ms']} ms; load {r['load_1min']}"
        )


if __name__ == "__main__":
    main()
