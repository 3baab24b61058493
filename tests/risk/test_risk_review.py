"""Reviews are signed attestations on the log and decide a flag's status; taint follows carats through
merges; an authority freezes a tainted lineage with the flag as its reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from live import LiveLedger

from adamas.errors import InputError, NotFoundError
from adamas.risk import RiskFlag, flags, freeze, lot_risk, review, scan, tainted_lineage
from conftest import basic_world


@pytest.fixture
def skimmed(db_url: str) -> Iterator[tuple[LiveLedger, RiskFlag]]:
    """A lot skimmed in transit (30 ct, flagged ``weight``) merged with 70 ct of clean rough, then split."""
    live = LiveLedger(db_url, basic_world())
    w = live.world
    w.register(w.admin, "monitor", "ZA", ["monitor"])
    w.produce("miner", "DIRTY", "mine-a", "30.00")
    w.produce("miner", "CLEAN", "mine-b", "70.00")
    w.ship("miner", "s1", ["DIRTY", "CLEAN"], "trader")
    w.receive("trader", "s1", {"DIRTY": "29.00", "CLEAN": "70.00"})
    w.merge("trader", ["DIRTY", "CLEAN"], "MIX")
    w.split("trader", "MIX", {"MIX-1": "40.00", "MIX-2": "60.00"})
    (flag,) = live.flags("weight")
    yield live, flag
    live.close()


def test_taint_follows_the_flagged_carats_through_merges_and_splits(
    skimmed: tuple[LiveLedger, RiskFlag],
) -> None:
    live, flag = skimmed
    assert flag.lots == ("DIRTY",)
    risk = lot_risk(live.ledger, "MIX-2")
    assert risk["taint"] == {"lot": "MIX-2", "share": 0.3, "by_flag": {flag.id: 0.3}}
    assert risk["score"] == 0.3  # a high-severity flag on 30% of the carats
    assert [r["flag"] for r in risk["reasons"]] == [flag.id]
    assert lot_risk(live.ledger, "CLEAN")["taint"]["share"] == 0.0
    lineage = {item["lot"]: item["share"] for item in tainted_lineage(live.ledger, flag.id)}
    assert lineage == {"DIRTY": 1.0, "MIX": 0.3, "MIX-1": 0.3, "MIX-2": 0.3}


def test_a_review_is_an_attestation_on_the_log_and_sets_the_status(
    skimmed: tuple[LiveLedger, RiskFlag],
) -> None:
    live, flag = skimmed
    w = live.world
    outcome = review(
        live.ledger,
        flag.id,
        "acknowledged",
        key=w.actor("monitor").key,
        actor="monitor",
        reason="the carrier cannot explain the loss",
        now_ns=w.now_ns,
    )
    assert outcome.status == "accepted"
    (reviewed,) = flags(live.ledger, detector="weight")
    assert reviewed.status == "acknowledged"
    assert reviewed.review is not None and reviewed.review["event"] == outcome.event_id
    assert reviewed.review["reason"] == "the carrier cannot explain the loss"
    assert list(flags(live.ledger, open_only=True, detector="weight")) == []
    evidence = live.ledger.evidence("lot", "DIRTY").attestations[-1]
    assert evidence["claim"] == "concern" and evidence["evidence"][0]["uri"] == f"adamas:flag:{flag.id}"
    # The review is not a new concern of its own.
    scan(live.ledger)
    assert [f.detector for f in flags(live.ledger)] == ["weight"]
    w.now_ns += 60_000_000_000
    review(
        live.ledger,
        flag.id,
        "dismissed",
        key=w.actor("bw-authority").key,
        actor="bw-authority",
        reason="scale recalibrated; loss explained",
        now_ns=w.now_ns,
    )
    assert next(iter(flags(live.ledger))).status == "dismissed"
    assert lot_risk(live.ledger, "MIX-2")["taint"]["share"] == 0.0  # a dismissed flag taints nothing


def test_only_monitors_and_authorities_review(skimmed: tuple[LiveLedger, RiskFlag]) -> None:
    live, flag = skimmed
    w = live.world
    outcome = review(
        live.ledger,
        flag.id,
        "dismissed",
        key=w.actor("lab").key,
        actor="lab",
        reason="not us",
        now_ns=w.now_ns,
    )
    assert outcome.status == "accepted"  # labs may attest, but their word does not close a flag
    assert next(iter(flags(live.ledger))).status == "open"


@pytest.mark.parametrize(
    ("flag_id", "reason", "code"),
    [
        pytest.param(None, "   ", "risk.review_reason", id="blank-reason"),
        pytest.param("weight-0000000000000000", "why", "risk.flag_not_found", id="unknown-flag"),
    ],
)
def test_bad_reviews_are_refused_and_write_nothing(
    skimmed: tuple[LiveLedger, RiskFlag], flag_id: str | None, reason: str, code: str
) -> None:
    live, flag = skimmed
    size = live.ledger.size
    with pytest.raises((InputError, NotFoundError)) as caught:
        review(
            live.ledger,
            flag_id or flag.id,
            "acknowledged",
            key=live.world.actor("monitor").key,
            actor="monitor",
            reason=reason,
            now_ns=live.world.now_ns,
        )
    assert caught.value.code == code
    assert live.ledger.size == size


def test_an_authority_freezes_the_tainted_lineage_naming_the_flag(
    skimmed: tuple[LiveLedger, RiskFlag],
) -> None:
    live, flag = skimmed
    w = live.world
    outcomes = freeze(
        live.ledger, flag.id, key=w.actor("bw-authority").key, actor="bw-authority", now_ns=w.now_ns
    )
    assert [o.status for o in outcomes] == ["accepted", "accepted"]
    assert {live.ledger.lot(i).state for i in ("MIX-1", "MIX-2")} == {"frozen"}
    body = live.ledger.history("MIX-1")[-1].body
    assert body["type"] == "lot.freeze" and flag.id in body["reason"]
    with pytest.raises(InputError) as caught:
        freeze(live.ledger, flag.id, key=w.actor("bw-authority").key, actor="bw-authority", now_ns=w.now_ns)
    assert caught.value.code == "risk.nothing_to_freeze"
    with pytest.raises(InputError) as not_tainted:
        freeze(
            live.ledger,
            flag.id,
            key=w.actor("bw-authority").key,
            actor="bw-authority",
            lot="CLEAN",
            now_ns=w.now_ns,
        )
    assert not_tainted.value.code == "risk.not_tainted"


def test_a_freeze_by_another_country_is_refused_lot_by_lot(skimmed: tuple[LiveLedger, RiskFlag]) -> None:
    live, flag = skimmed
    w = live.world
    outcomes = freeze(
        live.ledger, flag.id, key=w.actor("be-authority").key, actor="be-authority", now_ns=w.now_ns
    )
    assert {o.error.code for o in outcomes if o.error is not None} == {"actor.not_authorized"}
    assert live.ledger.lot("MIX-1").state == "held"
    assert json.dumps(lot_risk(live.ledger, "MIX-1"))  # JSON-ready
