"""Kimberley Process rules (issue 4): certificates, country standing, sanctions, the EU, key compromise.

The attack table builds each case on ``basic_world()`` (plus accepted setup events) and returns one bad
envelope; the test checks the refusal's exact ``code`` and ``field`` and that nothing at all was written (the
log size and every row of every table are unchanged). The other tests replay whole stories: a KP
export-import, EU-internal trade, a key compromise and rotation, the Central African Republic's suspension
and compliant zones, and the G7 measures on Russian diamonds, with their real dates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from adamas import Ledger
from adamas.model.values import format_time_ns, parse_time
from adamas.sim import World
from adamas.sim.world import Actor
from adamas.store import schema
from conftest import EventClock, basic_world
from refusal_tables import assert_human, case_table, snapshot, submit_ok

Envelope = dict[str, Any]
Build = Callable[[World], Envelope]
DAY_NS = 86_400 * 1_000_000_000

CASES, case = case_table()


# --- ledger helpers (copied in spirit from test_refusals.py) ------------------------------------------------


def state_snapshot(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every derived state table (what ``rebuild`` recomputes)."""
    with ledger.engine.connect() as conn:
        return {
            t.name: [tuple(row) for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in schema.STATE_TABLES
        }


def assert_refused(ledger: Ledger, envelope: Envelope, code: str, field: str | None) -> None:
    """Submit one envelope; it must be refused with ``code`` at ``field`` and change nothing."""
    size, before = ledger.size, snapshot(ledger)
    (outcome,) = ledger.submit([envelope])
    assert outcome.status == "refused", outcome.to_json()
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.field) == (code, field), outcome.to_json()
    assert_human(outcome.error.message)
    assert ledger.size == size
    assert snapshot(ledger) == before


class Script:
    """A world whose new envelopes are submitted one step at a time to a ledger."""

    def __init__(self, w: World, ledger: Ledger, clock: EventClock | None = None) -> None:
        self.w = w
        self.ledger = ledger
        self.clock = clock
        self.sent = 0
        self.flush()

    def flush(self) -> None:
        """Submit every recorded envelope not yet sent; all must be accepted."""
        pending = self.w.events[self.sent :]
        if self.clock is None:
            submit_ok(self.ledger, pending)
        else:
            refused = [o.to_json() for o in self.clock.submit(self.ledger, pending) if not o.ok]
            assert not refused, refused
        self.sent = len(self.w.events)

    def refused(self, envelope: Envelope, code: str, field: str | None) -> None:
        self.flush()
        if self.clock is not None:
            self.clock.now_ns = max(self.clock.now_ns, parse_time(envelope["body"]["time"], "time"))
        assert_refused(self.ledger, envelope, code, field)

    def accepted(self, envelope: Envelope) -> None:
        self.flush()
        if self.clock is None:
            (outcome,) = self.ledger.submit([envelope])
        else:
            (outcome,) = self.clock.submit(self.ledger, [envelope])
        assert outcome.status == "accepted", outcome.to_json()


def at(w: World, moment: str) -> None:
    """Move the world's clock to ``moment`` (never backwards)."""
    ns = parse_time(moment, "moment")
    assert ns >= w.now_ns, (moment, w.time)
    w.now_ns = ns


def next_time(w: World) -> str:
    """The time the next signed event will carry."""
    return format_time_ns(w.now_ns + w.step_ns)


# --- world helpers ------------------------------------------------------------------------------------------

NUMBER = "BW-2026-000001"


def produce(w: World, lot_id: str = "LOT-1", carats: str = "100.00", *, site: str = "mine-a") -> str:
    return w.produce("miner", lot_id, site, carats, stones=50)


def certificate(
    w: World,
    number: str = NUMBER,
    *,
    authority: str = "bw-authority",
    lots: tuple[str, ...] = ("LOT-1",),
    carats: str = "100.00",
    origin: dict[str, str] | None = None,
    exporter: str = "miner",
    importer: str = "be-importer",
    exporting: str = "BW",
    importing: str = "BE",
    shipment: str = "shp-kp-1",
    valid_days: int = 90,
    parcels: int | None = None,
    record: bool = True,
) -> Envelope:
    """A ``certificate.issue`` (recorded unless ``record=False``), issued now."""
    return w.sign(
        authority,
        "certificate.issue",
        record=record,
        certificate={
            "number": number,
            "exporter": exporter,
            "importer": importer,
            "exporting_country": exporting,
            "importing_country": importing,
            "origin": origin if origin is not None else {exporting: carats},
            "carats": carats,
            "value": {"amount": "15000.00", "currency": "USD"},
            "parcels": parcels if parcels is not None else len(lots),
            "hs_code": "7102.10",
            "issued": w.time,
            "expires": format_time_ns(w.now_ns + valid_days * DAY_NS),
            "shipment": shipment,
            "lots": list(lots),
        },
    )


def ship(
    w: World,
    shipment: str = "shp-kp-1",
    lots: tuple[str, ...] = ("LOT-1",),
    to: str = "be-importer",
    *,
    sender: str = "miner",
    number: str | None = NUMBER,
    record: bool = True,
) -> Envelope:
    extra = {"certificate": number} if number is not None else {}
    return w.sign(sender, "lot.ship", record=record, shipment=shipment, lots=list(lots), to=to, **extra)


def confirm(
    w: World,
    number: str = NUMBER,
    carats: str = "100.00",
    parcels: int = 1,
    *,
    authority: str = "be-authority",
    record: bool = True,
) -> Envelope:
    return w.sign(
        authority,
        "certificate.confirm",
        record=record,
        number=number,
        received_carats=carats,
        parcels=parcels,
        seal_intact=True,
    )


def void(w: World, number: str = NUMBER, *, authority: str = "bw-authority", record: bool = True) -> Envelope:
    return w.sign(
        authority, "certificate.void", record=record, number=number, reason="issued in error, recalled"
    )


