"""Rebuilding the state tables from the stored events: chunked, resumable, beside a running ledger.

A rebuild replays the events into a *scratch* copy of the state tables, one chunk per transaction that does
not hold the sequencer (head) lock, so ingest goes on: it waits at most for one chunk's write. The scratch
remembers how far it got, so a rebuild that was stopped (killed, a crash) resumes there. Once the scratch has
caught up with the head, the rebuild takes the head lock, replays the few events logged since (at most one
chunk) and puts the scratch tables in place of the live ones in that same transaction, then lets ingest go.
The swap moves no row: its time does not grow with the state.

Where the scratch lives, and how the replay writes there through the ordinary ingest code (which names its
tables without a schema, in SQLAlchemy statements, compiled statements it caches and raw SQL alike):

- PostgreSQL: schema ``adamas_rebuild`` in the same database, first on the rebuild connections'
  ``search_path``; state tables resolve there, ``events`` and ``adamas_meta`` to the live schema. The swap
  drops each live state table and moves the scratch one into the live schema (``SET SCHEMA``).
- SQLite: shadow tables ``adamas_rebuild_<table>`` in the ledger's own file (made from the schema's tables,
  their indexes named ``adamas_rebuild_<index>``). On the rebuild's connections a ``TEMP`` view named after
  each state table (found before ``main``'s tables) reads its shadow table and ``INSTEAD OF`` triggers
  write there. The swap renames each live table to ``adamas_retired_<table>`` and the shadow one to the
  live name (``ALTER TABLE ... RENAME``), and gives the indexes their names by an edit of the schema table
  (``_swap_index_names``); the retired tables are freed after the lock, a bounded number of rows per
  transaction (``_free``).

Corrections replace earlier events' effects: the rebuild knows every correction logged below the leaf it has
looked at (``scanned``); one logged later that targets an event already replayed makes it start over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
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
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.schema import CreateIndex

from adamas.errors import AdamasError, RuleError, StorageError
from adamas.ledger.batch import BatchState
from adamas.ledger.state_diff import StateDifference, StateSnapshot, differences, snapshot
from adamas.ledger.stored import check_leaves
from adamas.log import leaf_hash
from adamas.model.events import Envelope, parse_envelope
from adamas.store import schema
from adamas.store.database import WRITE_OPTION, analyze, begin_write, open_engine, read_head
from adamas.store.schema import SCHEMA_VERSION

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
"""PostgreSQL schema of a rebuild's scratch tables."""
SHADOW: Final = "adamas_rebuild_"
"""SQLite: prefix of the scratch (shadow) tables and their indexes in the ledger's file."""
RETIRED: Final = "adamas_retired_"
"""SQLite: prefix of the state tables a swap replaced, until they are freed."""
REPORT_TRIES: Final = 5
"""SQLite: attempts at reading both states at one head before ``on_repair`` compares them under the lock."""
FREE_STEP: Final = 5000
"""SQLite: rows of a retired table deleted per write transaction (each a short wait for ingest)."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``: events replayed so far, and the head they are replaying towards."""
Corrections = dict[str, dict[str, Any] | None]

