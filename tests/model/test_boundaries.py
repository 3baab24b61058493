"""Every numeric and date rule, exactly at its threshold and one unit past it (issue 8, section 5).

Each test is named for the attack or slip it defends against and runs on SQLite and PostgreSQL; units are
a hundredth of a carat for weights and a nanosecond for times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from adamas import Ledger
from adamas.ledger.outcome import Outcome
from adamas.model.values import format_time_ns, parse_time
from adamas.sim import World
from adamas.store import schema
from conftest import EventClock, basic_world

OpenLedger = Callable[..., Ledger]
DAY = 86_400 * 1_000_000_000


class Bench:
    """The basic world logged as it happens; ``try_`` submits one more envelope at the clock's reading."""

    def __init__(self, db_url: str, open_ledger: OpenLedger, w: World | None = None) -> None:
        self.w = w or basic_world()
        self.clock = EventClock()
        self.ledger = open_ledger(db_url, clock=self.clock)
        self.sent = 0
        self.flush()

    def flush(self) -> None:
        outcomes = self.clock.submit(self.ledger, self.w.events[self.sent :])
        assert all(o.ok for o in outcomes), [o.to_json() for o in outcomes if not o.ok]
        self.sent = len(self.w.events)

    def try_(self, envelope: dict[str, Any], *, at_ns: int | None = None) -> str:
        """The status or refusal code of one envelope, logged at ``at_ns`` (default: its declared time)."""
        self.flush()
        if at_ns is None:
            (outcome,) = self.clock.submit(self.ledger, [envelope])
        else:
            self.clock.now_ns = at_ns
            (outcome,) = self.ledger.submit([envelope])
        return _code(outcome)

    def flags(self, code: str) -> list[str]:
        with self.ledger.engine.connect() as conn:
            return list(
                conn.execute(select(schema.flags.c.event).where(schema.flags.c.code == code)).scalars()
            )


def _code(outcome: Outcome) -> str:
    return outcome.status if outcome.error is None else outcome.error.code


def rough_at(b: Bench, holder: str, lot_id: str = "LOT-1", carats: str = "100.00") -> None:
    b.w.produce("miner", lot_id, "mine-a", carats)
    if holder != "miner":
        b.w.ship("miner", f"shp-{lot_id.lower()}", [lot_id], holder)
        b.w.receive(holder, f"shp-{lot_id.lower()}", {lot_id: carats})


# --- splits, yields, weights -------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "expected"), [("1.00", "accepted"), ("1.01", "mass.not_conserved")])
def test_split_hiding_more_than_one_percent_as_loss(
    loss: str, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "miner")
    kept = f"{100 - float(loss):.2f}"
    split = b.w.sign(
        "miner", "lot.split", record=False, lot="LOT-1", into=[{"id": "LOT-1a", "carats": kept}], loss=loss
    )
    assert b.try_(split) == expected


@pytest.mark.parametrize(
    ("polished", "expected", "flagged"),
    [
        ("55.00", "accepted", False),
        ("55.01", "accepted", True),
        ("70.00", "accepted", True),
        ("70.01", "mass.implausible_yield", False),
    ],
)
def test_substituted_polished_yield(
    polished: str, expected: str, flagged: bool, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "cutter")
    cut = b.w.sign(
        "cutter",
        "lot.manufacture",
        record=False,
        lot="LOT-1",
        into=[{"id": "PS-1", "kind": "polished", "carats": polished, "stones": 1}],
    )
    assert b.try_(cut) == expected
    assert bool(b.flags("manufacture.high_yield")) == flagged


@pytest.mark.parametrize(("weighed", "flagged"), [("99.90", False), ("99.89", True), ("100.10", False)])
def test_carats_skimmed_in_transit(weighed: str, flagged: bool, db_url: str, open_ledger: OpenLedger) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "miner")
    b.w.ship("miner", "shp-1", ["LOT-1"], "trader")
    receive = b.w.sign(
        "trader",
        "lot.receive",
        record=False,
        shipment="shp-1",
        lots=[{"id": "LOT-1", "carats": weighed}],
        seal_intact=True,
    )
    assert b.try_(receive) == "accepted"
    assert bool(b.flags("receive.weight_mismatch")) == flagged


@pytest.mark.parametrize(("reported", "flagged"), [("1.53", False), ("1.51", False), ("1.54", True)])
def test_grading_report_of_another_stone(
    reported: str, flagged: bool, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "cutter")
    b.w.manufacture("cutter", "LOT-1", {"PS-1": "1.52"})
    b.w.ship("cutter", "shp-2", ["PS-1"], "lab")
    b.w.receive("lab", "shp-2", {"PS-1": "1.52"})
    grade = b.w.sign(
        "lab",
        "lot.grade",
        record=False,
        lot="PS-1",
        report={"number": "R-1", "carats": reported, "natural": True},
    )
    assert b.try_(grade) == "accepted"
    assert bool(b.flags("grade.weight_mismatch")) == flagged


