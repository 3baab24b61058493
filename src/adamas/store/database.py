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
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from adamas.errors import InputError, StorageError
from adamas.model.values import parse_time
from adamas.store.schema import (
    LOG_TABLES,
    RISK_TABLES,
    SCHEMA_VERSION,
    WITNESS_TABLES,
    events,
    keys,
    meta,
    metadata,
)
from adamas.store.tree import backfill

__all__ = [
    "HEAD",
    "WRITE_OPTION",
    "begin_write",
    "is_initialized",
    "migrate",
    "normalize_url",
    "open_engine",
    "read_meta",
]

HEAD: Final = "head"
"""The ``adamas_meta`` row holding the next leaf index; locking it makes one writer the sequencer."""

WRITE_OPTION: Final = "adamas_write"
"""Execution option that marks a connection whose transactions write (SQLite: ``BEGIN IMMEDIATE``)."""


def _add_the_log(conn: Connection) -> None:
    """Version 1 -> 2: the Merkle tree and checkpoint tables, and the tree of the events already stored.

    The log's key and a first checkpoint over the backfilled tree are made when the ledger is next opened
    (``adamas.ledger.transparency``), by the layer that owns signing.
    """
    for table in LOG_TABLES:
        table.create(conn, checkfirst=True)
    size = backfill(conn)
    head = int(conn.execute(select(meta.c.value).where(meta.c.name == HEAD)).scalar_one())
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


# Each entry upgrades a schema from version N to N + 1, inside the migration's one transaction.
MIGRATIONS: Final[dict[int, Callable[[Connection], None]]] = {
    1: _add_the_log,
    2: _add_witnessing,
    3: _add_risk,
    4: _add_logged_time,
}


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


def open_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-backend settings this module describes."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
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


def migrate(engine: Engine) -> None:
    """Create the schema in an empty database, or bring an older one up to ``SCHEMA_VERSION``."""
    try:
        if not is_initialized(engine):
            with begin_write(engine) as conn:
                metadata.create_all(conn)
                conn.execute(
                    insert(meta),
                    [{"name": "schema_version", "value": str(SCHEMA_VERSION)}, {"name": HEAD, "value": "0"}],
                )
            return
        version = int(read_meta(engine).get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"this database has schema version {version}; this Adamas knows up to {SCHEMA_VERSION}. "
                "Upgrade Adamas.",
                code="storage.schema_too_new",
            )
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
