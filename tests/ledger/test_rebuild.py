"""A rebuild in chunks: stopped, it resumes and ends where an uninterrupted one ends; ingest goes on while it
runs, between its chunks, and what ingest logged is in the rebuilt state."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, select, update
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from adamas import Ledger
from adamas.cli import app
from adamas.ledger import rebuild as rebuild_module
from adamas.sim import demo_world
from adamas.store import schema
from adamas.store.database import _complete
from adamas.store.rows import history_seqs
from conftest import basic_world, fixed_clock

CHUNK = 4


class StopError(Exception):
    """Stands for a rebuild killed between two chunks."""


def _state(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    with ledger.engine.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in schema.STATE_TABLES
        }


def _submit(ledger: Ledger, envelopes: list[dict[str, Any]]) -> None:
    outcomes = ledger.submit(envelopes)
    assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok]


def _tamper(ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.lots).values(holder="nobody"))


def _tampered(
    open_ledger: Callable[[str], Ledger], url: str
) -> tuple[Ledger, dict[str, list[tuple[Any, ...]]]]:
    """A ledger at ``url`` holding the demo world, its lots' holders then altered; and its honest state."""
    world, _ = demo_world()
    ledger = open_ledger(url)
    _submit(ledger, world.events)
    honest = _state(ledger)
    _tamper(ledger)
    return ledger, honest