def receive(
    w: World,
    shipment: str = "shp-kp-1",
    weighed: dict[str, str] | None = None,
    *,
    receiver: str = "be-importer",
    record: bool = True,
) -> Envelope:
    weighed = weighed if weighed is not None else {"LOT-1": "100.00"}
    return w.sign(
        receiver,
        "lot.receive",
        record=record,
        shipment=shipment,
        lots=[{"id": i, "carats": c} for i, c in weighed.items()],
        seal_intact=True,
    )


def exported(w: World) -> None:
    """``LOT-1`` (100 ct, Botswana) certified and shipped from the miner to the Belgian importer."""
    produce(w)
    certificate(w)
    ship(w)


def status(w: World, country: str, state: str, *, zones: list[str] | None = None) -> None:
    """Record ``country``'s standing, effective from the next event on."""
    w.country_status(country, state, next_time(w), f"test standing: {state}", compliant_zones=zones)


def never_participant(w: World) -> None:
    """Somalia, which never joined the KP, with an authority and an importer registered there."""
    w.country_status("SO", "non_participant", "2003-01-01T00:00:00Z", "never joined the Kimberley Process")
    so = w.authority("SO")
    w.register(so, "so-importer", "SO", ["importer", "trader"])


G7 = ["US", "GB", "CA", "JP", "EU"]


def g7_sanctions(w: World) -> None:
    """The two G7 measures on Russian diamonds polished anywhere, with their real thresholds and dates."""
    w.sanction(
        "g7-russia-1ct",
        ["RU"],
        G7,
        "2024-03-01T00:00:00Z",
        "G7 ban on Russian-origin diamonds of 1 ct and more, also when polished in third countries",
        min_stone_carats="1.00",
    )
    w.sanction(
        "g7-russia-0.5ct",
        ["RU"],
        G7,
        "2024-09-01T00:00:00Z",
        "G7 ban lowered to Russian-origin diamonds of 0.5 ct and more",
        min_stone_carats="0.50",
    )


def russian_mine(w: World) -> None:
    """A Russian KP authority, a miner with a mine, an Indian authority and an Indian cutter."""
    ru = w.authority("RU")
    w.register(ru, "ru-miner", "RU", ["mine_operator", "exporter"])
    w.site(ru, "ru-mine", "mine", "RU", "ru-miner")
    ind = w.authority("IN")
    w.register(ind, "in-cutter", "IN", ["importer", "manufacturer", "exporter"])


def russian_polished_in_india(w: World, stones: dict[str, str]) -> None:
    """Russian rough exported to India under a certificate, cut there into ``stones`` ``{id: carats}``."""
    russian_mine(w)
    w.produce("ru-miner", "RU-1", "ru-mine", "6.00", stones=4)
    certificate(
        w,
        "RU-2026-000001",
        authority="ru-authority",
        lots=("RU-1",),
        carats="6.00",
        exporter="ru-miner",
        importer="in-cutter",
        exporting="RU",
        importing="IN",
        shipment="shp-ru-in",
    )
    ship(w, "shp-ru-in", ("RU-1",), "in-cutter", sender="ru-miner", number="RU-2026-000001")
    confirm(w, "RU-2026-000001", "6.00", authority="in-authority")
    receive(w, "shp-ru-in", {"RU-1": "6.00"}, receiver="in-cutter")
    w.manufacture("in-cutter", "RU-1", stones)


def mixed_lot_at_trader(w: World) -> str:
    """``MIX-1``: 60 ct of Botswana rough and 40 ct of South African rough (imported under a certificate),
    merged by the trader."""
    za = w.authority("ZA")
    w.register(za, "za-miner", "ZA", ["mine_operator", "exporter"])
    w.site(za, "za-mine", "mine", "ZA", "za-miner")
    w.produce("za-miner", "ZA-1", "za-mine", "40.00", stones=20)
    certificate(
        w,
        "ZA-2026-000001",
        authority="za-authority",
        lots=("ZA-1",),
        carats="40.00",
        exporter="za-miner",
        importer="trader",
        exporting="ZA",
        importing="BW",
        shipment="shp-za-bw",
    )
    ship(w, "shp-za-bw", ("ZA-1",), "trader", sender="za-miner", number="ZA-2026-000001")
    confirm(w, "ZA-2026-000001", "40.00", authority="bw-authority")
    receive(w, "shp-za-bw", {"ZA-1": "40.00"}, receiver="trader")
    produce(w, "BW-1", "60.00")
    ship(w, "shp-bw-dom", ("BW-1",), "trader", number=None)
    receive(w, "shp-bw-dom", {"BW-1": "60.00"}, receiver="trader")
    return w.merge("trader", ["BW-1", "ZA-1"], "MIX-1")


def mixed_certificate(w: World, *, record: bool = True, importer: str = "be-importer") -> Envelope:
    return certificate(
        w,
        lots=("MIX-1",),
        origin={"BW": "60.00", "ZA": "40.00"},
        exporter="trader",
        importer=importer,
        importing="BE" if importer == "be-importer" else "US",
        record=record,
    )


def eu_single_origin(w: World) -> None:
    w.sanction(
        "eu-single-origin-2025",
        ["RU"],
        ["EU"],
        "2025-01-01T00:00:00Z",
        "EU accepts only single-origin KP certificates (mixed parcels may hide Russian goods)",
        single_origin_required=True,
    )


# --- the attack table: forged and stretched certificates ----------------------------------------------------


@case("forged_certificate_issued_by_a_trader", "actor.not_authorized", "certificate.exporting_country")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, authority="trader", record=False)


@case(
    "forged_certificate_issued_by_the_exporter_itself",
    "actor.not_authorized",
    "certificate.exporting_country",
)
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, authority="miner", record=False)


