"""Kimberley Process rules: country standing, sanctions and certificates (EVENTS.md, "Kimberley Process
certificates", and ``country.status`` / ``sanction.set``).

Standing is looked up at the time that matters (a certificate's ``issued``, a shipment's or receipt's
``time``) from the administrator's ``country.status`` history. A country with no recorded status counts as a
participant in good standing; ``adamas policy load-kp`` records the real list, non-participants included.
The European Union is one participant: its member states take their standing from ``EU``, and goods moving
between them stay inside one KP participant (no certificate, no import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from adamas.model.checks import actor_of, flag, is_admin, refuse, registered
from adamas.model.events import Event
from adamas.model.records import (
    EU_MEMBERS,
    EU_TERRITORIES,
    POLISHED_KINDS,
    ROUGH_KINDS,
    Certificate,
    CountryStatus,
    Lot,
    Participant,
    Sanction,
    Shipment,
)
from adamas.model.state import State
from adamas.model.values import Hundredths, format_hundredths, format_time_ns

__all__ = [
    "KP_HANDLERS",
    "check_export",
    "check_import",
    "check_production",
    "kp_participant",
    "origin_by_country",
    "origin_countries",
    "standing",
]

CERTIFICATE_MONTHS: Final = 12


def kp_participant(country: str | None) -> str | None:
    """The KP participant a country belongs to: ``EU`` for member states, else the country itself."""
    return "EU" if country in EU_MEMBERS or country in EU_TERRITORIES else country


def standing(state: State, country: str | None, at_ns: int) -> CountryStatus | None:
    """The status in force for ``country`` at ``at_ns``; None where none was ever recorded (participant)."""
    current: CountryStatus | None = None
    participant = kp_participant(country)
    if participant is None:
        return None
    for entry in state.country_statuses(participant):
        if entry.effective_ns <= at_ns and (current is None or entry.effective_ns >= current.effective_ns):
            current = entry
    return current


def _instants(event: Event, declared_ns: int | None = None) -> tuple[int, ...]:
    """When a validity window is judged for ``event``: at the declared instant (``declared_ns``, default the
    event's time) and at the logged time, or at the declared instant alone inside a backfill window, so that
    backdating cannot escape a suspension, a sanction or an expiry (docs/time.md)."""
    declared = event.time_ns if declared_ns is None else declared_ns
    if event.logged_ns is None or event.backfill is not None or event.logged_ns == declared:
        return (declared,)
    return (declared, event.logged_ns)


def _require_standing(
    state: State,
    country: str | None,
    at: int | tuple[int, ...],
    field: str,
    *,
    what: str,
    zones: Iterable[str | None] | None = None,
) -> None:
    """Refuse unless ``country`` is a participant in good standing at every instant of ``at`` (or,
    suspended, every one of ``zones`` is a listed compliant zone)."""
    zone_list = list(zones) if zones is not None else []
    for at_ns in (at,) if isinstance(at, int) else at:
        _require_standing_at(state, country, at_ns, field, what=what, zones=zone_list)


def _require_standing_at(
    state: State,
    country: str | None,
    at_ns: int,
    field: str,
    *,
    what: str,
    zones: list[str | None],
) -> None:
    entry = standing(state, country, at_ns)
    if entry is None or entry.status == "participant":
        return
    when = format_time_ns(at_ns)
    if entry.status == "non_participant":
        raise refuse(
            "country.not_participant",
            f"{country} is not a Kimberley Process participant at {when}: {what} refused",
            field,
            country=country,
        )
    listed = set(entry.compliant_zones)
    if zones and all(zone is not None and zone in listed for zone in zones):
        return
    raise refuse(
        "country.suspended",
        f"{country} is suspended from the Kimberley Process at {when} ({entry.reason}); {what} is "
        "allowed only from its listed compliant zones",
        field,
        country=country,
        compliant_zones=sorted(listed),
    )


def origin_by_country(lots: Iterable[Lot], country_of: Callable[[str], str | None]) -> dict[str, Hundredths]:
    """Carats by country of origin over ``lots``, given each mine site's country (``??`` if unknown)."""
    out: dict[str, Hundredths] = {}
    for lot in lots:
        for site_id, carats in lot.origin.items():
            country = country_of(site_id) or "??"
            out[country] = out.get(country, 0) + carats
    return dict(sorted(out.items()))


def origin_countries(state: State, lots: Iterable[Lot]) -> dict[str, Hundredths]:
    """Carats by country of origin over ``lots`` (through the mines' countries in ``state``)."""
    return origin_by_country(lots, lambda site_id: site.country if (site := state.site(site_id)) else None)


def _zones(state: State, lots: Iterable[Lot]) -> list[str | None]:
    out = []
    for lot in lots:
        for site_id in lot.origin:
            site = state.site(site_id)
            out.append(site.zone if site is not None else None)
    return out


# --- hooks for the custody rules ------------------------------------------------------------------------


def check_production(state: State, event: Event, country: str, zone: str | None) -> None:
    """Production is refused in a non-participant, and in a suspended country outside compliant zones."""
    _require_standing(state, country, _instants(event), "lot.site", what="production", zones=[zone])


def crosses_kp_border(sender: Participant, to: Participant) -> bool:
    """True when goods leave one KP participant for another (EU member states are one)."""
    return kp_participant(sender.country) != kp_participant(to.country)


def check_export(
    event: Event, state: State, sender: Participant, to: Participant, lots: Sequence[Lot]
) -> Certificate | None:
    """Rules of a cross-border shipment of rough; returns the certificate it uses up."""
    if not any(lot.kind in ROUGH_KINDS for lot in lots):
        return None
    instants = _instants(event)
    _require_standing(state, sender.country, instants, "actor", what="export", zones=_zones(state, lots))
    _require_standing(state, to.country, instants, "to", what="import")
    number = event.fields["certificate"]
    if number is None:
        raise refuse(
            "certificate.required",
            f"rough crossing from {sender.country} to {to.country} needs a Kimberley Process certificate",
            "certificate",
        )
    cert = state.certificate(number)
    if cert is None:
        raise refuse("certificate.required", f"there is no issued certificate {number}", "certificate")
    if cert.void_event is not None:
        raise refuse(
            "certificate.void", f"certificate {number} was voided and backs no shipment", "certificate"
        )
    if cert.used_by is not None:
        raise refuse(
            "certificate.used",
            f"certificate {number} already backed shipment {cert.used_by}; a certificate backs one "
            "shipment only",
            "certificate",
        )
    # No grace: a shipment logged after the expiry instant is refused whatever time it declares.
    if max(instants) > cert.expires_ns:
        raise refuse(
            "certificate.expired",
            f"certificate {number} expired at {format_time_ns(cert.expires_ns)}"
            + (
                f"; the ledger logged this shipment at {format_time_ns(max(instants))}"
                if max(instants) > event.time_ns
                else ""
            ),
            "certificate",
        )
    expected = {
        "exporter": (cert.exporter, sender.id),
        "importer": (cert.importer, to.id),
        "shipment": (cert.shipment, event.fields["shipment"]),
        "lots": (sorted(cert.lots), sorted(lot.id for lot in lots)),
    }
    for name, (on_certificate, shipped) in expected.items():
        if on_certificate != shipped:
            raise refuse(
                "certificate.mismatch",
                f"certificate {number} names {name} {on_certificate}; the shipment has {shipped}",
                "lots" if name == "lots" else name if name != "importer" else "to",
                expected=on_certificate,
                actual=shipped,
            )
    carats = sum(lot.carats for lot in lots)
    if carats != cert.carats or origin_countries(state, lots) != cert.origin:
        raise refuse(
            "certificate.mismatch",
            f"the lots weigh {format_hundredths(carats)} ct by origin "
            f"{_origin_text(origin_countries(state, lots))}; certificate {number} says "
            f"{format_hundredths(cert.carats)} ct by {_origin_text(cert.origin)}",
            "lots",
        )
    return cert


def check_import(event: Event, state: State, shipment: Shipment, lots: Sequence[Lot]) -> None:
    """Rules of receiving a shipment that crossed a KP border: confirmed certificate, no sanction."""
    receiver = actor_of(event, state)
    sender = registered(state, shipment.sender, "shipment")
    if not crosses_kp_border(sender, receiver):
        return
    if shipment.certificate is not None:
        cert = state.certificate(shipment.certificate)
        if cert is not None and cert.void_event is not None:
            raise refuse(
                "certificate.void",
                f"certificate {cert.number} was voided; the goods cannot be received under it",
                "shipment",
            )
        if cert is not None and cert.confirmed_event is None:
            raise refuse(
                "certificate.unconfirmed",
                f"certificate {cert.number} awaits the confirmation of the importing authority of "
                f"{receiver.country}",
                "shipment",
            )
    for i, lot in enumerate(lots):
        sanction = _sanction_for(state, lot, receiver.country, max(_instants(event)))
        if sanction is not None:
            raise refuse(
                "sanction.origin",
                f"lot {lot.id} has origin in {', '.join(sanction[1])}, which sanction {sanction[0].id} "
                f"bars from {receiver.country} since {format_time_ns(sanction[0].effective_ns)} "
                f"({sanction[0].reason})",
                f"lots[{i}]",
                sanction=sanction[0].id,
            )


def _applies_to(sanction: Sanction, importing_country: str | None, at_ns: int) -> bool:
    if at_ns < sanction.effective_ns or importing_country is None:
        return False
    places = set(sanction.importing_countries)
    return importing_country in places or kp_participant(importing_country) in places


def _sanction_for(
    state: State, lot: Lot, importing_country: str | None, at_ns: int
) -> tuple[Sanction, list[str]] | None:
    origins = origin_countries(state, [lot])
    for sanction in state.sanctions():
        if not _applies_to(sanction, importing_country, at_ns):
            continue
        if sanction.lot_kinds and lot.kind not in sanction.lot_kinds:
            continue
        barred = sorted(set(origins) & set(sanction.origin_countries))
        if not barred:
            continue
        if sanction.min_stone_carats is not None and lot.kind in POLISHED_KINDS:
            # Polished stones below the threshold are exempt, judged by the largest any stone of a barred
            # origin can be (tracked from the cut through every merge), never by declared stone counts.
            heaviest = max(
                lot.largest_stone(site)
                for site in lot.origin
                if (found := state.site(site)) is not None and found.country in barred
            )
            if heaviest < sanction.min_stone_carats:
                continue
        return sanction, barred
    return None


def _origin_text(origin: dict[str, Hundredths]) -> str:
    return ", ".join(f"{country} {format_hundredths(c)} ct" for country, c in origin.items()) or "nothing"


# --- handlers -------------------------------------------------------------------------------------------


def _require_admin(event: Event, state: State, field: str) -> None:
    if not is_admin(actor_of(event, state)):
        raise refuse("actor.not_authorized", f"only the scheme administrator may sign {event.type}", field)


def _country_status(event: Event, state: State) -> None:
    _require_admin(event, state, "country")
    f = event.fields
    state.put_country_status(
        CountryStatus(
            f["country"], f["status"], f["effective_ns"], f["reason"], event.id, f["compliant_zones"]
        )
    )


def _sanction_set(event: Event, state: State) -> None:
    _require_admin(event, state, "sanction")
    s = event.fields["sanction"]
    if any(existing.id == s["id"] for existing in state.sanctions()):
        raise refuse("sanction.exists", f"sanction {s['id']} is already set", "sanction.id")
    state.put_sanction(
        Sanction(
            id=s["id"],
            origin_countries=s["origin_countries"],
            importing_countries=s["importing_countries"],
            effective_ns=s["effective_ns"],
            reason=s["reason"],
            event=event.id,
            min_stone_carats=s["min_stone_carats"],
            single_origin_required=s["single_origin_required"],
            lot_kinds=s["lot_kinds"],
        )
    )


def _months_later(time_ns: int, months: int) -> int:
    moment = datetime.fromtimestamp(time_ns // 1_000_000_000, UTC)
    year, month = divmod(moment.month - 1 + months, 12)
    day = moment.day
    while True:
        try:
            later = moment.replace(year=moment.year + year, month=month + 1, day=day)
            break
        except ValueError:
            day -= 1  # the 31st of a shorter month: its last day
    return int(later.timestamp()) * 1_000_000_000 + time_ns % 1_000_000_000


def _certificate_issue(event: Event, state: State) -> None:
    c = event.fields["certificate"]
    number = c["number"]
    actor = actor_of(event, state)
    exporting, importing = c["exporting_country"], c["importing_country"]
    if "authority" not in actor.roles or actor.country != exporting:
        raise refuse(
            "actor.not_authorized",
            f"only the KP authority of {exporting} issues its certificates; {actor.id} is not it",
            "certificate.exporting_country",
        )
    if not number.startswith(exporting + "-"):
        raise refuse(
            "event.schema", f"certificate number {number} must start with {exporting}-", "certificate.number"
        )
    if state.certificate(number) is not None:
        raise refuse(
            "certificate.exists", f"certificate number {number} is already used", "certificate.number"
        )
    if c["expires_ns"] <= c["issued_ns"] or c["expires_ns"] > _months_later(
        c["issued_ns"], CERTIFICATE_MONTHS
    ):
        raise refuse(
            "certificate.expired",
            "a certificate expires after its issue and at most 12 months later",
            "certificate.expires",
        )
    if c["issued_ns"] > event.time_ns:
        raise refuse("event.schema", "certificate.issued is after the event's time", "certificate.issued")
    exporter = registered(state, c["exporter"], "certificate.exporter")
    importer = registered(state, c["importer"], "certificate.importer")
    for who, role, country, field in (
        (exporter, "exporter", exporting, "certificate.exporter"),
        (importer, "importer", importing, "certificate.importer"),
    ):
        if not who.active:
            raise refuse("actor.suspended", f"{who.id} is {who.status}", field)
        if role not in who.roles or who.country != country:
            raise refuse("certificate.mismatch", f"{who.id} is not a registered {role} in {country}", field)
    issued_at = _instants(event, c["issued_ns"])
    _require_standing(state, importing, issued_at, "certificate.importing_country", what="import")
    lots = []
    for i, lot_id in enumerate(c["lots"]):
        lot = state.lot(lot_id)
        field = f"certificate.lots[{i}]"
        if lot is None:
            raise refuse("custody.unknown_lot", f"there is no lot {lot_id}", field)
        if lot.holder != exporter.id or lot.state != "held":
            raise refuse(
                "certificate.mismatch",
                f"lot {lot_id} is {lot.state} with {lot.holder}, not held by the exporter {exporter.id}",
                field,
            )
        if lot.kind not in ROUGH_KINDS:
            raise refuse(
                "certificate.mismatch", f"lot {lot_id} is {lot.kind}; certificates cover rough", field
            )
        if c["issued_ns"] < lot.last_time_ns:
            raise refuse(
                "event.time_order",
                f"certificate.issued is before the last event of lot {lot_id}",
                "certificate.issued",
            )
        lots.append(lot)
    carats = sum(lot.carats for lot in lots)
    if carats != c["carats"]:
        raise refuse(
            "certificate.mismatch",
            f"the lots weigh {format_hundredths(carats)} ct; the certificate says "
            f"{format_hundredths(c['carats'])} ct",
            "certificate.carats",
            expected=format_hundredths(carats),
            actual=format_hundredths(c["carats"]),
        )
    origin = origin_countries(state, lots)
    if origin != c["origin"]:
        raise refuse(
            "certificate.mismatch",
            f"the lots come from {_origin_text(origin)}; the certificate says {_origin_text(c['origin'])}",
            "certificate.origin",
        )
    if c["parcels"] != len(lots):
        raise refuse(
            "certificate.mismatch",
            f"the certificate covers {len(lots)} lots, not {c['parcels']} parcels",
            "certificate.parcels",
        )
    _require_standing(
        state, exporting, issued_at, "certificate.lots", what="export", zones=_zones(state, lots)
    )
    if len(origin) > 1:
        for sanction in state.sanctions():
            if sanction.single_origin_required and _applies_to(sanction, importing, max(issued_at)):
                raise refuse(
                    "sanction.single_origin",
                    f"{importing} accepts only single-origin certificates (sanction {sanction.id}); "
                    f"these lots come from {_origin_text(origin)}",
                    "certificate.origin",
                    sanction=sanction.id,
                )
    state.put_certificate(
        Certificate(
            number=number,
            issuer=actor.id,
            exporter=exporter.id,
            importer=importer.id,
            exporting_country=exporting,
            importing_country=importing,
            origin=origin,
            carats=carats,
            value=c["value"],
            parcels=c["parcels"],
            hs_code=c["hs_code"],
            issued_ns=c["issued_ns"],
            expires_ns=c["expires_ns"],
            shipment=c["shipment"],
            lots=tuple(c["lots"]),
            event=event.id,
        )
    )


def _known_certificate(state: State, number: str) -> Certificate:
    cert = state.certificate(number)
    if cert is None:
        raise refuse("certificate.unknown", f"there is no certificate {number}", "number")
    return cert


def _certificate_confirm(event: Event, state: State) -> None:
    cert = _known_certificate(state, event.fields["number"])
    actor = actor_of(event, state)
    if "authority" not in actor.roles or actor.country != cert.importing_country:
        raise refuse(
            "actor.not_authorized",
            f"only the KP authority of {cert.importing_country} confirms this import",
            "number",
        )
    if cert.void_event is not None:
        raise refuse("certificate.void", f"certificate {cert.number} was voided", "number")
    if cert.used_by is None:
        raise refuse(
            "certificate.not_shipped",
            f"nothing has been shipped under certificate {cert.number} yet",
            "number",
        )
    if cert.confirmed_event is not None:
        raise refuse("certificate.confirmed", f"certificate {cert.number} is confirmed already", "number")
    f = event.fields
    if f["received_carats"] != cert.carats or f["parcels"] != cert.parcels:
        flag(
            state,
            event,
            "certificate.quantity_mismatch",
            f"the importing authority counted {f['parcels']} parcels of "
            f"{format_hundredths(f['received_carats'])} ct; certificate {cert.number} says "
            f"{cert.parcels} of {format_hundredths(cert.carats)} ct",
            expected=format_hundredths(cert.carats),
            actual=format_hundredths(f["received_carats"]),
        )
    if not f["seal_intact"]:
        flag(
            state,
            event,
            "certificate.seal_broken",
            f"the shipment under {cert.number} arrived with a broken seal",
        )
    state.put_certificate(
        replace(
            cert,
            confirmed_event=event.id,
            confirmation={
                "received_carats": format_hundredths(f["received_carats"]),
                "parcels": f["parcels"],
                "seal_intact": f["seal_intact"],
            },
        )
    )


def _certificate_void(event: Event, state: State) -> None:
    cert = _known_certificate(state, event.fields["number"])
    actor = actor_of(event, state)
    if actor.id != cert.issuer and not (
        "authority" in actor.roles and actor.country == cert.exporting_country
    ):
        raise refuse(
            "actor.not_authorized", f"only the issuing authority voids certificate {cert.number}", "number"
        )
    if cert.void_event is not None:
        raise refuse("certificate.void", f"certificate {cert.number} is void already", "number")
    state.put_certificate(replace(cert, void_event=event.id))


KP_HANDLERS: Final[dict[str, Callable[[Event, State], None]]] = {
    "country.status": _country_status,
    "sanction.set": _sanction_set,
    "certificate.issue": _certificate_issue,
    "certificate.confirm": _certificate_confirm,
    "certificate.void": _certificate_void,
}