def test_a_stopped_rebuild_resumes_and_ends_as_an_uninterrupted_one(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    ledger, honest = _tampered(open_ledger, db_url)
    tampered = _state(ledger)

    calls: list[int] = []

    def stop_after_three(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise StopError

    with pytest.raises(StopError):
        ledger.rebuild(chunk=CHUNK, progress=stop_after_three)
    assert calls == [CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert _state(ledger) == tampered  # nothing swapped in yet

    resumed: list[int] = []
    assert ledger.rebuild(chunk=CHUNK, progress=lambda done, total: resumed.append(done)) == ledger.size
    assert resumed[0] == 4 * CHUNK  # it went on from the fourth chunk
    assert resumed[-1] == ledger.size
    assert _state(ledger) == honest

    # An uninterrupted rebuild from the start ends in the same state.
    _tamper(ledger)
    again: list[int] = []
    ledger.rebuild(chunk=CHUNK, progress=lambda done, total: again.append(done))
    assert again[0] == CHUNK
    assert _state(ledger) == honest


def test_restart_starts_a_stopped_rebuild_over(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    honest = _state(ledger)

    def stop(done: int, total: int) -> None:
        raise StopError

    with pytest.raises(StopError):
        ledger.rebuild(chunk=CHUNK, progress=stop)
    seen: list[int] = []
    ledger.rebuild(chunk=CHUNK, restart=True, progress=lambda done, total: seen.append(done))
    assert seen[0] == CHUNK
    assert _state(ledger) == honest


def test_ingest_goes_on_between_the_chunks_of_a_rebuild(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world, _ = demo_world()
    held_back = 6
    ledger = open_ledger(db_url)
    _submit(ledger, world.events[:-held_back])
    first_size = ledger.size
    # The reference: the same events ingested without a rebuild, in a database of their own.
    writer = Ledger.open(db_url, clock=fixed_clock)
    order: list[tuple[str, int]] = []
    finished = threading.Event()
    failures: list[BaseException] = []

    def ingest() -> None:
        try:
            _submit(writer, world.events[-held_back:])
            order.append(("ingested", writer.size))
        except BaseException as exc:  # handed to the test's thread
            failures.append(exc)
        finally:
            finished.set()

    def between_chunks(done: int, total: int) -> None:
        order.append(("chunk", done))
        if len(order) == 2:
            # A writer submits while the rebuild is under way; it must get through before the next chunk.
            threading.Thread(target=ingest).start()
            assert finished.wait(120), "ingest waited for the whole rebuild"

    try:
        total = ledger.rebuild(chunk=CHUNK, progress=between_chunks)
    finally:
        writer.close()
    assert not failures, failures
    assert order[:3] == [("chunk", CHUNK), ("chunk", 2 * CHUNK), ("ingested", first_size + held_back)]
    assert order[-1] == ("chunk", first_size + held_back)
    # The rebuild replayed what was ingested meanwhile: its state is the state ingest keeps.
    assert total == ledger.size == first_size + held_back
    rebuilt = _state(ledger)
    with ledger.engine.connect() as conn:
        histories = conn.execute(select(schema.lots.c.history)).scalars()
        assert any(seq >= first_size for text in histories for seq in history_seqs(text))
    ledger.rebuild(restart=True)
    assert _state(ledger) == rebuilt


def test_the_cli_resumes_unless_told_to_restart(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    ledger, honest = _tampered(open_ledger, db_url)

    def stop(done: int, total: int) -> None:
        if done >= 2 * CHUNK:
            raise StopError

    with pytest.raises(StopError):
        ledger.rebuild(chunk=CHUNK, progress=stop)
    result = CliRunner().invoke(app, ["rebuild", "--db", db_url, "--chunk", str(CHUNK)])
    assert result.exit_code == 0, result.output
    assert "resuming at event 8" in result.output
    assert _state(ledger) == honest
    result = CliRunner().invoke(app, ["rebuild", "--db", db_url, "--restart"])
    assert result.exit_code == 0, result.output
    assert "resuming" not in result.output
    assert _state(ledger) == honest


def test_a_correction_logged_during_a_rebuild_makes_it_start_over(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world = basic_world()
    world.produce("miner", "R1", "mine-a", "100.00")
    world.split("miner", "R1", {"R1a": "60.00", "R1b": "40.00"})
    split = world.events[-1]["body"]
    for n in range(2, 8):
        world.produce("miner", f"R{n}", "mine-a", "1.00")
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    split_leaf = len(world.events) - 7
    replacement = {**split, "into": [{"id": "R1a", "carats": "70.00"}, {"id": "R1b", "carats": "30.00"}]}
    fix = world.sign(
        "miner", "correct", record=False, event=split["id"], reason="scale", replacement=replacement
    )
    writer = Ledger.open(db_url, clock=fixed_clock)
    seen: list[int] = []

    def correct_once_past_the_split(done: int, total: int) -> None:
        seen.append(done)
        if done > split_leaf and len(seen) == next(i for i, d in enumerate(seen) if d > split_leaf) + 1:
            # The split was replayed already: the correction changes what the copy holds.
            (outcome,) = writer.submit([fix])
            assert outcome.status == "accepted", outcome.to_json()

    try:
        ledger.rebuild(chunk=2, progress=correct_once_past_the_split)
    finally:
        writer.close()
    assert seen.count(2) == 2  # it started over from the first chunk
    assert ledger.lot("R1a").carats == Decimal("70.00")
    rebuilt = _state(ledger)
    ledger.rebuild(restart=True)
    assert _state(ledger) == rebuilt


# --- the swap: no row moves, and a failure anywhere leaves the live ledger ----------------------------------


def _sqlite_schema(url: str) -> dict[str, tuple[str, int]]:
    """The ledger file's schema objects: name -> (type, root page)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT name, type, rootpage FROM main.sqlite_master").all()
    finally:
        engine.dispose()
    return {row[0]: (row[1], row[2]) for row in rows}


def _index_sql(url: str) -> set[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                (row[0], row[1])
                for row in conn.exec_driver_sql(
                    "SELECT name, sql FROM main.sqlite_master WHERE type = 'index'"
                )
            }
    finally:
        engine.dispose()


def _integrity(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
    finally:
        engine.dispose()


def test_the_sqlite_swap_renames_the_shadow_tables_in_place(
    sqlite_url: str, tmp_path: Path, open_ledger: Callable[[str], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, honest = _tampered(open_ledger, sqlite_url)
    monkeypatch.setattr(rebuild_module, "FREE_STEP", 7)  # the retired tables are freed in many steps
    shadows: dict[str, tuple[str, int]] = {}

    def look(done: int, total: int) -> None:
        if not shadows:
            shadows.update(
                {
                    name.removeprefix(rebuild_module.SHADOW): found
                    for name, found in _sqlite_schema(sqlite_url).items()
                    if name.startswith(rebuild_module.SHADOW)
                }
            )

    ledger.rebuild(chunk=CHUNK, progress=look)
    assert _state(ledger) == honest
    after = _sqlite_schema(sqlite_url)
    # The live tables and indexes are the shadow's own B-trees (same root pages): renamed, not copied.
    names = [t.name for t in schema.STATE_TABLES] + [
        str(i.name) for t in schema.STATE_TABLES for i in t.indexes
    ]
    assert {name: after[name] for name in names} == {name: shadows[name] for name in names}
    assert not [name for name in after if name.startswith(("adamas_rebuild", "adamas_retired"))]
    assert _integrity(sqlite_url) == ["ok"]
    # The indexes are as a new database has them: names and definitions.
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    open_ledger(fresh)
    assert _index_sql(sqlite_url) == _index_sql(fresh)
    assert _complete(ledger.engine)


def test_without_schema_edits_the_swap_builds_the_indexes(
    sqlite_url: str, open_ledger: Callable[[str], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, honest = _tampered(open_ledger, sqlite_url)

    def refused(conn: Any, edits: Any) -> None:
        conn.exec_driver_sql("UPDATE main.sqlite_master SET name = name WHERE 0 = 1")
        raise OperationalError("UPDATE sqlite_master", None, sqlite3.OperationalError("may not be modified"))

    monkeypatch.setattr(rebuild_module, "_edit_schema", refused)
    ledger.rebuild(chunk=CHUNK)
    assert _state(ledger) == honest
    assert _integrity(sqlite_url) == ["ok"]
    assert _complete(ledger.engine)
    assert not [n for n in _sqlite_schema(sqlite_url) if n.startswith(("adamas_rebuild", "adamas_retired"))]


def test_a_failed_swap_leaves_the_live_state_and_the_rerun_resumes(
    db_url: str, open_ledger: Callable[[str], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, honest = _tampered(open_ledger, db_url)
    tampered = _state(ledger)
    swap = rebuild_module._Scratch.swap

    def swap_then_fail(self: Any, conn: Connection) -> None:
        swap(self, conn)  # every rename done, then the process dies before the commit
        raise StopError

    monkeypatch.setattr(rebuild_module._Scratch, "swap", swap_then_fail)
    with pytest.raises(StopError):
        ledger.rebuild(chunk=CHUNK)
    assert _state(ledger) == tampered
    assert _complete(ledger.engine)
    if db_url.startswith("sqlite"):
        assert _integrity(db_url) == ["ok"]
    monkeypatch.setattr(rebuild_module._Scratch, "swap", swap)
    # Every chunk was kept; the tail (less than a chunk) went with the swap's transaction.
    resume = rebuild_module.resume_point(ledger.engine)
    assert resume is not None
    assert ledger.size - CHUNK <= resume < ledger.size
    seen: list[int] = []
    assert ledger.rebuild(chunk=CHUNK, progress=lambda done, total: seen.append(done)) == ledger.size
    assert seen == [ledger.size]
    assert _state(ledger) == honest
    # A new writer sees the rebuilt state.
    with Ledger.open(db_url, clock=fixed_clock) as other:
        assert _state(other) == honest


def test_tables_left_by_a_stopped_freeing_go_with_the_next_rebuild(
    sqlite_url: str, open_ledger: Callable[[str], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, honest = _tampered(open_ledger, sqlite_url)
    free = rebuild_module._free

    def stopped(engine: Any, prefixes: tuple[str, ...]) -> None:
        if prefixes == (rebuild_module.RETIRED,):  # after the swap (not the clean-up before a rebuild)
            raise StopError
        free(engine, prefixes)

    monkeypatch.setattr(rebuild_module, "_free", stopped)
    with pytest.raises(StopError):
        ledger.rebuild(chunk=CHUNK)
    assert _state(ledger) == honest  # swapped in, the old tables not freed yet
    assert any(n.startswith("adamas_retired") for n in _sqlite_schema(sqlite_url))
    monkeypatch.setattr(rebuild_module, "_free", free)
    _tamper(ledger)
    ledger.rebuild(chunk=CHUNK)
    assert _state(ledger) == honest
    assert not [n for n in _sqlite_schema(sqlite_url) if n.startswith(("adamas_rebuild", "adamas_retired"))]
