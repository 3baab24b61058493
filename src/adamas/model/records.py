"""The state that events build: participants, keys, sites, lots, shipments and flags.

These are plain frozen values. The ledger derives every one of them from the stored events (a rebuild
replays the log and must reproduce them exactly); nothing here is ever written except by applying an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from adamas.model.values import Hundredths

__all__ = [
    "ATTEST_CLAIMS",
    "ATTEST_SUBJECTS",
    "DEFAULT_BACKDATE_ALLOWANCE_NS",
    "EU_MEMBERS",
    "EU_TERRITORIES",
    "EVIDENCE_LEVELS",
    "HS_CODES",
    "LOT_KINDS",
    "LOT_STATES",
    "POLISHED_KINDS",
    "ROLES",
    "ROUGH_KINDS",
    "SITE_KINDS",
    "Attestation",
    "Backfill",
    "Certificate",
    "Correction",
    "CountryStatus",
    "Flag",
    "Key",
    "LedgerSettings",
    "Lot",
    "Participant",
    "Sanction",
    "Shipment",
    "Site",
    "evolve",
]

ROLES: Final = frozenset(
    {
        "administrator",
        "authority",
        "monitor",
        "mine_operator",
        "exporter",
        "importer",
        "trader",
        "manufacturer",
        "grading_lab",
        "retailer",
    }
)
SITE_KINDS: Final = frozenset({"mine", "sorting", "vault", "factory", "lab", "store"})
ROUGH_KINDS: Final = frozenset({"rough_parcel", "rough_stone"})
POLISHED_KINDS: Final = frozenset({"polished"})
LOT_KINDS: Final = ROUGH_KINDS | POLISHED_KINDS | {"jewel"}
LOT_STATES: Final = frozenset({"held", "in_transit", "consumed", "sold", "frozen"})
PARTICIPANT_STATUSES: Final = frozenset({"active", "suspended", "revoked"})
COUNTRY_STATUSES: Final = frozenset({"participant", "suspended", "non_participant"})
HS_CODES: Final = frozenset({"7102.10", "7102.21", "7102.31"})
EU_MEMBERS: Final = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    }
)
EU_TERRITORIES: Final = frozenset({"GF", "GP", "MQ", "RE", "YT", "MF", "AX"})
"""Parts of member states with ISO codes of their own (outermost regions, Åland): EU territory too."""
"""Member states of the European Union, which is one KP participant (``EU``)."""


@dataclass(frozen=True, slots=True)
class Participant:
    """A registered participant: who it is, where, which roles, and whether it may act."""

    id: str
    name: str
    country: str | None
    roles: frozenset[str]
    status: str
    registrar: str | None
    event: str

    @property
    def active(self) -> bool:
        """True when the participant may sign and receive."""
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class Key:
    """A participant's Ed25519 key; ``revoked_ns`` is the instant from which it signs nothing.

    ``compromised``: revoked by its registrar with effect before the revocation's own time; such a key signs
    nothing logged after the revocation was logged, whatever the declared time (docs/time.md).
    """

    id: str
    participant: str
    public_key: bytes
    event: str
    revoked_ns: int | None = None
    compromised: bool = False


@dataclass(frozen=True, slots=True)
class Site:
    """A licensed site; only a ``mine`` produces."""

    id: str
    name: str
    kind: str
    country: str
    operator: str
    event: str
    lat: str | None = None
    lon: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Lot:
    """Anything traced: its weight, holder, state, parents and exact origin composition."""

    id: str
    kind: str
    carats: Hundredths
    stones: int | None
    holder: str
    state: str
    origin: dict[str, Hundredths]
    parents: tuple[str, ...]
    event: str
    last_time_ns: int
    value: Hundredths | None = None
    shipment: str | None = None
    frozen_from: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    largest: dict[str, Hundredths] | None = None
    """Per mine site of its origin, an upper bound on the weight of any single stone of the lot that holds
    carats of that mine; what size thresholds are judged by, never the declared stone counts. None (rows
    from before the bound was kept): the lot's own carats bound every stone."""

    def largest_stone(self, site: str) -> Hundredths:
        """The heaviest a single stone holding carats of ``site`` can be in this lot."""
        if self.largest is None or site not in self.largest:
            return self.carats
        return min(self.largest[site], self.carats)


