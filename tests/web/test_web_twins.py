"""The pages' JSON twins and the HTML faces of errors, without a browser, on both backends: the
verification bundle holds what an independent verifier needs (its proofs verify with our own log code
against the checkpoint it carries), every page has a twin, errors are problems in JSON and pages in HTML."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from served import Served, problem

from adamas import Ledger
from adamas.api import create_app
from adamas.log import Verifier, open_checkpoint, verify_inclusion
from adamas.log.hashing import leaf_hash
from adamas.sim import demo_world

STAR = "PS-0042-001"


@pytest.fixture(name="demo")
def demo_fixture(db_url: str) -> Iterator[Served]:
    world, star = demo_world()
    # The ledger logs the scripted world as it happens: its clock is the world's.
    with Ledger.open(db_url, create=True, clock=world.clock) as ledger:
        assert all(o.status == "accepted" for o in ledger.submit(world.events))
        vkey = ledger.vkey
    app = create_app(db_url)
    with TestClient(app) as client:
        yield Served(client, app, world, db_url, vkey, star)


def test_the_lot_bundle_proves_every_event_of_the_lineage_against_its_checkpoint(demo: Served) -> None:
    bundle = demo.client.get(f"/v1/lots/{STAR}/verification").json()
    assert bundle["subject"] == {"kind": "lot", "id": STAR}
    assert bundle["log"]["vkey"] == demo.vkey and bundle["pending"] == [] and not bundle["truncated"]
    checkpoint, _ = open_checkpoint(
        bundle["checkpoint"].encode(),
        origin=bundle["log"]["origin"],
        verifiers=[Verifier.from_vkey(demo.vkey)],
    )
    assert checkpoint.size == bundle["size"] == 39
    ids = [e["id"] for e in bundle["events"]]
    # The stone's own events, every ancestor's, and the registrations of every signer up to the genesis.
    for event in ("evt-0000024", "evt-0000018", "evt-0000014", "evt-0000006", "evt-0000002", "evt-0000001"):
        assert event in ids
    assert "evt-0000032" not in ids  # a sibling lot's shipment is not in this lineage
    keys = {k["id"]: k for k in bundle["keys"]}
    for event in bundle["events"]:
        envelope = event["envelope"].encode()
        verify_inclusion(
            leaf_hash(envelope),
            event["index"],
            checkpoint.size,
            [bytes.fromhex(h) for h in event["proof"]],
            checkpoint.root_hash,
        )
        key = keys[json.loads(envelope)["body"]["key"]]
        raw = base64.b64decode(key["public_key"])
        assert hashlib.sha256(raw).digest()[:8].hex() == key["id"]
        assert key["registered_by"] in ids


def test_every_page_has_a_json_twin(demo: Served) -> None:
    client = demo.client
    overview = client.get("/v1/overview").json()
    assert overview["log"]["size"] == 39 and sum(sum(v) for v in overview["activity"]["types"].values()) == 39
    passport = client.get(f"/v1/lots/{STAR}/passport").json()
    assert passport["lot"]["id"] == STAR
    assert [(o["site"], o["carats"]) for o in passport["origin"]] == [("jwaneng", "0.91"), ("orapa", "0.61")]
    assert [c["country"] for c in passport["countries"]] == ["BW"]
    assert {s["id"]: (s["lat"], s["lon"]) for s in passport["sites"]} == {
        "jwaneng": (-24.52, 24.70),
        "orapa": (-21.30, 25.37),
    }
    steps = {s["event"]: s for s in passport["timeline"]}
    assert steps["evt-0000014"]["where"] == "Jwaneng, Botswana"
    assert steps["evt-0000014"]["evidence"] == "independently audited"  # the monitor's site visit
    assert steps["evt-0000028"]["to"] == "fifth-avenue-jewels"
    assert steps["evt-0000027"]["corrected_by"] == "evt-0000039"
    assert passport["evidence"]["level"] == "lab-verified"
    country = client.get("/v1/countries/bw").json()
    assert country["country"] == "BW" and "2026-Q1" in country["periods"]
    q1 = country["periods"].index("2026-Q1")
    assert country["carats"]["production"][q1] == 2000.0 and country["carats"]["exports"][q1] == 898.8
    assert client.get("/v1/monitor?severity=high").json()["flags"] == []
    bundle = client.get("/v1/certificates/bw-2026-000042/verification").json()
    assert bundle["subject"] == {"kind": "certificate", "id": "BW-2026-000042"}
    # Each page names its twin.
    for page, twin in (
        ("/", "/v1/overview"),
        (f"/lots/{STAR}", f"/v1/lots/{STAR}/passport"),
        ("/countries/BW", "/v1/countries/BW"),
    ):
        html = client.get(page).text
        assert f'<link rel="alternate" type="application/json" href="{twin}">' in html


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/lots/no-such-lot/passport", 404, "lot.not_found"),
        ("/v1/lots/no-such-lot/verification", 404, "lot.not_found"),
        ("/v1/certificates/BW-0000/verification", 404, "certificate.unknown"),
        ("/v1/certificates/not a number/verification", 400, "certificate.bad_number"),
        ("/v1/countries/XX", 400, "country.bad_code"),
        ("/v1/countries/B1", 400, "country.bad_code"),
        ("/v1/monitor?severity=extreme", 400, "risk.bad_severity"),
        ("/v1/monitor?status=maybe", 400, "risk.bad_status"),
        ("/v1/monitor?detector=astrology", 400, "risk.bad_detector"),
    ],
    ids=[
        "lot",
        "lot-bundle",
        "certificate",
        "certificate-number",
        "country",
        "country-digit",
        "severity",
        "status",
        "detector",
    ],
)
def test_a_bad_twin_request_is_a_problem(demo: Served, path: str, status: int, code: str) -> None:
    problem(demo.client.get(path), status, code)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/lots/no-such-lot", 404),
        ("/certificates/BW-0000", 404),
        ("/countries/XX", 400),
        ("/flags?severity=extreme", 400),
        ("/participants/nobody", 404),
    ],
    ids=["lot", "certificate", "country", "monitor", "participant"],
)
def test_a_bad_page_request_is_an_html_page_with_the_same_status(
    demo: Served, path: str, status: int
) -> None:
    response = demo.client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<main" in response.text and "code <code>" in response.text


def test_the_qr_url_redirects_to_the_certificate_page(demo: Served) -> None:
    client: TestClient = demo.client
    response = client.get("/certificates/verify?number=bw-2026-000042&leaf=31", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/certificates/BW-2026-000042?leaf=31"
    # A code naming another leaf than the issue event's is shown as a mismatch.
    assert "printed code names leaf 7" in client.get("/certificates/BW-2026-000042?leaf=7").text


def test_pages_escape_what_participants_wrote(demo: Served) -> None:
    html = demo.client.get("/search?q=<script>alert(1)</script>").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
