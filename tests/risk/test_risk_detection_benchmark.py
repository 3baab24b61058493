"""benchmarks/detection.py scores as issue 11 defines: replayed batch by batch with a scan after each, a
case found when a flag names its lots (or participants, or countries) in its period, misses reported."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from live import LiveLedger

from adamas import Ledger
from conftest import REPO, basic_world


@pytest.fixture(scope="module")
def detection() -> ModuleType:
    spec = importlib.util.spec_from_file_location("detection", REPO / "benchmarks" / "detection.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_replay_and_score_follow_the_issues_definitions(detection: ModuleType, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'sim.db'}"
    live = LiveLedger(source, basic_world())
    w = live.world
    w.produce("miner", "HONEST", "mine-b", "50.00")
    w.produce("miner", "SKIM", "mine-a", "100.00")
    w.ship("miner", "s1", ["SKIM"], "trader")
    w.receive("trader", "s1", {"SKIM": "97.00"})
    skim_events = [e["body"]["id"] for e in w.events[-3:]]
    live.flush()
    live.close()
    truth = tmp_path / "truth.json"
    truth.write_text(
        json.dumps(
            {
                "cases": [
                    {
                        "id": "case-001",
                        "scenario": "weight_skim",
                        "lots": ["SKIM"],
                        "events": skim_events,
                        "participants": ["miner", "trader"],
                        "countries": ["BW"],
                        "period": {"from": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"},
                    },
                    {
                        "id": "case-002",
                        "scenario": "undervaluation",
                        "lots": ["HONEST"],
                        "events": [],
                        "participants": ["shop"],
                        "countries": ["BE"],
                        "period": "2025",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    replayed: Ledger = detection.replay(source, f"sqlite:///{tmp_path / 'replay.db'}", 5)
    try:
        result = detection.score(replayed, detection.cases_of(truth))
    finally:
        replayed.close()
    skim, missed = result["scenarios"]["weight_skim"], result["scenarios"]["undervaluation"]
    assert (skim["cases"], skim["found"], skim["found_strict"]) == (1, 1, 1)
    assert skim["detectors"] == [["weight"]]
    # Raised at the first scan after the receipt: within one batch of the case's first event.
    assert 0 < skim["delays"][0] <= 5 + len(skim_events)
    assert (missed["found"], missed["missed"][0]["id"]) == (0, "case-002")
    assert result["flags"] == 1 and result["precision"] == result["lot_precision"] == 1.0
