"""The read endpoints over the demo world, on both backends: each answers what the Ledger API answers,
lists come in pages that join up to the whole list, and what the service hands out verifies offline."""

from __future__ import annotations

import pytest
from served import Served, demo_fixture, walk_pages  # noqa: F401 - demo_fixture is the fixture `demo`

from adamas import Ledger, Receipt, verify_receipt
from adamas.crypto import canonicalize
from adamas.ledger.certificate_check import verify_certificate


def test_lot_is_the_ledgers_view(demo: Served) -> None:
    got = demo.client.get(f"/v1/lots/{demo.star}")
    assert got.status_code == 200
    with Ledger.open(demo.url) as ledger:
        assert got.json() == ledger.lot(demo.star).to_json()
    assert got.json()["origin"][0] == {
        "site": "jwaneng",
        "site_name": "Jwaneng",
        "country": "BW",
        "carats": "0.91",
    }


def test_history_pages_join_up_to_the_whole_history(demo: Served) -> None:
    with Ledger.open(demo.url) as ledger:
        whole = [e.to_json() for e in ledger.history(demo.star)]
    assert len(whole) >= 5
    for limit in (1, 2, 3, 100):
        pages = walk_pages(demo.client, f"/v1/lots/{demo.star}/history", limit)
        assert [item for page in pages for item in page["items"]] == whole
        assert pages[-1]["next"] is None
        assert all(len(page["items"]) == limit for page in pages[:-1])
    corrected = [e for e in whole if e["corrected_by"] is not None]
    assert [e["type"] for e in corrected] == ["lot.grade"]


def test_backward_trace_reaches_both_mines(demo: Served) -> None:
    got = demo.client.get(f"/v1/lots/{demo.star}/trace").json()
    with Ledger.open(demo.url) as ledger:
        trace = ledger.trace(demo.star).to_json()
    assert got["mines"] == trace["mines"] == ["JW-2026-0001", "OR-2026-0001"]
    assert got["origin"] == trace["origin"]
    assert sorted(n["id"] for n in got["nodes"]) == sorted(n["id"] for n in trace["nodes"])
    assert sorted(map(str, got["edges"])) == sorted(map(str, trace["edges"]))
    assert got["next"] is None


@pytest.mark.parametrize("limit", [1, 2, 5, 1000])
def test_forward_trace_pages_cover_every_descendant_once_in_log_order(demo: Served, limit: int) -> None:
    root = "JW-2026-0001"
    pages = walk_pages(demo.client, f"/v1/lots/{root}/trace", limit, direction="forward")
    nodes = [n for page in pages for n in page["nodes"]]
    edges = [(e["parent"], e["child"]) for page in pages for e in page["edges"]]
    with Ledger.open(demo.url) as ledger:
        trace = ledger.trace(root, direction="forward")
    assert sorted(n["id"] for n in nodes) == sorted(n.lot.id for n in trace.nodes)
    assert len({n["id"] for n in nodes}) == len(nodes)
    assert sorted(edges) == sorted(trace.edges)
    made = [n["made_by"]["index"] for n in nodes]
    assert made == sorted(made)
    assert nodes[0]["id"] == root and nodes[0]["depth"] == 0
    assert "PS-0042-001" in {n["id"] for n in nodes}
    assert all(page["mines"] == ["JW-2026-0001"] for page in pages)


def test_participant_and_its_events(demo: Served) -> None:
    got = demo.client.get("/v1/participants/debswana").json()
    assert (got["id"], got["country"], got["roles"], got["status"]) == (
        "debswana",
        "BW",
        ["exporter", "mine_operator"],
        "active",
    )
    signed = [e["body"] for e in demo.world.events if e["body"]["actor"] == "debswana"]
    assert [k["id"] for k in got["keys"]] == [signed[0]["key"]]
    signed_ids = [body["id"] for body in signed]
    for limit in (1, 2, 50):
        pages = walk_pages(demo.client, "/v1/participants/debswana/events", limit)
        assert [item["id"] for page in pages for item in page["items"]] == signed_ids


def test_stored_event_comes_with_a_receipt_that_verifies_offline(demo: Served) -> None:
    envelope = demo.world.events[14]
    got = demo.client.get(f"/v1/events/{envelope['body']['id']}").json()
    assert got["index"] == 14
    assert got["envelope"] == envelope
    receipt = Receipt.from_json(got["receipt"])
    checkpoint = verify_receipt(receipt, demo.vkey, envelope=canonicalize(envelope))
    assert checkpoint.size == len(demo.world.events)
    assert receipt.leaf_hash.hex() == got["leaf_hash"]


def test_evidence_of_a_site(demo: Served) -> None:
    got = demo.client.get("/v1/evidence/site/jwaneng").json()
    assert got["subject"] == {"kind": "site", "id": "jwaneng"}
    assert got["level"] == "independently audited"
    assert [a["claim"] for a in got["attestations"]] == ["site_visited"]


def test_certificate_and_its_verification(demo: Served) -> None:
    got = demo.client.get("/v1/certificates/bw-2026-000042").json()
    assert (got["number"], got["status"], got["carats"]) == ("BW-2026-000042", "confirmed", "898.80")
    verdict = demo.client.get("/v1/certificates/BW-2026-000042/verify").json()
    with Ledger.open(demo.url) as ledger:
        assert verdict == verify_certificate(ledger, "BW-2026-000042").to_json()
    assert verdict["valid"] is True


def test_healthz_names_the_log_head(demo: Served) -> None:
    got = demo.client.get("/healthz").json()
    assert got["status"] == "ok" and got["database"] == "reachable"
    assert got["log"]["size"] == len(demo.world.events)


def test_openapi_3_1_describes_every_route_and_docs_are_served(demo: Served) -> None:
    spec = demo.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1.")
    assert {
        "/v1/events",
        "/v1/events/{event_id}",
        "/v1/lots/{lot_id}",
        "/v1/lots/{lot_id}/history",
        "/v1/lots/{lot_id}/trace",
        "/v1/certificates/{number}",
        "/v1/certificates/{number}/verify",
        "/v1/participants/{participant_id}",
        "/v1/participants/{participant_id}/events",
        "/v1/evidence/{kind}/{subject_id}",
        "/log/checkpoint",
        "/log/tile/{tile_path}",
        "/v1/log/proof/inclusion",
        "/v1/log/proof/consistency",
        "/healthz",
        "/metrics",
    } <= spec["paths"].keys()
    refused = spec["paths"]["/v1/events"]["post"]["responses"]["422"]
    assert "application/problem+json" in refused["content"]
    docs = demo.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
