"""Read logged events out of a ledger as EPCIS 2.0 events and documents.

``record_time`` is the one place that says what ``recordTime`` is: the ledger's logged time of an event
(``events.logged_ns``, docs/time.md); for events logged before schema version 5 recorded it, the signing
time of the first checkpoint that covered the event's leaf, which the accepting batch signed.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, or_, select

from adamas.epcis.hashing import event_hash
from adamas.epcis.identifiers import CONTEXT, NAMESPACE, PREFIX, ext, to_uri
from adamas.epcis.mapping import Facts, LoggedEvent, to_epcis
from adamas.epcis.times import parse_instant
from adamas.ledger import Ledger
from adamas.ledger import queries as ledger_queries
from adamas.model.values import format_hundredths
from adamas.store import schema
from adamas.store.rows import chunks, history_seqs

T = TypeVar("T")

__all__ = [
    "epcis_events",
    "export_document",
    "indexed_events",
    "leaves_where",
    "lot_leaves",
    "master_data",
    "record_time",
    "selected_seqs",
]


def record_time(conn: Connection, seqs: Iterable[int]) -> dict[int, int]:
    """The logged time (epoch ns) of each leaf in ``seqs``: when the ledger accepted it (``events.logged_ns``;
    before schema version 5 recorded it, the signing time of the checkpoint that added the leaf)."""
    wanted = sorted(set(seqs))
    out: dict[int, int] = {}
    unrecorded: list[int] = []
    ev = schema.events
    for batch in batches(wanted):
        for row in conn.execute(select(ev.c.seq, ev.c.logged_ns).where(ev.c.seq.in_(batch))):
            if row.logged_ns is None:
                unrecorded.append(int(row.seq))
            else:
                out[int(row.seq)] = int(row.logged_ns)
    if unrecorded:
        # The batch that accepted the event signed the first checkpoint covering its leaf in the same
        # transaction, at the ledger's clock then.
        unrecorded.sort()
        table = schema.log_checkpoints
        rows = conn.execute(
            select(table.c.size, table.c.signed_ns).where(table.c.size > unrecorded[0]).order_by(table.c.size)
        ).all()
        sizes = [r.size for r in rows]
        for seq in unrecorded:
            at = bisect.bisect_right(sizes, seq)
            if at < len(rows):
                out[seq] = int(rows[at].signed_ns)
    return out


def batches(items: Iterable[T], size: int = 500) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (bounded IN clauses on every engine)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def lot_leaves(conn: Connection, lots: Iterable[str]) -> set[int]:
    """Leaves of every event that touched one of ``lots``, and of every correction of those events (a
    correction names the event it corrects, not the lots)."""
    ev, co, lot_rows = schema.events, schema.corrections, schema.lots
    seqs: set[int] = set()
    for batch in chunks(sorted(set(lots))):
        for r in conn.execute(select(lot_rows.c.history).where(lot_rows.c.id.in_(batch))):
            seqs.update(history_seqs(r.history))
    corrected: list[str] = []
    for group in batches(sorted(seqs)):
        corrected.extend(r.event_id for r in conn.execute(select(ev.c.event_id).where(ev.c.seq.in_(group))))
    for batch in chunks(corrected):
        correcting = select(co.c.id).where(co.c.target.in_(batch))
        seqs.update(r.seq for r in conn.execute(select(ev.c.seq).where(ev.c.event_id.in_(correcting))))
    return seqs


def leaves_where(
    conn: Connection, conditions: Sequence[Any], among: Iterable[int] | None = None
) -> list[int]:
    """Leaves (of ``among``, or of the whole log) whose stored events meet every SQL condition, in order."""
    ev = schema.events
    if among is None:
        return [r.seq for r in conn.execute(select(ev.c.seq).where(*conditions).order_by(ev.c.seq))]
    out: list[int] = []
    for group in batches(sorted(set(among))):
        out.extend(r.seq for r in conn.execute(select(ev.c.seq).where(ev.c.seq.in_(group), *conditions)))
    return sorted(out)


def selected_seqs(
    conn: Connection, *, lot: str | None = None, since_ns: int | None = None, until_ns: int | None = None
) -> list[int]:
    """Leaves to export: all, or the lineage of ``lot`` (its history and its ancestors'), declared in
    [``since_ns``, ``until_ns``)."""
    ev = schema.events
    conditions = []
    # A correction's EPCIS events carry the corrected event's time, not the correction's: keep corrections
    # here; the caller bounds the EPCIS events' eventTime.
    if since_ns is not None:
        conditions.append(or_(ev.c.time_ns >= since_ns, ev.c.type == "correct"))
    if until_ns is not None:
        conditions.append(or_(ev.c.time_ns < until_ns, ev.c.type == "correct"))
    if lot is None:
        return leaves_where(conn, conditions)
    lineage = {n.lot.id for n in ledger_queries.trace(conn, lot, direction="backward").nodes}
    return leaves_where(conn, conditions, lot_leaves(conn, lineage))


def _logged(conn: Connection, seqs: Sequence[int]) -> list[LoggedEvent]:
    times = record_time(conn, seqs)
    out = []
    ev = schema.events
    for batch in batches(seqs):
        for row in conn.execute(
            select(ev.c.seq, ev.c.envelope).where(ev.c.seq.in_(batch)).order_by(ev.c.seq)
        ):
            out.append(LoggedEvent(row.seq, json.loads(bytes(row.envelope)), times.get(row.seq, 0)))
    out.sort(key=lambda e: e.index)
    return out


def _facts(conn: Connection, events: Sequence[LoggedEvent]) -> Facts:
    """The state the mapping of ``events`` reads: sites' countries, lots' carats, shipments, certificates."""
    facts = Facts()
    for site in conn.execute(select(schema.sites.c.id, schema.sites.c.country)):
        facts.site_country[site.id] = site.country
    lots: set[str] = set()
    shipments: set[str] = set()
    numbers: set[str] = set()
    targets: set[str] = set()
    for event in events:
        body = event.body
        lots.update(x for x in body.get("lots", []) if isinstance(x, str))
        if isinstance(body.get("lot"), str):
            lots.add(body["lot"])
        if isinstance(body.get("shipment"), str):
            shipments.add(body["shipment"])
        if isinstance(body.get("number"), str):
            numbers.add(body["number"])
        if body["type"] == "correct":
            targets.add(body["event"])
    for batch in chunks(sorted(lots)):
        t = schema.lots
        for row in conn.execute(select(t.c.id, t.c.carats).where(t.c.id.in_(batch))):
            facts.lot_carats[row.id] = format_hundredths(row.carats)
    for batch in chunks(sorted(shipments)):
        t = schema.shipments
        for ship in conn.execute(select(t.c.id, t.c.sender, t.c.to_participant).where(t.c.id.in_(batch))):
            facts.shipments[ship.id] = (ship.sender, ship.to_participant)
    for batch in chunks(sorted(numbers)):
        t = schema.certificates
        for row in conn.execute(select(t.c.id, t.c.lots).where(t.c.id.in_(batch))):
            facts.certificate_lots[row.id] = tuple(json.loads(row.lots))
    if targets:
        ev = schema.events
        seqs = [
            r.seq
            for b in chunks(sorted(targets))
            for r in conn.execute(select(ev.c.seq).where(ev.c.event_id.in_(b)))
        ]
        for original in _logged(conn, seqs):
            facts.corrected[original.body["id"]] = original
    return facts


def epcis_events(conn: Connection, seqs: Sequence[int]) -> list[dict[str, Any]]:
    """The EPCIS events of the leaves ``seqs``, in log order, each with its CBV 2.0 ``eventID``."""
    return [event for _, _, event in indexed_events(conn, seqs)]


def indexed_events(conn: Connection, seqs: Sequence[int]) -> list[tuple[int, int, dict[str, Any]]]:
    """``(leaf, k, event)``: the ``k``-th EPCIS event of each leaf in ``seqs`` (a correction makes two)."""
    logged = _logged(conn, seqs)
    facts = _facts(conn, logged)
    return [
        (event.index, k, with_event_id(mapped))
        for event in logged
        for k, mapped in enumerate(to_epcis(event, facts))
    ]


def with_event_id(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its ``eventID`` (the CBV 2.0 event hash) right after its type."""
    identified = {"type": event["type"], "eventID": event_hash(event, {PREFIX: NAMESPACE})}
    return {**identified, **{k: v for k, v in event.items() if k not in identified}}


MDA = "urn:epcglobal:cbv:mda#"


def master_data(conn: Connection, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """EPCIS master data for the sites the events name: a BusinessLocation vocabulary with each site's name,
    country and coordinates (CBV master data attributes), kind and operator (``adamas``)."""
    named = set()
    for event in events:
        for place in (event.get("readPoint"), event.get("bizLocation")):
            if isinstance(place, dict) and str(place.get("id", "")).startswith("urn:adamas:site:"):
                named.add(place["id"].removeprefix("urn:adamas:site:"))
    elements = []
    t = schema.sites
    for batch in chunks(sorted(named)):
        for site in conn.execute(select(t).where(t.c.id.in_(batch)).order_by(t.c.id)):
            attributes = [
                {"id": f"{MDA}name", "attribute": site.name},
                {"id": f"{MDA}countryCode", "attribute": site.country},
                {"id": ext("kind"), "attribute": site.kind},
                {"id": ext("operator"), "attribute": to_uri("party", site.operator)},
            ]
            if site.lat is not None and site.lon is not None:
                attributes += [
                    {"id": f"{MDA}latitude", "attribute": site.lat},
                    {"id": f"{MDA}longitude", "attribute": site.lon},
                ]
            elements.append({"id": to_uri("site", site.id), "attributes": attributes})
    if not elements:
        return []
    return [{"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": elements}]


def _within(event: dict[str, Any], since_ns: int | None, until_ns: int | None) -> bool:
    at = parse_instant(event["eventTime"], "eventTime")
    return (since_ns is None or at >= since_ns) and (until_ns is None or at < until_ns)


def now_iso() -> str:
    """The current time for a document's ``creationDate``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def export_document(
    ledger: Ledger, *, lot: str | None = None, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    """An EPCISDocument of the ledger's events: all, or the lineage of ``lot``; ``since``/``until`` (RFC 3339
    instants) bound ``eventTime``, the declared time."""
    since_ns = None if since is None else parse_instant(since, "since")
    until_ns = None if until is None else parse_instant(until, "until")
    with ledger.engine.connect() as conn:
        events = [
            event
            for event in epcis_events(
                conn, selected_seqs(conn, lot=lot, since_ns=since_ns, until_ns=until_ns)
            )
            if _within(event, since_ns, until_ns)
        ]
        vocabularies = master_data(conn, events)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": now_iso(),
        "sender": ledger.origin,
    }
    if vocabularies:
        document["epcisHeader"] = {"epcisMasterData": {"vocabularyList": vocabularies}}
    document["epcisBody"] = {"eventList": events}
    return document
