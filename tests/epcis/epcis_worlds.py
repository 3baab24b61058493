"""Worlds for the EPCIS tests: the demo world grown until it holds every event type the ledger knows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema

from adamas import Ledger
from adamas.model.values import format_time_ns
from adamas.sim import World, demo_world

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "epcis"
REGISTRY = frozenset(
    {"genesis", "participant.register", "participant.status", "key.add", "key.revoke", "site.register"}
    | {"country.status", "sanction.set", "ledger.backfill"}
)


def full_world() -> tuple[World, str]:
    """The demo world, then: a key rotation, a second cut into a two-stone jewel, a freeze and release, a
    certificate issued and voided, attestations about a participant and a country, and a suspension."""
    w, star = demo_world()
    bw, cutter, monitor = w.actors["bw-authority"], w.actors["gaborone-cutting"], w.actors["kp-civil-society"]
    rotated = w.key_for("debswana", 1)
    w.sign(
        "debswana",
        "key.add",
        participant="debswana",
        new_key={"id": rotated.id, "public_key": rotated.public_key_b64},
    )
    w.sign(
        "debswana",
        "key.revoke",
        participant="debswana",
        key_id=rotated.id,
        reason="rotated",
        effective=format_time_ns(w.now_ns + w.step_ns),
    )
    w.split(
        cutter,
        "DTC-ASSORT-0042-R",
        {"RS-0042-002": "4.00", "DTC-ASSORT-0042-R2": "492.90"},
        stones={"RS-0042-002": 1, "DTC-ASSORT-0042-R2": 198},
    )
    w.manufacture(cutter, "RS-0042-002", {"PS-0042-002": "1.10", "PS-0042-003": "0.90"})
    w.assemble(cutter, ["PS-0042-002", "PS-0042-003"], "JWL-0001", "Pendant with two Botswana stones")
    w.sign(bw, "lot.freeze", lot="DTC-ASSORT-0042-R2", reason="spot inspection")
    w.sign(bw, "lot.release", lot="DTC-ASSORT-0042-R2", reason="inspection passed")
    w.issue_certificate(
        bw,
        "BW-2026-000043",
        exporter=cutter.id,
        importer="antwerp-rough",
        exporting="BW",
        importing="BE",
        lots=["DTC-ASSORT-0042-R2"],
        carats="492.90",
        origin={"BW": "492.90"},
        value="51000.00",
        shipment="shp-bw-be-0003",
    )
    w.sign(bw, "certificate.void", number="BW-2026-000043", reason="the exporter withdrew the parcel")
    w.attest(
        monitor,
        "participant",
        "debswana",
        "documents_verified",
        statement="Licences checked.",
        evidence="audit",
    )
    w.attest(monitor, "country", "BW", "concern", statement="Artisanal output unreported.")
    w.sign(
        bw, "participant.status", participant="gaborone-cutting", status="suspended", reason="licence audit"
    )
    return w, star


def event_types(world: World) -> set[str]:
    """The Adamas event types a world's events use."""
    return {e["body"]["type"] for e in world.events}


def load_world(url: str, open_ledger: Callable[[str], Ledger], world: World) -> Ledger:
    """A ledger at ``url`` holding every event of ``world``, all accepted."""
    ledger = open_ledger(url)
    outcomes = ledger.submit(world.events)
    refused = [o.to_json() for o in outcomes if not o.ok]
    assert not refused, refused
    return ledger


def schema_validator() -> jsonschema.Draft7Validator:
    """The official EPCIS 2.0 JSON Schema, checking formats (uri, date-time) too."""
    schema = json.loads((VECTORS / "schema" / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Every way ``document`` breaks the official schema, as readable lines (empty: it validates)."""
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in schema_validator().iter_errors(document)]
