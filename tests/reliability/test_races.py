"""Races over HTTP against ``adamas serve --workers 4``, on both backends (bounded form of
benchmarks/races.py).

The issue asks 1,000 races a kind; benchmarks/races.py runs that many and docs/benchmarks.md records it. Here
each kind runs ``RACES`` times a backend, four contestants a race (two processes of two threads, released
together by a barrier), so that the whole module stays near a minute on the shared two-core test machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from racing import KINDS, build, race, submit_setup
from underfire import Server

from adamas import Ledger

pytestmark = pytest.mark.slow
RACES = 12


def test_exactly_one_contestant_wins_every_race(db_url: str, tmp_path: Path) -> None:
    setup, contests = build(KINDS, RACES, 4, "t0")
    Ledger.open(db_url, create=True).close()
    server = Server(db_url, workers=4, log_path=tmp_path / "server.log")
    server.start()
    try:
        submit_setup(server.url, setup)
        report = race(server.url, db_url, contests, tmp_path)
    finally:
        server.stop()
    assert dict(report.one_winner) == dict.fromkeys(KINDS, RACES)
    assert all(sum(report.codes[k].values()) == 3 * RACES for k in KINDS)
