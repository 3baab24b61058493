"""Bulk writes that hand whole row lists to the database driver.

SQLAlchemy's ``executemany`` processes every parameter of every row in Python; for the few plain column types
of this schema (text, integers, bytes) the drivers take Python values as they are, so the statement is
compiled once per dialect and the rows go straight to the driver's ``executemany``. Same SQL, same
transaction, any backend: positional drivers (SQLite) get tuples in the compiled order, named ones
(psycopg) get the dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert

__all__ = ["insert_rows", "update_rows"]

_COMPILED: dict[tuple[str, str, str], tuple[str, tuple[str, ...] | None]] = {}


def _compiled(conn: Connection, table: Table, op: str) -> tuple[str, tuple[str, ...] | None]:
    key = (conn.dialect.name, table.name, op)
    found = _COMPILED.get(key)
    if found is None:
        if op == "insert":
            stmt: Any = insert(table).values({c.name: bindparam(c.name) for c in table.c})
        else:
            stmt = (
                table.update()
                .where(table.c.id == bindparam("_id"))
                .values({c.name: bindparam(c.name) for c in table.c if c.name != "id"})
            )
        compiled = stmt.compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        found = (str(compiled), order)
        _COMPILED[key] = found
    return found


def _run(conn: Connection, table: Table, op: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    sql, order = _compiled(conn, table, op)
    if order is None:
        params: list[Any] = list(rows)
    elif len(order) == 1:
        params = [(row[order[0]],) for row in rows]
    else:
        pick = itemgetter(*order)  # the row's values in the compiled order, picked in C
        params = [pick(row) for row in rows]
    conn.exec_driver_sql(sql, params)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that name every column of ``table``."""
    _run(conn, table, "insert", rows)


def update_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Update rows by ``id``: each row names every column, and ``_id`` the row to change."""
    _run(conn, table, "update", rows)
