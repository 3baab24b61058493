"""Backfill windows (EVENTS.md, "Time", ``ledger.backfill``): the administrator admits historical records.

A window admits events declared in [``from``, ``until``) past the backdating allowance while the ledger's
logged time is at most ``closes``. Closing one early is another ``ledger.backfill`` naming it in ``window``,
repeating its ``from`` and ``until``, with ``closes`` set to the ledger's clock now (docs/time.md). Both
are signed here with the administrator's key at the ledger's own clock, the single source of "now".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import select

from adamas.crypto import KeyPair
from adamas.errors import NotFoundError
from adamas.ledger.ledger import Ledger
from adamas.ledger.outcome import Outcome
from adamas.model.signing import new_event_id, sign_body
from adamas.model.values import format_time_ns
from adamas.store import schema

__all__ = ["DEFAULT_WINDOW_NS", "close_backfill", "open_backfill", "open_backfills"]

DEFAULT_WINDOW_NS: Final = 86_400 * 1_000_000_000
"""How long a window stays open when no ``closes`` is given: one day of the ledger's clock."""


def _now_s(ledger: Ledger) -> int:
    return ledger.clock() // 1_000_000_000 * 1_000_000_000


def _submit(ledger: Ledger, body: dict[str, Any], key: KeyPair, actor: str) -> Outcome:
    (outcome,) = ledger.submit([sign_body(body, key, actor=actor)])
    if outcome.error is not None:
        raise outcome.error
    return outcome


def open_backfill(
    ledger: Ledger,
    admin_key: KeyPair,
    *,
    start_ns: int,
    until_ns: int,
    reason: str,
    closes_ns: int | None = None,
    actor: str = "admin",
    event_id: str | None = None,
) -> Outcome:
    """Open a window admitting declared times in [``start_ns``, ``until_ns``) until ``closes_ns`` (default:
    one day from the ledger's clock); the outcome's ``event_id`` is the window's id."""
    now = _now_s(ledger)
    body = {
        "type": "ledger.backfill",
        "id": event_id or new_event_id(),
        "time": format_time_ns(now),
        "from": format_time_ns(start_ns),
        "until": format_time_ns(until_ns),
        "closes": format_time_ns(closes_ns if closes_ns is not None else now + DEFAULT_WINDOW_NS),
        "reason": reason,
    }
    return _submit(ledger, body, admin_key, actor)


def open_backfills(ledger: Ledger) -> list[dict[str, Any]]:
    """The windows still open at the ledger's clock, oldest first (id, from, until, closes, reason)."""
    now = ledger.clock()
    table = schema.backfills
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.closes_ns >= now).order_by(table.c.opened_ns)).all()
    return [
        {
            "id": row.id,
            "from": format_time_ns(row.from_ns),
            "until": format_time_ns(row.until_ns),
            "closes": format_time_ns(row.closes_ns),
            "reason": row.reason,
        }
        for row in rows
    ]


def close_backfill(
    ledger: Ledger, admin_key: KeyPair, *, window: str | None = None, actor: str = "admin"
) -> list[Outcome]:
    """Close ``window`` (default: every open window) at the ledger's clock now; one outcome per window."""
    windows: Iterable[dict[str, Any]] = open_backfills(ledger)
    if window is not None:
        windows = [w for w in windows if w["id"] == window]
        if not windows:
            raise NotFoundError(
                f"there is no open backfill window {window}", code="backfill.unknown", field="window"
            )
    outcomes = []
    now = _now_s(ledger)
    for w in windows:
        body = {
            "type": "ledger.backfill",
            "time": format_time_ns(now),
            "from": w["from"],
            "until": w["until"],
            "closes": format_time_ns(now),
            "reason": f"closed: {w['reason']}"[:2000],
            "window": w["id"],
        }
        outcomes.append(_submit(ledger, body, admin_key, actor))
    return outcomes
