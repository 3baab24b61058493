"""Properties of the CBV 2.0 event hash: what must not change it (order of repeated values, order of JSON
members, how a time or a CBV term is written) and what must (any identifier, any quantity)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adamas.epcis import NAMESPACE, event_hash

NS = {"adamas": NAMESPACE}
lot_ids = st.from_regex(r"[A-Z]{2}-[0-9]{4}(-[A-Z0-9]{1,3})?", fullmatch=True)
carats = st.decimals(min_value="0.01", max_value="99999.99", places=2)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
)


def _event(lots: list[str], weights: list[Any], when: datetime) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:adamas:lot:{i}" for i in lots],
        "quantityList": [
            {"epcClass": f"urn:adamas:lot:{i}", "quantity": float(w), "uom": "CTM"}
            for i, w in zip(lots, weights, strict=True)
        ],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "adamas:sealIntact": True,
    }


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    lots = draw(st.lists(lot_ids, min_size=1, max_size=6, unique=True))
    weights = draw(st.lists(carats, min_size=len(lots), max_size=len(lots)))
    return _event(lots, weights, draw(instants))


@given(events(), st.randoms())
def test_order_of_repeated_values_and_members_does_not_matter(event: dict[str, Any], rnd: Any) -> None:
    shuffled = dict(event)
    shuffled["epcList"] = rnd.sample(event["epcList"], len(event["epcList"]))
    shuffled["quantityList"] = rnd.sample(event["quantityList"], len(event["quantityList"]))
    members = list(shuffled.items())
    rnd.shuffle(members)
    assert event_hash(dict(members), NS) == event_hash(event, NS)


@given(events(), st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_any_zone_for_the_same_instant_gives_the_same_hash(event: dict[str, Any], minutes: int) -> None:
    instant = datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    local = instant + timedelta(minutes=minutes)
    sign = "-" if minutes < 0 else "+"
    offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    written = {**event, "eventTime": local.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + offset}
    assert event_hash(written, NS) == event_hash(event, NS)


@given(events())
def test_cbv_terms_hash_alike_however_written(event: dict[str, Any]) -> None:
    for spelling in ("https://ref.gs1.org/cbv/BizStep-receiving", "urn:epcglobal:cbv:bizstep:receiving"):
        assert event_hash({**event, "bizStep": spelling}, NS) == event_hash(event, NS)


@given(events(), lot_ids)
def test_any_other_lot_changes_the_hash(event: dict[str, Any], other: str) -> None:
    uri = f"urn:adamas:lot:{other}"
    if uri in event["epcList"]:
        return
    changed = {**event, "epcList": [uri, *event["epcList"][1:]]}
    assert event_hash(changed, NS) != event_hash(event, NS)


@given(events(), carats)
def test_any_other_weight_changes_the_hash(event: dict[str, Any], weight: Any) -> None:
    first = event["quantityList"][0]
    if float(weight) == first["quantity"]:
        return
    changed = {**event, "quantityList": [{**first, "quantity": float(weight)}, *event["quantityList"][1:]]}
    assert event_hash(changed, NS) != event_hash(event, NS)
