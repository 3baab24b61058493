"""Online backup and restore of a whole ledger, on either backend, while the sequencer keeps writing.

A backup is one consistent snapshot of every table, taken in a single read transaction: SQLite in WAL mode
gives each read transaction a snapshot that later commits do not change; PostgreSQL gives the same under
``REPEATABLE READ``. Writers are never blocked. The snapshot is written to a new SQLite file with the ledger's
own schema, so a backup is itself a ledger that ``adamas audit --db sqlite:///FILE`` can check, and it can
be restored onto SQLite or PostgreSQL alike.

Invariant: a backup holds exactly the events of some signed checkpoint's tree, never a torn batch, because
events, tree tiles and checkpoints of a batch commit in one transaction and the snapshot sees all or none.

The file holds the log's signing key (ADR 0003), so it is created with mode 0600 and must be kept like the
administrator's key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, func, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import ConflictError, InputError, StorageError
from adamas.store.database import analyze, begin_write, migrate, open_engine
from adamas.store.schema import SCHEMA_VERSION, metadata

__all__ = ["BackupReport", "backup", "restore"]

CHUNK: Final = 5_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup or restore copied: the tree size and latest checkpoint it holds, rows per table."""

    path: str
    size: int
    checkpoint: str | None
    rows: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"path": self.path, "size": self.size, "checkpoint": self.checkpoint, "rows": self.rows}


def _tables(conn: Connection) -> list[Table]:
    present = set(inspect(conn).get_table_names())
    return [table for table in metadata.sorted_tables if table.name in present]


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection on one consistent snapshot of the whole database."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn
    else:
        with engine.connect() as conn, conn.begin():
            yield conn


def _rows(conn: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    query = select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query)
    for chunk in result.mappings().partitions(CHUNK):
        yield [dict(row) for row in chunk]


def _copy(source: Connection, target: Connection, progress: Progress | None) -> dict[str, int]:
    tables = _tables(source)
    counts = {t.name: int(source.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}
    total, done = sum(counts.values()), 0
    for table in tables:
        for chunk in _rows(source, table):
            target.execute(insert(table), chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    if progress is not None:
        progress(total, total)
    return counts


def _head(conn: Connection) -> tuple[int, str | None]:
    from adamas.store.schema import log_checkpoints

    tables = {t.name for t in _tables(conn)}
    if log_checkpoints.name not in tables:
        return 0, None
    row = conn.execute(
        select(log_checkpoints.c.size, log_checkpoints.c.note).order_by(log_checkpoints.c.size.desc())
    ).first()
    return (0, None) if row is None else (int(row.size), str(row.note))


def backup(url: str, out: str | os.PathLike[str], *, progress: Progress | None = None) -> BackupReport:
    """Copy one consistent snapshot of the ledger at ``url`` into a new SQLite file ``out`` (mode 0600)."""
    path = Path(out)
    if path.exists():
        raise ConflictError(
            f"{path} already exists; a backup never overwrites", code="backup.exists", field="out"
        )
    if not path.parent.is_dir():
        raise InputError(
            f"no folder {path.parent} to write the backup in", code="backup.no_folder", field="out"
        )
    source = open_engine(url)
    try:
        if not inspect(source).has_table("adamas_meta"):
            raise StorageError(f"{url} holds no Adamas ledger", code="backup.not_a_ledger", field="db")
        # Create the file private before any secret is written to it.
        path.touch(mode=0o600, exist_ok=False)
        target = open_engine(f"sqlite:///{path}")
        try:
            with _snapshot(source) as conn:
                with begin_write(target) as out_conn:
                    for table in _tables(conn):
                        table.create(out_conn, checkfirst=True)
                    counts = _copy(conn, out_conn, progress)
                size, note = _head(conn)
        finally:
            target.dispose()
    except SQLAlchemyError as exc:
        path.unlink(missing_ok=True)
        raise StorageError(
            f"the backup failed: {exc.__class__.__name__}: {exc}", code="backup.failed"
        ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        source.dispose()
    return BackupReport(str(path), size, note, counts)


def restore(
    backup_file: str | os.PathLike[str], url: str, *, progress: Progress | None = None
) -> BackupReport:
    """Restore a backup file into the empty database at ``url`` (SQLite or PostgreSQL), in one transaction."""
    path = Path(backup_file)
    if not path.is_file():
        raise InputError(f"no backup file {path}", code="backup.missing", field="backup")
    source = open_engine(f"sqlite:///{path}")
    target = open_engine(url)
    try:
        if inspect(target).has_table("adamas_meta"):
            raise ConflictError(
                f"{url} already holds a ledger; restore only into an empty database",
                code="backup.target_not_empty",
                field="db",
            )
        with _snapshot(source) as conn:
            tables = _tables(conn)
            if "adamas_meta" not in {t.name for t in tables}:
                raise InputError(
                    f"{path} is not an Adamas backup", code="backup.not_a_backup", field="backup"
                )
            version = conn.execute(
                select(metadata.tables["adamas_meta"].c.value).where(
                    metadata.tables["adamas_meta"].c.name == "schema_version"
                )
            ).scalar_one_or_none()
            if version is None or int(version) > SCHEMA_VERSION:
                raise InputError(
                    f"{path} has schema version {version}; this Adamas knows up to {SCHEMA_VERSION}",
                    code="backup.schema_too_new",
                    field="backup",
                )
            with begin_write(target) as out_conn:
                for table in tables:
                    table.create(out_conn, checkfirst=True)
                counts = _copy(conn, out_conn, progress)
            size, note = _head(conn)
        # An older backup comes up to this version's schema like any older ledger.
        migrate(target)
        analyze(target)  # every table was just filled: plan from real statistics from the first query
    except SQLAlchemyError as exc:
        raise StorageError(
            f"the restore failed: {exc.__class__.__name__}: {exc}", code="backup.failed"
        ) from exc
    finally:
        source.dispose()
        target.dispose()
    return BackupReport(url, size, note, counts)
