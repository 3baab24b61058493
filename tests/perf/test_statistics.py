"""The ledger keeps PostgreSQL's planner statistics fresh after bulk work: a rebuild and a restore end with
ANALYZE, so that the first queries after them are planned from real row counts (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from adamas import Ledger
from adamas.ledger.backup import backup, restore
from adamas.sim import demo_world
from adamas.store import metadata, normalize_url
from conftest import fixed_clock, postgres_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("ADAMAS_TEST_POSTGRES_URL is not set")
    engine = create_engine(normalize_url(url))
    metadata.drop_all(engine)
    engine.dispose()
    return url


def _analyzed(url: str) -> set[str]:
    """The tables PostgreSQL has statistics from an explicit ANALYZE for."""
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
        ).scalars()
        names = set(rows)
    engine.dispose()
    return names


def test_a_rebuild_leaves_fresh_statistics(pg_url: str) -> None:
    world, _ = demo_world()
    with Ledger.open(pg_url, create=True, clock=fixed_clock) as ledger:
        assert all(o.status == "accepted" for o in ledger.submit(world.events))
        assert "lots" not in _analyzed(pg_url)
        ledger.rebuild()
    assert {"events", "lots", "lot_edges"} <= _analyzed(pg_url)


def test_a_restore_leaves_fresh_statistics(pg_url: str, tmp_path: Path) -> None:
    world, _ = demo_world()
    source = f"sqlite:///{tmp_path / 'source.db'}"
    with Ledger.open(source, create=True, clock=fixed_clock) as ledger:
        assert all(o.status == "accepted" for o in ledger.submit(world.events))
    backup(source, tmp_path / "ledger.backup")
    restore(tmp_path / "ledger.backup", pg_url)
    assert {"events", "lots", "log_tiles"} <= _analyzed(pg_url)
