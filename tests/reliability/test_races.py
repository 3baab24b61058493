"""Races over HTTP against ``adamas serve --workers 4``, on both backends: 1,000 races of each kind (the
issue's count), each race's four contestants in two processes and four threads on their own connections.

Each race is cheap rather than rare: the lots and certificates of all 4,000 races go in with a few large
batches, then rounds of races (about 200 at a time) are released together by one barrier, every slot
posting its envelopes of the round's races in one request (tests/reliability/racing.py). The envelopes are
signed once for both backends. benchmarks/races.py runs the same code and records the time it takes;
nothing here is timed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from racing import KINDS, Contest, build, race, submit_setup
from underfire import Server

from adamas import Ledger

pytestmark = pytest.mark.slow
RACES = 1000
CONTESTANTS = 4


@pytest.fixture(scope="module")
def signed() -> tuple[list[Any], list[Contest]]:
    """The setup envelopes and the contests, signed once for both backends."""
    return build(KINDS, RACES, CONTESTANTS, "t0")


def test_exactly_one_contestant_wins_every_race(
    db_url: str, tmp_path: Path, signed: tuple[list[Any], list[Contest]]
) -> None:
    setup, contests = signed
    Ledger.open(db_url, create=True).close()
    server = Server(db_url, workers=4, log_path=tmp_path / "server.log")
    server.start()
    try:
        submit_setup(server.url, setup)
        report = race(server.url, db_url, contests, tmp_path, processes=2, threads=4, wave=200)
    finally:
        server.stop()
    assert dict(report.races) == dict.fromkeys(KINDS, RACES)
    assert dict(report.one_winner) == dict.fromkeys(KINDS, RACES)
    assert all(sum(report.codes[k].values()) == (CONTESTANTS - 1) * RACES for k in KINDS)
    # Contention really happened: a round's requests interleave at the sequencer (its races are not all
    # won by one slot), and most races had every contestant's request in flight at one moment.
    assert report.split_rounds > report.rounds // 2, report.to_json()
    assert report.in_flight_together > len(contests) // 2, report.to_json()
