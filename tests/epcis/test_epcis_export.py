"""Export: every document of a world holding every event type validates against the official EPCIS 2.0
schema; eventIDs are the CBV 2.0 hash (GS1's reference hasher agrees); each event checks against the log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from epcis_worlds import REGISTRY, event_types, full_world, load_world, schema_errors
from sqlalchemy import update

from adamas import Ledger, verify_receipt
from adamas.crypto import canonicalize
from adamas.crypto.keys import verify
from adamas.epcis import NAMESPACE, event_hash, export_document, record_time
from adamas.epcis.mapping import REGISTRY_TYPES
from adamas.errors import InputError, NotFoundError
from adamas.log import leaf_hash
from adamas.model.values import parse_time
from adamas.store import schema

Opener = Callable[..., Ledger]


@pytest.fixture
def world_ledger(sqlite_url: str, open_ledger: Opener) -> tuple[Ledger, str]:
    world, star = full_world()
    return load_world(sqlite_url, open_ledger, world), star


def _events(document: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    return events


def test_the_world_holds_every_event_type_but_backfill() -> None:
    world, _ = full_world()
    custody = {
        "lot.register", "lot.split", "lot.merge", "lot.ship", "lot.receive", "lot.manufacture", "lot.grade",
        "lot.assemble", "lot.sell", "lot.freeze", "lot.release", "certificate.issue", "certificate.confirm",
        "certificate.void", "attest", "correct",
    }  # fmt: skip
    # ledger.backfill is not an event type of this ledger yet; the mapping lists it among the registry types.
    assert event_types(world) == custody | (REGISTRY - {"ledger.backfill"})
    assert REGISTRY == REGISTRY_TYPES


def test_whole_world_export_validates_against_the_official_schema(world_ledger: tuple[Ledger, str]) -> None:
    ledger, _ = world_ledger
    document = export_document(ledger)
    assert schema_errors(document) == []
    mapped = {e["adamas:type"] for e in _events(document)}
    world, _ = full_world()
    assert mapped == event_types(world) - REGISTRY_TYPES


def test_lineage_export_validates_and_reaches_the_mines(world_ledger: tuple[Ledger, str]) -> None:
    ledger, star = world_ledger
    document = export_document(ledger, lot=star)
    assert schema_errors(document) == []
    registered = [e for e in _events(document) if e["adamas:type"] == "lot.register"]
    assert {e["readPoint"]["id"] for e in registered} == {"urn:adamas:site:jwaneng", "urn:adamas:site:orapa"}
    # The declaration on the grading report and the corrected report both come with the lineage.
    assert any("errorDeclaration" in e for e in _events(document))
    assert all(
        "urn:adamas:lot:JWL-0001" not in json.dumps(e["epcList"]) for e in _events(document) if "epcList" in e
    )


def test_event_ids_are_the_cbv_hash_of_each_event(world_ledger: tuple[Ledger, str]) -> None:
    ledger, _ = world_ledger
    for event in _events(export_document(ledger)):
        assert event["eventID"] == event_hash(event, {"adamas": NAMESPACE})
        assert event["eventID"].startswith("ni:///sha-256;") and event["eventID"].endswith("?ver=CBV2.0")


# The reference hasher loads its bundled JSON-LD context with importlib.resources.open_text, deprecated since
# Python 3.11; the warning is theirs, not ours.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_event_ids_agree_with_gs1_reference_hasher(world_ledger: tuple[Ledger, str]) -> None:
    from epcis_event_hash_generator import json_to_py
    from epcis_event_hash_generator.hash_generator import epcis_hashes_from_events

    ledger, _ = world_ledger
    document = export_document(ledger)
    theirs = epcis_hashes_from_events(
        json_to_py.event_list_from_epcis_document_json(json.loads(json.dumps(document)))
    )
    assert theirs == [e["eventID"] for e in _events(document)]


def test_error_declaration_keeps_the_corrected_event_id(world_ledger: tuple[Ledger, str]) -> None:
    ledger, _ = world_ledger
    events = _events(export_document(ledger))
    (declaration,) = [e for e in events if "errorDeclaration" in e]
    original = [e for e in events if e["eventID"] == declaration["eventID"] and e is not declaration]
    assert len(original) == 1 and original[0]["adamas:type"] == "lot.grade"
    (corrective_id,) = declaration["errorDeclaration"]["correctiveEventIDs"]
    (corrective,) = [e for e in events if e["eventID"] == corrective_id]
    assert corrective["adamas:report"]["adamas:clarity"] == "VVS2"
    assert original[0]["adamas:report"]["adamas:clarity"] == "VS1"


def test_every_event_checks_against_the_log(world_ledger: tuple[Ledger, str]) -> None:
    """The envelope an event carries is signed by its actor, hashes to the leaf at its index, and that leaf's
    inclusion proof verifies under the log's key."""
    ledger, _ = world_ledger
    with ledger.engine.connect() as conn:
        stored = {r.seq: leaf_hash(bytes(r.envelope)) for r in conn.execute(schema.events.select())}
        keys = {r.id: bytes(r.public_key) for r in conn.execute(schema.keys.select())}
    for event in _events(export_document(ledger)):
        envelope = json.loads(event["adamas:envelope"])
        index = event["adamas:leafIndex"]
        digest = leaf_hash(canonicalize(envelope))
        assert digest == stored[index]
        receipt = ledger.receipt(index)
        assert receipt.leaf_hash == digest
        verify_receipt(receipt, ledger.vkey, envelope=canonicalize(envelope))
        assert envelope["body"]["id"] == event["adamas:event"]
        assert verify(keys[envelope["body"]["key"]], canonicalize(envelope["body"]), envelope["sig"])


