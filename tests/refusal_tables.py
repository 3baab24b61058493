"""Helpers shared by the tables of named bad inputs: registering rows, snapshotting every table, and
checking that a refusal reads as a sentence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from adamas import Ledger
from adamas.store import schema

B = TypeVar("B", bound=Callable[..., Any])


def case_table() -> tuple[list[Any], Callable[..., Callable[[B], B]]]:
    """A fresh table and its ``@case(name, code, field, xfail=...)`` decorator that adds a named row."""
    rows: list[Any] = []

    def case(name: str, code: str, field: str | None, *, xfail: str | None = None) -> Callable[[B], B]:
        def register(build: B) -> B:
            marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
            rows.append(pytest.param(build, code, field, id=name, marks=marks))
            return build

        return register

    return rows, case


def snapshot(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the log, the tree and checkpoints, and every state table, in primary-key order."""
    tables = (*schema.STATE_TABLES, *schema.LOG_TABLES, schema.events, schema.meta)
    with ledger.engine.connect() as conn:
        return {
            t.name: [tuple(row) for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in tables
        }


def submit_ok(ledger: Ledger, events: list[dict[str, Any]]) -> None:
    """Submit setup events that must all be accepted."""
    if events:
        outcomes = ledger.submit(events)
        refused = [o.to_json() for o in outcomes if o.status != "accepted"]
        assert not refused, refused


def assert_human(message: str) -> None:
    """A refusal message is a sentence for a person, not a traceback."""
    assert isinstance(message, str)
    assert len(message.split()) >= 3, message
    assert "Traceback" not in message