@case("authority_issuing_for_another_country", "actor.not_authorized", "certificate.exporting_country")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, authority="be-authority", record=False)


@case("certificate_signed_with_another_participants_key", "envelope.unknown_key", "key")
def _(w: World) -> Envelope:
    produce(w)
    env = certificate(w, record=False)
    return w.sign(
        "bw-authority",
        "certificate.issue",
        record=False,
        key=w.actor("trader").key,
        certificate=env["body"]["certificate"],
    )


@case("certificate_altered_after_signing", "envelope.bad_signature", "sig")
def _(w: World) -> Envelope:
    produce(w)
    env = certificate(w, record=False)
    env["body"]["certificate"]["importer"] = "lab"
    return env


@case("certificate_reused_for_a_second_shipment", "certificate.used", "certificate")
def _(w: World) -> Envelope:
    exported(w)
    produce(w, "LOT-2")
    return ship(w, "shp-kp-2", ("LOT-2",), record=False)


@case("carats_inflated_on_the_certificate", "certificate.mismatch", "certificate.carats")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, carats="150.00", record=False)


@case("origin_misstated_on_the_certificate", "certificate.mismatch", "certificate.origin")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, origin={"ZA": "100.00"}, record=False)


@case("origin_declared_single_for_mixed_lots", "certificate.mismatch", "certificate.origin")
def _(w: World) -> Envelope:
    mixed_lot_at_trader(w)
    return certificate(w, lots=("MIX-1",), exporter="trader", record=False)


@case("parcel_count_misstated", "certificate.mismatch", "certificate.parcels")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, parcels=3, record=False)


@case("certificate_over_lots_the_exporter_does_not_hold", "certificate.mismatch", "certificate.lots[0]")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, exporter="trader", record=False)


@case("certificate_over_lots_already_in_transit", "certificate.mismatch", "certificate.lots[0]")
def _(w: World) -> Envelope:
    produce(w)
    ship(w, "shp-dom", to="trader", number=None)
    return certificate(w, record=False)


@case("certificate_over_polished", "certificate.mismatch", "certificate.lots[0]")
def _(w: World) -> Envelope:
    produce(w)
    ship(w, "shp-dom", to="cutter", number=None)
    receive(w, "shp-dom", receiver="cutter")
    w.manufacture("cutter", "LOT-1", {"PS-1": "40.00"})
    return certificate(w, lots=("PS-1",), carats="40.00", exporter="cutter", record=False)


@case("certificate_importer_in_another_country", "certificate.mismatch", "certificate.importer")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, importer="trader", record=False)


@case("certificate_exporter_suspended", "actor.suspended", "certificate.exporter")
def _(w: World) -> Envelope:
    produce(w)
    w.sign("bw-authority", "participant.status", participant="miner", status="suspended", reason="audit")
    return certificate(w, record=False)


@case("certificate_number_of_another_country", "event.schema", "certificate.number")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, "BE-2026-000001", record=False)


@case("second_certificate_with_the_same_number", "certificate.exists", "certificate.number")
def _(w: World) -> Envelope:
    produce(w)
    produce(w, "LOT-2")
    certificate(w)
    return certificate(w, lots=("LOT-2",), shipment="shp-kp-2", record=False)


@case("certificate_expiring_more_than_12_months_after_issue", "certificate.expired", "certificate.expires")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, valid_days=366, record=False)


@case("certificate_expiring_at_its_issue", "certificate.expired", "certificate.expires")
def _(w: World) -> Envelope:
    produce(w)
    return certificate(w, valid_days=0, record=False)


# --- shipping under a certificate ---------------------------------------------------------------------------


@case("rough_across_the_border_without_certificate", "certificate.required", "certificate")
def _(w: World) -> Envelope:
    produce(w)
    return ship(w, number=None, record=False)


@case("lots_swapped_after_issue", "certificate.mismatch", "lots")
def _(w: World) -> Envelope:
    produce(w)
    produce(w, "LOT-2")  # same weight, same origin: only the ids differ
    certificate(w)
    return ship(w, lots=("LOT-2",), record=False)


@case("lot_added_to_a_certified_shipment", "certificate.mismatch", "lots")
def _(w: World) -> Envelope:
    produce(w)
    produce(w, "LOT-2")
    certificate(w)
    return ship(w, lots=("LOT-1", "LOT-2"), record=False)


@case("certified_lots_shipped_to_another_importer", "certificate.mismatch", "to")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w)
    return ship(w, to="lab", record=False)


@case("certified_lots_shipped_under_another_shipment_id", "certificate.mismatch", "shipment")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w)
    return ship(w, "shp-other", record=False)


@case("voided_certificate_used_to_ship", "certificate.void", "certificate")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w)
    void(w)
    return ship(w, record=False)


@case("expired_certificate_used_to_ship", "certificate.expired", "certificate")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w, valid_days=1)
    w.now_ns += 2 * DAY_NS
    return ship(w, record=False)


# --- confirmation and receipt -------------------------------------------------------------------------------


@case("receipt_without_confirmation", "certificate.unconfirmed", "shipment")
def _(w: World) -> Envelope:
    exported(w)
    return receive(w, record=False)


@case("receipt_after_the_certificate_was_voided_in_transit", "certificate.void", "shipment")
def _(w: World) -> Envelope:
    exported(w)
    void(w)
    return receive(w, record=False)


@case("receipt_after_the_confirmed_certificate_was_voided", "certificate.void", "shipment")
def _(w: World) -> Envelope:
    exported(w)
    confirm(w)
    void(w)
    return receive(w, record=False)


@case("confirmation_by_the_exporting_countrys_authority", "actor.not_authorized", "number")
def _(w: World) -> Envelope:
    exported(w)
    return confirm(w, authority="bw-authority", record=False)


