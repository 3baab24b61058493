"""Bulk writes that hand whole row lists to the database driver.

SQLAlchemy's ``executemany`` processes every parameter of every row in Python; for the few plain column types
of this schema (text, integers, bytes) the drivers take Python values as they are, so the statement is
compiled once per dialect and the rows go straight to the driver. Same transaction, any backend:

- SQLite: the compiled statement and the driver's ``executemany`` (a loop in C, no round trips);
- PostgreSQL: one statement per table and batch, its rows passed as one array per column and expanded by
  ``unnest`` on the server. psycopg's ``executemany`` costs a pipelined statement per row (measured: about
  25 µs of client CPU per row, half of ingest on PostgreSQL); one array per column costs a few µs per row.
  The arrays are typed by their base type (``text``, never ``varchar(n)``): an explicit cast to
  ``varchar(n)`` would truncate silently, where the assignment to the column refuses an overlong value.

A column marked ``info={"append": True}`` (a lot's history) is appended to by an update, never replaced:
``SET column = column || value``, in the same statement on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, LargeBinary, SmallInteger, Table, bindparam, insert

__all__ = ["insert_rows", "update_rows"]

_COMPILED: dict[tuple[str, str, str], tuple[str, tuple[str, ...] | None]] = {}


def _compiled(conn: Connection, table: Table, op: str) -> tuple[str, tuple[str, ...] | None]:
    key = (conn.dialect.name, table.name, op)
    found = _COMPILED.get(key)
    if found is None:
        found = _arrays(table, op) if conn.dialect.name == "postgresql" else _statement(conn, table, op)
        _COMPILED[key] = found
    return found


def _statement(conn: Connection, table: Table, op: str) -> tuple[str, tuple[str, ...] | None]:
    """One row per execution: the statement as SQLAlchemy compiles it, and its parameters' order."""
    if op == "insert":
        stmt: Any = insert(table).values({c.name: bindparam(c.name) for c in table.c})
    else:
        stmt = (
            table.update()
            .where(table.c.id == bindparam("_id"))
            .values({c.name: _new_value(c, bindparam(c.name)) for c in table.c if c.name != "id"})
        )
    compiled = stmt.compile(dialect=conn.dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return str(compiled), order


def _new_value(column: Any, value: Any) -> Any:
    """What an update sets ``column`` to: ``value``, or the stored text followed by it (an append column)."""
    return column.concat(value) if column.info.get("append") else value


def _array_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, SmallInteger):
        return "smallint[]"
    if isinstance(kind, BigInteger):
        return "bigint[]"
    if isinstance(kind, Integer):
        return "integer[]"
    if isinstance(kind, LargeBinary):
        return "bytea[]"
    return "text[]"


def _arrays(table: Table, op: str) -> tuple[str, tuple[str, ...]]:
    """All rows in one execution (PostgreSQL): one array parameter per column, in the returned order."""
    columns = [c for c in table.c if op == "insert" or c.name != "id"]
    names = [c.name for c in columns]
    arrays = ", ".join(f"%b::{_array_type(c)}" for c in columns)
    if op == "insert":
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})"
        return sql, tuple(names)
    id_type = _array_type(table.c.id)
    sets = ", ".join(
        f"{c.name} = {table.name}.{c.name} || v.{c.name}"
        if c.info.get("append")
        else f"{c.name} = v.{c.name}"
        for c in columns
    )
    sql = (
        f"UPDATE {table.name} SET {sets} FROM unnest(%b::{id_type}, {arrays}) AS v(_id, {', '.join(names)}) "
        f"WHERE {table.name}.id = v._id"
    )
    return sql, ("_id", *names)


def _run(conn: Connection, table: Table, op: str, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    sql, order = _compiled(conn, table, op)
    if conn.dialect.name == "postgresql":
        assert order is not None
        columns = [[row[name] for row in rows] for name in order]
        conn.exec_driver_sql(sql, tuple(columns))
        return
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
