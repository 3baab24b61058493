"""Read-only queries over the derived state: a lot, its history, its lineage.

Lineage is walked in one query: a recursive common table expression over ``lot_edges`` (covered by its
primary key forward and by ``(child, parent)`` backward) returns every edge of the reachable graph at once,
on SQLite and PostgreSQL alike; depths are then counted in memory. Whole traces and their pages are read
by ``adamas.ledger.lineage`` (the walk joined to the lots' views in one statement); ``walk`` here serves the
compromise check and the comparison tests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, or_, select

from adamas.errors import NotFoundError
from adamas.ledger import lineage
from adamas.ledger.lineage import depths
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
)
from adamas.log.hashing import leaf_hash
from adamas.model.records import EVIDENCE_LEVELS, Lot
from adamas.model.values import COUNTRIES, cents_to_decimal, format_time_ns
from adamas.store import schema
from adamas.store.rows import (
    CHUNK,
    attestation_from_row,
    chunks,
    history_seqs,
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
    "rests_on_compromised",
    "stored_event",
    "trace",
    "walk",
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
    """Every event that touched the lot, in log order (the lot's row read once: it holds the leaves)."""
    leaves = _lot_leaves(conn, lot_id)
    if leaves is None:
        raise NotFoundError(f"there is no lot {lot_id}", code="lot.not_found", field="lot")
    return history_entries(conn, lot=lot_id, leaves=leaves)


def _lot_leaves(conn: Connection, lot_id: str) -> list[int] | None:
    """The leaves of the events that touched the lot, in log order (its row's history); None: no such lot."""
    stored = conn.execute(select(schema.lots.c.history).where(schema.lots.c.id == lot_id)).first()
    return None if stored is None else history_seqs(stored.history)


def history_entries(
    conn: Connection,
    *,
    after: int = -1,
    limit: int | None = None,
    lot: str | None = None,
    actor: str | None = None,
    leaves: list[int] | None = None,
) -> list[HistoryEntry]:
    """Events that touched ``lot`` and/or that ``actor`` signed, with ``seq > after``, in log order (at
    most ``limit`` of them): the one query behind a lot's history, its pages and a participant's events.
    ``leaves``: the lot's leaves when the caller already read them (from its row's history)."""
    ev, co = schema.events, schema.corrections
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
        .outerjoin(latest, latest.c.target == ev.c.event_id)
        .where(ev.c.seq > after)
        .order_by(ev.c.seq)
    )
    if actor is not None:
        stmt = stmt.where(ev.c.actor == actor)
    rows: list[Any] = []
    if lot is None:
        rows = list(conn.execute(stmt if limit is None else stmt.limit(limit)))
    else:
        # The lot's leaves are its row's history (schema version 7); the events are then read by leaf, a
        # bounded IN list at a time, in log order.
        if leaves is None:
            leaves = _lot_leaves(conn, lot) or []
        seqs = [seq for seq in leaves if seq > after]
        if limit is not None and actor is None:
            seqs = seqs[:limit]
        for start in range(0, len(seqs), CHUNK):
            wanted = None if limit is None else limit - len(rows)
            part = stmt.where(ev.c.seq.in_(seqs[start : start + CHUNK]))
            rows.extend(conn.execute(part if wanted is None else part.limit(wanted)))
            if limit is not None and len(rows) >= limit:
                break
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
        for row in rows
    ]


def _reached(direction: str, root: str) -> Any:
    """The edges reachable from ``root`` as a recursive CTE with columns ``near`` and ``far``.

    Seeded with the root's own edges and grown along ``far`` -> ``near``; UNION (not UNION ALL) keeps each
    edge once, so a lot reached twice (a merge) is walked once. The edges themselves are the CTE's rows:
    no second pass over ``lot_edges`` with an IN list, which PostgreSQL planned as a sequential scan.
    """
    table = schema.lot_edges
    near, far = (
        (table.c.child, table.c.parent) if direction == "backward" else (table.c.parent, table.c.child)
    )
    seed = select(near.label("near"), far.label("far")).where(near == root)
    reach = seed.cte("reach", recursive=True)
    step = select(near.label("near"), far.label("far")).select_from(table.join(reach, near == reach.c.far))
    return reach.union(step)


