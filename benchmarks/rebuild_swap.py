"""The rebuild's swap alone on SQLite (issue 14): its head-lock hold against the state's size.

    python benchmarks/rebuild_swap.py [--events 20000 100000] [--json]

For each size, a ledger of that many custody events (after 1,000 registrations; built once and kept in
.bench/rebuild_swap_<events>.db, copied for each run) gets a scratch copy filled straight from its live tables
and marked caught up; the rebuild then resumes with nothing left to replay but the swap. Measured: the swap
(wall and this thread's CPU: the CPU time does not depend on the machine's load), the head-lock hold around it
(tail replay, nothing here, swap, commit), and the freeing of the replaced tables after the lock (total, and
its longest write transaction: what one submit may wait for). The swap renames tables and indexes: it should
be flat in the state's size, where the row copy it replaced grew with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Connection, Engine

from adamas import Ledger
from adamas.ledger import rebuild as rebuild_module
from adamas.store import schema
from adamas.store.database import read_head
from results import Figure, record
from workload import build, clock_after, fresh

BENCH = Path(".bench")


def ledger_file(events: int) -> Path:
    """The kept ledger of ``events`` custody events (built on first use)."""
    path = BENCH / f"rebuild_swap_{events}.db"
    if path.exists():
        return path
    url = fresh(f"sqlite:///{path}.tmp")
    setup, custody = build(events)
    with Ledger.open(url, create=True, clock=clock_after(custody)) as ledger:
        for group in (setup, custody):
            for i in range(0, len(group), 1000):
                assert all(o.ok for o in ledger.submit(group[i : i + 1000]))
        with ledger.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    Path(f"{path}.tmp").replace(path)
    return path


def fill_scratch(engine: Engine) -> int:
    """A scratch copy of the live state tables, marked caught up with the head; return the head."""
    with engine.connect() as conn:
        head = read_head(conn)
        identity = rebuild_module._identity(conn)
    scratch = rebuild_module._Scratch(engine)
    try:
        scratch.create(
            {
                "identity": identity,
                "schema": str(schema.SCHEMA_VERSION),
                "done": str(head),
                "scanned": str(head),
            }
        )
        with rebuild_module.begin_write(engine) as conn:
            for table in schema.STATE_TABLES:
                columns = ", ".join(f'"{c.name}"' for c in table.c)
                conn.exec_driver_sql(
                    f'INSERT INTO main."{rebuild_module.SHADOW}{table.name}" ({columns}) '
                    f'SELECT {columns} FROM main."{table.name}"'
                )
    finally:
        scratch.close()
    return head


def run(events: int) -> dict[str, Any]:
    """Swap a caught-up scratch into a copy of the kept ledger; the figures as a dict."""
    source = ledger_file(events)
    path = BENCH / "rebuild_swap_run.db"
    url = fresh(f"sqlite:///{path}")
    shutil.copy(source, path)
    out: dict[str, Any] = {}
    swap, sequencer, free, begin_write = (
        rebuild_module._Scratch.swap,
        rebuild_module._sequencer,
        rebuild_module._free,
        rebuild_module.begin_write,
    )
    steps: list[float] = []

    def timed_swap(self: Any, conn: Connection) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        swap(self, conn)
        out["swap_ms"] = round((time.perf_counter() - wall) * 1000, 1)
        out["swap_cpu_ms"] = round((time.thread_time() - cpu) * 1000, 1)

    @contextlib.contextmanager
    def timed_sequencer(conn: Connection) -> Iterator[None]:
        wall = time.perf_counter()
        with sequencer(conn):
            yield
        out["lock_ms"] = round((time.perf_counter() - wall) * 1000, 1)

    @contextlib.contextmanager
    def timed_write(engine: Engine) -> Iterator[Connection]:
        wall = time.perf_counter()
        with begin_write(engine) as conn:
            yield conn
        steps.append(time.perf_counter() - wall)

    def timed_free(engine: Engine, prefixes: tuple[str, ...]) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        rebuild_module.begin_write = timed_write  # type: ignore[assignment]
        try:
            free(engine, prefixes)
        finally:
            rebuild_module.begin_write = begin_write
        out["free_s"] = round(time.perf_counter() - wall, 2)
        out["free_cpu_s"] = round(time.thread_time() - cpu, 2)
        out["free_steps"] = len(steps)
        out["free_longest_step_ms"] = round(max(steps, default=0.0) * 1000, 1)

    with Ledger.open(url) as ledger:
        head = fill_scratch(ledger.engine)
        rebuild_module._Scratch.swap = timed_swap  # type: ignore[method-assign]
        rebuild_module._sequencer = timed_sequencer  # type: ignore[assignment]
        rebuild_module._free = timed_free  # type: ignore[assignment]
        try:
            assert ledger.rebuild() == head
        finally:
            rebuild_module._Scratch.swap = swap  # type: ignore[method-assign]
            rebuild_module._sequencer = sequencer
            rebuild_module._free = free
    fresh(url)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    return {"events": head, "load": load, **out}


def figures(results: list[dict[str, Any]]) -> list[Figure]:
    """The swap's CPU time per ledger size, against the smallest ledger's (flat: ratio near 1)."""
    base = results[0]["swap_cpu_ms"]
    return [
        Figure(
            "SQLite rebuild swap (CPU)",
            "ms",
            out["swap_cpu_ms"],
            backend="sqlite",
            ceiling=base,
            ceiling_name=f"the same swap at {results[0]['events']} events",
            ratio=round(out["swap_cpu_ms"] / base, 2),
            target="flat (<= 2 at any size)",
            met=out["swap_cpu_ms"] <= 2 * base,
            events=out["events"],
            extra={k: v for k, v in out.items() if k not in ("events", "swap_cpu_ms")},
        )
        for out in results
    ]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = [run(events) for events in args.events]
    record("rebuild_swap", figures(results))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for out in results:
        print(
            f"{out['events']} events (load {out['load']}): swap {out['swap_ms']} ms wall, "
            f"{out['swap_cpu_ms']} ms CPU; head-lock hold {out['lock_ms']} ms; freeing the replaced tables "
            f"{out['free_s']} s in {out['free_steps']} writes, the longest {out['free_longest_step_ms']} ms"
        )


if __name__ == "__main__":
    main()