# --- times -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset_ns", "expected"), [(-1, "accepted"), (0, "envelope.key_revoked")])
def test_key_used_at_the_revocation_instant(
    offset_ns: int, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    effective = b.w.now_ns + 10 * b.w.step_ns
    b.w.sign(
        "miner",
        "key.revoke",
        participant="miner",
        key_id=b.w.actor("miner").key.id,
        reason="rotation",
        effective=format_time_ns(effective),
    )
    b.flush()
    lot = {
        "id": "LOT-R",
        "kind": "rough_parcel",
        "carats": "1.00",
        "stones": 1,
        "value": {"amount": "1.00", "currency": "USD"},
        "site": "mine-a",
    }
    envelope = b.w.sign(
        "miner", "lot.register", record=False, time=format_time_ns(effective + offset_ns), lot=lot
    )
    assert b.try_(envelope) == expected


@pytest.mark.parametrize(("lag_ns", "expected"), [(30 * DAY, "accepted"), (30 * DAY + 1, "time.backdated")])
def test_backdating_at_the_allowance(
    lag_ns: int, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    logged = b.w.now_ns + DAY
    lot = {
        "id": "LOT-B",
        "kind": "rough_parcel",
        "carats": "1.00",
        "stones": 1,
        "value": {"amount": "1.00", "currency": "USD"},
        "site": "mine-a",
    }
    # The miner's last event is older than either time: only the allowance decides.
    envelope = b.w.sign("miner", "lot.register", record=False, time=format_time_ns(logged - lag_ns), lot=lot)
    assert b.try_(envelope, at_ns=logged) == expected


@pytest.mark.parametrize(("after_ns", "expected"), [(0, "accepted"), (1, "certificate.expired")])
def test_certificate_used_just_after_expiry(
    after_ns: int, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "trader", "LOT-X")
    b.w.issue_certificate(
        "bw-authority",
        "BW-2026-000900",
        exporter="trader",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["LOT-X"],
        carats="100.00",
        origin={"BW": "100.00"},
        value="5000.00",
        shipment="shp-x",
        valid_days=1,
    )
    b.flush()
    expires = parse_time(b.w.events[-1]["body"]["certificate"]["expires"], "expires")
    ship = b.w.sign(
        "trader",
        "lot.ship",
        record=False,
        time=format_time_ns(expires + after_ns),
        shipment="shp-x",
        lots=["LOT-X"],
        to="be-importer",
        certificate="BW-2026-000900",
    )
    assert b.try_(ship) == expected


def polished_to_belgium(b: Bench, carats: str) -> dict[str, Any]:
    """A Botswana stone of ``carats`` shipped to the Belgian shop; the unrecorded receipt."""
    rough_at(b, "cutter")
    b.w.manufacture("cutter", "LOT-1", {"PS-1": carats})
    b.w.ship("cutter", "shp-2", ["PS-1"], "shop")
    return b.w.sign(
        "shop",
        "lot.receive",
        record=False,
        shipment="shp-2",
        lots=[{"id": "PS-1", "carats": carats}],
        seal_intact=True,
    )


@pytest.mark.parametrize(("carats", "expected"), [("0.49", "accepted"), ("0.50", "sanction.origin")])
def test_stone_at_the_sanction_size_threshold(
    carats: str, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    b.w.sanction("bw-0.5", ["BW"], ["EU"], "2026-01-01T00:00:00Z", "test measure", min_stone_carats="0.50")
    receive = polished_to_belgium(b, carats)
    assert b.try_(receive) == expected


@pytest.mark.parametrize(("start_after_ns", "expected"), [(1, "accepted"), (0, "sanction.origin")])
def test_receipt_at_the_sanction_start(
    start_after_ns: int, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "cutter")
    b.w.manufacture("cutter", "LOT-1", {"PS-1": "2.00"})
    b.w.ship("cutter", "shp-2", ["PS-1"], "shop")
    receipt_time = b.w.now_ns + 2 * b.w.step_ns  # signed right after the sanction
    start = format_time_ns(receipt_time + start_after_ns)
    b.w.sanction("bw-all", ["BW"], ["EU"], start, "test measure")
    receive = b.w.sign(
        "shop",
        "lot.receive",
        record=False,
        shipment="shp-2",
        lots=[{"id": "PS-1", "carats": "2.00"}],
        seal_intact=True,
    )
    assert parse_time(receive["body"]["time"], "time") == receipt_time
    assert b.try_(receive) == expected  # logged at its declared time: the start, or a nanosecond before


# --- paths that must work, and the rest of the rules --------------------------------------------------------


def test_jewel_assembled_from_stones_carries_their_origin(db_url: str, open_ledger: OpenLedger) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "cutter")
    b.w.manufacture("cutter", "LOT-1", {"PS-1": "1.00", "PS-2": "0.50"})
    b.w.ship("cutter", "shp-2", ["PS-1", "PS-2"], "shop")
    b.w.receive("shop", "shp-2", {"PS-1": "1.00", "PS-2": "0.50"})
    assemble = b.w.sign(
        "shop",
        "lot.assemble",
        record=False,
        lots=["PS-1", "PS-2"],
        into={"id": "RING-1", "kind": "jewel", "description": "a ring"},
    )
    assert b.try_(assemble) == "accepted"
    ring = b.ledger.lot("RING-1")
    assert (ring.kind, str(ring.carats), ring.stones, ring.holder) == ("jewel", "1.50", 2, "shop")
    assert [(o.site, str(o.carats)) for o in ring.origin] == [("mine-a", "1.50")]
    assert {b.ledger.lot(s).state for s in ("PS-1", "PS-2")} == {"consumed"}
    b.w.sell("shop", "RING-1", price="900.00")
    b.flush()
    assert b.ledger.lot("RING-1").state == "sold"


def test_frozen_lot_released_moves_again(db_url: str, open_ledger: OpenLedger) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "miner")
    b.w.sign("bw-authority", "lot.freeze", lot="LOT-1", reason="inquiry")
    b.flush()
    assert b.ledger.lot("LOT-1").state == "frozen"
    release = b.w.sign("bw-authority", "lot.release", record=False, lot="LOT-1", reason="inquiry closed")
    assert b.try_(release) == "accepted"
    assert b.ledger.lot("LOT-1").state == "held"
    b.w.ship("miner", "shp-1", ["LOT-1"], "trader")
    b.flush()
    assert b.ledger.lot("LOT-1").state == "in_transit"


def test_rough_sold_over_the_counter(db_url: str, open_ledger: OpenLedger) -> None:
    w = basic_world()
    w.register("bw-authority", "bw-shop", "BW", ["retailer"])
    b = Bench(db_url, open_ledger, w)
    rough_at(b, "bw-shop", carats="5.00")
    sale = b.w.sign("bw-shop", "lot.sell", record=False, lot="LOT-1")
    assert b.try_(sale) == "custody.kind_mismatch"


def test_eu_territory_counts_as_the_eu(db_url: str, open_ledger: OpenLedger) -> None:
    """French Guiana (GF) is EU territory: a sanction on imports into the EU covers it, and goods from
    Belgium reach it without crossing a KP border."""
    w = basic_world()
    fr = w.authority("FR")
    w.register(fr, "gf-shop", "FR", ["retailer", "importer"])
    gf = w.authority("GF")
    w.register(gf, "gf-importer", "GF", ["importer", "trader"])
    b = Bench(db_url, open_ledger, w)
    b.w.sanction("bw-all", ["BW"], ["EU"], "2026-01-01T00:00:00Z", "test measure")
    rough_at(b, "cutter")
    b.w.manufacture("cutter", "LOT-1", {"PS-1": "2.00"})
    b.w.ship("cutter", "shp-gf", ["PS-1"], "gf-importer")
    receive = b.w.sign(
        "gf-importer",
        "lot.receive",
        record=False,
        shipment="shp-gf",
        lots=[{"id": "PS-1", "carats": "2.00"}],
        seal_intact=True,
    )
    assert b.try_(receive) == "sanction.origin"


def test_parcel_count_mismatch_at_confirmation_is_flagged(db_url: str, open_ledger: OpenLedger) -> None:
    b = Bench(db_url, open_ledger)
    rough_at(b, "trader", "LOT-X")
    b.w.issue_certificate(
        "bw-authority",
        "BW-2026-000901",
        exporter="trader",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["LOT-X"],
        carats="100.00",
        origin={"BW": "100.00"},
        value="5000.00",
        shipment="shp-x",
    )
    b.w.ship("trader", "shp-x", ["LOT-X"], "be-importer", certificate="BW-2026-000901")
    b.flush()
    confirm = b.w.sign(
        "be-authority",
        "certificate.confirm",
        record=False,
        number="BW-2026-000901",
        received_carats="100.00",
        parcels=2,
        seal_intact=True,
    )
    assert b.try_(confirm) == "accepted"
    assert b.flags("certificate.quantity_mismatch") == [confirm["body"]["id"]]


def test_forged_envelope_by_a_key_registered_earlier_in_the_same_batch(
    db_url: str, open_ledger: OpenLedger
) -> None:
    """The batch verifier cannot know a key registered in the batch itself: ``authenticate`` checks that
    signature alone, and a forged one is refused."""
    b = Bench(db_url, open_ledger)
    newcomer = b.w.register("bw-authority", "newcomer", "BW", ["trader"])
    registration = b.w.events.pop()
    concern = {"subject": {"kind": "site", "id": "mine-a"}, "claim": "concern", "statement": "a concern"}
    signed = b.w.sign(newcomer, "attest", record=False, **concern)
    other = b.w.sign(newcomer, "attest", record=False, **{**concern, "statement": "another"})
    body = signed["body"]
    forged = {"body": body, "sig": other["sig"]}  # a real signature of the key, over another body
    b.flush()
    b.clock.now_ns = parse_time(body["time"], "time")
    first, second = b.ledger.submit([registration, forged], mode="proceed")
    assert first.status == "accepted"
    assert (second.status, _code(second)) == ("refused", "envelope.bad_signature")
