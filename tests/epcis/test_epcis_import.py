"""Import: EPCIS events become Adamas events signed by the importing actor. Exporting a world and importing
it into a second ledger rebuilds the same state; what cannot be mapped is refused and nothing is written."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from epcis_worlds import full_world, load_world

from adamas import Ledger
from adamas.epcis import export_document, import_document, to_bodies
from adamas.epcis.mapping import REGISTRY_TYPES
from adamas.errors import InputError
from adamas.sim import World
from adamas.store import schema

Opener = Callable[[str], Ledger]


def _order(event: dict[str, Any]) -> int:
    """Where an EPCIS event belongs in the log: its correction's leaf for a declaration, else its own."""
    declaration = event.get("errorDeclaration") or {}
    index: int = declaration.get("adamas:leafIndex", event["adamas:leafIndex"])
    return index


def replay_through_epcis(world: World, document: dict[str, Any], target: Ledger) -> None:
    """Rebuild ``world`` in ``target``: registry events as they were signed, everything else from the EPCIS
    document, imported run by run by the participant whose key the world holds."""
    registry = [(i, e) for i, e in enumerate(world.events) if e["body"]["type"] in REGISTRY_TYPES]
    items: list[tuple[int, str, Any]] = [(i, "", e) for i, e in registry]
    items += [(_order(e), "epcis", e) for e in document["epcisBody"]["eventList"]]
    items.sort(key=lambda item: item[0])
    runs: list[tuple[str, list[Any]]] = []
    for _, kind, item in items:
        actor = "" if kind == "" else (item.get("errorDeclaration") or item)["adamas:actor"].rsplit(":", 1)[1]
        if runs and runs[-1][0] == actor:
            runs[-1][1].append(item)
        else:
            runs.append((actor, [item]))
    for actor, batch in runs:
        if actor == "":
            assert all(o.ok for o in target.submit(batch))
            continue
        report = import_document(
            target, {**document, "epcisBody": {"eventList": batch}}, key=world.actors[actor].key, actor=actor
        )
        assert report.ok, ([r.to_json() for r in report.refusals], [o.to_json() for o in report.outcomes])


def _state(ledger: Ledger) -> dict[str, Any]:
    with ledger.engine.connect() as conn:
        lots = sorted(r.id for r in conn.execute(schema.lots.select()))
        certificates = sorted(
            (r.id, r.used_by, r.void_event, r.confirmed_event)
            for r in conn.execute(schema.certificates.select())
        )
        corrections = sorted((r.id, r.target) for r in conn.execute(schema.corrections.select()))
    return {
        "lots": {lot: ledger.lot(lot).to_json() for lot in lots},
        "histories": {
            lot: [(h.index, h.id, h.type, h.actor, h.time) for h in ledger.history(lot)] for lot in lots
        },
        "certificates": certificates,
        "corrections": corrections,
        "evidence": ledger.evidence("lot", "PS-0042-001").to_json(),
    }


def test_export_then_import_rebuilds_the_same_state(db_url: str, tmp_path: Any, open_ledger: Opener) -> None:
    world, star = full_world()
    source = load_world(f"sqlite:///{tmp_path / 'source.db'}", open_ledger, world)
    document = export_document(source)
    target = open_ledger(db_url)
    replay_through_epcis(world, document, target)
    assert target.size == source.size
    assert _state(target) == _state(source)
    assert target.trace(star).to_json() == source.trace(star).to_json()


def test_importing_twice_logs_nothing_twice(sqlite_url: str, tmp_path: Any, open_ledger: Opener) -> None:
    world, star = full_world()
    source = load_world(f"sqlite:///{tmp_path / 'source.db'}", open_ledger, world)
    document = export_document(source, lot=star)
    target = open_ledger(sqlite_url)
    replay_through_epcis(world, document, target)
    size = target.size
    first = document["epcisBody"]["eventList"][0]
    actor = first["adamas:actor"].rsplit(":", 1)[1]
    again = import_document(
        target, {**document, "epcisBody": {"eventList": [first]}}, key=world.actors[actor].key, actor=actor
    )
    assert [o.status for o in again.outcomes] == ["duplicate"]
    assert target.size == size


