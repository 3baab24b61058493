"""Opening a ledger database: engine set-up per backend, schema creation and migration.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged event survives a power cut) and takes the
write lock at ``BEGIN IMMEDIATE``, so that the single sequencer never has to upgrade a read lock. PostgreSQL
needs nothing special: the sequencer serializes writers with ``SELECT ... FOR UPDATE`` on the head row.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, create_engine, event, insert, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from adamas.errors import InputError, NotFoundError, StorageError
from adamas.model.values import parse_time
from adamas.store.schema import (
    LOG_TABLES,
    RISK_TABLES,
    SCHEMA_VERSION,
    WITNESS_TABLES,
    events,
    keys,
    lot_edges,
    meta,
    metadata,
)
from adamas.store.tree import backfill

__all__ = [
    "ANALYZE_AFTER",
    "HEAD",
    "WRITE_OPTION",
    "analyze",
    "begin_write",
    "check_readable",
    "is_initialized",
    "is_read_only",
    "meta_int",
    "migrate",
    "normalize_url",
    "open_engine",
    "read_meta",
]

HEAD: Final = "head"
"""The ``adamas_meta`` row holding the next leaf index; locking it makes one writer the sequencer."""

WRITE_OPTION: Final = "adamas_write"
"""Execution option that marks a connection whose transactions write (SQLite: ``BEGIN IMMEDIATE``)."""


ANALYZE_AFTER: Final = 50_000
"""Events written by one process since its last ``analyze`` after which a batch refreshes the statistics."""


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics after bulk work (a large ingest, a rebuild, a restore).

    PostgreSQL plans from ``pg_statistic``; without fresh statistics on a table that grew from nothing the
    measured lot history was 4x slower and a big trace 2x (issue 14). Autovacuum catches up on its own
    schedule (docs/operations.md); this makes the bulk writer do it at once. SQLite: ``PRAGMA optimize``,
    which analyzes only the tables whose statistics it finds stale. Never on a read-only database.
    """
    if is_read_only(engine):
        return
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                # On its own, outside any write transaction: it takes no lock that blocks the sequencer.
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("PRAGMA optimize")
                conn.commit()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot analyze the database: {exc.__class__.__name__}: {exc}") from exc


def _add_the_log(conn: Connection) -> None:
    """Version 1 -> 2: the Merkle tree and checkpoint tables, and the tree of the events already stored.

    The log's key and a first checkpoint over the backfilled tree are made when the ledger is next opened
    (``adamas.ledger.transparency``), by the layer that owns signing.
    """
    for table in LOG_TABLES:
        table.create(conn, checkfirst=True)
    size = backfill(conn)
    head = read_head(conn)
    if head != size:
        raise StorageError(
            f"the ledger's head says {head} events, the stored events number {size}",
            code="log.tree_size",
            expected=head,
            actual=size,
        )


def _add_witnessing(conn: Connection) -> None:
    """Version 2 -> 3: the witnesses of the log and the cosignatures they returned (empty)."""
    for table in WITNESS_TABLES:
        table.create(conn, checkfirst=True)


def _add_risk(conn: Connection) -> None:
    """Version 3 -> 4: the risk flag tables (empty; the next ``adamas risk scan`` fills them from the log)."""
    for table in RISK_TABLES:
        table.create(conn, checkfirst=True)


def _add_logged_time(conn: Connection) -> None:
    """Version 4 -> 5: the logged time and backfill window of each event, a key's compromise, a lot's
    largest-stone bounds, and the backfill windows (created with the other new tables).

    Events logged before get no logged time (NULL: unknown, judged by their declared time as they were when
    accepted, and their checkpoints carry no time line either, so a monitor reading the tiles finds the
    same); lots get no bounds (their own carats bound every stone, the conservative reading); a key revoked
    with effect before its revocation's own time is marked compromised, as the rules now record it.
    """
    for table, column, kind in (
        ("events", "logged_ns", "BIGINT"),
        ("events", "backfill", "VARCHAR(128)"),
        ("keys", "compromised", "INTEGER"),
        ("lots", "largest", "TEXT"),
    ):
        if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    revocations = conn.execute(
        select(events.c.envelope).where(events.c.type == "key.revoke").order_by(events.c.seq)
    )
    for row in revocations:
        body = json.loads(bytes(row.envelope))["body"]
        if parse_time(body["effective"], "effective") < parse_time(body["time"], "time"):
            conn.execute(update(keys).where(keys.c.id == body["key_id"]).values(compromised=1))


