"""The epcis commands: export (stdout or --out, --lot, --since/--until) and import (exit codes, one JSON line
per EPCIS event, refusals naming the event and the field)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from epcis_worlds import schema_errors
from typer.testing import CliRunner

from adamas.cli import app
from adamas.crypto import save_private_key
from adamas.model.values import format_time_ns, parse_time
from adamas.sim import World
from conftest import FIXED_NOW


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert CliRunner().invoke(app, ["demo", "--scripted", "--db", url]).exit_code == 0
    return url


@pytest.fixture
def debswana_key(tmp_path: Path) -> Path:
    path = tmp_path / "debswana.pem"
    save_private_key(path, World().key_for("debswana"))
    return path


def _export(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["epcis", "export", *args])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_export_prints_a_valid_document(demo_db: str) -> None:
    document = _export("--db", demo_db)
    assert schema_errors(document) == []
    assert len(document["epcisBody"]["eventList"]) == 25


def test_export_of_a_lineage_to_a_file(demo_db: str, tmp_path: Path) -> None:
    target = tmp_path / "lineage.jsonld"
    result = CliRunner().invoke(
        app, ["epcis", "export", "--db", demo_db, "--lot", "PS-0042-001", "--out", str(target)]
    )
    assert result.exit_code == 0 and result.stdout == ""
    events = json.loads(target.read_text())["epcisBody"]["eventList"]
    assert {e["adamas:type"] for e in events} >= {"lot.register", "lot.manufacture", "lot.sell"}
    assert not any("JW-2026-0001-B" in json.dumps(e.get("epcList", [])) for e in events)


def test_export_between_two_times(demo_db: str) -> None:
    events = _export(
        "--db", demo_db, "--since", "2026-03-01T08:20:00Z", "--until", "2026-03-01T09:25:00+01:00"
    )
    assert [e["eventTime"] for e in events["epcisBody"]["eventList"]] == [
        f"2026-03-01T08:{m}:00Z" for m in ("20", "21", "22", "23", "24")
    ]


def test_export_of_an_unknown_lot_is_an_error(demo_db: str) -> None:
    result = CliRunner().invoke(app, ["epcis", "export", "--db", demo_db, "--lot", "NOPE-0001"])
    assert result.exit_code == 1
    assert "lot.not_found" in result.stderr and "Traceback" not in result.output


def _import(
    path: Path, db: str, key: Path, actor: str = "debswana", *extra: str
) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(
        app, ["epcis", "import", str(path), "--db", db, "--key", str(key), "--actor", actor, *extra]
    )
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_importing_what_the_ledger_exported_changes_nothing(
    demo_db: str, debswana_key: Path, tmp_path: Path
) -> None:
    document = _export("--db", demo_db)
    mine = [e for e in document["epcisBody"]["eventList"] if e["adamas:actor"] == "urn:adamas:party:debswana"]
    path = tmp_path / "mine.jsonld"
    path.write_text(json.dumps({**document, "epcisBody": {"eventList": mine}}))
    code, lines = _import(path, demo_db, debswana_key)
    assert code == 0
    assert [line["status"] for line in lines] == ["duplicate"] * 3


def _production(tmp_path: Path, **changes: Any) -> Path:
    """A foreign EPCIS document: one rough parcel commissioned at Jwaneng a minute before the ledger's clock
    (the suite's ``$ADAMAS_NOW``)."""
    event = {
        "type": "ObjectEvent",
        "eventTime": format_time_ns(parse_time(FIXED_NOW, "now") - 60 * 1_000_000_000),
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:adamas:lot:JW-2026-0777"],
        "quantityList": [{"epcClass": "urn:adamas:lot:JW-2026-0777", "quantity": 320.5, "uom": "CTM"}],
        "action": "ADD",
        "bizStep": "commissioning",
        "readPoint": {"id": "urn:adamas:site:jwaneng"},
        "ilmd": {"dm:stones": 90, "dm:value": "41000.00"},
        **changes,
    }
    document = {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"dm": "https://adamas.example/epcis/ns/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": event["eventTime"],
        "epcisBody": {"eventList": [event]},
    }
    assert schema_errors(document) == []
    path = tmp_path / "production.jsonld"
    path.write_text(json.dumps(document))
    return path


def test_import_signs_and_submits_a_producers_events(
    demo_db: str, debswana_key: Path, tmp_path: Path
) -> None:
    code, lines = _import(_production(tmp_path), demo_db, debswana_key)
    assert code == 0, lines
    (line,) = lines
    assert line["status"] == "accepted" and line["id"].startswith("epcis-")
    shown = CliRunner().invoke(app, ["lot", "show", "JW-2026-0777", "--db", demo_db, "--json"])
    lot = json.loads(shown.stdout)
    assert (lot["carats"], lot["stones"], lot["holder"]) == ("320.50", 90, "debswana")


def test_import_refuses_an_unmappable_event_with_its_reason(
    demo_db: str, debswana_key: Path, tmp_path: Path
) -> None:
    code, lines = _import(_production(tmp_path, bizStep="destroying"), demo_db, debswana_key)
    assert code == 1
    (line,) = lines
    assert (line["status"], line["code"], line["field"], line["position"]) == (
        "unmappable",
        "epcis.unmappable",
        "bizStep",
        0,
    )
    assert line["eventID"].startswith("ni:///sha-256;")
    assert CliRunner().invoke(app, ["lot", "show", "JW-2026-0777", "--db", demo_db]).exit_code == 1


@pytest.mark.parametrize(
    ("content", "extra", "code"),
    [
        ("{not json", [], "input.malformed"),
        ("[1, 2]", [], "epcis.bad_document"),
        ('{"type": "EPCISDocument"}', [], "epcis.bad_document"),
        (
            '{"type": "EPCISDocument", "epcisBody": {"eventList": []}}',
            ["--mode", "sometimes"],
            "submit.bad_mode",
        ),
    ],
    ids=["not-json", "not-an-object", "no-body", "bad-mode"],
)
def test_bad_import_input_exits_2(
    demo_db: str, debswana_key: Path, tmp_path: Path, *, content: str, extra: list[str], code: str
) -> None:
    path = tmp_path / "bad.jsonld"
    path.write_text(content)
    result = CliRunner().invoke(
        app,
        [
            "epcis",
            "import",
            str(path),
            "--db",
            demo_db,
            "--key",
            str(debswana_key),
            "--actor",
            "debswana",
            *extra,
        ],
    )
    assert result.exit_code == 2
    assert code in result.stderr and "Traceback" not in result.output