@case("confirmation_by_the_importer_itself", "actor.not_authorized", "number")
def _(w: World) -> Envelope:
    exported(w)
    return confirm(w, authority="be-importer", record=False)


@case("confirmation_before_shipping", "certificate.not_shipped", "number")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w)
    return confirm(w, record=False)


@case("confirmation_twice", "certificate.confirmed", "number")
def _(w: World) -> Envelope:
    exported(w)
    confirm(w)
    return confirm(w, record=False)


@case("confirmation_of_a_voided_certificate", "certificate.void", "number")
def _(w: World) -> Envelope:
    exported(w)
    void(w)
    return confirm(w, record=False)


@case("confirmation_of_an_unknown_certificate", "certificate.unknown", "number")
def _(w: World) -> Envelope:
    return confirm(w, "BW-2026-999999", record=False)


@case("void_by_the_importing_authority", "actor.not_authorized", "number")
def _(w: World) -> Envelope:
    exported(w)
    return void(w, authority="be-authority", record=False)


@case("void_twice", "certificate.void", "number")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w)
    void(w)
    return void(w, record=False)


# --- country standing ---------------------------------------------------------------------------------------


@case("production_in_a_suspended_country", "country.suspended", "lot.site")
def _(w: World) -> Envelope:
    status(w, "BW", "suspended")
    return w.sign(
        "miner",
        "lot.register",
        record=False,
        lot={
            "id": "LOT-9",
            "kind": "rough_parcel",
            "carats": "10.00",
            "stones": 5,
            "value": {"amount": "1000.00", "currency": "USD"},
            "site": "mine-a",
        },
    )


@case("production_in_a_suspended_country_outside_its_compliant_zones", "country.suspended", "lot.site")
def _(w: World) -> Envelope:
    w.site("bw-authority", "mine-z", "mine", "BW", "miner", zone="south")
    status(w, "BW", "suspended", zones=["north"])
    return w.sign(
        "miner",
        "lot.register",
        record=False,
        lot={
            "id": "LOT-9",
            "kind": "rough_parcel",
            "carats": "10.00",
            "stones": 5,
            "value": {"amount": "1000.00", "currency": "USD"},
            "site": "mine-z",
        },
    )


@case("production_in_a_non_participant", "country.not_participant", "lot.site")
def _(w: World) -> Envelope:
    status(w, "BW", "non_participant")
    return w.sign(
        "miner",
        "lot.register",
        record=False,
        lot={
            "id": "LOT-9",
            "kind": "rough_parcel",
            "carats": "10.00",
            "stones": 5,
            "value": {"amount": "1000.00", "currency": "USD"},
            "site": "mine-a",
        },
    )


@case("certificate_issued_in_a_suspended_country", "country.suspended", "certificate.lots")
def _(w: World) -> Envelope:
    produce(w)
    status(w, "BW", "suspended")
    return certificate(w, record=False)


@case("export_from_a_suspended_country_outside_a_compliant_zone", "country.suspended", "actor")
def _(w: World) -> Envelope:
    produce(w)  # mine-a has no zone
    certificate(w)
    status(w, "BW", "suspended", zones=["north"])
    return ship(w, record=False)


@case("certificate_to_a_suspended_importing_country", "country.suspended", "certificate.importing_country")
def _(w: World) -> Envelope:
    # Venezuela suspended itself from KP trade in 2008 (kp_suspensions_embargoes.csv).
    w.country_status("VE", "suspended", "2008-01-01T00:00:00Z", "voluntary self-suspension")
    ve = w.authority("VE")
    w.register(ve, "ve-importer", "VE", ["importer"])
    produce(w)
    return certificate(w, importer="ve-importer", importing="VE", record=False)


@case("certificate_to_a_never_participant", "country.not_participant", "certificate.importing_country")
def _(w: World) -> Envelope:
    never_participant(w)
    produce(w)
    return certificate(w, importer="so-importer", importing="SO", record=False)


@case("rough_shipped_to_a_never_participant", "country.not_participant", "to")
def _(w: World) -> Envelope:
    never_participant(w)
    produce(w)
    return ship(w, to="so-importer", number=None, record=False)


@case("certified_rough_shipped_after_the_importer_country_left", "country.not_participant", "to")
def _(w: World) -> Envelope:
    produce(w)
    certificate(w)
    status(w, "EU", "non_participant")
    return ship(w, record=False)


# --- sanctions ----------------------------------------------------------------------------------------------


@case("russian_polished_0_6_ct_received_in_the_eu_after_2024_09_01", "sanction.origin", "lots[0]")
def _(w: World) -> Envelope:
    g7_sanctions(w)
    russian_polished_in_india(w, {"PS-RU-06": "0.60"})
    ship(w, "shp-in-be", ("PS-RU-06",), "be-importer", sender="in-cutter", number=None)
    return receive(w, "shp-in-be", {"PS-RU-06": "0.60"}, record=False)


@case("russian_rough_received_in_the_eu", "sanction.origin", "lots[0]")
def _(w: World) -> Envelope:
    g7_sanctions(w)
    russian_mine(w)
    w.produce("ru-miner", "RU-1", "ru-mine", "0.40", stones=1)  # rough: no per-stone exemption
    certificate(
        w,
        "RU-2026-000001",
        authority="ru-authority",
        lots=("RU-1",),
        carats="0.40",
        exporter="ru-miner",
        exporting="RU",
        shipment="shp-ru-be",
    )
    ship(w, "shp-ru-be", ("RU-1",), sender="ru-miner", number="RU-2026-000001")
    confirm(w, "RU-2026-000001", "0.40")
    return receive(w, "shp-ru-be", {"RU-1": "0.40"}, record=False)


@case(
    "mixed_origin_certificate_where_single_origin_is_required", "sanction.single_origin", "certificate.origin"
)
def _(w: World) -> Envelope:
    mixed_lot_at_trader(w)
    eu_single_origin(w)
    return mixed_certificate(w, record=False)