def _mine_document(world: World, ledger: Ledger) -> dict[str, Any]:
    """An EPCIS document with debswana's production and first shipment, as another system would send it."""
    document = export_document(ledger)
    events = [
        e for e in document["epcisBody"]["eventList"] if e["adamas:actor"] == "urn:adamas:party:debswana"
    ]
    return {**document, "epcisBody": {"eventList": events[:3]}}


@pytest.fixture
def registry_ledger(
    sqlite_url: str, tmp_path: Any, open_ledger: Opener
) -> tuple[World, Ledger, dict[str, Any]]:
    """A ledger holding the world's participants and sites only, and debswana's events as EPCIS."""
    world, _ = full_world()
    source = load_world(f"sqlite:///{tmp_path / 'source.db'}", open_ledger, world)
    target = open_ledger(sqlite_url)
    first_custody = next(i for i, e in enumerate(world.events) if e["body"]["type"] not in REGISTRY_TYPES)
    assert all(o.ok for o in target.submit(world.events[:first_custody]))
    return world, target, _mine_document(world, source)


def _foreign(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a system that knows nothing of Adamas might send it: no Adamas trailer."""
    return {
        k: v
        for k, v in event.items()
        if k not in ("adamas:event", "adamas:actor", "adamas:envelope", "adamas:leafIndex", "adamas:type")
    }


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for name in parents:
            node = node[int(name)] if name.isdigit() else node[name]
        if value is _DROP:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


_DROP = object()
BAD_EVENTS: list[tuple[str, int, Callable[[dict[str, Any]], None], str, str]] = [
    ("aggregation-event", 0, _set("type", "AggregationEvent"), "epcis.unmappable", "type"),
    ("unknown-biz-step", 0, _set("bizStep", "destroying"), "epcis.unmappable", "bizStep"),
    (
        "gs1-lot-id",
        0,
        _set("epcList", ["urn:epc:id:sgtin:0614141.107346.2017"]),
        "epcis.bad_identifier",
        "epcList",
    ),
    ("kilograms", 0, _set("quantityList.0.uom", "KGM"), "epcis.unmappable", "quantityList.uom"),
    ("no-stone-count", 0, _set("ilmd.adamas:stones", _DROP), "epcis.unmappable", "ilmd.adamas:stones"),
    (
        "site-not-adamas",
        0,
        _set("readPoint", {"id": "urn:epc:id:sgln:4012345.00011.0"}),
        "epcis.bad_identifier",
        "readPoint",
    ),
    (
        "two-lots-registered",
        0,
        _set("epcList", ["urn:adamas:lot:A-00000001", "urn:adamas:lot:A-00000002"]),
        "epcis.unmappable",
        "epcList",
    ),
    ("ship-without-shipment", 2, _set("bizTransactionList", []), "epcis.unmappable", "bizTransactionList"),
    ("ship-without-addressee", 2, _set("destinationList", []), "epcis.unmappable", "destinationList"),
    (
        "someone-elses-event",
        0,
        _set("adamas:actor", "urn:adamas:party:dtc-botswana"),
        "epcis.actor_mismatch",
        "adamas:actor",
    ),
    ("no-event-time", 0, _set("eventTime", _DROP), "epcis.unmappable", "eventTime"),
]


@pytest.mark.parametrize(
    ("position", "change", "code", "field"), [c[1:] for c in BAD_EVENTS], ids=[c[0] for c in BAD_EVENTS]
)
def test_unmappable_event_is_refused_and_nothing_is_written(
    registry_ledger: tuple[World, Ledger, dict[str, Any]],
    position: int,
    change: Callable[[dict[str, Any]], None],
    code: str,
    field: str,
) -> None:
    world, ledger, document = registry_ledger
    bad = copy.deepcopy(document)
    change(bad["epcisBody"]["eventList"][position])
    size = ledger.size
    report = import_document(ledger, bad, key=world.actors["debswana"].key, actor="debswana")
    assert not report.ok
    (refusal,) = report.refusals
    assert (refusal.position, refusal.code, refusal.field) == (position, code, field)
    assert refusal.message and refusal.event_id == document["epcisBody"]["eventList"][position]["eventID"]
    assert report.outcomes == ()
    assert ledger.size == size


def test_proceed_keeps_what_maps_and_reports_the_rest(
    registry_ledger: tuple[World, Ledger, dict[str, Any]],
) -> None:
    world, ledger, document = registry_ledger
    bad = copy.deepcopy(document)
    bad["epcisBody"]["eventList"][2]["bizStep"] = "destroying"
    report = import_document(ledger, bad, key=world.actors["debswana"].key, actor="debswana", mode="proceed")
    assert [r.position for r in report.refusals] == [2]
    assert [o.status for o in report.outcomes] == ["accepted", "accepted"]
    assert ledger.lot("JW-2026-0001").holder == "debswana"


def test_foreign_events_are_signed_by_the_importer(
    registry_ledger: tuple[World, Ledger, dict[str, Any]],
) -> None:
    """Events from a system that knows nothing of Adamas ids get ids derived from their eventIDs."""
    world, ledger, document = registry_ledger
    foreign = {
        **document,
        "epcisBody": {"eventList": [_foreign(e) for e in document["epcisBody"]["eventList"]]},
    }
    report = import_document(ledger, foreign, key=world.actors["debswana"].key, actor="debswana")
    assert report.ok
    history = ledger.history("JW-2026-0001")
    assert [h.type for h in history] == ["lot.register", "lot.ship"]
    assert all(h.id.startswith("epcis-") and h.actor == "debswana" for h in history)


def test_rules_still_judge_imported_events(registry_ledger: tuple[World, Ledger, dict[str, Any]]) -> None:
    """Signing as someone who does not operate the mine: mapped, signed, and refused by the ledger."""
    world, ledger, document = registry_ledger
    foreign = {**document, "epcisBody": {"eventList": [_foreign(document["epcisBody"]["eventList"][0])]}}
    size = ledger.size
    report = import_document(ledger, foreign, key=world.actors["dtc-botswana"].key, actor="dtc-botswana")
    assert not report.ok and report.refusals == ()
    assert report.outcomes[0].error is not None and report.outcomes[0].error.code == "actor.not_authorized"
    assert ledger.size == size


@pytest.mark.parametrize(
    "document",
    [{"type": "Something"}, {"type": "EPCISDocument", "epcisBody": {}}],
    ids=["not-epcis", "no-event-list"],
)
def test_a_document_that_is_not_epcis_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(InputError) as caught:
        to_bodies(document, actor="debswana")
    assert caught.value.code == "epcis.bad_document"


@pytest.fixture
def correction_document(sqlite_url: str, open_ledger: Opener) -> dict[str, Any]:
    """The exported error declaration on the grading report, and its corrective event."""
    world, _ = full_world()
    document = export_document(load_world(sqlite_url, open_ledger, world))
    (declaration,) = [e for e in document["epcisBody"]["eventList"] if "errorDeclaration" in e]
    (corrective,) = [e for e in document["epcisBody"]["eventList"] if "adamas:corrects" in e]
    return {**document, "epcisBody": {"eventList": [declaration, corrective]}}


def test_error_declaration_becomes_a_correction_with_its_replacement(
    correction_document: dict[str, Any],
) -> None:
    bodies, refusals = to_bodies(correction_document, actor="hrd-antwerp")
    assert refusals == []
    ((position, body),) = bodies
    assert position == 0 and body["type"] == "correct" and body["event"] == body["replacement"]["id"]
    assert body["replacement"]["report"]["clarity"] == "VVS2"


def test_withdrawal_needs_did_not_occur(correction_document: dict[str, Any]) -> None:
    declaration = copy.deepcopy(correction_document["epcisBody"]["eventList"][0])
    del declaration["errorDeclaration"]["correctiveEventIDs"]
    alone = {**correction_document, "epcisBody": {"eventList": [declaration]}}
    _, refusals = to_bodies(alone, actor="hrd-antwerp")
    assert [(r.code, r.field) for r in refusals] == [("epcis.unmappable", "errorDeclaration.reason")]
    declaration["errorDeclaration"]["reason"] = "did_not_occur"
    ((_, body),) = to_bodies(alone, actor="hrd-antwerp")[0]
    assert body["type"] == "correct" and "replacement" not in body


def test_corrective_event_must_come_with_its_declaration(correction_document: dict[str, Any]) -> None:
    alone = {
        **correction_document,
        "epcisBody": {"eventList": correction_document["epcisBody"]["eventList"][:1]},
    }
    _, refusals = to_bodies(alone, actor="hrd-antwerp")
    assert [(r.code, r.field) for r in refusals] == [
        ("epcis.unmappable", "errorDeclaration.correctiveEventIDs")
    ]
