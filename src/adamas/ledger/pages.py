"""Paged queries over the lists that grow: a lot's history, a forward lineage, a participant's events.

A page is ``limit`` items (1 to ``MAX_PAGE_LIMIT``) and an opaque cursor for the next one. Each list is
walked in an order in which new items can only come last (log order, the ``seq`` of an event or of the
event that made a lot), so a cursor stays valid while the ledger grows: the next page starts after the last
item seen and never skips or repeats one. A backward lineage never grows (ancestors are fixed when a lot is
made) and is walked by depth.

Cursors are base64url JSON ``[kind, *key]``; they are opaque to clients and checked here: a cursor that does
not decode, or was made for another list, is ``InputError(code="page.cursor", field="cursor")``.

Error codes: InputError ``page.cursor``, ``page.limit``; NotFoundError ``lot.not_found``,
``participant.not_found``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection

from adamas.errors import InputError, NotFoundError
from adamas.ledger import lineage, queries
from adamas.ledger.views import HistoryEntry, Page, TraceNode, TracePage
from adamas.store import schema
from adamas.store.rows import load

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "MAX_PAGE_LIMIT",
    "decode_cursor",
    "encode_cursor",
    "history_page",
    "participant_events",
    "trace_page",
]

DEFAULT_PAGE_LIMIT: Final = 100
MAX_PAGE_LIMIT: Final = 1000


def encode_cursor(kind: str, *key: int | str) -> str:
    """The opaque cursor of a position ``key`` in a list of ``kind``."""
    raw = json.dumps([kind, *key], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, kind: str, types: Sequence[type]) -> tuple[Any, ...]:
    """The position a cursor of ``kind`` names, its members of ``types``; ``page.cursor`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != len(types) + 1
        or value[0] != kind
        or not all(type(v) is t for v, t in zip(value[1:], types, strict=True))
    ):
        raise InputError(
            f"cursor {cursor[:40]!r} is not a cursor of this list; pass back the `next` of a page",
            code="page.cursor",
            field="cursor",
        )
    return tuple(value[1:])


def check_limit(limit: int) -> int:
    """``limit`` if it is a page size this module serves (1 to ``MAX_PAGE_LIMIT``)."""
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise InputError(
            f"limit must be between 1 and {MAX_PAGE_LIMIT}, not {limit}",
            code="page.limit",
            field="limit",
            expected=f"1 <= limit <= {MAX_PAGE_LIMIT}",
            actual=limit,
        )
    return limit


def _page(items: list[HistoryEntry], limit: int, kind: str) -> Page[HistoryEntry]:
    more = len(items) > limit
    items = items[:limit]
    return Page(tuple(items), encode_cursor(kind, items[-1].index) if more else None)


def history_page(conn: Connection, lot_id: str, *, cursor: str | None, limit: int) -> Page[HistoryEntry]:
    """A page of the events that touched the lot, in log order."""
    check_limit(limit)
    (after,) = decode_cursor(cursor, "history", (int,)) if cursor else (-1,)
    _require_lot(conn, lot_id)
    items = queries.history_entries(conn, after=after, limit=limit + 1, lot=lot_id)
    return _page(items, limit, "history")


def participant_events(
    conn: Connection, participant_id: str, *, cursor: str | None, limit: int
) -> Page[HistoryEntry]:
    """A page of the events the participant signed, in log order."""
    check_limit(limit)
    (after,) = decode_cursor(cursor, "participant", (int,)) if cursor else (-1,)
    if participant_id not in load(conn, schema.participants, [participant_id], lambda r: r.id):
        raise NotFoundError(
            f"there is no participant {participant_id}", code="participant.not_found", field="participant"
        )
    items = queries.history_entries(conn, after=after, limit=limit + 1, actor=participant_id)
    return _page(items, limit, "participant")


def _require_lot(conn: Connection, lot_id: str) -> None:
    if lot_id not in load(conn, schema.lots, [lot_id], lambda r: r.id):
        raise NotFoundError(f"there is no lot {lot_id}", code="lot.not_found", field="lot")


def trace_page(conn: Connection, lot_id: str, *, direction: str, cursor: str | None, limit: int) -> TracePage:
    """A page of the lineage from ``lot_id``: forward in log order of the lots, backward by depth.

    Forward, the page is found best first (``lineage.forward_page``): its cost follows the page, not the
    descendant set. Backward, the ancestry (fixed, and small) is read whole and sliced."""
    check_limit(limit)
    if direction not in ("backward", "forward"):
        raise InputError(
            "direction must be backward or forward", code="trace.bad_direction", field="direction"
        )
    kind = f"trace.{direction}"
    after = decode_cursor(cursor, kind, (int, str)) if cursor else None
    if direction == "forward":
        found = lineage.forward_page(conn, lot_id, (after[0], after[1]) if after else None, limit)
        if found is not None:
            nodes, edges, more, root = found
            last = nodes[-1].lot if nodes else None
            return TracePage(
                lot=lot_id,
                direction=direction,
                nodes=tuple(nodes),
                edges=tuple(edges),
                origin=root.origin,
                mines=(lot_id,) if root.made_by.type == "lot.register" else (),
                next_cursor=encode_cursor(kind, last.made_by.index, last.id) if more and last else None,
            )
    whole = lineage.trace(conn, lot_id, direction=direction)

    def key(node: TraceNode) -> tuple[int, str]:
        return (node.lot.made_by.index if direction == "forward" else node.depth, node.lot.id)

    ordered = sorted(whole.nodes, key=key)
    if after is not None:
        ordered = [n for n in ordered if key(n) > after]
    page, more = ordered[:limit], len(ordered) > limit
    on_page = {n.lot.id for n in page}
    far = 0 if direction == "backward" else 1
    return TracePage(
        lot=lot_id,
        direction=direction,
        nodes=tuple(page),
        edges=tuple(e for e in whole.edges if e[far] in on_page),
        origin=whole.origin,
        mines=whole.mines,
        next_cursor=encode_cursor(kind, *key(page[-1])) if more else None,
    )
