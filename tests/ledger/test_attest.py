"""Attestations: who may attest what, evidence levels, and concerns that open flags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from sqlalchemy import select

from adamas import Ledger
from adamas.sim import World
from adamas.store import schema
from conftest import basic_world


def _world() -> World:
    w = basic_world()
    w.register(w.admin, "monitor", "ZA", ["monitor"])
    w.produce("miner", "R1", "mine-a", "10.00")
    return w


def test_evidence_levels_rise_with_independent_attestations(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = _world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(w.events))
    assert ledger.evidence("site", "mine-a").level == "self-declared"
    registered = len(w.events)
    w.attest(
        "bw-authority",
        "site",
        "mine-a",
        "documents_verified",
        statement="Licence and plans checked.",
        evidence="licence",
    )
    w.attest("monitor", "site", "mine-a", "site_visited", statement="Visited the pit.", evidence="report")
    assert all(o.ok for o in ledger.submit(w.events[registered:]))
    evidence = ledger.evidence("site", "mine-a")
    assert evidence.level == "independently audited"
    assert [a["claim"] for a in evidence.attestations] == ["documents_verified", "site_visited"]
    assert evidence.attestations[1]["evidence"] == [{"sha256": hashlib.sha256(b"report").hexdigest()}]


def test_a_concern_opens_a_flag(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = _world()
    ledger = open_ledger(db_url)
    w.attest("monitor", "lot", "R1", "concern", statement="Seals on this parcel look re-glued.")
    assert all(o.ok for o in ledger.submit(w.events))
    with ledger.engine.connect() as conn:
        flags = conn.execute(select(schema.flags.c.code, schema.flags.c.lot)).all()
    assert [(f.code, f.lot) for f in flags] == [("attest.concern", "R1")]
    assert ledger.evidence("lot", "R1").level == "self-declared"
    assert ledger.history("R1")[-1].type == "attest"


def test_an_attestation_in_a_later_batch_joins_the_lots_history(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    """An event that only touches a lot (it changes nothing of the lot's row) still appends its leaf to the
    lot's stored history, in a batch where nothing else writes the lot."""
    w = _world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(w.events))
    made = [e.index for e in ledger.history("R1")]
    registered = len(w.events)
    w.attest("monitor", "lot", "R1", "concern", statement="Seals on this parcel look re-glued.")
    outcome = ledger.submit(w.events[registered:])[0]
    assert outcome.ok
    assert [e.index for e in ledger.history("R1")] == [*made, outcome.index]


@pytest.mark.parametrize(
    "case",
    [
        ("trader", "lot", "R1", "documents_verified", "actor.not_authorized", "actor"),
        ("monitor", "lot", "R1", "lab_verified", "actor.not_authorized", "claim"),
        ("monitor", "lot", "NO-SUCH-LOT", "concern", "attest.unknown_subject", "subject.id"),
        ("monitor", "event", "evt-9999999", "concern", "attest.unknown_subject", "subject.id"),
        ("monitor", "participant", "nobody", "concern", "attest.unknown_subject", "subject.id"),
        ("monitor", "planet", "mars", "concern", "event.schema", "subject.kind"),
    ],
)
def test_attestations_that_are_refused(
    sqlite_url: str, open_ledger: Callable[[str], Ledger], case: tuple[str, ...]
) -> None:
    actor, kind, subject, claim, code, field = case
    w = _world()
    ledger = open_ledger(sqlite_url)
    assert all(o.ok for o in ledger.submit(w.events))
    size = ledger.size
    bad = w.sign(
        actor,
        "attest",
        record=False,
        subject={"kind": kind, "id": subject},
        claim=claim,
        statement="x",
        evidence=[],
    )
    (outcome,) = ledger.submit([bad])
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.field) == (code, field)
    assert ledger.size == size