def _compact(conn: Connection) -> None:
    """Version 5 -> 6: fewer bytes per event (issue 14), nothing lost.

    The ``leaf_hash`` column goes (the level-0 tiles hold every leaf hash, and each is the hash of the
    stored envelope, which stays byte for byte); the (key, time) index becomes an index on the key, and the
    lots' holder index, which no query reads, goes. On
    SQLite the leaf index becomes the events' rowid, and ``lot_edges`` becomes a WITHOUT ROWID table:
    SQLite cannot change either in place, so those tables are copied into their new layout, in this
    transaction (version 6 did the same to ``lot_events``, which version 7 folds into ``lots``: the next
    step reads it as it is). PostgreSQL drops the column in place; the space it held is reused by new
    rows, and returned to the system only by ``VACUUM FULL events`` (docs/operations.md).
    """
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_events_key_time")
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_lots_holder")
    if conn.dialect.name == "sqlite":
        for table in (events, lot_edges):
            _copy_into_new_layout(conn, table)
    elif "leaf_hash" in {c["name"] for c in inspect(conn).get_columns("events")}:
        conn.exec_driver_sql("ALTER TABLE events DROP COLUMN leaf_hash")


def _fold_lot_events(conn: Connection) -> None:
    """Version 6 -> 7: each lot's history moves from its ``lot_events`` rows into ``lots.history``.

    One set-based statement fills every lot's history from its ``lot_events`` rows, in log order; the
    leaves kept are counted against the rows (every (lot, event) pair kept, or the migration fails and
    rolls back), then ``lot_events`` is dropped. The statement aggregates per lot, which SQL spells
    differently on each backend (``string_agg ... ORDER BY`` on PostgreSQL, ``group_concat`` over an
    ordered subquery on SQLite); nothing else of the ledger depends on the backend.
    """
    if "lot_events" not in inspect(conn).get_table_names():
        return
    if "history" not in {c["name"] for c in inspect(conn).get_columns("lots")}:
        conn.exec_driver_sql("ALTER TABLE lots ADD COLUMN history TEXT NOT NULL DEFAULT ''")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE lots SET history = h.seqs FROM (SELECT lot, "
            "string_agg(seq::text || ',', '' ORDER BY seq) AS seqs FROM lot_events GROUP BY lot) AS h "
            "WHERE lots.id = h.lot"
        )
    else:
        conn.exec_driver_sql(
            "UPDATE lots SET history = COALESCE((SELECT group_concat(seq || ',', '') FROM (SELECT seq FROM "
            "lot_events WHERE lot_events.lot = lots.id ORDER BY seq)), '')"
        )
    before = conn.exec_driver_sql("SELECT COUNT(*) FROM lot_events").scalar()
    after = conn.exec_driver_sql(
        "SELECT COALESCE(SUM(LENGTH(history) - LENGTH(REPLACE(history, ',', ''))), 0) FROM lots"
    ).scalar()
    if before != after:
        raise StorageError(
            f"folding lot_events into the lots' histories kept {after} of {before} rows",
            code="storage.migration",
            expected=before,
            actual=after,
        )
    conn.exec_driver_sql("DROP TABLE lot_events")


def _copy_into_new_layout(conn: Connection, table: Table) -> None:
    """Recreate SQLite ``table`` as the schema now defines it and copy its rows over (counted both sides)."""
    old = f"{table.name}_v5"
    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{old}"')
    for index in inspect(conn).get_indexes(old):  # index names are global: free them for the new table
        conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
    table.create(conn)
    columns = ", ".join(f'"{c.name}"' for c in table.c)
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{old}" ORDER BY {order}'
    )
    before = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{old}"').scalar()
    after = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table.name}"').scalar()
    if before != after:
        raise StorageError(
            f"copying {table.name} into its new layout kept {after} of {before} rows",
            code="storage.migration",
            expected=before,
            actual=after,
        )
    conn.exec_driver_sql(f'DROP TABLE "{old}"')


# Each entry upgrades a schema from version N to N + 1, inside the migration's one transaction.
MIGRATIONS: Final[dict[int, Callable[[Connection], None]]] = {
    1: _add_the_log,
    2: _add_witnessing,
    3: _add_risk,
    4: _add_logged_time,
    5: _compact,
    6: _fold_lot_events,
}


def read_head(conn: Connection, *, lock: bool = False) -> int:
    """The log's size, as the head row says; ``lock`` takes the sequencer lock (the head row) with it."""
    stmt = select(meta.c.value).where(meta.c.name == HEAD)
    return meta_int(conn.execute(stmt.with_for_update() if lock else stmt).scalar(), HEAD)


def meta_int(value: str | None, name: str) -> int:
    """The number an ``adamas_meta`` row holds; a corrupted row is a ``StorageError``, not a traceback."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 19:
        raise StorageError(
            f"the ledger's {name} row is missing or corrupted ({value!r})",
            code="storage.corrupt_meta",
            field=name,
        )
    return int(value)


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs by naming the psycopg 3 driver; check the URL's form."""
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(f"not a database URL: {url!r}", code="storage.bad_url", field="db") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(
            f"Adamas runs on SQLite or PostgreSQL, not {parsed.get_backend_name()}",
            code="storage.bad_url",
            field="db",
        )
    return url


