"""Shared fixtures: a database URL per backend, and ledgers holding scripted worlds.

``db_url`` runs a test once on SQLite and once on PostgreSQL (``ADAMAS_TEST_POSTGRES_URL``). Without that
variable the PostgreSQL run is skipped on a developer's machine and fails under ``CI=true``: in CI the
storage suite must really run on both.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url

from adamas import Ledger
from adamas.ledger import Outcome
from adamas.sim import World
from adamas.store import metadata, normalize_url

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "tests" / "vectors"
"""Published test vectors copied into the repository (origin, version and licence in SOURCES.md there)."""
FIXED_NOW = "2026-03-20T00:00:00Z"
"""Within the default 30-day backdating allowance of the scripted worlds, which start on 2026-03-01."""


def postgres_url() -> str | None:
    """The PostgreSQL URL for tests, or None (which fails the run under CI).

    Under pytest-xdist each worker gets a database of its own beside the configured one (``test_gw0``,
    ``test_gw1``, ...), created on first use: workers empty their database before each test.
    """
    url = os.environ.get("ADAMAS_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but ADAMAS_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


@functools.cache
def _worker_database(url: str, worker: str) -> str:
    """``url`` with its database renamed for this xdist worker, the database created if it is missing."""
    base = make_url(normalize_url(url))
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}
            ).first()
            if found is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _fresh_postgres() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("ADAMAS_TEST_POSTGRES_URL is not set")
    engine = create_engine(normalize_url(url))
    metadata.drop_all(engine)
    with engine.begin() as conn:  # a rebuild's scratch copy, left by a test that stopped one
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS adamas_rebuild CASCADE")
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return _fresh_postgres()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite database (for tests that are about something other than the backend)."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(autouse=True)
def _tests_run_at_fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ledger a test opens without a clock of its own, in this process or a child (``adamas serve``,
    ``adamas sign``), runs at ``FIXED_NOW``: the scripted worlds are dated March 2026, and a suite that read
    the wall clock would start refusing them as backdated once real time moved on."""
    monkeypatch.setenv("ADAMAS_NOW", FIXED_NOW)


def fixed_clock() -> int:
    """A ledger clock stopped at ``FIXED_NOW``, so that scripted times are never in the future."""
    from adamas.model.values import parse_time

    return parse_time(FIXED_NOW, "now")


class EventClock:
    """A ledger clock that follows the events a test submits: ``submit`` sets it to each envelope's declared
    time before submitting it alone, so that the ledger logs every event the moment it happens (a world
    replayed in real time), whatever dates the world runs at."""

    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns

    def submit(self, ledger: Ledger, envelopes: list[dict[str, Any]]) -> list[Outcome]:
        """Submit each envelope on its own, the clock at its declared time."""
        from adamas.model.values import parse_time

        outcomes = []
        for envelope in envelopes:
            self.now_ns = max(self.now_ns, parse_time(envelope["body"]["time"], "time"))
            outcomes.extend(ledger.submit([envelope]))
        return outcomes


@pytest.fixture
def open_ledger() -> Iterator[Callable[..., Ledger]]:
    """Open (creating) ledgers on URLs with the fixed clock (or ``clock=``, for example a world's own
    ``World.clock``, which logs its events as they happen); closes them after the test."""
    opened: list[Ledger] = []

    def _open(url: str, clock: Callable[[], int] = fixed_clock) -> Ledger:
        ledger = Ledger.open(url, create=True, clock=clock)
        opened.append(ledger)
        return ledger

    yield _open
    for ledger in opened:
        ledger.close()


def basic_world() -> World:
    """A world with an administrator, Botswana and Belgium authorities, a miner with a mine, a trader,
    a manufacturer, a lab and a retailer; no lots yet. Everything registered is in ``world.events``."""
    w = World(seed="tests")
    w.genesis()
    bw = w.authority("BW")
    be = w.authority("BE")
    w.register(bw, "miner", "BW", ["mine_operator", "exporter"])
    w.register(bw, "trader", "BW", ["trader", "exporter", "importer"])
    w.register(bw, "cutter", "BW", ["manufacturer", "exporter"])
    w.register(be, "lab", "BE", ["grading_lab", "importer", "exporter"])
    w.register(be, "shop", "BE", ["retailer", "importer"])
    w.register(be, "be-importer", "BE", ["importer", "trader"])
    w.site(bw, "mine-a", "mine", "BW", "miner")
    w.site(bw, "mine-b", "mine", "BW", "miner")
    w.site(bw, "vault-1", "vault", "BW", "trader")
    return w
