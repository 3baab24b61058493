"""Rebuild benchmark (issue 14): a chunked rebuild beside running ingest.

    python benchmarks/rebuild.py [--events 20000] [--chunk 1000] [--db URL ...] [--no-ceiling] [--json]

On each database: ingest ``--events`` custody events (after 1,000 registrations) but the last 2,000, then

1. the replay ceiling: every event replayed in one transaction holding the head lock (what ``rebuild`` did
   before issue 14, ``adamas.ledger.rebuild.replay_in_place``): events/s, and its lock hold = its duration;
2. ``Ledger.rebuild(chunk=--chunk)`` alone: events/s against the ceiling (target >= 0.8);
3. the same while a thread of this process submits the held-back events in batches of 20: the longest wait
   of one of those submits against one chunk's time (target <= 2 chunks: the chunk it waited for and its own
   batch; the thread shares the GIL with the rebuild), and the writer (head) lock hold of the final swap
   against the whole rebuild; the swap alone (SQLite: renames, flat in the state's size), and the longest
   other write transaction of the rebuild (SQLite: one step of freeing the replaced tables).

``--no-ceiling`` skips 1 and 2 (on a large ledger the old replay alone takes minutes): the lock figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Connection

from adamas import Ledger
from adamas.ledger import rebuild as rebuild_module
from adamas.store.database import begin_write
from results import Figure, record
from workload import build, clock_after, fresh

HELD_BACK = 2_000
INGEST_BATCH = 20


def run(url: str, events: int, chunk: int, ceiling: bool = True) -> dict[str, Any]:
    """Build, then measure the old replay and the chunked rebuild on one database; the figures as a dict."""
    fresh(url)
    setup, custody = build(events)
    first, later = custody[:-HELD_BACK], custody[-HELD_BACK:]
    with Ledger.open(url, create=True, clock=clock_after(custody)) as ledger:
        start = time.perf_counter()
        for group in (setup, first):
            for i in range(0, len(group), 1000):
                assert all(o.ok for o in ledger.submit(group[i : i + 1000]))
        ingest_rate = (len(setup) + len(first)) / (time.perf_counter() - start)
        size = ledger.size
        backend = ledger.engine.dialect.name

        old_s = alone_s = 0.0
        if ceiling:
            # 1. The ceiling: one transaction, head lock held throughout (the rebuild before issue 14).
            start = time.perf_counter()
            with begin_write(ledger.engine) as conn:
                head = ledger._lock_head(conn)
                fixes = rebuild_module.corrections(conn, head)
                rebuild_module.replay_in_place(ledger, conn, head, fixes)
            old_s = time.perf_counter() - start

            # 2a. The chunked rebuild alone: its rate against the ceiling.
            start = time.perf_counter()
            assert ledger.rebuild(chunk=chunk, restart=True) == size
            alone_s = time.perf_counter() - start

        # 2b. The chunked rebuild, with a writer submitting the held-back events meanwhile.
        holds: list[float] = []  # the tail replay and swap, under the head lock
        swaps: list[float] = []  # the swap alone
        writes: list[float] = []  # the rebuild's other write transactions (SQLite: freeing steps)
        frees: list[float] = []
        patched = {name: getattr(rebuild_module, name) for name in ("_sequencer", "begin_write", "_free")}
        swap = rebuild_module._Scratch.swap

        def timing(original: Any, into: list[float]) -> Any:
            @contextlib.contextmanager
            def timed(*args: Any) -> Iterator[Any]:
                began = time.perf_counter()
                try:
                    with original(*args) as value:
                        yield value
                finally:
                    into.append(time.perf_counter() - began)

            return timed

        def timed_swap(self: Any, conn: Connection) -> None:
            began = time.perf_counter()
            swap(self, conn)
            swaps.append(time.perf_counter() - began)

        def timed_free(*args: Any) -> None:
            began = time.perf_counter()
            patched["_free"](*args)
            frees.append(time.perf_counter() - began)

        rebuild_module._sequencer = timing(patched["_sequencer"], holds)  # type: ignore[attr-defined]
        rebuild_module.begin_write = timing(patched["begin_write"], writes)  # type: ignore[attr-defined]
        rebuild_module._free = timed_free  # type: ignore[attr-defined]
        rebuild_module._Scratch.swap = timed_swap  # type: ignore[method-assign]
        waits: list[float] = []
        chunks: list[float] = []
        stop = threading.Event()
        writer = Ledger.open(url, clock=clock_after(custody))

        def ingest() -> None:
            for i in range(0, len(later), INGEST_BATCH):
                if stop.is_set():
                    return
                began = time.perf_counter()
                assert all(o.ok for o in writer.submit(later[i : i + INGEST_BATCH]))
                waits.append(time.perf_counter() - began)

        last = [time.perf_counter()]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            chunks.append(now - last[0])
            last[0] = now

        thread = threading.Thread(target=ingest)
        start = time.perf_counter()
        last[0] = start
        thread.start()
        try:
            total = ledger.rebuild(chunk=chunk, restart=True, progress=progress)
        finally:
            new_s = time.perf_counter() - start
            for name, original in patched.items():
                setattr(rebuild_module, name, original)
            rebuild_module._Scratch.swap = swap  # type: ignore[method-assign]
            stop.set()
            thread.join()
            writer.close()
        replayed = total
    chunk_s = sorted(chunks[:-1])[len(chunks[:-1]) // 2] if len(chunks) > 1 else new_s
    return {
        "backend": backend,
        "events": size,
        "replayed": replayed,
        "ingested_during": len(waits) * INGEST_BATCH,
        "plain_ingest_per_s": round(ingest_rate),
        "old_rebuild_s": round(old_s, 2) if ceiling else None,
        "old_replay_per_s": round(size / old_s) if ceiling else None,
        "rebuild_s": round(new_s, 2),
        "rebuild_alone_s": round(alone_s, 2) if ceiling else None,
        "rebuild_per_s": round(size / alone_s) if ceiling else None,
        "ratio": round(old_s / alone_s, 3) if ceiling else None,
        "rebuild_with_ingest_per_s": round(replayed / new_s),
        "median_chunk_ms": round(chunk_s * 1000, 1),
        "longest_ingest_wait_ms": round(max(waits, default=0.0) * 1000, 1),
        "swap_lock_hold_ms": round(max(holds, default=0.0) * 1000, 1),
        "swap_alone_ms": round(max(swaps, default=0.0) * 1000, 1),
        "longest_other_write_ms": round(max(writes, default=0.0) * 1000, 1),
        "free_retired_s": round(sum(frees), 2),
    }


def figures(out: dict[str, Any]) -> list[Figure]:
    """The run's figures in the shared format."""
    backend, events = out["backend"], out["events"]
    rebuild_s = out["rebuild_s"] * 1000
    rate = (
        []
        if out["ratio"] is None
        else [
            Figure(
                "rebuild events/s (chunked)",
                "events/s",
                out["rebuild_per_s"],
                backend=backend,
                ceiling=out["old_replay_per_s"],
                ceiling_name="one-transaction replay (old rebuild)",
                ratio=out["ratio"],
                target=">= 0.8",
                met=out["ratio"] >= 0.8,
                events=events,
                extra={"plain_ingest_per_s": out["plain_ingest_per_s"]},
            )
        ]
    )
    return [
        *rate,
        Figure(
            "longest ingest wait during a rebuild",
            "ms",
            out["longest_ingest_wait_ms"],
            backend=backend,
            ceiling=out["median_chunk_ms"],
            ceiling_name="one rebuild chunk",
            ratio=round(out["longest_ingest_wait_ms"] / out["median_chunk_ms"], 2),
            target="<= 2 chunks",
            met=out["longest_ingest_wait_ms"] <= 2 * out["median_chunk_ms"],
            events=events,
            extra={
                "old_rebuild_lock_ms": None if out["old_rebuild_s"] is None else out["old_rebuild_s"] * 1000
            },
        ),
        Figure(
            "writer-lock hold of the rebuild's swap",
            "ms",
            out["swap_lock_hold_ms"],
            backend=backend,
            ceiling=rebuild_s,
            ceiling_name="whole rebuild (old: the lock hold)",
            ratio=round(out["swap_lock_hold_ms"] / rebuild_s, 3),
            target="<= 0.05",
            met=out["swap_lock_hold_ms"] / rebuild_s <= 0.05,
            events=events,
            extra={
                "swap_alone_ms": out["swap_alone_ms"],
                "longest_other_write_ms": out["longest_other_write_ms"],
                "free_retired_s": out["free_retired_s"],
            },
        ),
    ]


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    parser.add_argument("--db", action="append", help="database URL (repeatable); it is emptied")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the old replay and the rebuild alone")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = [
        run(url, args.events, args.chunk, not args.no_ceiling)
        for url in args.db or ["sqlite:///.bench/rebuild.db"]
    ]
    record("rebuild", [f for out in results for f in figures(out)])
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for out in results:
        print(
            f"{out['backend']}: {out['events']} events; old rebuild {out['old_rebuild_s']} s "
            f"({out['old_replay_per_s']}/s, head lock held throughout); chunked rebuild "
            f"{out['rebuild_alone_s']} s ({out['rebuild_per_s']}/s, ratio {out['ratio']}); with "
            f"{out['ingested_during']} events ingested meanwhile {out['rebuild_s']} s; longest ingest wait "
            f"{out['longest_ingest_wait_ms']} ms vs one chunk "
            f"{out['median_chunk_ms']} ms; head-lock hold of tail and swap {out['swap_lock_hold_ms']} ms "
            f"(swap {out['swap_alone_ms']} ms); longest other write {out['longest_other_write_ms']} ms; "
            f"freeing the replaced tables {out['free_retired_s']} s"
        )


if __name__ == "__main__":
    main()
