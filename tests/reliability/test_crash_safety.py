"""The running service survives SIGKILL: a bounded form of benchmarks/soak.py, on both backends.

Five kills a run here (the soak does at least twenty): every receipt a client was given is in the log at its
index with its leaf hash, the audit passes, every checkpoint anyone saw is consistent with every other, and
the witness never saw a fork (``underfire.check_run``). Restart times are measured by the soak and recorded
in docs/benchmarks.md, never asserted here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgcluster import TempCluster, available, outage
from underfire import run_under_fire

pytestmark = pytest.mark.slow


def test_service_killed_mid_write_loses_no_acknowledged_event(db_url: str, tmp_path: Path) -> None:
    report = run_under_fire(db_url, tmp_path, kills=5, clients=3, seed=5)
    print(report.to_json())
    assert report.kills == 5
    assert report.receipts > 0
    assert report.leaves >= report.receipts // 2  # duplicates of retried batches name the same leaves


def test_service_with_four_workers_killed_mid_write_loses_nothing(sqlite_url: str, tmp_path: Path) -> None:
    report = run_under_fire(sqlite_url, tmp_path, kills=3, clients=3, workers=4, seed=7)
    assert report.kills == 3


@pytest.fixture
def own_postgres() -> Iterator[TempCluster]:
    """A PostgreSQL cluster of this test's own (never the shared server), started."""
    if not available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but PostgreSQL's server binaries are not installed")
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    cluster = TempCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.mark.postgres
def test_service_rides_out_its_database_crashing(own_postgres: TempCluster, tmp_path: Path) -> None:
    report = run_under_fire(
        own_postgres.url, tmp_path / "run", kills=2, clients=2, seed=11, db_outage=outage(own_postgres)
    )
    print(report.to_json())
    assert report.db_outage["refused_503"] == 3
