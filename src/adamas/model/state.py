"""The port through which rules read and change ledger state.

Rules are pure: they see the ledger only through this ``Protocol``. The ledger implements it over the
database (loading what a batch touches at once); tests implement it over plain dicts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from adamas.model.events import Event

from adamas.model.records import (
    Attestation,
    Backfill,
    Certificate,
    Correction,
    CountryStatus,
    Flag,
    Key,
    LedgerSettings,
    Lot,
    Participant,
    Sanction,
    Shipment,
    Site,
)

__all__ = ["MemoryState", "State"]


class State(Protocol):
    """What the rules may read and write. ``put_*`` replaces the record with the same id."""

    def participant(self, participant_id: str) -> Participant | None: ...
    def key(self, key_id: str) -> Key | None: ...
    def site(self, site_id: str) -> Site | None: ...
    def lot(self, lot_id: str) -> Lot | None: ...
    def shipment(self, shipment_id: str) -> Shipment | None: ...
    def administrator(self) -> str | None: ...
    def country_statuses(self, country: str) -> list[CountryStatus]: ...
    def sanctions(self) -> list[Sanction]: ...
    def certificate(self, number: str) -> Certificate | None: ...
    def events_signed_since(self, key_id: str, time_ns: int) -> list[str]: ...
    def event_logged(self, event_id: str) -> bool: ...
    def logged_event(self, event_id: str) -> Event | None: ...
    def settings(self) -> LedgerSettings: ...
    def backfills(self) -> list[Backfill]: ...

    def put_participant(self, participant: Participant) -> None: ...
    def put_key(self, key: Key) -> None: ...
    def put_site(self, site: Site) -> None: ...
    def put_lot(self, lot: Lot) -> None: ...
    def put_shipment(self, shipment: Shipment) -> None: ...
    def put_country_status(self, status: CountryStatus) -> None: ...
    def put_sanction(self, sanction: Sanction) -> None: ...
    def put_certificate(self, certificate: Certificate) -> None: ...
    def put_attestation(self, attestation: Attestation) -> None: ...
    def put_correction(self, correction: Correction) -> None: ...
    def put_settings(self, settings: LedgerSettings) -> None: ...
    def put_backfill(self, backfill: Backfill) -> None: ...
    def touch(self, lot_id: str) -> None: ...
    def flag(self, flag: Flag) -> None: ...


class MemoryState:
    """A ``State`` held in dicts: for tests, simulations and replays that need no database."""

    def __init__(self) -> None:
        self.participants: dict[str, Participant] = {}
        self.keys: dict[str, Key] = {}
        self.sites: dict[str, Site] = {}
        self.lots: dict[str, Lot] = {}
        self.shipments: dict[str, Shipment] = {}
        self.flags: list[Flag] = []
        self.statuses: list[CountryStatus] = []
        self.sanction_list: list[Sanction] = []
        self.certificates: dict[str, Certificate] = {}
        self.attestations: list[Attestation] = []
        self.corrections: list[Correction] = []
        self.logged: dict[str, Event] = {}
        """Applied events by id, for corrections."""
        self.signed: list[tuple[str, str, int]] = []
        """(event id, key id, the later of its declared and logged times) of every applied event, for
        compromise look-ups."""
        self.ledger_settings = LedgerSettings()
        self.windows: dict[str, Backfill] = {}

    def participant(self, participant_id: str) -> Participant | None:
        return self.participants.get(participant_id)

    def key(self, key_id: str) -> Key | None:
        return self.keys.get(key_id)

    def site(self, site_id: str) -> Site | None:
        return self.sites.get(site_id)

    def lot(self, lot_id: str) -> Lot | None:
        return self.lots.get(lot_id)

    def shipment(self, shipment_id: str) -> Shipment | None:
        return self.shipments.get(shipment_id)

    def administrator(self) -> str | None:
        for p in self.participants.values():
            if "administrator" in p.roles:
                return p.id
        return None

    def country_statuses(self, country: str) -> list[CountryStatus]:
        return [s for s in self.statuses if s.country == country]

    def sanctions(self) -> list[Sanction]:
        return list(self.sanction_list)

    def certificate(self, number: str) -> Certificate | None:
        return self.certificates.get(number)

    def events_signed_since(self, key_id: str, time_ns: int) -> list[str]:
        return [event for event, key, when in self.signed if key == key_id and when >= time_ns]

    def event_logged(self, event_id: str) -> bool:
        return any(event == event_id for event, _, _ in self.signed)

    def put_attestation(self, attestation: Attestation) -> None:
        self.attestations.append(attestation)

    def logged_event(self, event_id: str) -> Event | None:
        return self.logged.get(event_id)

    def put_correction(self, correction: Correction) -> None:
        self.corrections.append(correction)

    def settings(self) -> LedgerSettings:
        return self.ledger_settings

    def put_settings(self, settings: LedgerSettings) -> None:
        self.ledger_settings = settings

    def backfills(self) -> list[Backfill]:
        return list(self.windows.values())

    def put_backfill(self, backfill: Backfill) -> None:
        self.windows[backfill.id] = backfill

    def touch(self, lot_id: str) -> None:
        return None

    def put_country_status(self, status: CountryStatus) -> None:
        self.statuses.append(status)

    def put_sanction(self, sanction: Sanction) -> None:
        self.sanction_list = [s for s in self.sanction_list if s.id != sanction.id] + [sanction]

    def put_certificate(self, certificate: Certificate) -> None:
        self.certificates[certificate.number] = certificate

    def put_participant(self, participant: Participant) -> None:
        self.participants[participant.id] = participant

    def put_key(self, key: Key) -> None:
        self.keys[key.id] = key

    def put_site(self, site: Site) -> None:
        self.sites[site.id] = site

    def put_lot(self, lot: Lot) -> None:
        self.lots[lot.id] = lot

    def put_shipment(self, shipment: Shipment) -> None:
        self.shipments[shipment.id] = shipment

    def flag(self, flag: Flag) -> None:
        self.flags.append(flag)