def test_record_time_is_when_the_ledger_logged_the_event(sqlite_url: str, open_ledger: Opener) -> None:
    world, _ = full_world()
    now = [parse_time("2026-03-02T00:00:00Z", "now")]
    ledger = open_ledger(sqlite_url, clock=lambda: now[0])
    assert all(o.ok for o in ledger.submit(world.events[:20]))
    now[0] = parse_time("2026-03-28T20:26:40Z", "now")  # a later batch, logged later
    assert all(o.ok for o in ledger.submit(world.events[20:]))
    with ledger.engine.connect() as conn:
        times = record_time(conn, range(ledger.size))
    assert {times[i] for i in range(20)} != {times[i] for i in range(20, ledger.size)}
    assert times[ledger.size - 1] == parse_time("2026-03-28T20:26:40Z", "now")
    events = _events(export_document(ledger))
    assert {e["recordTime"] for e in events if e["adamas:leafIndex"] >= 20} == {"2026-03-28T20:26:40Z"}
    assert {e["recordTime"] for e in events if e["adamas:leafIndex"] < 20} == {"2026-03-02T00:00:00Z"}


def test_record_time_before_schema_five_is_the_checkpoint_signing_time(
    sqlite_url: str, open_ledger: Opener
) -> None:
    """Events logged before version 5 recorded ``logged_ns`` (NULL there, as the migration leaves them)
    take the signing time of the checkpoint that added them."""
    world, _ = full_world()
    now = [parse_time("2026-03-02T00:00:00Z", "now")]
    ledger = open_ledger(sqlite_url, clock=lambda: now[0])
    assert all(o.ok for o in ledger.submit(world.events[:20]))
    now[0] = parse_time("2026-03-05T00:00:00Z", "now")
    assert all(o.ok for o in ledger.submit(world.events[20:]))
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.events).where(schema.events.c.seq < 20).values(logged_ns=None))
    with ledger.engine.connect() as conn:
        times = record_time(conn, range(ledger.size))
    assert [times[i] for i in (0, 19, 20)] == [
        parse_time("2026-03-02T00:00:00Z", "now"),
        parse_time("2026-03-02T00:00:00Z", "now"),
        parse_time("2026-03-05T00:00:00Z", "now"),
    ]


def test_since_and_until_bound_the_declared_time(world_ledger: tuple[Ledger, str]) -> None:
    ledger, _ = world_ledger
    every = _events(export_document(ledger))
    times = sorted({e["eventTime"] for e in every})
    since, until = times[5], times[15]
    window = _events(export_document(ledger, since=since, until=until))
    assert window and all(since <= e["eventTime"] < until for e in window if "errorDeclaration" not in e)
    assert len(window) == len([e for e in every if since <= e["eventTime"] < until])


@pytest.mark.parametrize(
    ("options", "error", "code"),
    [
        ({"lot": "NO-SUCH-LOT"}, NotFoundError, "lot.not_found"),
        ({"since": "yesterday"}, InputError, None),
        ({"until": "2026-13-01T00:00:00Z"}, InputError, None),
    ],
    ids=["unknown-lot", "since-not-a-time", "until-not-a-time"],
)
def test_bad_export_options_are_refused(
    world_ledger: tuple[Ledger, str], options: dict[str, str], error: type[Exception], code: str | None
) -> None:
    ledger, _ = world_ledger
    with pytest.raises(error) as caught:
        export_document(ledger, **options)
    if code is not None:
        assert getattr(caught.value, "code", None) == code
    assert getattr(caught.value, "field", None) in {"lot", "since", "until"}


def test_documents_state_their_sender_and_context(world_ledger: tuple[Ledger, str]) -> None:
    ledger, _ = world_ledger
    document = export_document(ledger)
    assert document["sender"] == ledger.origin
    assert document["@context"][1] == {"adamas": NAMESPACE}
    assert hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def test_master_data_describes_the_sites_the_events_name(world_ledger: tuple[Ledger, str]) -> None:
    ledger, star = world_ledger
    document = export_document(ledger, lot=star)
    (vocabulary,) = document["epcisHeader"]["epcisMasterData"]["vocabularyList"]
    assert vocabulary["type"] == "urn:epcglobal:epcis:vtype:BusinessLocation"
    sites = {
        e["id"]: {a["id"]: a["attribute"] for a in e["attributes"]}
        for e in vocabulary["vocabularyElementList"]
    }
    assert set(sites) == {"urn:adamas:site:jwaneng", "urn:adamas:site:orapa"}
    assert sites["urn:adamas:site:jwaneng"] == {
        "urn:epcglobal:cbv:mda#name": "Jwaneng",
        "urn:epcglobal:cbv:mda#countryCode": "BW",
        "urn:epcglobal:cbv:mda#latitude": "-24.52",
        "urn:epcglobal:cbv:mda#longitude": "24.70",
        "adamas:kind": "mine",
        "adamas:operator": "urn:adamas:party:debswana",
    }
    assert "epcisHeader" not in export_document(ledger, since="2030-01-01T00:00:00Z")
