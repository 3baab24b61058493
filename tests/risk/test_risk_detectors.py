"""Each detector on a small hand-built ledger: the pattern it exists for raises its flag, with evidence that
names the threshold crossed and the norm compared with; ordinary trade raises nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live import LiveLedger

from adamas.model.values import format_time_ns, parse_time
from adamas.risk import RiskFlag, Thresholds, flags, scan
from adamas.sim import World
from conftest import basic_world

DAY = 86_400 * 1_000_000_000


@pytest.fixture
def live(db_url: str) -> Iterator[LiveLedger]:
    """A live ledger over the basic test world (Botswana, Belgium; miner, trader, cutter, lab, shop)."""
    world = basic_world()
    ledger = LiveLedger(db_url, world)
    yield ledger
    ledger.close()


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def export_rough(
    w: World, lot: str, carats: str, *, value: str, number: str, shipment: str, sender: str = "trader"
) -> None:
    """Export a rough lot from Botswana to Belgium under a KP certificate, confirmed and received."""
    w.issue_certificate(
        "bw-authority",
        number,
        exporter=sender,
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=[lot],
        carats=carats,
        origin={"BW": carats},
        value=value,
        shipment=shipment,
    )
    w.ship(sender, shipment, [lot], "be-importer", certificate=number)
    w.confirm_certificate("be-authority", number, carats, 1)
    w.receive("be-importer", shipment, {lot: carats})


def assert_evidence(flag: RiskFlag) -> None:
    """Every flag says which threshold it crossed and the norm it was compared with, in one sentence."""
    assert {"threshold", "norm"} <= set(flag.evidence), flag.evidence
    assert flag.explanation and "\n" not in flag.explanation
    assert flag.status == "open"


def test_ordinary_trade_raises_no_flag(live: LiveLedger) -> None:
    w = live.world
    for month in range(3):
        for i in range(4):
            w.produce("miner", f"M{month}-{i}", "mine-a", "100.00", value="12000.00")
            w.ship("miner", f"s{month}-{i}", [f"M{month}-{i}"], "trader", value=usd("12000.00"))
            w.receive("trader", f"s{month}-{i}", {f"M{month}-{i}": "100.00"})
        live.flush()
        live.advance(20)
    export_rough(w, "M0-0", "100.00", value="12100.00", number="BW-2026-000001", shipment="x1")
    w.split("trader", "M0-1", {"M0-1-a": "10.00", "M0-1-b": "90.00"})
    w.ship("trader", "c1", ["M0-1-a"], "cutter")
    w.receive("cutter", "c1", {"M0-1-a": "10.00"})
    w.manufacture("cutter", "M0-1-a", {"P1": "4.00"})
    w.ship("cutter", "c2", ["P1"], "lab")
    w.receive("lab", "c2", {"P1": "4.00"})
    w.grade("lab", "P1", "R-1", "4.00")
    assert live.flags() == []


def test_capacity_flags_production_above_the_licence(live: LiveLedger) -> None:
    w = live.world
    w.site("bw-authority", "small-mine", "mine", "BW", "miner", annual_capacity="1000.00")
    w.produce("miner", "C1", "small-mine", "600.00")
    live.flush()
    assert live.flags("capacity") == []
    w.produce("miner", "C2", "small-mine", "600.00")
    (flag,) = live.flags("capacity")
    assert (flag.subject_kind, flag.subject_id, flag.period) == ("site", "small-mine", "2026")
    assert flag.lots == ("C1", "C2") and flag.countries == ("BW",)
    assert flag.evidence["norm"]["annual_capacity"] == "1000.00"
    assert flag.evidence["figures"]["production"] == "1200.00"
    assert_evidence(flag)


def test_spike_flags_a_mine_and_its_country(db_url: str) -> None:
    w = World(seed="tests", start="2025-01-05T00:00:00Z")
    w.genesis()
    bw = w.authority("BW")
    w.register(bw, "miner", "BW", ["mine_operator"])
    w.site(bw, "mine-a", "mine", "BW", "miner")
    live = LiveLedger(db_url, w)
    try:
        live.flush()
        for quarter in range(3):
            for i in range(3):
                w.produce("miner", f"Q{quarter}-{i}", "mine-a", "100.00", value="10000.00")
                live.flush()  # logged as it happens, within the backdating allowance
                live.advance(25)
            live.advance(15)
        assert live.flags("spike") == []
        w.produce("miner", "BIG", "mine-a", "2625.00", value="262500.00")  # +775% on 300 ct a quarter
        found = {(f.subject_kind, f.subject_id): f for f in live.flags("spike")}
        assert set(found) == {("site", "mine-a"), ("country", "BW")}
        flag = found[("country", "BW")]
        assert flag.period == "2025-Q4" and "BIG" in flag.lots
        assert flag.evidence["threshold"] == {"name": "spike_factor", "value": 3.0}
        assert flag.severity == "high"
        assert_evidence(flag)
    finally:
        live.close()


def test_weight_flags_carats_lost_in_transit_and_in_splits(live: LiveLedger) -> None:
    w = live.world
    w.produce("miner", "W1", "mine-a", "100.00")
    w.ship("miner", "sw", ["W1"], "trader")
    w.receive("trader", "sw", {"W1": "99.50"})
    w.split("trader", "W1", {"W1a": "50.00", "W1b": "49.20"}, loss="0.80")
    flags = live.flags("weight")
    assert len(flags) == 2
    transit = next(f for f in flags if len(f.events) == 2)
    assert transit.lots == ("W1",)
    assert transit.evidence["figures"]["lots"]["W1"] == {"shipped": "100.00", "received": "99.50"}
    split = next(f for f in flags if f is not transit)
    assert split.evidence["figures"]["loss"] == "0.80"
    for flag in flags:
        assert_evidence(flag)


def test_yield_flags_more_polished_than_rough_allows(live: LiveLedger) -> None:
    w = live.world
    w.produce("miner", "Y1", "mine-a", "10.00")
    w.ship("miner", "sy", ["Y1"], "cutter")
    w.receive("cutter", "sy", {"Y1": "10.00"})
    w.manufacture("cutter", "Y1", {"PY1": "6.20"})
    (flag,) = live.flags("yield")
    assert flag.lots == ("PY1", "Y1") and flag.participants == ("cutter",)
    assert flag.evidence["figures"]["yield"] == 0.62
    assert_evidence(flag)


def test_non_natural_flags_a_lab_finding_with_the_lineage(live: LiveLedger) -> None:
    w = live.world
    w.produce("miner", "N1", "mine-a", "10.00")
    w.ship("miner", "sn", ["N1"], "cutter")
    w.receive("cutter", "sn", {"N1": "10.00"})
    w.manufacture("cutter", "N1", {"PN1": "3.00", "PN2": "2.00"})
    w.ship("cutter", "sl", ["PN1", "PN2"], "lab")
    w.receive("lab", "sl", {"PN1": "3.00", "PN2": "2.00"})
    w.grade("lab", "PN1", "R-9", "3.00", natural=False)
    w.attest("lab", "lot", "PN2", "not_natural", statement="CVD growth lines")
    flags = live.flags("non_natural")
    assert {f.subject_id for f in flags} == {"PN1", "PN2"}
    for flag in flags:
        assert "N1" in flag.lots and "cutter" in flag.participants and "BW" in flag.countries
        assert_evidence(flag)


def test_round_trip_and_velocity_flag_goods_back_home_at_a_higher_price(live: LiveLedger) -> None:
    w = live.world
    w.produce("miner", "T1", "mine-a", "10.00")
    w.ship("miner", "st", ["T1"], "cutter")
    w.receive("cutter", "st", {"T1": "10.00"})
    w.manufacture("cutter", "T1", {"PT1": "4.00"})
    w.ship("cutter", "out", ["PT1"], "lab", value=usd("4000.00"))
    w.receive("lab", "out", {"PT1": "4.00"})
    w.ship("lab", "back", ["PT1"], "trader", value=usd("9000.00"))
    w.receive("trader", "back", {"PT1": "4.00"})
    (trip,) = live.flags("round_trip")
    assert trip.severity == "high" and trip.events[-1] == w.events[-2]["body"]["id"]
    assert trip.evidence["figures"]["value_ratio"] == 2.25
    assert_evidence(trip)
    assert live.flags("velocity") == []
    w.ship("trader", "again", ["PT1"], "shop")
    w.receive("shop", "again", {"PT1": "4.00"})
    assert live.flags("velocity") == []  # three crossings: below the default of five
    scan(live.ledger, full=True, cfg=Thresholds(velocity_borders=3))
    (fast,) = flags(live.ledger, detector="velocity")
    assert fast.evidence["figures"]["borders"] == 3 and fast.evidence["figures"]["route"] == [
        "BW",
        "BE",
        "BW",
        "BE",
    ]
    assert_evidence(fast)


def test_dilution_flags_a_high_risk_origin_mixed_in_below_the_visible_share(live: LiveLedger) -> None:
    w = live.world
    w.authority("ZW")
    w.register("zw-authority", "zw-miner", "ZW", ["mine_operator", "exporter"])
    w.site("zw-authority", "marange", "mine", "ZW", "zw-miner")
    w.produce("zw-miner", "Z1", "marange", "5.00")
    w.issue_certificate(
        "zw-authority",
        "ZW-2026-000001",
        exporter="zw-miner",
        importer="trader",
        exporting="ZW",
        importing="BW",
        lots=["Z1"],
        carats="5.00",
        origin={"ZW": "5.00"},
        value="500.00",
        shipment="zs",
    )
    w.ship("zw-miner", "zs", ["Z1"], "trader", certificate="ZW-2026-000001")
    w.confirm_certificate("bw-authority", "ZW-2026-000001", "5.00", 1)
    w.receive("trader", "zs", {"Z1": "5.00"})
    w.produce("miner", "B1", "mine-a", "95.00")
    w.ship("miner", "sb", ["B1"], "trader")
    w.receive("trader", "sb", {"B1": "95.00"})
    w.merge("trader", ["B1", "Z1"], "MIX")
    assert live.flags("dilution") == []  # Zimbabwe is in good standing
    w.country_status("ZW", "suspended", w.time, "KP review mission found violence in Marange")
    (flag,) = live.flags("dilution")
    assert flag.subject_id == "MIX" and "Z1" in flag.lots and "ZW" in flag.countries
    assert flag.evidence["figures"]["share"] == 0.05
    assert_evidence(flag)


def test_key_flags_events_signed_after_a_compromise(live: LiveLedger) -> None:
    w = live.world
    w.produce("miner", "K1", "mine-a", "100.00")
    compromised_at = format_time_ns(w.now_ns + 1_000_000_000)
    w.split("miner", "K1", {"K1a": "60.00", "K1b": "40.00"})
    live.flush()
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="stolen laptop",
        effective=compromised_at,
    )
    (flag,) = live.flags("key")
    assert (flag.subject_kind, flag.subject_id) == ("key", w.actor("miner").key.id)
    assert set(flag.lots) == {"K1", "K1a", "K1b"} and flag.participants == ("miner",)
    assert_evidence(flag)


def test_concern_flags_an_attested_concern(live: LiveLedger) -> None:
    w = live.world
    w.register(w.admin, "monitor", "ZA", ["monitor"])
    w.attest("monitor", "site", "mine-a", "concern", statement="Artisanal diggers seen inside the lease")
    (flag,) = live.flags("concern")
    assert (flag.subject_kind, flag.subject_id) == ("site", "mine-a")
    assert flag.countries == ("BW",) and "miner" in flag.participants
    assert_evidence(flag)


def test_certificate_sequence_flags_repeats_and_breaks(live: LiveLedger) -> None:
    w = live.world
    for number, lot in (("BW-2026-000010", "S1"), ("BW-2026-000004", "S2"), ("BW-2026-10", "S3")):
        w.produce("miner", lot, "mine-a", "10.00")
        w.ship("miner", f"to-{lot.lower()}", [lot], "trader")
        w.receive("trader", f"to-{lot.lower()}", {lot: "10.00"})
        export_rough(w, lot, "10.00", value="1000.00", number=number, shipment=f"x-{lot.lower()}")
    flags = {f.subject_id: f for f in live.flags("certificate_sequence")}
    assert set(flags) == {"BW-2026-000004", "BW-2026-10"}
    assert flags["BW-2026-000004"].evidence["figures"]["problem"] == "backward"
    assert flags["BW-2026-10"].evidence["figures"]["problem"] == "repeat"
    assert flags["BW-2026-10"].severity == "high"


def test_value_flags_under_and_overvaluation_against_the_robust_norm(live: LiveLedger) -> None:
    w = live.world
    prices = ["10000.00", "10400.00", "9800.00", "10100.00", "9900.00", "10300.00", "9700.00", "10050.00"]
    for i, price in enumerate([*prices, "2500.00", "41000.00"]):
        w.produce("miner", f"V{i}", "mine-a", "100.00", value="10000.00")
        w.ship("miner", f"sv{i}", [f"V{i}"], "trader", value=usd(price))
        w.receive("trader", f"sv{i}", {f"V{i}": "100.00"})
    flags = {f.lots[0]: f for f in live.flags("value")}
    assert set(flags) == {"V8", "V9"}
    assert flags["V8"].evidence["figures"]["direction"] == "under"
    assert flags["V9"].evidence["figures"]["direction"] == "over"
    assert flags["V9"].evidence["norm"]["group"] == {"kind": "rough", "origin": "BW"}
    assert flags["V9"].evidence["norm"]["sample"] == 10
    for flag in flags.values():
        assert_evidence(flag)


def test_footprint_flags_exports_far_above_the_countrys_own_history(db_url: str) -> None:
    w = World(seed="tests", start="2023-02-01T00:00:00Z")
    w.genesis()
    bw, be = w.authority("BW"), w.authority("BE")
    w.register(bw, "miner", "BW", ["mine_operator", "exporter"])
    w.register(be, "be-importer", "BE", ["importer"])
    w.site(bw, "mine-a", "mine", "BW", "miner")
    live = LiveLedger(db_url, w)
    try:
        for year, carats in ((2023, "100.00"), (2024, "100.00"), (2025, "1000.00")):
            w.now_ns = parse_time(f"{year}-03-01T00:00:00Z", "t")
            w.produce("miner", f"F{year}", "mine-a", carats, value="1000.00")
            export_rough(
                w,
                f"F{year}",
                carats,
                value="1000.00",
                number=f"BW-{year}-000001",
                shipment=f"fx{year}",
                sender="miner",
            )
            live.flush()
        (flag,) = live.flags("footprint")
        assert (flag.period, flag.subject_id) == ("2025", "BW")
        assert flag.evidence["threshold"]["name"] == "spike_factor"
        assert "F2025" in flag.lots and flag.evidence["norm"]["median_earlier_exports"] == "100.00"
        assert_evidence(flag)
    finally:
        live.close()


def test_footprint_flags_a_share_of_production_far_above_the_kp_figures(db_url: str) -> None:
    # 2023 (KP): Russia 37,317 kct, Botswana 25,095 kct. A ledger holding both in those proportions is
    # quiet; Botswana registering far more than its share is flagged, whatever the ledger's scale.
    w = World(seed="tests", start="2023-03-01T00:00:00Z")
    w.genesis()
    for country in ("BW", "RU"):
        authority = w.authority(country)
        w.register(authority, f"{country.lower()}-miner", country, ["mine_operator"])
        w.site(authority, f"{country.lower()}-mine", "mine", country, f"{country.lower()}-miner")
    live = LiveLedger(db_url, w)
    try:
        for i in range(3):
            w.produce("ru-miner", f"RU-{i}", "ru-mine", "124.39")
            w.produce("bw-miner", f"BW-{i}", "bw-mine", "83.65")
        assert live.flags("footprint") == []
        for i in range(3, 6):
            w.produce("bw-miner", f"BW-{i}", "bw-mine", "400.00")
        (flag,) = live.flags("footprint")
        assert (flag.subject_id, flag.period) == ("BW", "2023")
        assert flag.evidence["threshold"] == {"name": "footprint_kp_ratio", "value": 2.0}
        assert flag.evidence["norm"]["kp_share_of_world_production"] == round(25095000 / 110873000, 5)
        assert_evidence(flag)
    finally:
        live.close()


def test_value_compares_a_small_group_with_the_kp_published_price(db_url: str) -> None:
    # Botswana's 2023 production: 25,095 kct for $3,283m, $130.82/ct (KP, data pack).
    w = World(seed="tests", start="2023-03-01T00:00:00Z")
    w.genesis()
    bw = w.authority("BW")
    w.register(bw, "miner", "BW", ["mine_operator"])
    w.register(bw, "trader", "BW", ["trader"])
    w.site(bw, "mine-a", "mine", "BW", "miner")
    live = LiveLedger(db_url, w)
    try:
        for lot, price in (("K1", "13000.00"), ("K2", "2000.00")):
            w.produce("miner", lot, "mine-a", "100.00", value="13000.00")
            w.ship("miner", f"s-{lot.lower()}", [lot], "trader", value=usd(price))
            w.receive("trader", f"s-{lot.lower()}", {lot: "100.00"})
        (flag,) = live.flags("value")
        assert flag.lots == ("K2",) and flag.evidence["figures"]["direction"] == "under"
        assert flag.evidence["norm"]["kp_usd_per_carat"] == 130.82
        assert flag.evidence["threshold"] == {"name": "value_ratio", "value": 2.5}
        assert_evidence(flag)
    finally:
        live.close()
