"""The EPCIS query interface: a table of queries with the event counts the fixed world must give (counted
by hand from the script in epcis_worlds.full_world), paging, refusals, and the REST routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from epcis_worlds import full_world, schema_errors
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adamas import Ledger
from adamas.api.routes.epcis import router
from adamas.epcis import EventQuery, QueryError, event_hash, export_document, query_document, query_events
from adamas.model.values import parse_time

LATER = "2026-03-03T00:00:00Z"
LOT = "urn:adamas:lot:"


@pytest.fixture
def world_ledger(db_url: str) -> Iterator[Ledger]:
    """The full world in two batches: leaves 0-40 logged on 2 March, the rest (the second cut on) on 3 March
    (within the backdating allowance of the world's 1 March times)."""
    world, _ = full_world()
    now = [parse_time("2026-03-02T00:00:00Z", "now")]
    # Closed even when a batch is refused: a ledger left open leaks its connection pool into later tests.
    with Ledger.open(db_url, create=True, clock=lambda: now[0]) as ledger:
        cut = next(i for i, e in enumerate(world.events) if e["body"]["id"] == "evt-0000042")
        assert all(o.ok for o in ledger.submit(world.events[:cut]))
        now[0] = parse_time(LATER, "now")
        assert all(o.ok for o in ledger.submit(world.events[cut:]))
        yield ledger


def _all(ledger: Ledger, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every page of a query, following the page tokens (4 events a page, so paging is exercised)."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = query_events(
            ledger,
            EventQuery.from_params({**params, "perPage": "4", **({"nextPageToken": token} if token else {})}),
        )
        assert len(page.events) <= 4
        events.extend(page.events)
        token = page.next_page_token
        if token is None:
            return events


QUERIES: list[tuple[str, dict[str, str], int]] = [
    ("everything", {}, 34),
    ("shipping", {"EQ_bizStep": "shipping"}, 5),
    ("shipping-or-receiving", {"EQ_bizStep": "shipping|receiving"}, 11),
    ("shipping-as-uri", {"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"}, 5),
    ("add", {"EQ_action": "ADD"}, 4),
    ("delete", {"EQ_action": "DELETE"}, 1),
    ("observe", {"EQ_action": "OBSERVE"}, 21),
    ("in-transit", {"EQ_disposition": "in_transit"}, 5),
    ("conformant", {"EQ_disposition": "conformant"}, 3),
    ("epc-star-stone", {"MATCH_epc": LOT + "PS-0042-001"}, 9),
    ("any-epc-star-stone", {"MATCH_anyEPC": LOT + "PS-0042-001"}, 10),
    ("epc-exported-rough", {"MATCH_epc": LOT + "JW-2026-0001-B"}, 4),
    ("any-epc-exported-rough", {"MATCH_anyEPC": LOT + "JW-2026-0001-B"}, 5),
    ("any-epc-frozen-lot", {"MATCH_anyEPC": LOT + "DTC-ASSORT-0042-R2"}, 5),
    ("any-epc-two-lots", {"MATCH_anyEPC": f"{LOT}PS-0042-001|{LOT}DTC-ASSORT-0042-R2"}, 15),
    ("any-epc-gs1", {"MATCH_anyEPC": "urn:epc:id:sgtin:0614141.107346.2017"}, 0),
    ("any-epc-not-an-adamas-id", {"MATCH_anyEPC": "urn:adamas:lot:%%"}, 0),
    ("at-jwaneng", {"EQ_bizLocation": "urn:adamas:site:jwaneng"}, 1),
    ("from-0840", {"GE_eventTime": "2026-03-01T08:40:00Z"}, 9),
    ("before-0820", {"LT_eventTime": "2026-03-01T08:20:00Z"}, 6),
    ("minute-0827", {"GE_eventTime": "2026-03-01T08:27:00Z", "LT_eventTime": "2026-03-01T08:28:00+00:00"}, 3),
    ("logged-3-march", {"GE_recordTime": LATER}, 9),
    ("logged-before-3-march", {"LT_recordTime": LATER}, 25),
    ("inspections-of-star", {"EQ_bizStep": "inspecting", "MATCH_epc": LOT + "PS-0042-001"}, 4),
    ("transformations", {"eventType": "TransformationEvent"}, 8),
    ("transactions", {"eventType": "TransactionEvent"}, 4),
    ("shipping-logged-3-march", {"EQ_bizStep": "shipping", "GE_recordTime": LATER}, 0),
]


@pytest.mark.parametrize(("params", "count"), [q[1:] for q in QUERIES], ids=[q[0] for q in QUERIES])
def test_query_selects_exactly_the_events_the_spec_says(
    world_ledger: Ledger, params: dict[str, str], count: int
) -> None:
    events = _all(world_ledger, params)
    assert len(events) == count
    assert len({(e["eventID"], "errorDeclaration" in e) for e in events}) == count  # no page repeats an event


def test_query_by_event_id_finds_an_event_and_its_error_declaration(world_ledger: Ledger) -> None:
    grading = next(
        e for e in export_document(world_ledger)["epcisBody"]["eventList"] if e["adamas:type"] == "lot.grade"
    )
    events = _all(world_ledger, {"EQ_eventID": grading["eventID"]})
    assert len(events) == 2 and "errorDeclaration" in events[1]


def test_pages_come_in_log_order_and_add_up_to_the_export(world_ledger: Ledger) -> None:
    exported = export_document(world_ledger)["epcisBody"]["eventList"]
    assert [e["eventID"] for e in _all(world_ledger, {})] == [e["eventID"] for e in exported]


def test_epc_queries_find_what_a_scan_of_the_whole_export_finds(world_ledger: Ledger) -> None:
    """The lot index narrows MATCH_epc and MATCH_anyEPC; it must never drop an event a full scan keeps."""
    exported = export_document(world_ledger)["epcisBody"]["eventList"]

    def named(event: dict[str, Any], anywhere: bool) -> list[str]:
        fields = (
            ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
            if anywhere
            else ("epcList", "childEPCs")
        )
        return [epc for name in fields for epc in event.get(name, [])]

    epcs = sorted({epc for e in exported for epc in named(e, True)})
    assert len(epcs) == 16  # every lot of the world
    for epc in epcs:
        for parameter, anywhere in (("MATCH_epc", False), ("MATCH_anyEPC", True)):
            found = [e["eventID"] for e in _all(world_ledger, {parameter: epc})]
            assert found == [e["eventID"] for e in exported if epc in named(e, anywhere)], (parameter, epc)


def test_query_document_validates_against_the_official_schema(world_ledger: Ledger) -> None:
    page = query_events(world_ledger, EventQuery.from_params({"perPage": "1000"}))
    assert schema_errors(query_document(page)) == []


BAD_PARAMS: list[tuple[str, dict[str, str | list[str]], str, str]] = [
    (
        "unsupported",
        {"EQ_readPoint": "urn:adamas:site:jwaneng"},
        "epcis.query.unsupported_parameter",
        "EQ_readPoint",
    ),
    ("unknown", {"colour": "blue"}, "epcis.query.unsupported_parameter", "colour"),
    ("bad-time", {"GE_eventTime": "yesterday"}, "epcis.query.bad_parameter", "GE_eventTime"),
    ("bad-action", {"EQ_action": "JUMP"}, "epcis.query.bad_parameter", "EQ_action"),
    ("empty-list", {"EQ_bizStep": "|"}, "epcis.query.bad_parameter", "EQ_bizStep"),
    ("zero-per-page", {"perPage": "0"}, "epcis.query.bad_parameter", "perPage"),
    ("huge-per-page", {"perPage": "1001"}, "epcis.query.bad_parameter", "perPage"),
    ("words-per-page", {"perPage": "ten"}, "epcis.query.bad_parameter", "perPage"),
    ("repeated", {"EQ_bizStep": ["shipping", "receiving"]}, "epcis.query.bad_parameter", "EQ_bizStep"),
    ("garbage-token", {"nextPageToken": "not-a-token"}, "epcis.query.bad_token", "nextPageToken"),
]


@pytest.mark.parametrize(
    ("params", "code", "field"), [b[1:] for b in BAD_PARAMS], ids=[b[0] for b in BAD_PARAMS]
)
def test_bad_query_parameters_are_refused(params: dict[str, str | list[str]], code: str, field: str) -> None:
    with pytest.raises(QueryError) as caught:
        EventQuery.from_params(params)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_token_only_continues_its_own_query(world_ledger: Ledger) -> None:
    token = query_events(world_ledger, EventQuery.from_params({"perPage": "2"})).next_page_token
    assert token is not None
    with pytest.raises(QueryError) as caught:
        EventQuery.from_params({"perPage": "2", "EQ_bizStep": "shipping", "nextPageToken": token})
    assert caught.value.code == "epcis.query.bad_token"


# --- the REST routes ------------------------------------------------------------------------------------


@pytest.fixture
def client(world_ledger: Ledger) -> TestClient:
    app = FastAPI()
    app.state.ledger = world_ledger
    app.include_router(router)
    return TestClient(app)


def test_events_route_answers_a_valid_query_document_with_gs1_headers(client: TestClient) -> None:
    response = client.get("/epcis/events", params={"EQ_bizStep": "shipping"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert response.headers["GS1-CBV-Version"] == "2.0.0"
    document = response.json()
    assert schema_errors(document) == []
    assert len(document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 5
    assert "Link" not in response.headers


def test_events_route_pages_through_link_headers(client: TestClient) -> None:
    url: str | None = "/epcis/events?perPage=10"
    seen = []
    while url is not None:
        response = client.get(url)
        seen.extend(response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
        link = response.headers.get("Link")
        url = None if link is None else link.split(";")[0].strip("<>")
    assert len(seen) == 34


def test_epc_route_gives_a_stones_whole_history(client: TestClient) -> None:
    response = client.get("/epcis/epcs/urn:adamas:lot:PS-0042-001/events", params={"perPage": "100"})
    events = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 10
    for event in events:  # every event verifies: its eventID is the hash of what was sent
        assert event["eventID"] == event_hash(event, {"adamas": "https://adamas.example/epcis/ns/"})
        assert json.loads(event["adamas:envelope"])["body"]["id"] == event["adamas:event"]


def test_routes_raise_query_errors_for_the_application_to_map(client: TestClient) -> None:
    with pytest.raises(QueryError) as caught:
        client.get("/epcis/events", params={"EQ_action": "JUMP"})
    assert caught.value.field == "EQ_action"
    with pytest.raises(QueryError):
        client.get("/epcis/epcs/urn:adamas:lot:PS-0042-001/events", params={"MATCH_anyEPC": "x"})