@case("sanction_set_twice", "sanction.exists", "sanction.id")
def _(w: World) -> Envelope:
    g7_sanctions(w)
    return w.sign(
        w.admin,
        "sanction.set",
        record=False,
        sanction={
            "id": "g7-russia-1ct",
            "origin_countries": ["RU"],
            "importing_countries": ["US"],
            "effective": "2024-03-01T00:00:00Z",
            "reason": "again",
        },
    )


@case("sanction_set_by_an_authority", "actor.not_authorized", "sanction")
def _(w: World) -> Envelope:
    return w.sign(
        "be-authority",
        "sanction.set",
        record=False,
        sanction={
            "id": "be-own-ban",
            "origin_countries": ["BW"],
            "importing_countries": ["BE"],
            "effective": "2024-03-01T00:00:00Z",
            "reason": "competition",
        },
    )


@case("country_status_set_by_an_authority", "actor.not_authorized", "country")
def _(w: World) -> Envelope:
    return w.sign(
        "bw-authority",
        "country.status",
        record=False,
        country="BE",
        status="suspended",
        effective="2026-01-01T00:00:00Z",
        reason="retaliation",
    )


# --- keys ---------------------------------------------------------------------------------------------------


@case("revoked_key_signing_after_revocation", "envelope.key_revoked", "key")
def _(w: World) -> Envelope:
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="laptop stolen",
        effective=next_time(w),
    )
    produce(w)
    return w.events.pop()  # the miner's production, signed after the revocation took effect


@case("compromised_key_signing_a_certificate_after_backdated_revocation", "envelope.key_revoked", "key")
def _(w: World) -> Envelope:
    produce(w)
    effective = w.time
    w.sign(
        "admin",
        "key.revoke",
        participant="bw-authority",
        key_id=w.actor("bw-authority").key.id,
        reason="signing key found on a public server",
        effective=effective,
    )
    return certificate(w, record=False)


