"""What the queries return: read-only views with exact decimals, separate from the state records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

__all__ = [
    "EventRef",
    "Evidence",
    "HistoryEntry",
    "LotView",
    "OriginShare",
    "Page",
    "ParticipantKey",
    "ParticipantView",
    "StoredEvent",
    "Trace",
    "TraceNode",
    "TracePage",
]

T = TypeVar("T")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class OriginShare:
    """Carats of a lot that came from one mine."""

    site: str
    country: str | None
    carats: Decimal
    site_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (carats as a decimal string)."""
        return {
            "site": self.site,
            "site_name": self.site_name,
            "country": self.country,
            "carats": _dec(self.carats),
        }


@dataclass(frozen=True, slots=True)
class EventRef:
    """Which event made something: id, type, declared time, leaf index, logged time and the backfill window
    that admitted it (if any)."""

    id: str
    type: str
    time: str
    index: int
    logged: str | None = None
    backfill: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "type": self.type,
            "time": self.time,
            "index": self.index,
            "logged": self.logged,
            "backfill": self.backfill,
        }


@dataclass(frozen=True, slots=True)
class LotView:
    """A lot as it stands now."""

    id: str
    kind: str
    carats: Decimal
    stones: int | None
    holder: str
    holder_country: str | None
    state: str
    parents: tuple[str, ...]
    origin: tuple[OriginShare, ...]
    made_by: EventRef
    value: Decimal | None = None
    shipment: str | None = None
    in_transit_to: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "carats": _dec(self.carats),
            "stones": self.stones,
            "holder": self.holder,
            "holder_country": self.holder_country,
            "state": self.state,
            "parents": list(self.parents),
            "origin": [o.to_json() for o in self.origin],
            "made_by": self.made_by.to_json(),
            "value": None if self.value is None else {"amount": _dec(self.value), "currency": "USD"},
            "shipment": self.shipment,
            "in_transit_to": self.in_transit_to,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event in a lot's history, with the signed body as it was logged."""

    index: int
    id: str
    type: str
    actor: str
    time: str
    body: dict[str, Any]
    corrected_by: str | None = None
    """The correcting event, when this one was corrected (it stays in the log as it was signed)."""
    logged: str | None = None
    """The ledger's logged time (RFC 3339); None for events logged before it was recorded."""
    backfill: str | None = None
    """The ``ledger.backfill`` window that admitted the event past the backdating allowance, if any."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "corrected_by": self.corrected_by,
            "index": self.index,
            "id": self.id,
            "type": self.type,
            "actor": self.actor,
            "time": self.time,
            "logged": self.logged,
            "backfill": self.backfill,
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class TraceNode:
    """A lot in a lineage graph; ``depth`` counts steps from the traced lot."""

    lot: LotView
    depth: int
    compromised: bool = False
    """True when this lot, or a lot it came from, was made by an event signed with a compromised key."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"depth": self.depth, "compromised": self.compromised, **self.lot.to_json()}


def _trace_json(trace: Trace | TracePage) -> dict[str, Any]:
    """The JSON shape a whole lineage graph and one page of it share."""
    return {
        "lot": trace.lot,
        "direction": trace.direction,
        "nodes": [n.to_json() for n in trace.nodes],
        "edges": [{"parent": p, "child": c} for p, c in trace.edges],
        "origin": [o.to_json() for o in trace.origin],
        "mines": list(trace.mines),
    }


@dataclass(frozen=True, slots=True)
class Trace:
    """The lineage graph of a lot, backward to its mines or forward to its descendants."""

    lot: str
    direction: str
    nodes: tuple[TraceNode, ...]
    edges: tuple[tuple[str, str], ...]
    origin: tuple[OriginShare, ...]
    mines: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: nodes, parent→child edges, origin composition and mines reached."""
        return _trace_json(self)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What is attested about a subject, and the evidence level that reaches."""

    subject_kind: str
    subject_id: str
    level: str
    attestations: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "level": self.level,
            "attestations": list(self.attestations),
        }


# --- pages and records served one by one ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list that can grow: its items, and the opaque cursor of the next page (None: the end
    for now; a list that grows later continues after the last item seen)."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TracePage:
    """One page of a lineage graph: the nodes of the page and the edges leading to them, with the whole
    graph's origin composition and mines. Forward pages follow log order, so a growing graph only adds
    pages at the end."""

    lot: str
    direction: str
    nodes: tuple[TraceNode, ...]
    edges: tuple[tuple[str, str], ...]
    origin: tuple[OriginShare, ...]
    mines: tuple[str, ...]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: the shape of ``Trace.to_json`` plus ``next`` (the cursor of the next page)."""
        return {**_trace_json(self), "next": self.next_cursor}


@dataclass(frozen=True, slots=True)
class ParticipantKey:
    """A participant's public key and, once revoked, the instant from which it signs nothing."""

    id: str
    public_key: str
    revoked: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (the public key in base64)."""
        return {"id": self.id, "public_key": self.public_key, "revoked": self.revoked}


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """A registered participant as it stands now, with its keys and the event that registered it."""

    id: str
    name: str
    country: str | None
    roles: tuple[str, ...]
    status: str
    registrar: str | None
    registered_by: EventRef | None
    keys: tuple[ParticipantKey, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "country": self.country,
            "roles": list(self.roles),
            "status": self.status,
            "registrar": self.registrar,
            "registered_by": None if self.registered_by is None else self.registered_by.to_json(),
            "keys": [k.to_json() for k in self.keys],
        }


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the log holds it: the canonical envelope at leaf ``index`` and its leaf hash."""

    index: int
    id: str
    type: str
    actor: str
    time: str
    leaf_hash: bytes
    envelope: bytes
    corrected_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: the envelope as a JSON object, the leaf hash in hex."""
        return {
            "index": self.index,
            "id": self.id,
            "type": self.type,
            "actor": self.actor,
            "time": self.time,
            "leaf_hash": self.leaf_hash.hex(),
            "envelope": json.loads(self.envelope),
            "corrected_by": self.corrected_by,
        }