def walk(conn: Connection, root: str, direction: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Every lot reached from ``root`` (backward: its ancestors; forward: its descendants) with its depth
    (shortest distance), and the edges of that graph as sorted (parent, child) pairs: one query."""
    reach = _reached(direction, root)
    adjacent: dict[str, list[str]] = {}
    edges: list[tuple[str, str]] = []
    for a, b in conn.execute(select(reach.c.near, reach.c.far)):
        adjacent.setdefault(a, []).append(b)
        edges.append((b, a) if direction == "backward" else (a, b))
    edges.sort()
    return depths(root, adjacent), edges


def _any_revoked_key(conn: Connection) -> bool:
    keys = schema.keys
    return conn.execute(select(keys.c.id).where(keys.c.revoked_ns.is_not(None)).limit(1)).first() is not None


def rests_on_compromised(conn: Connection, lot_id: str) -> bool:
    """True when ``lot_id`` or any lot it came from was made by an event signed with a compromised key."""
    if not _any_revoked_key(conn):
        return False
    depth, _ = walk(conn, lot_id, "backward")
    lots = schema.lots
    made: set[str] = set()
    for batch in chunks(sorted(depth)):
        made.update(row.event for row in conn.execute(select(lots.c.event).where(lots.c.id.in_(batch))))
    return bool(compromised_events(conn, made))


def trace(conn: Connection, lot_id: str, *, direction: str) -> Trace:
    """The lineage graph from ``lot_id``: backward to the mines, or forward to every descendant (one joined
    statement, ``adamas.ledger.lineage``)."""
    return lineage.trace(conn, lot_id, direction=direction)


def compromised_events(conn: Connection, event_ids: Iterable[str]) -> set[str]:
    """Those of ``event_ids`` signed by a key, and declared or logged at or after the instant its revocation
    took effect."""
    ev, keys = schema.events, schema.keys
    out: set[str] = set()
    # Revoked keys are rare: when there are none (one small read), no event can be compromised, and the
    # per-event join below (thousands of ids on a wide trace) is skipped.
    if not _any_revoked_key(conn):
        return out
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


def spread_down(marked: set[str], edges: Sequence[tuple[str, str]]) -> set[str]:
    """``marked`` and every lot made from one of them along the (parent, child) ``edges``."""
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    reached, stack = set(marked), list(marked)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in reached:
                reached.add(child)
                stack.append(child)
    return reached


def evidence(conn: Connection, subject_kind: str, subject_id: str) -> Evidence:
    """Every attestation about a subject, oldest first, and the highest evidence level they support.

    A subject of an unknown kind, or one the ledger does not know, is not found (``evidence.unknown``).
    """
    _known_subject(conn, subject_kind, subject_id)
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
        select(ev.c.seq, ev.c.event_id, ev.c.type, ev.c.actor, ev.c.time_ns, ev.c.envelope).where(
            ev.c.event_id == event_id
        )
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
        leaf_hash(bytes(row.envelope)),
        bytes(row.envelope),
        corrected_by,
    )


_SUBJECT_TABLES = {
    "event": (schema.events, schema.events.c.event_id),
    "lot": (schema.lots, schema.lots.c.id),
    "site": (schema.sites, schema.sites.c.id),
    "participant": (schema.participants, schema.participants.c.id),
}


def _known_subject(conn: Connection, kind: str, subject_id: str) -> None:
    if kind == "country":
        known = subject_id in COUNTRIES
    elif kind in _SUBJECT_TABLES:
        _, column = _SUBJECT_TABLES[kind]
        known = conn.execute(select(column).where(column == subject_id).limit(1)).first() is not None
    else:
        raise NotFoundError(
            f"evidence is kept about an event, lot, site, participant or country, not {kind!r}",
            code="evidence.unknown",
            field="kind",
        )
    if not known:
        raise NotFoundError(f"there is no {kind} {subject_id}", code="evidence.unknown", field="subject")
