"""Corrections: the original stays in the log; the state is recomputed as if the replacement had happened;
a correction that would break a later event is refused; rebuild agrees."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from adamas import Ledger
from adamas.sim import World
from adamas.store import schema
from conftest import basic_world


def _state(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    with ledger.engine.connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in schema.STATE_TABLES}


def _world(ledger: Ledger) -> tuple[World, dict[str, Any]]:
    w = basic_world()
    w.produce("miner", "R1", "mine-a", "100.00")
    w.split("miner", "R1", {"R1a": "60.00", "R1b": "40.00"})
    split = w.events[-1]["body"]
    assert all(o.ok for o in ledger.submit(w.events))
    w.events.clear()
    return w, split


def test_a_corrected_split_recomputes_the_state(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    ledger = open_ledger(db_url)
    w, split = _world(ledger)
    replacement = {**split, "into": [{"id": "R1a", "carats": "70.00"}, {"id": "R1b", "carats": "30.00"}]}
    fix = w.sign(
        "miner",
        "correct",
        record=False,
        event=split["id"],
        reason="parts swapped on the scale",
        replacement=replacement,
    )
    size = ledger.size
    (outcome,) = ledger.submit([fix])
    assert outcome.status == "accepted", outcome.to_json()
    assert ledger.size == size + 1  # the original stays; the correction is one more leaf
    assert ledger.lot("R1a").carats == Decimal("70.00")
    assert ledger.lot("R1b").origin[0].carats == Decimal("30.00")
    history = [(h.type, h.id) for h in ledger.history("R1a")]
    assert history == [("lot.split", split["id"]), ("correct", fix["body"]["id"])]
    assert ledger.history("R1a")[0].corrected_by == fix["body"]["id"]
    assert ledger.history("R1a")[0].body == split  # the original, as it was signed
    before = _state(ledger)
    ledger.rebuild()
    assert _state(ledger) == before


def test_a_withdrawn_event_leaves_no_effect(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    ledger = open_ledger(db_url)
    w, split = _world(ledger)
    (outcome,) = ledger.submit(
        [w.sign("bw-authority", "correct", record=False, event=split["id"], reason="never happened")]
    )
    assert outcome.status == "accepted", outcome.to_json()
    assert ledger.lot("R1").state == "held"
    before = _state(ledger)
    ledger.rebuild()
    assert _state(ledger) == before


@pytest.mark.parametrize(
    "case",
    [
        "conflict",
        "stranger",
        "other_type",
        "genesis",
        "unknown",
        "not_alone",
    ],
)
def test_corrections_that_are_refused(db_url: str, open_ledger: Callable[[str], Ledger], case: str) -> None:
    ledger = open_ledger(db_url)
    w, split = _world(ledger)
    register = ledger.history("R1")[0]
    expected: tuple[str, str]
    batch: list[dict[str, Any]]
    if case == "conflict":
        body = dict(register.body)
        body["lot"] = {**body["lot"], "carats": "101.00"}
        batch = [
            w.sign("miner", "correct", record=False, event=register.id, reason="scale", replacement=body)
        ]
        expected = ("correct.conflict", "replacement")
    elif case == "stranger":
        batch = [w.sign("trader", "correct", record=False, event=split["id"], reason="mine")]
        expected = ("actor.not_authorized", "event")
    elif case == "other_type":
        body = {**split, "type": "lot.merge"}
        batch = [w.sign("miner", "correct", record=False, event=split["id"], reason="x", replacement=body)]
        expected = ("event.schema", "replacement.lots")
    elif case == "genesis":
        batch = [w.sign("admin", "correct", record=False, event="evt-0000001", reason="x")]
        expected = ("correct.not_correctable", "event")
    elif case == "unknown":
        batch = [w.sign("miner", "correct", record=False, event="evt-9999999", reason="x")]
        expected = ("correct.unknown_event", "event")
    else:
        batch = [w.sign("miner", "correct", record=False, event="evt-9999999", reason="x")]
        expected = ("correct.unknown_event", "event")
    before, size = _state(ledger), ledger.size
    outcomes = ledger.submit(batch, mode="proceed")
    refused = [o for o in outcomes if o.status == "refused"]
    assert refused and refused[-1].error is not None
    assert (refused[-1].error.code, refused[-1].error.field) == expected
    assert ledger.size == size
    assert _state(ledger) == before


def test_a_correction_inside_a_batch_sees_the_events_before_it(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    ledger = open_ledger(db_url)
    w, split = _world(ledger)
    w.produce("miner", "R2", "mine-a", "5.00")
    w.sign("miner", "correct", event=split["id"], reason="never happened")
    w.split("miner", "R2", {"R2a": "2.00", "R2b": "3.00"})
    w.split("miner", "R1", {"R1x": "50.00", "R1y": "50.00"})  # only possible once the first split is gone
    outcomes = ledger.submit(w.events)
    assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes]
    assert ledger.lot("R1x").carats == Decimal("50.00")
    assert ledger.lot("R2a").holder == "miner"
    before = _state(ledger)
    ledger.rebuild()
    assert _state(ledger) == before
