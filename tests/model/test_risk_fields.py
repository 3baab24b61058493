"""The vocabulary the detectors read: a site's ``annual_capacity``, a shipment's declared ``value`` and the
``not_natural`` attestation are parsed, accepted and kept in the signed body, and malformed values are
refused with the field at fault and nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from adamas import Ledger
from adamas.model.events import parse_body
from adamas.sim import World
from adamas.store import schema
from conftest import basic_world
from refusal_tables import snapshot, submit_ok


def _body(w: World, type_: str, **fields: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": type_,
        "id": "evt-test-0001",
        "actor": "someone",
        "key": "0" * 16,
        "time": w.time,
        **fields,
    }


def test_the_three_fields_parse_to_exact_values() -> None:
    w = World()
    site = parse_body(
        _body(
            w,
            "site.register",
            site={
                "id": "mine-x",
                "name": "M",
                "kind": "mine",
                "country": "BW",
                "operator": "operator-x",
                "annual_capacity": "1200000.50",
            },
        )
    )
    assert site.fields["site"]["annual_capacity"] == 120000050
    ship = parse_body(
        _body(
            w,
            "lot.ship",
            shipment="s1",
            lots=["L1"],
            to="buyer",
            value={"amount": "99.95", "currency": "USD"},
        )
    )
    assert ship.fields["value"] == 9995
    attest = parse_body(
        _body(
            w,
            "attest",
            subject={"kind": "lot", "id": "L1"},
            claim="not_natural",
            statement="CVD",
            evidence=[],
        )
    )
    assert attest.fields["claim"] == "not_natural"


def test_the_three_fields_are_accepted_and_kept_in_the_signed_body(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    ledger = open_ledger(db_url)
    w = basic_world()
    w.site("bw-authority", "capped", "mine", "BW", "miner", annual_capacity="5000.00")
    w.produce("miner", "L1", "capped", "10.00")
    w.ship("miner", "s1", ["L1"], "trader", value={"amount": "1500.00", "currency": "USD"})
    w.receive("trader", "s1", {"L1": "10.00"})
    w.attest("bw-authority", "lot", "L1", "not_natural", statement="HPHT-treated")
    submit_ok(ledger, w.events)
    with ledger.engine.connect() as conn:
        bodies = {
            row.type: json.loads(bytes(row.envelope))["body"]
            for row in conn.execute(select(schema.events.c.type, schema.events.c.envelope))
        }
        codes = [row.code for row in conn.execute(select(schema.flags.c.code))]
    assert bodies["site.register"]["site"]["annual_capacity"] == "5000.00"
    assert bodies["lot.ship"]["value"] == {"amount": "1500.00", "currency": "USD"}
    assert bodies["attest"]["claim"] == "not_natural"
    assert "attest.not_natural" in codes


BAD = [
    pytest.param("site", {"annual_capacity": 5000}, "site.annual_capacity", id="capacity-a-json-number"),
    pytest.param("site", {"annual_capacity": "50.125"}, "site.annual_capacity", id="capacity-three-places"),
    pytest.param("site", {"annual_capacity": "-5.00"}, "site.annual_capacity", id="capacity-negative"),
    pytest.param(
        "ship", {"value": {"amount": "1.234", "currency": "USD"}}, "value.amount", id="value-three-places"
    ),
    pytest.param(
        "ship", {"value": {"amount": "10.00", "currency": "EUR"}}, "value.currency", id="value-not-usd"
    ),
    pytest.param("ship", {"value": "10.00"}, "value", id="value-not-money"),
    pytest.param("attest", {"claim": "not-natural"}, "claim", id="claim-misspelt"),
]


@pytest.mark.parametrize(("kind", "bad", "field"), BAD)
def test_malformed_values_are_refused_and_write_nothing(
    db_url: str, open_ledger: Callable[[str], Ledger], kind: str, bad: dict[str, Any], field: str
) -> None:
    ledger = open_ledger(db_url)
    w = basic_world()
    w.produce("miner", "L1", "mine-a", "10.00")
    submit_ok(ledger, w.events)
    before = snapshot(ledger)
    if kind == "site":
        envelope = w.sign(
            "bw-authority",
            "site.register",
            record=False,
            site={"id": "capped", "name": "C", "kind": "mine", "country": "BW", "operator": "miner", **bad},
        )
    elif kind == "ship":
        envelope = w.sign("miner", "lot.ship", record=False, shipment="s1", lots=["L1"], to="trader", **bad)
    else:
        envelope = w.sign(
            "bw-authority",
            "attest",
            record=False,
            subject={"kind": "lot", "id": "L1"},
            statement="x",
            evidence=[],
            **bad,
        )
    (outcome,) = ledger.submit([envelope])
    assert outcome.status == "refused" and outcome.error is not None
    assert (outcome.error.code, outcome.error.field) == ("event.schema", field)
    assert snapshot(ledger) == before
