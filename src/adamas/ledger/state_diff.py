"""Differences between two copies of the ledger's state tables: the stored state and the state replayed
from the log (``adamas audit --replay``), or the state before and after a rebuild.

Rows are matched by primary key; values are compared after the backends' types are made alike (bytes).
Each table is read whole into memory, which is what a ledger's state tables allow (one row per lot,
participant, shipment...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Table, select

from adamas.store.schema import STATE_TABLES

__all__ = ["StateDifference", "StateSnapshot", "differences", "snapshot"]

StateSnapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]
"""Table name -> primary key -> column -> value."""


@dataclass(frozen=True, slots=True)
class StateDifference:
    """One difference: a row only in one copy (``missing``: not in the first; ``extra``: only in the first),
    or a column whose values differ."""

    kind: Literal["differs", "missing", "extra"]
    table: str
    row: str
    column: str | None = None
    first: Any = None
    second: Any = None

    def describe(self, first: str, second: str) -> str:
        """A sentence naming the difference, calling the two copies ``first`` and ``second``."""
        where = f"{self.table} row {self.row}"
        if self.kind == "missing":
            return f"{where} is in the {second} state but not in the {first}"
        if self.kind == "extra":
            return f"{where} is in the {first} state but not in the {second}"
        return (
            f"{where}: {self.column} is {self.first!r} in the {first} state, {self.second!r} in the {second}"
        )


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return value


def _read(conn: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    key = [column.name for column in table.primary_key.columns]
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in conn.execute(select(table)).mappings():
        values = {name: _plain(value) for name, value in row.items()}
        out[tuple(values[name] for name in key)] = values
    return out


def snapshot(conn: Connection) -> StateSnapshot:
    """Every state table, read through ``conn``."""
    return {table.name: _read(conn, table) for table in STATE_TABLES}


def _row_name(key: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in key)


def differences(first: StateSnapshot, second: StateSnapshot) -> Iterator[StateDifference]:
    """Every difference from ``first`` to ``second``, table by table in schema order, rows in key order."""
    for table in STATE_TABLES:
        a, b = first.get(table.name, {}), second.get(table.name, {})
        for key in sorted(a.keys() | b.keys(), key=lambda k: tuple(str(p) for p in k)):
            name = _row_name(key)
            if key not in a:
                yield StateDifference("missing", table.name, name)
            elif key not in b:
                yield StateDifference("extra", table.name, name)
            else:
                for column in a[key]:
                    if a[key][column] != b[key].get(column):
                        yield StateDifference(
                            "differs", table.name, name, column, a[key][column], b[key].get(column)
                        )
