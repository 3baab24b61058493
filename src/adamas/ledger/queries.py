"""Read-only queries over the derived state: a lot, its history, its lineage.

Lineage is walked one generation per query (parents or children of a whole frontier at once), which works
the same on every engine and costs one round trip per generation, not per lot.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, or_, select

from adamas.errors import NotFoundError
from adamas.ledger.views import (
    EventRef,
    Evidence,
    HistoryEntry,
    LotView,
    OriginShare,
    ParticipantKey,
    ParticipantView,
    StoredEvent,
    Trace,
    TraceNode,
)
from adamas.model.records import EVIDENCE_LEVELS, Lot
from adamas.model.values import cents_to_decimal, format_time_ns
from adamas.store import schema
from adamas.store.rows import (
    attestation_from_row,
    chunks,
    load,
    lot_from_row,
    participant_from_row,
    shipment_from_row,
)

__all__ = [
    "compromised_events",
    "evidence",
    "history",
    "lot_view",
    "lot_views",
    "participant_view",
    "stored_event",
    "trace",
]


def _event_refs(conn: Connection, event_ids: Iterable[str]) -> dict[str, EventRef]:
    table = schema.events
    out: dict[str, EventRef] = {}
    for batch in chunks(sorted(set(event_ids))):
        stmt = select(
            table.c.event_id, table.c.type, table.c.time_ns, table.c.seq, table.c.logged_ns, table.c.backfill
        ).where(table.c.event_id.in_(batch))
        for row in conn.execute(stmt):
            out[row.event_id] = EventRef(
                row.event_id,
                row.type,
                format_time_ns(row.time_ns),
                row.seq,
                _logged(row.logged_ns),
                row.backfill,
            )
    return out


def _logged(value: int | None) -> str | None:
    return None if value is None else format_time_ns(value)


def _origin(origin: dict[str, int], sites: dict[str, Any]) -> tuple[OriginShare, ...]:
    return tuple(
        OriginShare(
            site,
            sites[site].country if site in sites else None,
            cents_to_decimal(amount),
            sites[site].name if site in sites else None,
        )
        for site, amount in sorted(origin.items(), key=lambda item: (-item[1], item[0]))
    )


def lot_views(conn: Connection, lots: Sequence[Lot]) -> list[LotView]:
    """Views of several lots, with their sites, holders and making events loaded in bulk."""
    sites = load(conn, schema.sites, {s for lot in lots for s in lot.origin}, lambda r: r)
    holders = load(conn, schema.participants, {lot.holder for lot in lots}, lambda r: r)
    refs = _event_refs(conn, {lot.event for lot in lots})
    shipments = load(
        conn, schema.shipments, {lot.shipment for lot in lots if lot.shipment}, shipment_from_row
    )
    out = []
    for lot in lots:
        holder = holders.get(lot.holder)
        shipment = shipments.get(lot.shipment) if lot.shipment else None
        out.append(
            LotView(
                id=lot.id,
                kind=lot.kind,
                carats=cents_to_decimal(lot.carats),
                stones=lot.stones,
                holder=lot.holder,
                holder_country=holder.country if holder is not None else None,
                state=lot.state,
                parents=lot.parents,
                origin=_origin(lot.origin, sites),
                made_by=refs[lot.event],
                value=None if lot.value is None else cents_to_decimal(lot.value),
                shipment=lot.shipment,
                in_transit_to=shipment.to if shipment is not None and lot.state == "in_transit" else None,
                details=lot.details,
            )
        )
    return out


def _lot(conn: Connection, lot_id: str) -> Lot:
    found = load(conn, schema.lots, [lot_id], lot_from_row)
    if lot_id not in found:
        raise NotFoundError(f"there is no lot {lot_id}", code="lot.not_found", field="lot")
    return found[lot_id]


def lot_view(conn: Connection, lot_id: str) -> LotView:
    """The current view of one lot."""
    return lot_views(conn, [_lot(conn, lot_id)])[0]


def history(conn: Connection, lot_id: str) -> list[HistoryEntry]:
    """Every event that touched the lot, in log order."""
    _lot(conn, lot_id)
    le, ev, co = schema.lot_events, schema.events, schema.corrections
    # The latest correction of each event, if any (a later correction supersedes an earlier one).
    latest = select(co.c.target, func.max(co.c.id).label("id")).group_by(co.c.target).subquery()
    stmt = (
        select(
            ev.c.seq,
            ev.c.event_id,
            ev.c.type,
            ev.c.actor,
            ev.c.time_ns,
            ev.c.envelope,
            ev.c.logged_ns,
            ev.c.backfill,
            latest.c.id.label("corrected_by"),
        )
        .join(le, le.c.seq == ev.c.seq)
        .outerjoin(latest, latest.c.target == ev.c.event_id)
        .where(le.c.lot == lot_id)
        .order_by(ev.c.seq)
    )
    return [
        HistoryEntry(
            row.seq,
            row.event_id,
            row.type,
            row.actor,
            format_time_ns(row.time_ns),
            json.loads(bytes(row.envelope))["body"],
            row.corrected_by,
            _logged(row.logged_ns),
            row.backfill,
        )
        for row in conn.execute(stmt)
    ]


def trace(conn: Connection, lot_id: str, *, direction: str) -> Trace:
    """The lineage graph from ``lot_id``: backward to the mines, or forward to every descendant."""
    root = _lot(conn, lot_id)
    edges_table = schema.lot_edges
    near, far = (
        (edges_table.c.child, edges_table.c.parent)
        if direction == "backward"
        else (edges_table.c.parent, edges_table.c.child)
    )
    depth = {root.id: 0}
    edges: list[tuple[str, str]] = []
    frontier = [root.id]
    level = 0
    while frontier:
        level += 1
        found: list[str] = []
        for batch in chunks(frontier):
            for row in conn.execute(select(near, far).where(near.in_(batch)).order_by(near, far)):
                a, b = row[0], row[1]
                edges.append((b, a) if direction == "backward" else (a, b))
                if b not in depth:
                    depth[b] = level
                    found.append(b)
        frontier = found
    lots = load(conn, schema.lots, depth, lot_from_row)
    ordered = sorted(lots.values(), key=lambda lot: (depth[lot.id], lot.id))
    views = lot_views(conn, ordered)
    bad = _rests_on_compromised(conn, lots, edges)
    if (
        direction == "forward"
        and root.id not in bad
        and trace(conn, root.id, direction="backward").nodes[0].compromised
    ):
        bad = set(lots)  # everything made from the root rests on what the root rests on
    nodes = tuple(TraceNode(view, depth[view.id], view.id in bad) for view in views)
    root_view = next(n.lot for n in nodes if n.depth == 0)
    mines = tuple(sorted(n.lot.id for n in nodes if n.lot.made_by.type == "lot.register"))
    return Trace(
        lot=root.id,
        direction=direction,
        nodes=nodes,
        edges=tuple(sorted(set(edges))),
        origin=root_view.origin,
        mines=mines,
    )


def compromised_events(conn: Connection, event_ids: Iterable[str]) -> set[str]:
    """Those of ``event_ids`` signed by a key, and declared or logged at or after the instant its revocation
    took effect."""
    ev, keys = schema.events, schema.keys
    out: set[str] = set()
    for batch in chunks(sorted(set(event_ids))):
        stmt = (
            select(ev.c.event_id)
            .join(keys, keys.c.id == ev.c.key_id)
            .where(
                ev.c.event_id.in_(batch),
                keys.c.revoked_ns.is_not(None),
                # Declared or logged at or after the instant: backdating hides nothing.
                or_(ev.c.time_ns >= keys.c.revoked_ns, ev.c.logged_ns >= keys.c.revoked_ns),
            )
        )
        out.update(row.event_id for row in conn.execute(stmt))
    return out


def _rests_on_compromised(
    conn: Connection, lots: dict[str, Lot], edges: Sequence[tuple[str, str]]
) -> set[str]:
    """Lots made by a compromised event, and every lot of the graph made from one of them."""
    bad_events = compromised_events(conn, {lot.event for lot in lots.values()})
    bad = {lot_id for lot_id, lot in lots.items() if lot.event in bad_events}
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    stack = list(bad)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in bad:
                bad.add(child)
                stack.append(child)
    return bad


def evidence(conn: Connection, subject_kind: str, subject_id: str) -> Evidence:
    """Every attestation about a subject, oldest first, and the highest evidence level they support."""
    table = schema.attestations
    stmt = (
        select(table)
        .where(table.c.subject_kind == subject_kind, table.c.subject_id == subject_id)
        .order_by(table.c.time_ns, table.c.id)
    )
    items = [attestation_from_row(row) for row in conn.execute(stmt)]
    level = max((a.level for a in items), default=0)
    return Evidence(
        subject_kind,
        subject_id,
        EVIDENCE_LEVELS[level],
        tuple(
            {
                "event": a.event,
                "actor": a.actor,
                "claim": a.claim,
                "statement": a.statement,
                "evidence": list(a.evidence),
                "time": format_time_ns(a.time_ns),
                "level": EVIDENCE_LEVELS[a.level],
            }
            for a in items
        ),
    )


def participant_view(conn: Connection, participant_id: str) -> ParticipantView:
    """A participant with its keys (oldest first) and the event that registered it."""
    found = load(conn, schema.participants, [participant_id], participant_from_row)
    if participant_id not in found:
        raise NotFoundError(
            f"there is no participant {participant_id}", code="participant.not_found", field="participant"
        )
    p = found[participant_id]
    keys = schema.keys
    rows = conn.execute(
        select(keys.c.id, keys.c.public_key, keys.c.revoked_ns)
        .where(keys.c.participant == participant_id)
        .order_by(keys.c.id)
    )
    return ParticipantView(
        id=p.id,
        name=p.name,
        country=p.country,
        roles=tuple(sorted(p.roles)),
        status=p.status,
        registrar=p.registrar,
        registered_by=_event_refs(conn, [p.event]).get(p.event),
        keys=tuple(
            ParticipantKey(
                row.id,
                base64.b64encode(bytes(row.public_key)).decode("ascii"),
                None if row.revoked_ns is None else format_time_ns(row.revoked_ns),
            )
            for row in rows
        ),
    )


def stored_event(conn: Connection, event_id: str) -> StoredEvent:
    """The logged event ``event_id``: its canonical envelope, leaf index and leaf hash."""
    ev, co = schema.events, schema.corrections
    row = conn.execute(
        select(
            ev.c.seq, ev.c.event_id, ev.c.type, ev.c.actor, ev.c.time_ns, ev.c.leaf_hash, ev.c.envelope
        ).where(ev.c.event_id == event_id)
    ).first()
    if row is None:
        raise NotFoundError(f"there is no event {event_id} in the log", code="event.not_found", field="event")
    corrected_by = conn.execute(select(func.max(co.c.id)).where(co.c.target == event_id)).scalar()
    return StoredEvent(
        int(row.seq),
        row.event_id,
        row.type,
        row.actor,
        format_time_ns(row.time_ns),
        bytes(row.leaf_hash),
        bytes(row.envelope),
        corrected_by,
    )
