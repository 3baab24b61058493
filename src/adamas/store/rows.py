"""Conversion between state records and table rows, and bulk reads by id.

Bulk reads take any number of ids and query in chunks, so that a batch loads everything it touches in a few
round trips whatever the backend's limit on bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, Row, Table, select

from adamas.model.records import (
    Attestation,
    Backfill,
    Certificate,
    CountryStatus,
    Key,
    Lot,
    Participant,
    Sanction,
    Shipment,
    Site,
)
from adamas.store import schema

__all__ = [
    "history_seqs",
    "history_text",
    "key_from_row",
    "key_to_row",
    "load",
    "lot_from_row",
    "lot_to_row",
    "participant_from_row",
    "participant_to_row",
    "shipment_from_row",
    "shipment_to_row",
    "site_from_row",
    "site_to_row",
]

CHUNK: Final = 500
T = TypeVar("T")


_DECODE: Final = json.JSONDecoder().decode
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _id_map(value: dict[str, int]) -> str:
    """JSON of ``{id: integer}``, the same text as ``_json``: ids never need escaping (their pattern admits
    only ``[A-Za-z0-9._:-]``), and this runs for every lot a batch writes."""
    return "{" + ",".join(f'"{k}":{value[k]}' for k in sorted(value)) + "}"


def _id_list(value: Sequence[str]) -> str:
    """JSON of a list of ids (see ``_id_map``)."""
    return "[" + ",".join(f'"{v}"' for v in value) + "]"


def _json(value: Any) -> str:
    return _ENCODER.encode(value) if value else ("{}" if isinstance(value, dict) else "[]")


def participant_to_row(p: Participant) -> dict[str, Any]:
    """Row of ``participants``."""
    return {
        "id": p.id,
        "name": p.name,
        "country": p.country,
        "roles": ",".join(sorted(p.roles)),
        "status": p.status,
        "registrar": p.registrar,
        "event": p.event,
    }


def participant_from_row(row: Row[Any]) -> Participant:
    """Participant from its row."""
    return Participant(
        row.id, row.name, row.country, frozenset(row.roles.split(",")), row.status, row.registrar, row.event
    )


def key_to_row(k: Key) -> dict[str, Any]:
    """Row of ``keys``."""
    return {
        "id": k.id,
        "participant": k.participant,
        "public_key": k.public_key,
        "event": k.event,
        "revoked_ns": k.revoked_ns,
        "compromised": int(k.compromised),
    }


def key_from_row(row: Row[Any]) -> Key:
    """Key from its row."""
    return Key(
        row.id, row.participant, bytes(row.public_key), row.event, row.revoked_ns, bool(row.compromised)
    )


def site_to_row(s: Site) -> dict[str, Any]:
    """Row of ``sites``."""
    return {
        "id": s.id,
        "name": s.name,
        "kind": s.kind,
        "country": s.country,
        "operator": s.operator,
        "event": s.event,
        "lat": s.lat,
        "lon": s.lon,
        "zone": s.zone,
    }


def site_from_row(row: Row[Any]) -> Site:
    """Site from its row."""
    return Site(row.id, row.name, row.kind, row.country, row.operator, row.event, row.lat, row.lon, row.zone)


def lot_to_row(lot: Lot) -> dict[str, Any]:
    """Row of ``lots``."""
    return {
        "id": lot.id,
        "kind": lot.kind,
        "carats": lot.carats,
        "stones": lot.stones,
        "holder": lot.holder,
        "state": lot.state,
        "origin": _id_map(lot.origin),
        "parents": _id_list(lot.parents),
        "event": lot.event,
        "last_time_ns": lot.last_time_ns,
        "value": lot.value,
        "shipment": lot.shipment,
        "frozen_from": lot.frozen_from,
        "details": _json(lot.details),
        "largest": None if lot.largest is None else _id_map(lot.largest),
        # What to append to the stored history: the batch writer fills in the leaves of its own events.
        "history": "",
    }


def history_text(seqs: Iterable[int]) -> str:
    """The ``lots.history`` text of these leaves (each in decimal, followed by a comma): appendable as is."""
    return "".join(f"{seq}," for seq in seqs)


def history_seqs(text: str | None) -> list[int]:
    """The leaves a ``lots.history`` text holds, in log order (sorted: an append never goes back)."""
    return sorted(int(part) for part in (text or "").split(",") if part)


def lot_from_row(row: Row[Any]) -> Lot:
    """Lot from its row."""
    return Lot(
        id=row.id,
        kind=row.kind,
        carats=row.carats,
        stones=row.stones,
        holder=row.holder,
        state=row.state,
        origin=_DECODE(row.origin),
        parents=tuple(_DECODE(row.parents)),
        event=row.event,
        last_time_ns=row.last_time_ns,
        value=row.value,
        shipment=row.shipment,
        frozen_from=row.frozen_from,
        details=_DECODE(row.details) if row.details != "{}" else {},
        largest=None if row.largest is None else _DECODE(row.largest),
    )


def shipment_to_row(s: Shipment) -> dict[str, Any]:
    """Row of ``shipments``."""
    return {
        "id": s.id,
        "sender": s.sender,
        "to_participant": s.to,
        "lots": _json(list(s.lots)),
        "event": s.event,
        "certificate": s.certificate,
        "seal": s.seal,
        "received_event": s.received_event,
    }


def shipment_from_row(row: Row[Any]) -> Shipment:
    """Shipment from its row."""
    return Shipment(
        row.id,
        row.sender,
        row.to_participant,
        tuple(json.loads(row.lots)),
        row.event,
        row.certificate,
        row.seal,
        row.received_event,
    )


def certificate_to_row(c: Certificate) -> dict[str, Any]:
    """Row of ``certificates`` (the number is the id)."""
    return {
        "id": c.number,
        "issuer": c.issuer,
        "exporter": c.exporter,
        "importer": c.importer,
        "exporting_country": c.exporting_country,
        "importing_country": c.importing_country,
        "origin": _json(c.origin),
        "carats": c.carats,
        "value": c.value,
        "parcels": c.parcels,
        "hs_code": c.hs_code,
        "issued_ns": c.issued_ns,
        "expires_ns": c.expires_ns,
        "shipment": c.shipment,
        "lots": _json(list(c.lots)),
        "event": c.event,
        "void_event": c.void_event,
        "used_by": c.used_by,
        "confirmed_event": c.confirmed_event,
        "confirmation": _json(c.confirmation),
    }


def certificate_from_row(row: Row[Any]) -> Certificate:
    """Certificate from its row."""
    return Certificate(
        number=row.id,
        issuer=row.issuer,
        exporter=row.exporter,
        importer=row.importer,
        exporting_country=row.exporting_country,
        importing_country=row.importing_country,
        origin=_DECODE(row.origin),
        carats=row.carats,
        value=row.value,
        parcels=row.parcels,
        hs_code=row.hs_code,
        issued_ns=row.issued_ns,
        expires_ns=row.expires_ns,
        shipment=row.shipment,
        lots=tuple(_DECODE(row.lots)),
        event=row.event,
        void_event=row.void_event,
        used_by=row.used_by,
        confirmed_event=row.confirmed_event,
        confirmation=_DECODE(row.confirmation),
    )


def country_status_to_row(c: CountryStatus) -> dict[str, Any]:
    """Row of ``country_statuses`` (keyed by the event that set it)."""
    return {
        "id": c.event,
        "country": c.country,
        "status": c.status,
        "effective_ns": c.effective_ns,
        "reason": c.reason,
        "zones": _json(list(c.compliant_zones)),
    }


def country_status_from_row(row: Row[Any]) -> CountryStatus:
    """Country status from its row."""
    return CountryStatus(
        row.country, row.status, row.effective_ns, row.reason, row.id, tuple(_DECODE(row.zones))
    )


def sanction_to_row(s: Sanction) -> dict[str, Any]:
    """Row of ``sanctions``."""
    return {
        "id": s.id,
        "origin_countries": _json(list(s.origin_countries)),
        "importing_countries": _json(list(s.importing_countries)),
        "effective_ns": s.effective_ns,
        "reason": s.reason,
        "event": s.event,
        "min_stone_carats": s.min_stone_carats,
        "single_origin_required": int(s.single_origin_required),
        "lot_kinds": _id_list(s.lot_kinds),
    }


def sanction_from_row(row: Row[Any]) -> Sanction:
    """Sanction from its row."""
    return Sanction(
        row.id,
        tuple(_DECODE(row.origin_countries)),
        tuple(_DECODE(row.importing_countries)),
        row.effective_ns,
        row.reason,
        row.event,
        row.min_stone_carats,
        bool(row.single_origin_required),
        tuple(_DECODE(row.lot_kinds)),
    )


def attestation_to_row(a: Attestation) -> dict[str, Any]:
    """Row of ``attestations`` (keyed by the attesting event)."""
    return {
        "id": a.event,
        "actor": a.actor,
        "subject_kind": a.subject_kind,
        "subject_id": a.subject_id,
        "claim": a.claim,
        "statement": a.statement,
        "evidence": _json(list(a.evidence)),
        "time_ns": a.time_ns,
        "level": a.level,
    }


def attestation_from_row(row: Row[Any]) -> Attestation:
    """Attestation from its row."""
    return Attestation(
        row.id,
        row.actor,
        row.subject_kind,
        row.subject_id,
        row.claim,
        row.statement,
        tuple(_DECODE(row.evidence)),
        row.time_ns,
        row.level,
    )


def backfill_to_row(b: Backfill) -> dict[str, Any]:
    """Row of ``backfills`` (keyed by the event that opened the window)."""
    return {
        "id": b.id,
        "from_ns": b.from_ns,
        "until_ns": b.until_ns,
        "closes_ns": b.closes_ns,
        "opened_ns": b.opened_ns,
        "reason": b.reason,
        "closed_by": b.closed_by,
    }


def backfill_from_row(row: Row[Any]) -> Backfill:
    """Backfill window from its row."""
    return Backfill(
        row.id, row.from_ns, row.until_ns, row.closes_ns, row.opened_ns, row.reason, row.closed_by
    )


def chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """Ids in lists of at most ``CHUNK``."""
    batch: list[str] = []
    for item in ids:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def load(
    conn: Connection, table: Table, ids: Iterable[str], convert: Callable[[Row[Any]], T]
) -> dict[str, T]:
    """Records of ``table`` whose ``id`` is in ``ids``, by id (without the columns writers only append to:
    no record holds them, and a lot's history grows with every event that touches it)."""
    out: dict[str, T] = {}
    columns = [c for c in table.c if not c.info.get("append")]
    for batch in chunks(sorted(set(ids))):
        for row in conn.execute(select(*columns).where(table.c.id.in_(batch))):
            out[row.id] = convert(row)
    return out


Converter = tuple[Table, Callable[[Row[Any]], Any], Callable[[Any], dict[str, Any]]]
TABLES: Final[dict[str, Converter]] = {
    "participant": (schema.participants, participant_from_row, participant_to_row),
    "key": (schema.keys, key_from_row, key_to_row),
    "site": (schema.sites, site_from_row, site_to_row),
    "lot": (schema.lots, lot_from_row, lot_to_row),
    "shipment": (schema.shipments, shipment_from_row, shipment_to_row),
    "certificate": (schema.certificates, certificate_from_row, certificate_to_row),
    "backfill": (schema.backfills, backfill_from_row, backfill_to_row),
}
