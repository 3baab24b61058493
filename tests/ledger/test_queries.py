"""Queries over the demo world, on both backends: a lot's view, its history, and its lineage both ways.

Expected values are read off the scripted events where they can be (ids, leaf indexes, times, bodies), so
the queries are checked against what was signed, not against themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from adamas import InputError, Ledger, NotFoundError
from adamas.sim import World, demo_world
from conftest import fixed_clock

OpenLedger = Callable[[str], Ledger]


@pytest.fixture
def demo(db_url: str, open_ledger: OpenLedger) -> tuple[Ledger, World, str]:
    """A ledger holding the whole demo world, the world, and its star stone."""
    world, star = demo_world()
    ledger = open_ledger(db_url)
    assert all(o.status == "accepted" for o in ledger.submit(world.events))
    return ledger, world, star


def _index_of(world: World, type_: str, **match: Any) -> int:
    """Leaf index (= position in the script) of the only event of ``type_`` whose fields match."""
    found = [
        i
        for i, e in enumerate(world.events)
        if e["body"]["type"] == type_ and all(e["body"].get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, found
    return found[0]


# --- lot ----------------------------------------------------------------------------------------------------


def test_lot_view_of_the_sold_star_stone(demo: tuple[Ledger, World, str]) -> None:
    ledger, world, star = demo
    view = ledger.lot(star)
    made = _index_of(world, "lot.manufacture", lot="RS-0042-001")
    body = world.events[made]["body"]

    assert (view.id, view.kind, view.stones, view.state) == (star, "polished", 1, "sold")
    assert isinstance(view.carats, Decimal)
    assert view.carats == Decimal("1.52")
    assert (view.holder, view.holder_country) == ("fifth-avenue-jewels", "US")
    assert view.parents == ("RS-0042-001",)
    assert (view.made_by.id, view.made_by.type, view.made_by.index, view.made_by.time) == (
        body["id"],
        "lot.manufacture",
        made,
        body["time"],
    )
    assert [(o.site, o.site_name, o.country, o.carats) for o in view.origin] == [
        ("jwaneng", "Jwaneng", "BW", Decimal("0.91")),
        ("orapa", "Orapa", "BW", Decimal("0.61")),
    ]
    assert all(isinstance(o.carats, Decimal) for o in view.origin)
    assert sum(o.carats for o in view.origin) == view.carats
    assert view.shipment is None
    assert view.in_transit_to is None
    assert view.details["grading"] == {
        "number": "HRD-260301-7781",
        "carats": "1.52",
        "color": "F",
        "clarity": "VVS2",  # as corrected by the lab (the original grading said VS1)
        "cut": "Excellent",
        "natural": True,
    }


def test_lot_view_of_a_mine_lot(demo: tuple[Ledger, World, str]) -> None:
    ledger, world, _ = demo
    view = ledger.lot("JW-2026-0001")
    (registered,) = [
        i
        for i, e in enumerate(world.events)
        if e["body"]["type"] == "lot.register" and e["body"]["lot"]["id"] == "JW-2026-0001"
    ]
    assert (view.kind, view.carats, view.stones, view.value) == (
        "rough_parcel",
        Decimal("1200.00"),
        410,
        Decimal("186000.00"),
    )
    assert (view.holder, view.holder_country, view.state) == ("dtc-botswana", "BW", "consumed")
    assert view.parents == ()
    assert (view.made_by.type, view.made_by.index) == ("lot.register", registered)
    assert [(o.site, o.carats) for o in view.origin] == [("jwaneng", Decimal("1200.00"))]
    assert view.to_json()["value"] == {"amount": "186000.00", "currency": "USD"}


def test_lot_view_while_shipped_names_the_addressee(db_url: str, open_ledger: OpenLedger) -> None:
    world, star = demo_world()
    shipped = _index_of(world, "lot.ship", shipment="shp-bw-be-0001")
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events[: shipped + 1]))

    view = ledger.lot(star)
    assert view.state == "in_transit"
    assert view.in_transit_to == "hrd-antwerp"
    assert view.shipment == "shp-bw-be-0001"
    assert (view.holder, view.holder_country) == ("gaborone-cutting", "BW")
    assert view.to_json()["in_transit_to"] == "hrd-antwerp"

    assert all(o.ok for o in ledger.submit(world.events[shipped + 1 : shipped + 2]))
    arrived = ledger.lot(star)
    assert (arrived.state, arrived.in_transit_to, arrived.shipment) == ("held", None, None)
    assert (arrived.holder, arrived.holder_country) == ("hrd-antwerp", "BE")


def test_lot_to_json_carries_decimal_strings(demo: tuple[Ledger, World, str]) -> None:
    ledger, _, star = demo
    out = ledger.lot(star).to_json()
    assert out["carats"] == "1.52"
    assert out["origin"] == [
        {"site": "jwaneng", "site_name": "Jwaneng", "country": "BW", "carats": "0.91"},
        {"site": "orapa", "site_name": "Orapa", "country": "BW", "carats": "0.61"},
    ]
    assert out["made_by"]["type"] == "lot.manufacture"


# --- history ------------------------------------------------------------------------------------------------


def _touches(body: dict[str, Any], lot_id: str) -> bool:
    """Whether a scripted event names ``lot_id`` anywhere in its fields (an independent oracle)."""

    def names(value: Any) -> bool:
        if isinstance(value, str):
            return value == lot_id
        if isinstance(value, dict):
            return any(names(v) for v in value.values())
        if isinstance(value, list):
            return any(names(v) for v in value)
        return False

    return any(names(v) for k, v in body.items() if k not in ("id", "actor", "key", "time", "type", "v"))


@pytest.mark.parametrize("lot_id", ["PS-0042-001", "JW-2026-0001", "DTC-ASSORT-0042", "OR-2026-0001-B"])
def test_history_lists_every_event_of_the_lot_in_log_order(
    demo: tuple[Ledger, World, str], lot_id: str
) -> None:
    ledger, world, _ = demo
    expected = [(i, e["body"]) for i, e in enumerate(world.events) if _touches(e["body"], lot_id)]
    history = ledger.history(lot_id)
    assert [(h.index, h.body) for h in history] == expected
    assert [h.index for h in history] == sorted(h.index for h in history)
    for h in history:
        assert (h.id, h.type, h.actor, h.time) == (
            h.body["id"],
            h.body["type"],
            h.body["actor"],
            h.body["time"],
        )


def test_history_of_the_star_stone(demo: tuple[Ledger, World, str]) -> None:
    ledger, _, star = demo
    assert [h.type for h in ledger.history(star)] == [
        "lot.manufacture",
        "lot.ship",
        "lot.receive",
        "lot.grade",
        "lot.ship",
        "lot.receive",
        "lot.sell",
        "attest",
        "correct",
    ]
    assert ledger.history(star)[-3].to_json()["body"]["price"] == {"amount": "14800.00", "currency": "USD"}
    assert ledger.history(star)[-2].body["claim"] == "lab_verified"
    grading = next(h for h in ledger.history(star) if h.type == "lot.grade")
    assert grading.body["report"]["clarity"] == "VS1"  # the log keeps what was signed
    assert grading.corrected_by == ledger.history(star)[-1].id


# --- trace --------------------------------------------------------------------------------------------------


def test_trace_backward_from_the_star_stone_reaches_both_mines(demo: tuple[Ledger, World, str]) -> None:
    ledger, _, star = demo
    trace = ledger.trace(star)  # backward is the default
    assert (trace.lot, trace.direction) == (star, "backward")
    assert trace.mines == ("JW-2026-0001", "OR-2026-0001")
    assert [(o.site, o.site_name, o.country, o.carats) for o in trace.origin] == [
        ("jwaneng", "Jwaneng", "BW", Decimal("0.91")),
        ("orapa", "Orapa", "BW", Decimal("0.61")),
    ]
    assert sum(o.carats for o in trace.origin) == Decimal("1.52")
    assert set(trace.edges) == {
        ("RS-0042-001", star),
        ("DTC-ASSORT-0042", "RS-0042-001"),
        ("JW-2026-0001-A", "DTC-ASSORT-0042"),
        ("OR-2026-0001-A", "DTC-ASSORT-0042"),
        ("JW-2026-0001", "JW-2026-0001-A"),
        ("OR-2026-0001", "OR-2026-0001-A"),
    }
    assert len(trace.edges) == len(set(trace.edges))
    assert {n.lot.id: n.depth for n in trace.nodes} == {
        star: 0,
        "RS-0042-001": 1,
        "DTC-ASSORT-0042": 2,
        "JW-2026-0001-A": 3,
        "OR-2026-0001-A": 3,
        "JW-2026-0001": 4,
        "OR-2026-0001": 4,
    }
    assert [n.depth for n in trace.nodes] == sorted(n.depth for n in trace.nodes)
    # Each node carries its own origin, and the mixing is exact at every step.
    by_id = {n.lot.id: n.lot for n in trace.nodes}
    assert {o.site: o.carats for o in by_id["DTC-ASSORT-0042"].origin} == {
        "jwaneng": Decimal("300.00"),
        "orapa": Decimal("200.00"),
    }
    assert {o.site: o.carats for o in by_id["RS-0042-001"].origin} == {
        "jwaneng": Decimal("1.86"),
        "orapa": Decimal("1.24"),
    }
    for node in trace.nodes:
        assert sum(o.carats for o in node.lot.origin) == node.lot.carats
    out = trace.to_json()
    assert {"parent": "RS-0042-001", "child": star} in out["edges"]
    assert out["nodes"][0]["depth"] == 0


def test_trace_forward_from_a_mine_lot_reaches_every_descendant(demo: tuple[Ledger, World, str]) -> None:
    ledger, _, star = demo
    trace = ledger.trace("JW-2026-0001", direction="forward")
    assert trace.direction == "forward"
    # Where each descendant is now: (depth, holder, state).
    assert {n.lot.id: (n.depth, n.lot.holder, n.lot.state) for n in trace.nodes} == {
        "JW-2026-0001": (0, "dtc-botswana", "consumed"),
        "JW-2026-0001-A": (1, "dtc-botswana", "consumed"),
        "JW-2026-0001-B": (1, "antwerp-rough", "held"),
        "DTC-ASSORT-0042": (2, "gaborone-cutting", "consumed"),
        "DTC-ASSORT-0042-R": (3, "gaborone-cutting", "held"),
        "RS-0042-001": (3, "gaborone-cutting", "consumed"),
        "RS-0042-001-R": (4, "gaborone-cutting", "held"),
        star: (4, "fifth-avenue-jewels", "sold"),
    }
    assert set(trace.edges) == {
        ("JW-2026-0001", "JW-2026-0001-A"),
        ("JW-2026-0001", "JW-2026-0001-B"),
        ("JW-2026-0001-A", "DTC-ASSORT-0042"),
        ("DTC-ASSORT-0042", "DTC-ASSORT-0042-R"),
        ("DTC-ASSORT-0042", "RS-0042-001"),
        ("RS-0042-001", "RS-0042-001-R"),
        ("RS-0042-001", star),
    }
    # Forward from a mine lot does not wander back up into the other mine's lots.
    assert not {n.lot.id for n in trace.nodes} & {"OR-2026-0001", "OR-2026-0001-A", "OR-2026-0001-B"}
    assert trace.mines == ("JW-2026-0001",)
    assert [o.site for o in trace.origin] == ["jwaneng"]


def test_trace_forward_of_a_leaf_lot_is_just_the_lot(demo: tuple[Ledger, World, str]) -> None:
    ledger, _, star = demo
    trace = ledger.trace(star, direction="forward")
    assert [(n.lot.id, n.depth) for n in trace.nodes] == [(star, 0)]
    assert trace.edges == ()
    assert trace.mines == ()


def test_trace_backward_of_a_mine_lot_is_the_mine_itself(demo: tuple[Ledger, World, str]) -> None:
    ledger, _, _ = demo
    trace = ledger.trace("OR-2026-0001")
    assert [(n.lot.id, n.depth) for n in trace.nodes] == [("OR-2026-0001", 0)]
    assert trace.mines == ("OR-2026-0001",)
    assert trace.edges == ()


# --- refusals -----------------------------------------------------------------------------------------------


QUERIES: dict[str, Callable[[Ledger, str], object]] = {
    "lot": lambda ledger, lot_id: ledger.lot(lot_id),
    "history": lambda ledger, lot_id: ledger.history(lot_id),
    "trace_backward": lambda ledger, lot_id: ledger.trace(lot_id),
    "trace_forward": lambda ledger, lot_id: ledger.trace(lot_id, direction="forward"),
}


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_unknown_lot_is_not_found(demo: tuple[Ledger, World, str], query: str) -> None:
    ledger, _, _ = demo
    with pytest.raises(NotFoundError) as caught:
        QUERIES[query](ledger, "NO-SUCH-LOT")
    assert caught.value.code == "lot.not_found"
    assert caught.value.field == "lot"


@pytest.mark.parametrize("direction", ["sideways", "Backward", "", "up"])
def test_trace_direction_is_validated(demo: tuple[Ledger, World, str], direction: str) -> None:
    ledger, _, star = demo
    with pytest.raises(InputError) as caught:
        ledger.trace(star, direction=direction)  # type: ignore[arg-type]
    assert caught.value.code == "trace.bad_direction"
    assert caught.value.field == "direction"


def test_queries_answer_the_same_after_reopening(db_url: str, demo: tuple[Ledger, World, str]) -> None:
    ledger, _, star = demo
    with Ledger.open(db_url, clock=fixed_clock) as reader:
        assert reader.lot(star) == ledger.lot(star)
        assert reader.history(star) == ledger.history(star)
        assert reader.trace(star) == ledger.trace(star)