_scratch_meta = MetaData()
_progress = Table(
    SHADOW + "progress",
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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _renamed(table: Table, prefix: str, metadata: MetaData) -> Table:
    """A copy of ``table`` named ``prefix + name`` whose indexes are named ``prefix + index name``: SQLite's
    index names are global to the file, and cannot be renamed with ``ALTER``."""
    copy = table.to_metadata(metadata, name=prefix + table.name)
    for index in list(copy.indexes):
        copy.indexes.discard(index)
    for index in table.indexes:
        if len(index.expressions) != len(index.columns):
            raise NotImplementedError(f"the rebuild copies column indexes only, not {index.name}")
        Index(
            prefix + str(index.name),
            *(copy.c[column.name] for column in index.columns),
            unique=index.unique,
            **dict(index.dialect_kwargs),
        )
    return copy


def _index_sql(conn: Connection, index: Index) -> str:
    """The ``CREATE INDEX`` text SQLite keeps for ``index`` (what ``index.create`` would have stored)."""
    return str(CreateIndex(index).compile(dialect=conn.dialect))


_shadow_meta = MetaData()
_retired_meta = MetaData()
_SHADOW_TABLES: Final = {t.name: _renamed(t, SHADOW, _shadow_meta) for t in schema.STATE_TABLES}
_RETIRED_TABLES: Final = {t.name: _renamed(t, RETIRED, _retired_meta) for t in schema.STATE_TABLES}


def _redirect(dbapi_connection: Any) -> None:
    """SQLite: make this connection's unqualified state table names reach the shadow tables.

    A ``TEMP`` view named after each state table (temp objects are found before ``main``'s) reads the shadow
    table; ``INSTEAD OF`` triggers turn each write to the view into the same write to the shadow table. The
    statements of the replay (any of them: SQLAlchemy's, ``adamas.store.bulk``'s compiled ones, raw SQL)
    are the ingest's own, unchanged; ``events`` and ``adamas_meta`` are the live ones.
    """
    for table in schema.STATE_TABLES:
        view, shadow = _quote(table.name), _quote(SHADOW + table.name)
        names = [_quote(c.name) for c in table.columns]
        columns = ", ".join(names)
        key = " AND ".join(f"{_quote(c.name)} = OLD.{_quote(c.name)}" for c in table.primary_key.columns)
        new = ", ".join(f"NEW.{n}" for n in names)
        sets = ", ".join(f"{n} = NEW.{n}" for n in names)
        trigger = SHADOW + table.name
        dbapi_connection.execute(f"CREATE TEMP VIEW {view} AS SELECT {columns} FROM main.{shadow}")
        dbapi_connection.execute(
            f"CREATE TEMP TRIGGER {_quote(trigger + '_insert')} INSTEAD OF INSERT ON {view} "
            f"BEGIN INSERT INTO {shadow} ({columns}) VALUES ({new}); END"
        )
        dbapi_connection.execute(
            f"CREATE TEMP TRIGGER {_quote(trigger + '_update')} INSTEAD OF UPDATE ON {view} "
            f"BEGIN UPDATE {shadow} SET {sets} WHERE {key}; END"
        )
        dbapi_connection.execute(
            f"CREATE TEMP TRIGGER {_quote(trigger + '_delete')} INSTEAD OF DELETE ON {view} "
            f"BEGIN DELETE FROM {shadow} WHERE {key}; END"
        )


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
            return
        self.live_schema = "main"
        database = live.url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise StorageError(
                "a rebuild needs the ledger in a file (its connections redirect the state tables)",
                code="rebuild.in_memory",
            )
        self.engine = open_engine(live.url.render_as_string(hide_password=False))

        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            # A chunk lost to a power cut is replayed again: no fsync per chunk (the swap's commit has
            # one). Ingest's commits (synchronous=FULL) sync the WAL's earlier frames with their own, so
            # what survives a power cut is a prefix of the commits.
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
            _redirect(dbapi_connection)

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
        try:
            with self.engine.connect() as conn:
                if self.postgres:
                    found = conn.exec_driver_sql(
                        "SELECT 1 FROM information_schema.tables WHERE table_schema = %(s)s "
                        "AND table_name = %(t)s",
                        {"s": SCRATCH_SCHEMA, "t": _progress.name},
                    ).first()
                else:
                    found = conn.exec_driver_sql(
                        "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                        (_progress.name,),
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
            tables = list(schema.STATE_TABLES)
        else:
            tables = list(_SHADOW_TABLES.values())
        with begin_write(self.engine) as conn:
            for table in (*tables, _progress):
                table.create(conn)
            conn.execute(_progress.insert(), [{"name": k, "value": v} for k, v in progress.items()])

    def drop(self) -> None:
        """Remove the scratch copy, if any (and, SQLite, state tables a swap replaced but did not free)."""
        if self.postgres:
            with self.live.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE")
            return
        _free(self.live, (SHADOW, RETIRED))

    def swap(self, conn: Connection) -> None:
        """Put the scratch state tables in place of the live ones, inside ``conn``'s transaction.

        No row moves: PostgreSQL moves the scratch tables into the live schema; SQLite renames tables (the
        live ones to ``adamas_retired_*``, freed after the commit by ``_free``) and their indexes.
        """
        if self.postgres:
            live = self.live_schema
            for table in schema.STATE_TABLES:
                conn.exec_driver_sql(f'DROP TABLE "{live}"."{table.name}"')
                conn.exec_driver_sql(f'ALTER TABLE {SCRATCH_SCHEMA}."{table.name}" SET SCHEMA "{live}"')
            conn.exec_driver_sql(f"DROP SCHEMA {SCRATCH_SCHEMA} CASCADE")
            return
        for table in schema.STATE_TABLES:
            # This connection's views and triggers name the shadow tables: gone before they are renamed
            # (the connection is discarded after this transaction).
            conn.exec_driver_sql(f"DROP VIEW temp.{_quote(table.name)}")
        for table in schema.STATE_TABLES:
            retired, shadow = _RETIRED_TABLES[table.name], _SHADOW_TABLES[table.name]
            conn.exec_driver_sql(f"ALTER TABLE main.{_quote(table.name)} RENAME TO {_quote(retired.name)}")
            conn.exec_driver_sql(f"ALTER TABLE main.{_quote(shadow.name)} RENAME TO {_quote(table.name)}")
        _swap_index_names(conn)
        conn.exec_driver_sql(f"DROP TABLE main.{_quote(_progress.name)}")


def _swap_index_names(conn: Connection) -> None:
    """SQLite: give the swapped-in tables' indexes their schema's names, and the retired ones others.

    ``ALTER`` cannot rename an index. Its name lives only in the schema table (the index's pages do not hold
    it), so the rename is an edit of that table: SQLite's documented procedure for schema changes that leave
    the file's content alone (lang_altertable.html, "making other kinds of table schema changes"):
    ``writable_schema``, the rows edited, then a new schema version, which makes every connection reload the
    schema. A library that refuses the edit (built defensive) gets the indexes rebuilt instead, in time that
    grows with the tables (docs/benchmarks.md).
    """
    edits: list[tuple[str, str, str]] = []  # (name now, name after, CREATE INDEX text after)
    for table in schema.STATE_TABLES:
        retired = {str(i.name): i for i in _RETIRED_TABLES[table.name].indexes}
        for index in table.indexes:
            name = str(index.name)
            edits.append((name, RETIRED + name, _index_sql(conn, retired[RETIRED + name])))
            edits.append((SHADOW + name, name, _index_sql(conn, index)))
    try:
        with conn.begin_nested():
            _edit_schema(conn, edits)
    except OperationalError:
        _rebuild_indexes(conn)


def _edit_schema(conn: Connection, edits: list[tuple[str, str, str]]) -> None:
    """Rename indexes in SQLite's schema table: ``(name now, name after, CREATE INDEX text after)``."""
    version = int(conn.exec_driver_sql("PRAGMA main.schema_version").scalar_one())
    conn.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for old, new, sql in edits:
            changed = conn.exec_driver_sql(
                "UPDATE main.sqlite_master SET name = ?, sql = ? WHERE type = 'index' AND name = ?",
                (new, sql, old),
            ).rowcount
            if changed != 1:
                raise StorageError(
                    f"the rebuild's swap found {changed} indexes named {old}", code="rebuild.swap"
                )
        conn.exec_driver_sql(f"PRAGMA main.schema_version={version + 1}")
    finally:
        conn.exec_driver_sql("PRAGMA writable_schema=OFF")


def _rebuild_indexes(conn: Connection) -> None:
    """SQLite without schema edits: drop both tables' indexes, build the live ones again (time: the rows)."""
    for table in schema.STATE_TABLES:
        for index in table.indexes:
            conn.exec_driver_sql(f"DROP INDEX main.{_quote(str(index.name))}")
            conn.exec_driver_sql(f"DROP INDEX main.{_quote(SHADOW + str(index.name))}")
            index.create(conn)


def _free(engine: Engine, prefixes: tuple[str, ...]) -> None:
    """SQLite: drop every table whose name starts with one of ``prefixes``, freeing its rows in steps.

    ``DROP TABLE`` visits every page of the table in one write transaction, which ingest would wait for
    (measured: 0.36 s for 200,000 rows of 250 bytes); deleting ``FREE_STEP`` rows per transaction keeps each
    wait short, and the last, emptied table drops at once.
    """
    with engine.connect() as conn:
        names = [
            str(name)
            for (name,) in conn.exec_driver_sql("SELECT name FROM main.sqlite_master WHERE type = 'table'")
            if str(name).startswith(prefixes)
        ]
    for name in names:
        table = _quote(name)
        with begin_write(engine) as conn:
            columns = conn.exec_driver_sql(f"PRAGMA main.table_info({table})").all()
            key = ", ".join(_quote(c[1]) for c in sorted(columns, key=lambda c: int(c[5])) if c[5]) or "rowid"
            for index in conn.exec_driver_sql(f"PRAGMA main.index_list({table})").all():
                if index[3] == "c":  # made by CREATE INDEX (the others belong to the table's keys)
                    conn.exec_driver_sql(f"DROP INDEX main.{_quote(index[1])}")
        while True:
            with begin_write(engine) as conn:
                deleted = conn.exec_driver_sql(
                    f"DELETE FROM main.{table} WHERE ({key}) IN "
                    f"(SELECT {key} FROM main.{table} LIMIT {FREE_STEP})"
                ).rowcount
                if deleted < FREE_STEP:
                    conn.exec_driver_sql(f"DROP TABLE main.{table}")
                    break


def _put(conn: Connection, values: dict[str, str]) -> None:
    for name, value in values.items():
        conn.execute(update(_progress).where(_progress.c.name == name).values(value=value))


def _usable(progress: dict[str, str] | None, identity: str) -> bool:
    """True when a scratch's progress is this ledger's, made by this schema version (else: start over)."""
    return (
        progress is not None
        and progress.get("identity") == identity
        and progress.get("schema") == str(SCHEMA_VERSION)
    )


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
            if not _usable(found, _identity(conn)):
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
    if not _usable(state, identity) or int(state.get("done", "-1")) > head:  # type: ignore[union-attr]
        state = {"identity": identity, "schema": str(SCHEMA_VERSION), "done": "0", "scanned": "0"}
        scratch.create(state)
    assert state is not None
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

    def catch_up(conn: Connection, head: int) -> None:
        """Replay (and store) the events ``done..head`` into the scratch, in chunks."""
        nonlocal done
        learn(conn, head)
        while done < head:
            rows = _events(conn, done, min(head, done + chunk))
            replay(replayer, conn, rows, fixes).write()
            done = rows[-1].seq + 1
        _put(conn, {"done": str(done), "scanned": str(scanned)})

    # Replay chunk by chunk without the head lock, until the rest is less than one chunk. Each chunk is
    # worked out in a read transaction and written in a transaction of its own: the write is all that
    # SQLite's writers (ingest) wait for, as the scratch is in the ledger's file.
    while True:
        with scratch.engine.connect() as conn:
            with conn.begin():
                head = read_head(conn)
                learn(conn, head)
                caught_up = head - done <= chunk
                if not caught_up:
                    rows = _events(conn, done, done + chunk)
                    replayed = replay(replayer, conn, rows, fixes)
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if not caught_up:
                    replayed.write()
                    done = rows[-1].seq + 1
                _put(conn, {"done": str(done), "scanned": str(scanned)})
        if caught_up:
            break
        if progress is not None:
            progress(done, head)

    if on_repair is not None:
        # The repairs: the live state against the replayed one, both read at one head; events logged after
        # it change both copies alike (ingest the live one, the tail replay the scratch one).
        _report(scratch, catch_up, on_repair)

    # The tail, under the head lock: at most one chunk of events, then the swap.
    conn = scratch.engine.connect().execution_options(**{WRITE_OPTION: True})
    if not scratch.postgres:
        driver = conn.connection.driver_connection  # outside a transaction: SQLite refuses it inside
        assert driver is not None
        driver.execute("PRAGMA synchronous=FULL")  # the swap's commit is durable
    try:
        with _sequencer(conn):
            head = replayer._lock_head(conn)
            catch_up(conn, head)
            scratch.swap(conn)
    finally:
        if not scratch.postgres:
            conn.invalidate()  # its views were dropped for the swap: never reused
        conn.close()
    if not scratch.postgres:
        _free(scratch.live, (RETIRED,))
    if progress is not None:
        progress(done, head)
    return head


@contextlib.contextmanager
def _sequencer(conn: Connection) -> Iterator[None]:
    """The transaction of the tail replay and the swap: it holds the head lock (apart for benchmarks)."""
    with conn.begin():
        yield


def _report(
    scratch: _Scratch,
    catch_up: Callable[[Connection, int], None],
    on_repair: Callable[[StateDifference], None],
) -> None:
    """Tell ``on_repair`` every difference between the live state and the scratch, read at one head."""
    if scratch.postgres:
        # One repeatable-read transaction both brings the scratch to its head and compares.
        with _snapshot_read(scratch) as conn:
            catch_up(conn, read_head(conn))
            _differences(scratch, conn, on_repair)
        return
    # SQLite: writing the scratch takes the ledger file's write lock, so the catch-up is a short write of
    # its own and the comparison a read that follows; if ingest logged events between the two, again.
    for _ in range(REPORT_TRIES):
        with begin_write(scratch.engine) as conn:
            head = read_head(conn)
            catch_up(conn, head)
        with _snapshot_read(scratch) as conn:
            if read_head(conn) == head:
                _differences(scratch, conn, on_repair)
                return
    with begin_write(scratch.engine) as conn:  # ingest never paused: compare holding the lock
        catch_up(conn, read_head(conn))
        _differences(scratch, conn, on_repair)


def _differences(scratch: _Scratch, conn: Connection, on_repair: Callable[[StateDifference], None]) -> None:
    for difference in differences(scratch.live_state(conn), snapshot(conn)):
        on_repair(difference)
