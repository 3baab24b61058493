"""The state that events build: participants, keys, sites, lots, shipments and flags.

These are plain frozen values. The ledger derives every one of them from the stored events (a rebuild
replays the log and must reproduce them exactly); nothing here is ever written except by applying an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from adamas.model.values import Hundredths

__all__ = [
    "LOT_KINDS",
    "LOT_STATES",
    "POLISHED_KINDS",
    "ROLES",
    "ROUGH_KINDS",
    "SITE_KINDS",
    "Flag",
    "Key",
    "Lot",
    "Participant",
    "Shipment",
    "Site",
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
    """A participant's Ed25519 key; ``revoked_ns`` is the instant from which it signs nothing."""

    id: str
    participant: str
    public_key: bytes
    event: str
    revoked_ns: int | None = None


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