@pytest.mark.parametrize(("build", "code", "field"), CASES)
def test_attack_is_refused_and_writes_nothing(
    build: Build, code: str, field: str | None, db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    bad = build(w)
    ledger = open_ledger(db_url)
    submit_ok(ledger, w.events)
    assert_refused(ledger, bad, code, field)


KP_CODES = frozenset(
    {
        "certificate.required",
        "certificate.mismatch",
        "certificate.used",
        "certificate.expired",
        "certificate.void",
        "certificate.exists",
        "certificate.unknown",
        "certificate.unconfirmed",
        "certificate.not_shipped",
        "certificate.confirmed",
        "country.not_participant",
        "country.suspended",
        "sanction.origin",
        "sanction.single_origin",
        "sanction.exists",
        "actor.not_authorized",
        "envelope.key_revoked",
    }
)


def test_attack_table_is_named_and_covers_every_kp_code() -> None:
    names = [p.id for p in CASES]
    assert len(set(names)) == len(names)
    covered = {p.values[1] for p in CASES if not p.marks}
    assert covered >= KP_CODES, KP_CODES - covered


# --- accepted counterparts of the attacks -------------------------------------------------------------------


def test_certificate_valid_for_exactly_12_months_is_accepted(sqlite_url: str, open_ledger: Any) -> None:
    w = basic_world()
    produce(w)
    at(w, "2026-03-01T12:00:00Z")
    env = certificate(w, record=False)
    env = w.sign(
        "bw-authority",
        "certificate.issue",
        record=False,
        certificate={**env["body"]["certificate"], "expires": "2027-03-01T12:00:00Z"},
    )
    s = Script(w, open_ledger(sqlite_url))
    s.accepted(env)
    late = w.sign(
        "bw-authority",
        "certificate.issue",
        record=False,
        certificate={
            **env["body"]["certificate"],
            "number": "BW-2026-000002",
            "expires": "2027-03-01T12:00:01Z",
        },
    )
    s.refused(late, "certificate.expired", "certificate.expires")


def test_expired_certificate_ships_the_moment_before_expiry(sqlite_url: str, open_ledger: Any) -> None:
    w = basic_world()
    produce(w)
    certificate(w, valid_days=1)
    w.now_ns += DAY_NS - 2 * w.step_ns  # the shipment carries exactly the expiry instant
    clock = EventClock()
    s = Script(w, open_ledger(sqlite_url, clock=clock), clock)
    s.accepted(ship(w, record=False))


def test_mixed_origin_certificate_is_accepted_where_no_single_origin_rule_applies(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    mixed_lot_at_trader(w)
    us = w.authority("US")
    w.register(us, "us-importer", "US", ["importer"])
    eu_single_origin(w)  # binds the EU only
    s = Script(w, open_ledger(db_url))
    s.accepted(mixed_certificate(w, record=False, importer="us-importer"))
    with s.ledger.engine.connect() as conn:
        row = conn.execute(select(schema.certificates).where(schema.certificates.c.id == NUMBER)).one()
    assert json.loads(row.origin) in ({"BW": "60.00", "ZA": "40.00"}, {"BW": 6000, "ZA": 4000})


@pytest.mark.parametrize("importer_country", ["BE", "US"])
def test_russian_polished_after_september_2024_by_stone_size(
    importer_country: str, db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    """A 0.6 ct Russian-origin stone is barred from the G7 after 2024-09-01; a 0.4 ct one is exempt."""
    w = basic_world()
    g7_sanctions(w)
    russian_polished_in_india(w, {"PS-RU-06": "0.60", "PS-RU-04": "0.40"})
    importer = "be-importer"
    if importer_country == "US":
        us = w.authority("US")
        importer = w.register(us, "us-importer", "US", ["importer"]).id
    ship(w, "shp-06", ("PS-RU-06",), importer, sender="in-cutter", number=None)
    ship(w, "shp-04", ("PS-RU-04",), importer, sender="in-cutter", number=None)
    s = Script(w, open_ledger(db_url))

    s.refused(
        receive(w, "shp-06", {"PS-RU-06": "0.60"}, receiver=importer, record=False),
        "sanction.origin",
        "lots[0]",
    )
    s.accepted(receive(w, "shp-04", {"PS-RU-04": "0.40"}, receiver=importer, record=False))

    assert s.ledger.lot("PS-RU-04").holder == importer
    assert s.ledger.lot("PS-RU-06").state == "in_transit"


def test_russian_polished_between_march_and_september_2024(sqlite_url: str, open_ledger: Any) -> None:
    """From 2024-03-01 only stones of 1 ct and more were barred (0.6 ct passes, 1.2 ct does not); from
    2024-09-01 the 0.5 ct threshold catches the next 0.6 ct stone."""
    w = World(seed="ru-2024", start="2024-06-01T08:00:00Z")
    w.genesis()
    be = w.authority("BE")
    w.register(be, "be-importer", "BE", ["importer", "trader"])
    g7_sanctions(w)
    russian_polished_in_india(w, {"PS-RU-06": "0.60", "PS-RU-12": "1.20", "PS-RU-06B": "0.60"})
    ship(w, "shp-06", ("PS-RU-06",), "be-importer", sender="in-cutter", number=None)
    ship(w, "shp-12", ("PS-RU-12",), "be-importer", sender="in-cutter", number=None)
    clock = EventClock()
    s = Script(w, open_ledger(sqlite_url, clock=clock), clock)

    s.accepted(receive(w, "shp-06", {"PS-RU-06": "0.60"}, record=False))
    s.refused(receive(w, "shp-12", {"PS-RU-12": "1.20"}, record=False), "sanction.origin", "lots[0]")

    at(w, "2024-08-31T23:00:00Z")
    ship(w, "shp-06b", ("PS-RU-06B",), "be-importer", sender="in-cutter", number=None)
    at(w, "2024-09-01T00:00:00Z")
    s.refused(receive(w, "shp-06b", {"PS-RU-06B": "0.60"}, record=False), "sanction.origin", "lots[0]")


# --- the happy path -----------------------------------------------------------------------------------------


def test_kp_export_import_happy_path(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = basic_world()
    produce(w)
    issue = certificate(w)
    shipped = ship(w, record=False)
    confirmation = confirm(w, record=False)
    receipt = receive(w, record=False)
    s = Script(w, open_ledger(db_url))
    ledger = s.ledger

    s.accepted(shipped)
    lot = ledger.lot("LOT-1")
    assert (lot.state, lot.holder, lot.in_transit_to) == ("in_transit", "miner", "be-importer")
    s.accepted(confirmation)
    s.accepted(receipt)

    lot = ledger.lot("LOT-1")
    assert (lot.state, lot.holder, lot.holder_country) == ("held", "be-importer", "BE")
    with ledger.engine.connect() as conn:
        row = conn.execute(select(schema.certificates).where(schema.certificates.c.id == NUMBER)).one()
        shipment = conn.execute(select(schema.shipments).where(schema.shipments.c.id == "shp-kp-1")).one()
    assert row.issuer == "bw-authority"
    assert (row.exporter, row.importer) == ("miner", "be-importer")
    assert (row.exporting_country, row.importing_country) == ("BW", "BE")
    assert (row.shipment, row.used_by) == ("shp-kp-1", "shp-kp-1")
    assert row.event == issue["body"]["id"]
    assert row.confirmed_event == confirmation["body"]["id"]
    assert row.void_event is None
    assert row.parcels == 1
    assert row.hs_code == "7102.10"
    assert json.loads(row.lots) == ["LOT-1"]
    assert shipment.certificate == NUMBER
    assert shipment.received_event == receipt["body"]["id"]

    before = state_snapshot(ledger)
    assert ledger.rebuild() == ledger.size
    assert state_snapshot(ledger) == before


def test_a_polished_stone_crosses_borders_without_certificate(sqlite_url: str, open_ledger: Any) -> None:
    w = basic_world()
    produce(w)
    ship(w, "shp-dom", to="cutter", number=None)
    receive(w, "shp-dom", receiver="cutter")
    w.manufacture("cutter", "LOT-1", {"PS-1": "40.00"})
    s = Script(w, open_ledger(sqlite_url))
    s.accepted(ship(w, "shp-ps", ("PS-1",), "lab", sender="cutter", number=None, record=False))
    s.accepted(receive(w, "shp-ps", {"PS-1": "40.00"}, receiver="lab", record=False))


# --- the European Union -------------------------------------------------------------------------------------


def test_eu_internal_rough_needs_no_certificate(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = basic_world()
    de = w.authority("DE")
    w.register(de, "de-trader", "DE", ["trader"])  # not even an importer: this is domestic for the KP
    produce(w)
    s = Script(w, open_ledger(db_url))

    # Botswana to Belgium crosses a KP border: no certificate, no shipment.
    s.refused(ship(w, number=None, record=False), "certificate.required", "certificate")

    certificate(w)
    ship(w)
    confirm(w)
    receive(w)
    s.flush()
    # Belgium to Germany stays inside the EU, one KP participant: no certificate, no confirmation.
    s.accepted(ship(w, "shp-be-de", to="de-trader", sender="be-importer", number=None, record=False))
    s.accepted(receive(w, "shp-be-de", receiver="de-trader", record=False))
    assert s.ledger.lot("LOT-1").holder == "de-trader"

    before = state_snapshot(s.ledger)
    s.ledger.rebuild()
    assert state_snapshot(s.ledger) == before


def test_eu_members_take_their_standing_from_the_eu(sqlite_url: str, open_ledger: Any) -> None:
    w = basic_world()
    produce(w)
    status(w, "EU", "suspended")
    s = Script(w, open_ledger(sqlite_url))
    s.refused(certificate(w, record=False), "country.suspended", "certificate.importing_country")


# --- keys: compromise and rotation --------------------------------------------------------------------------


def new_key_spec(w: World, pid: str, generation: int) -> dict[str, str]:
    key = w.key_for(pid, generation)
    return {"id": key.id, "public_key": key.public_key_b64}


def use_key(w: World, pid: str, generation: int) -> None:
    """From now on the world signs for ``pid`` with its key of ``generation``."""
    old = w.actor(pid)
    w.actors[pid] = Actor(pid, w.key_for(pid, generation), old.country)


def flag_rows(ledger: Ledger, code: str) -> list[Any]:
    with ledger.engine.connect() as conn:
        return list(
            conn.execute(select(schema.flags).where(schema.flags.c.code == code).order_by(schema.flags.c.seq))
        )


def test_key_compromise_flags_logged_events_and_refuses_new_ones(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    old_key = w.actor("miner").key.id
    produce(w, "LOT-1")  # signed before the compromise: not flagged
    compromised_at = next_time(w)
    stolen_1 = w.sign(
        "miner",
        "lot.register",
        lot={
            "id": "LOT-2",
            "kind": "rough_parcel",
            "carats": "50.00",
            "stones": 10,
            "value": {"amount": "1000.00", "currency": "USD"},
            "site": "mine-b",
        },
    )
    stolen_2 = ship(w, "shp-stolen", ("LOT-2",), "trader", number=None)
    clock = EventClock()
    s = Script(w, open_ledger(db_url, clock=clock), clock)
    ledger = s.ledger
    size = ledger.size

    revoke = w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=old_key,
        reason="key found on a stolen laptop",
        effective=compromised_at,
    )
    s.flush()

    # The events stay in the log, flagged.
    assert ledger.size == size + 1
    assert ledger.lot("LOT-2").state == "in_transit"
    flags = flag_rows(ledger, "key.compromised")
    flagged = sorted(json.loads(f.evidence)["compromised_event"] for f in flags)
    assert flagged == sorted([stolen_1["body"]["id"], stolen_2["body"]["id"]])
    assert {f.event for f in flags} == {revoke["body"]["id"]}
    assert ledger.trace("LOT-2").nodes[0].compromised
    assert not ledger.trace("LOT-1").nodes[0].compromised

    # A later event signed with the key is refused.
    s.refused(
        ship(w, "shp-late", ("LOT-1",), "trader", number=None, record=False), "envelope.key_revoked", "key"
    )

    # The registrar gives the miner a new key; it signs fine.
    w.sign("bw-authority", "key.add", participant="miner", new_key=new_key_spec(w, "miner", 1))
    use_key(w, "miner", 1)
    s.accepted(ship(w, "shp-new", ("LOT-1",), "trader", number=None, record=False))

    # What the trader makes from the stolen parcel rests on the compromised key.
    receive(w, "shp-stolen", {"LOT-2": "50.00"}, receiver="trader")
    w.split("trader", "LOT-2", {"LOT-2a": "30.00", "LOT-2b": "20.00"})
    s.flush()
    forward = ledger.trace("LOT-2", direction="forward")
    assert all(node.compromised for node in forward.nodes)
    assert ledger.trace("LOT-2a").nodes[0].compromised


def test_rebuild_after_a_key_compromise_reproduces_the_flags(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    produce(w, "LOT-1")
    compromised_at = next_time(w)
    produce(w, "LOT-2")
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="key found on a stolen laptop",
        effective=compromised_at,
    )
    clock = EventClock()
    s = Script(w, open_ledger(db_url, clock=clock), clock)
    assert len(flag_rows(s.ledger, "key.compromised")) == 1

    before = state_snapshot(s.ledger)
    s.ledger.rebuild()
    assert state_snapshot(s.ledger) == before


def test_key_rotation(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = basic_world()
    old = w.actor("miner").key
    produce(w, "LOT-1")
    w.sign("miner", "key.add", participant="miner", new_key=new_key_spec(w, "miner", 1))
    use_key(w, "miner", 1)
    w.sign(
        "miner",
        "key.revoke",
        participant="miner",
        key_id=old.id,
        reason="routine rotation",
        effective=next_time(w),
    )
    s = Script(w, open_ledger(db_url))

    s.accepted(ship(w, "shp-1", ("LOT-1",), "trader", number=None, record=False))
    assert s.ledger.lot("LOT-1").state == "in_transit"
    s.refused(
        w.sign(
            "miner",
            "lot.register",
            record=False,
            key=old,
            lot={
                "id": "LOT-3",
                "kind": "rough_parcel",
                "carats": "10.00",
                "stones": 5,
                "value": {"amount": "1000.00", "currency": "USD"},
                "site": "mine-a",
            },
        ),
        "envelope.key_revoked",
        "key",
    )
    assert flag_rows(s.ledger, "key.compromised") == []  # a rotation is no compromise


# --- real dates: the Central African Republic ---------------------------------------------------------------


def car_world() -> World:
    w = World(seed="car", start="2013-01-10T08:00:00Z")
    w.genesis()
    cf = w.authority("CF")
    be = w.authority("BE")
    w.register(cf, "cf-miner", "CF", ["mine_operator", "exporter"])
    w.register(be, "be-importer", "BE", ["importer", "trader"])
    for site, zone in (("berberati-mine", "Berberati"), ("carnot-mine", "Carnot"), ("bria-mine", "Bria")):
        w.site(cf, site, "mine", "CF", "cf-miner", zone=zone)
    return w


def car_produce(w: World, lot_id: str, site: str) -> Envelope:
    return w.sign(
        "cf-miner",
        "lot.register",
        record=False,
        lot={
            "id": lot_id,
            "kind": "rough_parcel",
            "carats": "12.50",
            "stones": 9,
            "value": {"amount": "2500.00", "currency": "USD"},
            "site": site,
        },
    )


def car_history(w: World, *, until: str) -> None:
    """The CAR's real KP standing (kp_suspensions_embargoes.csv) up to ``until``, recorded on the day."""
    steps = [
        ("2013-05-23", "suspended", [], "KP Administrative Decision on the CAR of 23 May 2013 (Seleka)"),
        ("2015-07-17", "suspended", [], "AD on Resumption of Exports: framework for compliant zones"),
        ("2016-05-31", "suspended", ["Berberati"], "compliant zone declared: Berberati (May 2016)"),
        ("2016-09-19", "suspended", ["Berberati", "Boda", "Carnot", "Nola"], "Boda, Carnot, Nola declared"),
        ("2024-11-15", "participant", [], "readmitted at the 15 Nov 2024 plenary"),
    ]
    for day, state, zones, reason in steps:
        if day > until:
            return
        if format_time_ns(w.now_ns)[:10] < day:
            at(w, f"{day}T00:00:00Z")
        w.country_status("CF", state, f"{day}T00:00:00Z", reason, compliant_zones=zones or None)


def test_car_suspension_and_compliant_zones_replayed(sqlite_url: str, open_ledger: Any) -> None:
    w = car_world()
    clock = EventClock()
    s = Script(w, open_ledger(sqlite_url, clock=clock), clock)
    s.accepted(car_produce(w, "CF-2013-01", "bria-mine"))  # before the suspension

    car_history(w, until="2013-05-23")
    at(w, "2014-03-01T08:00:00Z")
    s.refused(car_produce(w, "CF-2014-01", "bria-mine"), "country.suspended", "lot.site")
    s.refused(car_produce(w, "CF-2014-02", "berberati-mine"), "country.suspended", "lot.site")

    car_history(w, until="2015-07-17")
    at(w, "2015-10-01T08:00:00Z")  # the framework alone opens no zone
    s.refused(car_produce(w, "CF-2015-01", "berberati-mine"), "country.suspended", "lot.site")

    car_history(w, until="2016-05-31")
    at(w, "2016-06-06T08:00:00Z")
    s.accepted(car_produce(w, "CF-2016-01", "berberati-mine"))
    s.refused(car_produce(w, "CF-2016-02", "carnot-mine"), "country.suspended", "lot.site")

    car_history(w, until="2016-09-19")
    at(w, "2016-10-01T08:00:00Z")
    s.accepted(car_produce(w, "CF-2016-03", "carnot-mine"))
    s.refused(car_produce(w, "CF-2016-04", "bria-mine"), "country.suspended", "lot.site")

    at(w, "2024-11-14T08:00:00Z")
    s.refused(car_produce(w, "CF-2024-01", "bria-mine"), "country.suspended", "lot.site")
    car_history(w, until="2024-11-15")
    at(w, "2024-12-01T08:00:00Z")
    s.accepted(car_produce(w, "CF-2024-02", "bria-mine"))

    before = state_snapshot(s.ledger)
    s.ledger.rebuild()
    assert state_snapshot(s.ledger) == before


def test_car_export_of_stock_mined_during_the_suspension_is_refused(
    sqlite_url: str, open_ledger: Any
) -> None:
    """Rough mined before the suspension cannot leave from outside a compliant zone while it lasts."""
    w = car_world()
    w.events.append(car_produce(w, "CF-2013-01", "bria-mine"))
    car_history(w, until="2016-09-19")
    at(w, "2017-01-10T08:00:00Z")
    clock = EventClock()
    s = Script(w, open_ledger(sqlite_url, clock=clock), clock)
    s.refused(
        certificate(
            w,
            "CF-2017-000001",
            authority="cf-authority",
            lots=("CF-2013-01",),
            carats="12.50",
            exporter="cf-miner",
            exporting="CF",
            record=False,
        ),
        "country.suspended",
        "certificate.lots",
    )


def test_car_export_from_a_compliant_zone_in_2016(sqlite_url: str, open_ledger: Any) -> None:
    """Berberati rough certified and exported to Antwerp in 2016 (two shipments left by September)."""
    w = car_world()
    car_history(w, until="2016-05-31")
    at(w, "2016-06-06T08:00:00Z")
    clock = EventClock()
    s = Script(w, open_ledger(sqlite_url, clock=clock), clock)
    s.accepted(car_produce(w, "CF-2016-01", "berberati-mine"))
    s.accepted(
        certificate(
            w,
            "CF-2016-000001",
            authority="cf-authority",
            lots=("CF-2016-01",),
            carats="12.50",
            exporter="cf-miner",
            exporting="CF",
            record=False,
        )
    )


def test_export_from_a_compliant_zone_of_a_certificate_issued_before_suspension(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    w.site("bw-authority", "mine-n", "mine", "BW", "miner", zone="north")
    produce(w, site="mine-n")
    certificate(w)
    status(w, "BW", "suspended", zones=["north"])
    produce(w, "LOT-2", site="mine-n")  # production in the zone goes on
    s = Script(w, open_ledger(db_url))
    s.accepted(ship(w, record=False))
    s.accepted(confirm(w, record=False))
    s.accepted(receive(w, record=False))
    assert s.ledger.lot("LOT-1").holder == "be-importer"


def test_certificate_issued_in_a_suspended_country_for_compliant_zone_rough(
    sqlite_url: str, open_ledger: Any
) -> None:
    w = basic_world()
    w.site("bw-authority", "mine-n", "mine", "BW", "miner", zone="north")
    status(w, "BW", "suspended", zones=["north"])
    produce(w, site="mine-n")
    s = Script(w, open_ledger(sqlite_url))
    s.accepted(certificate(w, record=False))
