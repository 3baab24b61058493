"""Backup and restore: one consistent snapshot while the sequencer writes, restorable onto either backend.

A restored ledger must hold the same log (same size, same root, same checkpoints), audit clean, and accept
the next event; a backup never overwrites a file, never lands in a non-empty database, and is private.
"""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from adamas import Ledger, audit
from adamas.errors import ConflictError, InputError, StorageError
from adamas.ledger.backup import backup, restore
from adamas.sim import World
from conftest import basic_world, fixed_clock


def _world_ledger(url: str, lots: int = 3) -> tuple[Ledger, World]:
    w = basic_world()
    for i in range(lots):
        w.produce("miner", f"BK-{i}", "mine-a", "10.00", stones=2, value="500.00")
    ledger = Ledger.open(url, create=True, clock=fixed_clock)
    assert all(o.ok for o in ledger.submit(w.events))
    return ledger, w


def test_backup_restore_keeps_the_log_and_accepts_the_next_event(db_url: str, tmp_path: Path) -> None:
    ledger, w = _world_ledger(db_url)
    with ledger:
        size, checkpoint = ledger.size, ledger.checkpoint()
    out = tmp_path / "ledger.backup"
    report = backup(db_url, out)
    assert report.size == size and report.checkpoint == checkpoint
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the log's signing key

    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = restore(out, target)
    assert restored.size == size and restored.rows == report.rows
    assert audit(db=target).ok
    with Ledger.open(target, clock=fixed_clock) as again:
        assert again.size == size and again.checkpoint() == checkpoint
        before = len(w.events)
        w.produce("miner", "BK-next", "mine-a", "1.00", stones=1, value="50.00")
        outcomes = again.submit(w.events[before:])
        assert all(o.ok for o in outcomes) and again.size == size + 1
    assert audit(db=target).ok


@pytest.mark.postgres
def test_a_sqlite_backup_restores_onto_postgresql(sqlite_url: str, tmp_path: Path) -> None:
    from conftest import _fresh_postgres

    ledger, _ = _world_ledger(sqlite_url)
    with ledger:
        checkpoint = ledger.checkpoint()
    out = tmp_path / "ledger.backup"
    backup(sqlite_url, out)
    target = _fresh_postgres()
    restore(out, target)
    assert audit(db=target).ok
    with Ledger.open(target) as restored:
        assert restored.checkpoint() == checkpoint


def test_a_backup_taken_while_the_sequencer_writes_is_one_signed_tree(db_url: str, tmp_path: Path) -> None:
    ledger, w = _world_ledger(db_url, lots=1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        i = 0
        try:
            while not stop.is_set() and i < 200:
                before = len(w.events)
                w.produce("miner", f"RACE-{i}", "mine-a", "1.00", stones=1, value="10.00")
                assert all(o.ok for o in ledger.submit(w.events[before:]))
                i += 1
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    reports = []
    try:
        for n in range(3):
            reports.append(backup(db_url, tmp_path / f"b{n}.backup"))
    finally:
        stop.set()
        writer.join()
        ledger.close()
    assert not errors
    for n, report in enumerate(reports):
        # Whatever instant the snapshot caught, it holds exactly the events of its latest checkpoint.
        assert report.rows["events"] == report.size
        assert audit(db=f"sqlite:///{tmp_path / f'b{n}.backup'}").ok


def test_a_backup_never_overwrites_and_restore_needs_an_empty_database(db_url: str, tmp_path: Path) -> None:
    ledger, _ = _world_ledger(db_url, lots=1)
    ledger.close()
    out = tmp_path / "ledger.backup"
    out.write_text("precious")
    with pytest.raises(ConflictError) as exc:
        backup(db_url, out)
    assert exc.value.code == "backup.exists" and out.read_text() == "precious"
    with pytest.raises(InputError) as missing_folder:
        backup(db_url, tmp_path / "no" / "such" / "folder.backup")
    assert missing_folder.value.code == "backup.no_folder"

    good = tmp_path / "good.backup"
    backup(db_url, good)
    with pytest.raises(ConflictError) as busy:
        restore(good, db_url)
    assert busy.value.code == "backup.target_not_empty"


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    with pytest.raises(InputError) as missing:
        restore(tmp_path / "nothing.backup", f"sqlite:///{tmp_path / 'x.db'}")
    assert missing.value.code == "backup.missing"
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all, just bytes" * 10)
    with pytest.raises(StorageError):
        restore(junk, f"sqlite:///{tmp_path / 'y.db'}")
    with pytest.raises(StorageError) as not_ledger:
        backup(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "e.backup")
    assert not_ledger.value.code == "backup.not_a_ledger"
    assert not (tmp_path / "e.backup").exists()
