"""Rebuilding the state tables from the stored events: chunked, resumable, beside a running ledger.

A rebuild replays the events into a *scratch* copy of the state tables, one chunk per transaction that does
not hold the sequencer (head) lock, so ingest goes on: it waits at most for one chunk (SQLite: one chunk's
write to the scratch file never locks the ledger's file at all). The scratch remembers how far it got, so a
rebuild that was stopped (killed, a crash) resumes there. Once the scratch has caught up with the head, the
rebuild takes the head lock, replays the few events logged since (at most one chunk) and puts the scratch
tables in place of the live ones in that same transaction, then lets ingest go.

Where the scratch lives, and how the replay writes there through the ordinary ingest code (which names its
tables without a schema):

- PostgreSQL: schema ``adamas_rebuild`` in the same database, first on the rebuild connections'
  ``search_path``; state tables resolve there, ``events`` and ``adamas_meta`` to the live schema. The swap
  drops each live state table and moves the scratch one into the live schema (``SET SCHEMA``): no row is
  copied under the lock.
- SQLite: a file beside the ledger (``<file>-rebuild``), opened as ``main`` with the ledger's file attached;
  unqualified names resolve to ``main`` first. Tables cannot move between files, so the swap copies the
  scratch rows into the live tables (``INSERT ... SELECT``, measured in docs/benchmarks.md).

Corrections replace earlier events' effects: the rebuild knows every correction logged below the leaf it has
looked at (``scanned``); one logged later that targets an event already replayed makes it start over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import AdamasError, RuleError, StorageError
from adamas.ledger.batch import BatchState
from adamas.ledger.state_diff import StateDifference, StateSnapshot, differences, snapshot
from adamas.ledger.stored import check_leaves
from adamas.log import leaf_hash
from adamas.model.events import Envelope, parse_envelope
from adamas.store import schema
from adamas.store.database import HEAD, analyze, begin_write, open_engine, read_head

if TYPE_CHECKING:
    from adamas.ledger.ledger import Ledger

__all__ = [
    "REBUILD_CHUNK",
    "REPLAY_CHUNK",
    "SCRATCH_SCHEMA",
    "Progress",
    "corrections",
    "rebuild",
    "recompute",
]

REPLAY_CHUNK: Final = 1000
"""Events replayed per batch by an in-place replay (a correction's recomputation)."""
REBUILD_CHUNK: Final = 1000
"""Events replayed per transaction by a rebuild: the longest ingest waits for one such chunk."""
SCRATCH_SCHEMA: Final = "adamas_rebuild"
"""PostgreSQL schema of a rebuild's scratch tables (SQLite: the file ``<ledger file>-rebuild``)."""
LIVE: Final = "adamas_live"
"""SQLite: the name the ledger's own file is attached under on a scratch connection."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: events replayed so far, and the head they are replaying towards."""
Corrections = dict[str, dict[str, Any] | None]

_scratch_meta = MetaData()
_progress = Table(
    "rebuild_progress",
    _scratch_meta,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
)


class _StartOverError(Exception):
    """A correction logged since the rebuild began rewrites an event it already replayed."""


# --- replaying events (shared with a correction's in-place recomputation) --------------------------


def corrections(conn: Connection, upto: int, start: int = 0) -> Corrections:
    """Corrections logged in leaves ``start..upto-1``: corrected event id -> replacement body (last wins)."""
    out: Corrections = {}
    table = schema.events
    stmt = (
        select(table.c.envelope)
        .where(table.c.type == "correct", table.c.seq >= start, table.c.seq < upto)
        .order_by(table.c.seq)
    )
    for row in conn.execute(stmt):
        fields = parse_envelope(bytes(row.envelope)).event.fields
        out[fields["event"]] = fields["replacement_body"]
    return out


def replay(
    ledger: Ledger, conn: Connection, rows: Sequence[Any], fixes: Corrections | None = None
) -> BatchState:
    """Check stored events ``(seq, envelope, logged_ns)`` again in order; return the state they build."""
    parsed: list[Envelope | AdamasError] = []
    for row in rows:
        try:
            parsed.append(parse_envelope(bytes(row.envelope)))
        except AdamasError as exc:
            raise StorageError(
                f"stored event at leaf {row.seq} no longer parses: {exc.message}",
                code="storage.corrupt_event",
                index=row.seq,
            ) from exc
    verifier = ledger._verifier(conn)
    try:
        for item in parsed:
            assert isinstance(item, Envelope)
            verifier.add(item)
        verifier.flush(last=True)
        outcomes, state, _ = ledger._check(
            conn,
            parsed,
            head=rows[0].seq,
            now_ns=None,
            verifier=verifier,
            corrections=fixes,
            logged=[row.logged_ns for row in rows],
        )
    finally:
        ledger._settle(verifier)
    for outcome, row in zip(outcomes, rows, strict=True):
        if outcome.error is not None:
            raise StorageError(
                f"stored event at leaf {row.seq} is refused on replay: {outcome.error.message}",
                code="storage.replay_refused",
                index=row.seq,
                cause=outcome.error.code,
            )
    return state


def _events(conn: Connection, start: int, stop: int) -> list[Any]:
    table = schema.events
    return list(
        conn.execute(
            select(table.c.seq, table.c.envelope, table.c.logged_ns)
            .where(table.c.seq >= start, table.c.seq < stop)
            .order_by(table.c.seq)
        ).all()
    )


def replay_in_place(ledger: Ledger, conn: Connection, upto: int, fixes: Corrections) -> None:
    """Empty the state tables ``conn`` sees and rebuild them from the events below leaf ``upto``."""
    for table in reversed(schema.STATE_TABLES):
        conn.execute(delete(table))
    done = 0
    while done < upto:
        rows = _events(conn, done, min(upto, done + REPLAY_CHUNK))
        if not rows:
            break
        replay(ledger, conn, rows, fixes).write()
        done = rows[-1].seq + 1


def recompute(
    ledger: Ledger, conn: Connection, upto: int, target: str, replacement: dict[str, Any] | None
) -> None:
    """Recompute the state as if ``target`` had been ``replacement``; refuse if a later event breaks.

    Runs in a savepoint of the ingest transaction: on a conflict the state tables are as they were.
    """
    fixes = corrections(conn, upto)
    fixes[target] = replacement
    ledger._registry = None
    try:
        with conn.begin_nested():
            replay_in_place(ledger, conn, upto, fixes)
    except StorageError as exc:
        raise RuleError(
            f"the correction would make a later event invalid: {exc.message}",
            code="correct.conflict",
            field="replacement",
            index=exc.context.get("index"),
        ) from exc


# --- the scratch copy ---------------------------------------------------------------------------------


class _Scratch:
    """The scratch state tables of one ledger database, and the engine whose connections write to them."""

    def __init__(self, live: Engine) -> None:
        self.live = live
        self.postgres = live.dialect.name == "postgresql"
        if self.postgres:
            with live.connect() as conn:
                self.live_schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
            self.engine = create_engine(
                live.url,
                pool_pre_ping=True,
                connect_args={"options": f"-csearch_path={SCRATCH_SCHEMA},{self.live_schema}"},
            )
            self.path: Path | None = None
            return
        self.live_schema = LIVE
        database = live.url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise StorageError(
                "a rebuild needs the ledger in a file (its scratch copy is a file beside it)",
                code="rebuild.in_memory",
            )
        self.path = Path(database + "-rebuild")
        self.engine = open_engine(f"sqlite:///{self.path}")
        live_path = str(Path(database).resolve())

        @event.listens_for(self.engine, "connect")
        def _attach(dbapi_connection: Any, _record: Any) -> None:
            # A scratch chunk lost to a power cut is replayed again: no fsync per chunk (WAL stays
            # consistent). The ledger's own file keeps its synchronous=FULL for the swap.
            dbapi_connection.execute("PRAGMA main.synchronous=NORMAL")
            dbapi_connection.execute(f"ATTACH DATABASE ? AS {LIVE}", (live_path,))
            dbapi_connection.execute(f"PRAGMA {LIVE}.synchronous=FULL")

    def close(self) -> None:
        self.engine.dispose()

    def live_state(self, conn: Connection) -> StateSnapshot:
        """The live state tables, read through ``conn`` (whose unqualified names are the scratch ones)."""
        # execution_options changes the connection itself: set the translation for these reads only.
        conn.execution_options(schema_translate_map={None: self.live_schema})
        try:
            return snapshot(conn)
        finally:
            conn.execution_options(schema_translate_map=None)

    def read_progress(self) -> dict[str, str] | None:
        """The scratch's progress rows, or None when there is no usable scratch."""
        if self.path is not None and not self.path.exists():
            return None
        try:
            with self.engine.connect() as conn:
                if self.postgres:
                    found = conn.exec_driver_sql(
                        "SELECT 1 FROM information_schema.tables WHERE table_schema = %(s)s "
                        "AND table_name = 'rebuild_progress'",
                        {"s": SCRATCH_SCHEMA},
                    ).first()
                else:
                    found = conn.exec_driver_sql(
                        "SELECT 1 FROM main.sqlite_master WHERE name = 'rebuild_progress'"
                    ).first()
                if found is None:
                    return None
                return {row.name: row.value for row in conn.execute(select(_progress))}
        except SQLAlchemyError:
            return None

    def create(self, progress: dict[str, str]) -> None:
        """A new, empty scratch (any old one dropped) holding ``progress``."""
        self.drop()
        if self.postgres:
            with self.live.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {SCRATCH_SCHEMA}")
        with self.engine.begin() as conn:
            for table in (*schema.STATE_TABLES, _progress):
                table.create(conn)
            conn.execute(_progress.insert(), [{"name": k, "value": v} for k, v in progress.items()])

    def drop(self) -> None:
        """Remove the scratch copy, if any."""
        if self.postgres:
            with self.live.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE")
            return
        self.engine.dispose()
        assert self.path is not None
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def swap(self, conn: Connection) -> None:
        """Put the scratch state tables in place of the live ones, inside ``conn``'s transaction."""
        if self.postgres:
            live = self.live_schema
            for table in schema.STATE_TABLES:
                conn.exec_driver_sql(f'DROP TABLE "{live}"."{table.name}"')
                conn.exec_driver_sql(f'ALTER TABLE {SCRATCH_SCHEMA}."{table.name}" SET SCHEMA "{live}"')
            conn.exec_driver_sql(f"DROP SCHEMA {SCRATCH_SCHEMA} CASCADE")
            return
        for table in schema.STATE_TABLES:
            columns = ", ".join(f'"{c.name}"' for c in table.c)
            conn.exec_driver_sql(f'DELETE FROM {LIVE}."{table.name}"')
            conn.exec_driver_sql(
                f'INSERT INTO {LIVE}."{table.name}" ({columns}) SELECT {columns} FROM main."{table.name}"'
            )


def _put(conn: Connection, values: dict[str, str]) -> None:
    for name, value in values.items():
        conn.execute(update(_progress).where(_progress.c.name == name).values(value=value))


def _identity(conn: Connection) -> str:
    """What ties a scratch to its ledger: the hash of leaf 0 (every ledger's genesis differs)."""
    first = conn.execute(select(schema.events.c.envelope).where(schema.events.c.seq == 0)).scalar()
    return "" if first is None else leaf_hash(bytes(first)).hex()


# --- the rebuild --------------------------------------------------------------------------------------


def rebuild(
    ledger: Ledger,
    engine: Engine,
    *,
    chunk: int = REBUILD_CHUNK,
    restart: bool = False,
    progress: Progress | None = None,
    on_repair: Callable[[StateDifference], None] | None = None,
) -> int:
    """Recompute every state table from the stored events (``Ledger.rebuild``); return the head replayed."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    scratch = _Scratch(engine)
    # The replay runs through a ledger of its own over the scratch engine: its caches (registry, keys) are
    # the scratch state's, never the live ledger's.
    replayer = type(ledger)(scratch.engine, clock=ledger._clock)
    try:
        while True:
            try:
                total = _run(
                    replayer,
                    scratch=scratch,
                    chunk=chunk,
                    restart=restart,
                    progress=progress,
                    on_repair=on_repair,
                )
                break
            except _StartOverError:
                restart = True
    except SQLAlchemyError as exc:
        raise StorageError(f"rebuild failed: {exc.__class__.__name__}: {exc}") from exc
    finally:
        replayer.close()
        scratch.close()
    ledger._registry = None
    analyze(engine)  # every state table was rewritten: plan from fresh statistics
    return total


def resume_point(engine: Engine) -> int | None:
    """Where a rebuild of this database would resume (events already replayed), or None: it starts over."""
    scratch = _Scratch(engine)
    try:
        found = scratch.read_progress()
        if found is None or int(found.get("done", "0")) == 0:
            return None
        with engine.connect() as conn:
            if found.get("identity") != _identity(conn):
                return None
        return int(found["done"])
    finally:
        scratch.close()


@contextlib.contextmanager
def _snapshot_read(scratch: _Scratch) -> Iterator[Connection]:
    """A read transaction whose reads all see one moment (PostgreSQL: repeatable read)."""
    with scratch.engine.connect() as plain:
        conn = plain.execution_options(isolation_level="REPEATABLE READ") if scratch.postgres else plain
        with conn.begin():
            yield conn


def _run(
    replayer: Ledger,
    *,
    scratch: _Scratch,
    chunk: int,
    restart: bool,
    progress: Progress | None,
    on_repair: Callable[[StateDifference], None] | None,
) -> int:
    # Refuse a log whose events are not its leaves before anything is written (one consistent read).
    with _snapshot_read(scratch) as conn:
        head = read_head(conn)
        check_leaves(conn, head)
        identity = _identity(conn)
    state = None if restart else scratch.read_progress()
    if state is None or state.get("identity") != identity or int(state.get("done", "-1")) > head:
        scratch.create({"identity": identity, "done": "0", "scanned": "0"})
        state = {"done": "0", "scanned": "0"}
    done, scanned = int(state["done"]), int(state["scanned"])
    with scratch.engine.connect() as conn:
        fixes = corrections(conn, scanned)

    def learn(conn: Connection, upto: int) -> None:
        """Take in the corrections logged in ``scanned..upto``; start over if one rewrites the past."""
        nonlocal scanned
        if upto <= scanned:
            return
        new = corrections(conn, upto, scanned)
        if new:
            table = schema.events
            targets = conn.execute(select(table.c.seq).where(table.c.event_id.in_(list(new)))).scalars()
            if any(seq < done for seq in targets):
                raise _StartOverError
            fixes.update(new)
        scanned = upto

    # Replay chunk by chunk without the head lock, until the rest is less than one chunk.
    while True:
        with scratch.engine.begin() as conn:
            head = read_head(conn)
            learn(conn, head)
            if head - done <= chunk:
                _put(conn, {"scanned": str(scanned)})
                break
            rows = _events(conn, done, done + chunk)
            replay(replayer, conn, rows, fixes).write()
            done = rows[-1].seq + 1
            _put(conn, {"done": str(done), "scanned": str(scanned)})
        if progress is not None:
            progress(done, head)

    if on_repair is not None:
        # The repairs: the live state against the replayed one, both read at one head; events logged after
        # it change both copies alike (ingest the live one, the tail replay the scratch one).
        with _snapshot_read(scratch) as conn:
            head = read_head(conn)
            learn(conn, head)
            rows = _events(conn, done, head)
            if rows:
                replay(replayer, conn, rows, fixes).write()
                done = rows[-1].seq + 1
            _put(conn, {"done": str(done), "scanned": str(scanned)})
            for difference in differences(scratch.live_state(conn), snapshot(conn)):
                on_repair(difference)

    # The tail, under the head lock: at most one chunk of events, then the swap.
    with begin_write(scratch.engine) as conn:
        if not scratch.postgres:
            # Take the ledger file's write lock now, before reading its head (the scratch's is taken).
            conn.exec_driver_sql(f"UPDATE {LIVE}.adamas_meta SET value = value WHERE name = '{HEAD}'")
        head = replayer._lock_head(conn)
        learn(conn, head)
        while done < head:
            rows = _events(conn, done, min(head, done + chunk))
            replay(replayer, conn, rows, fixes).write()
            done = rows[-1].seq + 1
        scratch.swap(conn)
    if not scratch.postgres:
        scratch.drop()
    if progress is not None:
        progress(done, head)
    return head
