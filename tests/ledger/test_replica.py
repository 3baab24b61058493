"""Reads from a real PostgreSQL streaming replica on loopback: a primary and a hot standby started by the
test with Debian's binaries (``initdb``, ``pg_basebackup -R``), each on a free port in a temporary folder.

The ledger opens read-only on the standby (nothing migrated or signed), answers every read the primary
answers, refuses writes and an older schema clearly, and the service waits for a receipt's leaf
(read-your-writes) before it answers from the replica.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from adamas import Ledger
from adamas.api import create_app
from adamas.api.deps import MIN_INDEX_HEADER
from adamas.errors import ConflictError, StorageError
from adamas.log import Tile
from adamas.sim import demo_world
from adamas.store import SCHEMA_VERSION
from conftest import fixed_clock

pytestmark = [pytest.mark.postgres, pytest.mark.replica]


@dataclass(frozen=True)
class Pair:
    """A primary and its hot standby (SQLAlchemy URLs)."""

    primary: str
    standby: str


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres(args: list[str]) -> None:
    # initdb refuses to run as root: run the server's tools as the postgres OS user when we are root.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + args, check=True, capture_output=True, timeout=120)


def _url(port: int) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """A streaming replica on loopback, for this module's tests; both clusters removed afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Debian's PostgreSQL server binaries are missing")
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    root = Path(tempfile.mkdtemp(prefix="adamas-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, standby = root / "primary", root / "standby"
    p_port, s_port = _free_port(), _free_port()
    settings = f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={root}"
    started: list[Path] = []
    try:
        _as_postgres([str(bin_dir / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres"])
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(primary),
                "-w",
                "-l",
                str(root / "primary.log"),
                "-o",
                f"-p {p_port} {settings}",
                "start",
            ]
        )
        started.append(primary)
        _as_postgres(
            [
                str(bin_dir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(p_port),
                "-U",
                "postgres",
                "-D",
                str(standby),
                "-R",
                "-X",
                "stream",
            ]
        )
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(standby),
                "-w",
                "-l",
                str(root / "standby.log"),
                "-o",
                f"-p {s_port} {settings}",
                "start",
            ]
        )
        started.append(standby)
        yield Pair(_url(p_port), _url(s_port))
    finally:
        for data in reversed(started):
            with contextlib.suppress(subprocess.SubprocessError):
                _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh(pair: Pair) -> Pair:
    """The pair with the primary's Adamas tables dropped (the standby follows)."""
    engine = create_engine(pair.primary)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    _caught_up(pair)
    return pair


def _caught_up(pair: Pair) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    primary, standby = create_engine(pair.primary), create_engine(pair.standby)
    try:
        with primary.connect() as conn:
            lsn = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        for _ in range(3000):
            with standby.connect() as conn:
                done = conn.execute(
                    text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}
                ).scalar_one()
            if done:
                return
            time.sleep(0.01)
        raise AssertionError("the standby did not catch up within 30 s")
    finally:
        primary.dispose()
        standby.dispose()


def test_a_ledger_on_a_hot_standby_is_read_only_and_answers_every_read(fresh: Pair) -> None:
    world, star = demo_world()
    with Ledger.open(fresh.primary, create=True, clock=fixed_clock) as primary:
        primary.submit(world.events)
        size = primary.size
        expected = (
            primary.lot(star),
            primary.history(star),
            primary.trace(star),
            primary.trace(star, direction="forward"),
            primary.checkpoint(),
            primary.prove(3),
            primary.consistency(1),
            _receipt(primary),
            primary.tile(Tile(0, 0, size)),
            primary.history_page(star, limit=2),
            primary.vkey,
        )
    _caught_up(fresh)
    with Ledger.open(fresh.standby) as replica:
        assert replica.read_only
        got = (
            replica.lot(star),
            replica.history(star),
            replica.trace(star),
            replica.trace(star, direction="forward"),
            replica.checkpoint(),
            replica.prove(3),
            replica.consistency(1),
            _receipt(replica),
            replica.tile(Tile(0, 0, size)),
            replica.history_page(star, limit=2),
            replica.vkey,
        )
        assert got == expected
        with pytest.raises(ConflictError) as refused:
            replica.submit(world.events[:1])
        assert refused.value.code == "ledger.read_only"
        assert replica.size == size


def test_a_standby_with_an_older_schema_is_refused_and_left_alone(fresh: Pair) -> None:
    world, _ = demo_world()
    with Ledger.open(fresh.primary, create=True, clock=fixed_clock) as primary:
        primary.submit(world.events[:3])
    engine = create_engine(fresh.primary)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE adamas_meta SET value = :v WHERE name = 'schema_version'"),
            {"v": str(SCHEMA_VERSION - 1)},
        )
    engine.dispose()
    _caught_up(fresh)
    with pytest.raises(StorageError) as refused:
        Ledger.open(fresh.standby)
    assert refused.value.code == "storage.read_only_schema_old"
    standby = create_engine(fresh.standby)
    with standby.connect() as conn:
        version = conn.execute(
            text("SELECT value FROM adamas_meta WHERE name = 'schema_version'")
        ).scalar_one()
    standby.dispose()
    assert version == str(SCHEMA_VERSION - 1)


def test_the_service_reads_from_the_replica_and_waits_for_a_receipt_leaf(fresh: Pair) -> None:
    world, star = demo_world()
    with Ledger.open(fresh.primary, create=True, clock=fixed_clock) as primary:
        primary.submit(world.events[:5])
    _caught_up(fresh)
    standby = create_engine(fresh.standby)
    app = create_app(fresh.primary, read_db=fresh.standby)
    try:
        with TestClient(app) as client, standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
            with Ledger.open(fresh.primary, clock=fixed_clock) as primary:
                outcomes = primary.submit(world.events[5:])
            assert all(o.status == "accepted" for o in outcomes)
            last = max(o.index for o in outcomes if o.index is not None)
            # Replay is paused: a plain read answers from the stale replica...
            assert client.get(f"/v1/lots/{star}").status_code == 404
            # ...and a read that names the receipt's leaf waits until the replica has it.
            threading.Timer(0.2, lambda: _resume(fresh.standby)).start()
            waited = client.get(f"/v1/lots/{star}", headers={MIN_INDEX_HEADER: str(last)})
            assert waited.status_code == 200, waited.text
            assert waited.json()["id"] == star
            assert client.get(f"/v1/lots/{star}?min_index={last}").status_code == 200
            # A leaf the primary does not hold yet: "not yet", as a problem, past the bounded wait.
            behind = client.get("/log/checkpoint", headers={MIN_INDEX_HEADER: str(last + 1000)})
            assert behind.status_code == 503
            assert behind.json()["code"] == "replica.behind"
            bad = client.get("/log/checkpoint", headers={MIN_INDEX_HEADER: "seven"})
            assert (bad.status_code, bad.json()["code"]) == (400, "replica.bad_index")
    finally:
        standby.dispose()


def _receipt(ledger: Ledger) -> dict[str, object]:
    return ledger.receipt(3).to_json()


def _resume(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_resume()"))
    engine.dispose()