@dataclass(frozen=True, slots=True)
class Shipment:
    """Lots sent by one participant to another, until received."""

    id: str
    sender: str
    to: str
    lots: tuple[str, ...]
    event: str
    certificate: str | None = None
    seal: str | None = None
    received_event: str | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """A soft finding recorded with its evidence for people to review."""

    event: str
    code: str
    message: str
    lot: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CountryStatus:
    """A country's Kimberley Process standing from ``effective_ns`` on."""

    country: str
    status: str
    effective_ns: int
    reason: str
    event: str
    compliant_zones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sanction:
    """Lots of these origins may not be received in these importing countries from ``effective_ns`` on."""

    id: str
    origin_countries: tuple[str, ...]
    importing_countries: tuple[str, ...]
    effective_ns: int
    reason: str
    event: str
    min_stone_carats: Hundredths | None = None
    single_origin_required: bool = False
    lot_kinds: tuple[str, ...] = ()
    """The kinds of lot it covers; empty: every kind (an optional field Adamas adds to EVENTS.md)."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """A Kimberley Process certificate tied to the exact lots it covers."""

    number: str
    issuer: str
    exporter: str
    importer: str
    exporting_country: str
    importing_country: str
    origin: dict[str, Hundredths]
    carats: Hundredths
    value: Hundredths
    parcels: int
    hs_code: str
    issued_ns: int
    expires_ns: int
    shipment: str
    lots: tuple[str, ...]
    event: str
    void_event: str | None = None
    used_by: str | None = None
    confirmed_event: str | None = None
    confirmation: dict[str, Any] = field(default_factory=dict)


ATTEST_SUBJECTS: Final = frozenset({"event", "lot", "site", "participant", "country"})
ATTEST_CLAIMS: Final = frozenset(
    {"site_visited", "production_verified", "documents_verified", "lab_verified", "not_natural", "concern"}
)
EVIDENCE_LEVELS: Final = ("self-declared", "document-backed", "lab-verified", "independently audited")


@dataclass(frozen=True, slots=True)
class Attestation:
    """A monitor's, authority's or lab's signed claim about a subject, with hashes of its evidence."""

    event: str
    actor: str
    subject_kind: str
    subject_id: str
    claim: str
    statement: str
    evidence: tuple[dict[str, str], ...]
    time_ns: int
    level: int
    """Index into ``EVIDENCE_LEVELS`` that this attestation supports (0 for a concern)."""


@dataclass(frozen=True, slots=True)
class Correction:
    """A correcting event: the original stays in the log; state is recomputed with ``replacement`` (a full
    body of the same type) in its place, or without it when there is none."""

    event: str
    target: str
    reason: str
    replacement: dict[str, Any] | None


DEFAULT_BACKDATE_ALLOWANCE_NS: Final = 30 * 86_400 * 1_000_000_000
"""How far a declared time may lag the logged time outside a backfill window: 30 days (EVENTS.md, "Time")."""


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    """Settings of a ledger that the rules read, fixed by its genesis event (so any replay knows them)."""

    backdate_allowance_ns: int = DEFAULT_BACKDATE_ALLOWANCE_NS


@dataclass(frozen=True, slots=True)
class Backfill:
    """A ``ledger.backfill`` window: events declared in [``from_ns``, ``until_ns``) are admitted past the
    backdating allowance while their logged time is in [``opened_ns``, ``closes_ns``]."""

    id: str
    from_ns: int
    until_ns: int
    closes_ns: int
    opened_ns: int
    reason: str
    closed_by: str | None = None

    def admits(self, declared_ns: int, logged_ns: int) -> bool:
        """True when this window admits an event declared at ``declared_ns`` and logged at ``logged_ns``."""
        return self.from_ns <= declared_ns < self.until_ns and self.opened_ns <= logged_ns <= self.closes_ns


_R = TypeVar("_R")
_FIELDS: dict[type, frozenset[str]] = {}
_SET: Final = object.__setattr__


def evolve(record: _R, **changes: Any) -> _R:
    """A copy of a frozen, slotted record with ``changes``, like ``dataclasses.replace``.

    The rules copy a lot or a shipment for nearly every event; ``replace`` builds a keyword dict and runs
    ``__init__`` again (these records have no ``__post_init__``), which costs twice this (measured: 6.4 µs
    against 2.9 µs a copy of a lot).
    """
    cls = type(record)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = frozenset(cls.__slots__)  # type: ignore[attr-defined]
    if not names.issuperset(changes):
        raise TypeError(f"{cls.__name__} has no field {sorted(set(changes) - names)[0]!r}")
    new = object.__new__(cls)
    for name in cls.__slots__:  # type: ignore[attr-defined]
        _SET(new, name, changes[name] if name in changes else getattr(record, name))
    return new
