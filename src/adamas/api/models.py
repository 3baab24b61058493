"""What the HTTP service says, as pydantic models: the OpenAPI schema of every answer.

These are the wire shapes, separate from the domain values (``adamas.ledger.views``): a route turns a view
into its model with ``Model.model_validate(view.to_json())``. Output models allow extra members, so a field
added to a view later reaches clients before its model names it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Certificate",
    "CertificateVerdict",
    "ConsistencyProof",
    "EventPage",
    "Evidence",
    "Health",
    "HistoryEntry",
    "InclusionProof",
    "Lot",
    "Participant",
    "Problem",
    "Receipt",
    "Refusal",
    "StoredEvent",
    "SubmitResult",
    "TracePage",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class Refusal(BaseModel):
    """One refused envelope of a batch."""

    position: int
    id: str | None = None
    code: str
    field: str | None = None
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the Adamas error code and the field at fault."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:adamas:problem:lot.not_found"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["lot.not_found"])
    field: str | None = None
    context: dict[str, Any] | None = None
    refusals: list[Refusal] | None = Field(
        default=None, description="Every refusal of a refused atomic batch."
    )


class Receipt(_Out):
    """Proof that an event is in the log, verifiable offline with the log's vkey."""

    index: int
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical envelope), hex.")
    checkpoint: str = Field(description="The signed checkpoint note of a tree that includes the leaf.")
    inclusion_proof: list[str] = Field(description="RFC 9162 audit path, base64 hashes, leaf side first.")


class Outcome(_Out):
    """The fate of one envelope: accepted or duplicate (with its receipt), refused or not written."""

    status: Literal["accepted", "duplicate", "refused", "not_written"]
    position: int
    id: str | None = None
    index: int | None = None
    leaf_hash: str | None = None
    checkpoint: str | None = None
    inclusion_proof: list[str] | None = None
    code: str | None = None
    message: str | None = None
    field: str | None = None


class SubmitResult(BaseModel):
    """One result per envelope, in order, and how many were accepted, duplicates or refused."""

    accepted: int
    duplicate: int
    refused: int
    results: list[Outcome]


class OriginShare(_Out):
    site: str
    site_name: str | None = None
    country: str | None = None
    carats: str


class EventRef(_Out):
    id: str
    type: str
    time: str
    index: int


class Lot(_Out):
    """A lot as it stands now."""

    id: str
    kind: str
    carats: str
    stones: int | None = None
    holder: str
    holder_country: str | None = None
    state: str
    parents: list[str]
    origin: list[OriginShare]
    made_by: EventRef
    value: dict[str, str] | None = None
    shipment: str | None = None
    in_transit_to: str | None = None
    details: dict[str, Any]


class HistoryEntry(_Out):
    """One logged event, with its signed body."""

    index: int
    id: str
    type: str
    actor: str
    time: str
    body: dict[str, Any]
    corrected_by: str | None = None
    logged: str | None = None
    """The ledger's logged time (RFC 3339); null for events logged before it was recorded."""
    backfill: str | None = None
    """The ``ledger.backfill`` window that admitted the event past the backdating allowance, if any."""


class EventPage(BaseModel):
    """A page of events in log order; ``next`` is the cursor of the next page (null: the end for now)."""

    items: list[HistoryEntry]
    next: str | None


class TraceNode(Lot):
    depth: int
    compromised: bool


class Edge(BaseModel):
    parent: str
    child: str


class TracePage(_Out):
    """A page of a lot's lineage; ``next`` is the cursor of the next page (null: the end for now)."""

    lot: str
    direction: Literal["backward", "forward"]
    nodes: list[TraceNode]
    edges: list[Edge]
    origin: list[OriginShare]
    mines: list[str]
    next: str | None


class Certificate(_Out):
    """A Kimberley Process certificate with its Annex I fields, lots and status."""

    number: str
    status: str


class CertificateCheck(_Out):
    check: str
    ok: bool
    detail: str


class CertificateVerdict(_Out):
    """Every rule of a certificate re-checked from the log."""

    number: str
    valid: bool
    status: str
    checks: list[CertificateCheck]


class ParticipantKey(_Out):
    id: str
    public_key: str
    revoked: str | None = None


class Participant(_Out):
    """A registered participant with its keys."""

    id: str
    name: str
    country: str | None = None
    roles: list[str]
    status: str
    registrar: str | None = None
    registered_by: EventRef | None = None
    keys: list[ParticipantKey]


class StoredEvent(_Out):
    """A logged event: its canonical envelope, leaf index and hash, and a receipt in the newest checkpoint."""

    index: int
    id: str
    type: str
    actor: str
    time: str
    leaf_hash: str
    envelope: dict[str, Any]
    corrected_by: str | None = None
    receipt: Receipt


class Subject(BaseModel):
    kind: str
    id: str


class Evidence(_Out):
    """What is attested about a subject, and the evidence level reached."""

    subject: Subject
    level: str
    attestations: list[dict[str, Any]]


class InclusionProof(BaseModel):
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` (base64 hashes)."""

    index: int
    size: int
    inclusion_proof: list[str]


class ConsistencyProof(BaseModel):
    """RFC 9162 consistency proof from the tree of ``old`` to that of ``new`` (base64 hashes)."""

    old: int
    new: int
    consistency_proof: list[str]


class LogHead(BaseModel):
    origin: str
    size: int


class Health(BaseModel):
    """The service is up, its database reachable, and the head of its log."""

    status: Literal["ok"]
    database: Literal["reachable"]
    log: LogHead