def open_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for ``url`` with the per-backend settings this module describes.

    ``read_only``: a SQLite file that does not exist is not found (``ledger.not_found``) rather than
    created, so that a command that only reads never leaves a database behind.
    """
    url = normalize_url(url)
    try:
        engine = _create(url)
    except (ArgumentError, ImportError) as exc:  # an unknown or uninstalled driver
        raise InputError(
            f"cannot use the database driver of {url!r}: {exc}", code="storage.bad_url", field="db"
        ) from exc
    if read_only:
        try:
            _exists(url)
        except NotFoundError:
            engine.dispose()
            raise
    return engine


def _exists(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or Path(database).exists():
        return
    raise NotFoundError(
        f"no Adamas ledger at {url}; create one with `adamas init`", code="ledger.not_found", field="db"
    )


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # Only a new, empty file takes it (an existing one keeps its page size): ~400-byte event rows
            # leave a tenth of each 4 KiB page empty, and under 2% of an 8 KiB one (issue 14).
            cursor.execute("PRAGMA page_size=8192")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Writers take the lock up front; readers never block one another or the sequencer (WAL).
            write = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


@contextlib.contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed on success, rolled back on any exception."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        yield conn


def is_initialized(engine: Engine) -> bool:
    """True when the database holds an Adamas schema."""
    try:
        return inspect(engine).has_table(meta.name)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot reach the database: {exc.__class__.__name__}: {exc}") from exc


def read_meta(engine: Engine) -> dict[str, str]:
    """All rows of ``adamas_meta``."""
    with engine.connect() as conn:
        return {row.name: row.value for row in conn.execute(select(meta))}


def _create_missing_indexes(conn: Connection) -> None:
    """Indexes added to existing tables after their creation (``create_all`` only adds whole tables)."""
    inspector = inspect(conn)
    present = {
        index["name"] for table in metadata.sorted_tables for index in inspector.get_indexes(table.name)
    }
    for table in metadata.sorted_tables:
        for index in table.indexes:
            if index.name not in present:
                index.create(conn)


def is_read_only(engine: Engine) -> bool:
    """True when the database refuses writes: a PostgreSQL hot standby (``pg_is_in_recovery()``) or a
    session whose transactions are read-only (``default_transaction_read_only``). SQLite: never."""
    if engine.dialect.name != "postgresql":
        return False
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
            ).one()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot reach the database: {exc.__class__.__name__}: {exc}") from exc
    return bool(row[0]) or row[1] == "on"


def check_readable(engine: Engine) -> None:
    """Refuse a read-only database whose schema is not this Adamas's (it cannot be migrated from here).

    A replica is migrated through its primary: open the primary with this Adamas once, and the standby
    follows."""
    try:
        version = int(read_meta(engine).get("schema_version", "0"))
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the database: {exc.__class__.__name__}: {exc}") from exc
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"this database has schema version {version}; this Adamas knows up to {SCHEMA_VERSION}. "
            "Upgrade Adamas.",
            code="storage.schema_too_new",
        )
    if version < SCHEMA_VERSION:
        raise StorageError(
            f"this read-only database has schema version {version}, older than this Adamas's "
            f"{SCHEMA_VERSION}, and cannot be migrated here; open its primary with this Adamas first",
            code="storage.read_only_schema_old",
            expected=SCHEMA_VERSION,
            actual=version,
        )


def _complete(engine: Engine) -> bool:
    """True when every table and index of this Adamas's schema is present (read without a write lock)."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names())
        if any(table.name not in tables for table in metadata.sorted_tables):
            return False
        present = {
            index["name"] for table in metadata.sorted_tables for index in inspector.get_indexes(table.name)
        }
    return all(index.name in present for table in metadata.sorted_tables for index in table.indexes)


def migrate(engine: Engine) -> None:
    """Create the schema in an empty database, or bring an older one up to ``SCHEMA_VERSION``.

    A read-only database (a hot standby) is never written: it is only checked (``check_readable``)."""
    if is_read_only(engine):
        check_readable(engine)
        return
    try:
        if not is_initialized(engine):
            with begin_write(engine) as conn:
                metadata.create_all(conn)
                conn.execute(
                    insert(meta),
                    [{"name": "schema_version", "value": str(SCHEMA_VERSION)}, {"name": HEAD, "value": "0"}],
                )
            return
        version = meta_int(read_meta(engine).get("schema_version", "0"), "schema_version")
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"this database has schema version {version}; this Adamas knows up to {SCHEMA_VERSION}. "
                "Upgrade Adamas.",
                code="storage.schema_too_new",
            )
        if version == SCHEMA_VERSION and _complete(engine):
            return  # nothing to write: no write lock taken (an open never waits for the sequencer)
        with begin_write(engine) as conn:
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
            conn.execute(
                update(meta).where(meta.c.name == "schema_version").values(value=str(SCHEMA_VERSION))
            )
            metadata.create_all(conn)
            _create_missing_indexes(conn)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot prepare the database: {exc.__class__.__name__}: {exc}") from exc
