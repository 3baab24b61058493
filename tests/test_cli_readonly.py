"""Commands that only read never write: a missing SQLite database stays missing, and a ledger is neither
migrated nor signed (issue 8, section 4). Broken databases and URLs are errors with codes, never tracebacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from adamas import Ledger
from adamas.cli import app
from adamas.sim import demo_world
from adamas.store import schema
from adamas.store.database import HEAD

runner = CliRunner()

READ_ONLY = {
    "lot show": ["lot", "show", "JW-2026-0001"],
    "lot history": ["lot", "history", "JW-2026-0001"],
    "trace": ["trace", "PS-0042-001"],
    "log key": ["log", "key"],
    "log checkpoint": ["log", "checkpoint"],
    "log prove": ["log", "prove", "0"],
    "log consistency": ["log", "consistency", "1"],
    "certificate show": ["certificate", "show", "BW-2026-000042"],
    "certificate verify": ["certificate", "verify", "BW-2026-000042"],
    "evidence": ["evidence", "site", "jwaneng"],
    "audit": ["audit"],
}


@pytest.mark.parametrize("command", sorted(READ_ONLY))
def test_a_read_only_command_never_creates_a_database(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "missing.db"
    result = runner.invoke(app, [*READ_ONLY[command], "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 1, result.output
    assert "error: ledger.not_found" in result.output
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def unsigned_head(db_url: str, open_ledger: Callable[[str], Ledger]) -> str:
    """The demo ledger whose newest checkpoint was lost: opening it to write would sign a new one."""
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    with ledger.engine.begin() as conn:
        newest = conn.execute(select(func.max(schema.log_checkpoints.c.size))).scalar_one()
        conn.execute(delete(schema.log_checkpoints).where(schema.log_checkpoints.c.size == newest))
    return db_url


def _checkpoints(url: str) -> int:
    with Ledger.open(url, read_only=True) as ledger, ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.log_checkpoints)).scalar_one())


def test_read_only_commands_sign_nothing(unsigned_head: str) -> None:
    before = _checkpoints(unsigned_head)
    for command, args in sorted(READ_ONLY.items()):
        result = runner.invoke(app, [*args, "--db", unsigned_head])
        assert "Traceback" not in result.output, command
        assert _checkpoints(unsigned_head) == before, command
    # A command that writes does sign the tree the log holds.
    with Ledger.open(unsigned_head):
        pass
    assert _checkpoints(unsigned_head) == before + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evidence", "planet", "mars"], "not 'planet'"),
        (["evidence", "lot", "NO-SUCH-LOT"], "there is no lot NO-SUCH-LOT"),
        (["evidence", "site", "no-such-site"], "there is no site no-such-site"),
        (["evidence", "participant", "nobody"], "there is no participant nobody"),
        (["evidence", "event", "evt-none-such"], "there is no event evt-none-such"),
        (["evidence", "country", "XX"], "there is no country XX"),
    ],
)
def test_evidence_of_an_unknown_kind_or_subject_is_not_found(
    tmp_path: Path, args: list[str], message: str
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Ledger.open(url, create=True) as ledger:
        world, _ = demo_world()
        assert all(o.ok for o in ledger.submit(world.events))
    result = runner.invoke(app, [*args, "--db", url])
    assert result.exit_code == 1
    assert "error: evidence.unknown" in result.output
    assert message in result.output
    assert runner.invoke(app, ["evidence", "country", "BW", "--db", url]).exit_code == 0


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user@localhost/adamas",
        "postgresql+asyncpg://postgres@127.0.0.1/adamas",
        "postgresql+nosuchdriver://postgres@127.0.0.1/adamas",
        "sqlite+nosuchdriver:///adamas.db",
        "not a url",
    ],
)
@pytest.mark.parametrize("command", [["lot", "show", "X"], ["audit"], ["rebuild"], ["submit", "-"]])
def test_an_unsupported_database_url_is_a_usage_error(
    url: str, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*command, "--db", url], input="{}")
    assert result.exit_code == 2, result.output
    assert "error: storage.bad_url" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["", "abc", "-1", "1e3", "99999999999999999999999"])
@pytest.mark.parametrize(
    "command", [["lot", "show", "JW-2026-0001"], ["audit"], ["rebuild"], ["log", "checkpoint"]]
)
def test_a_corrupted_head_row_is_an_error_with_a_code(tmp_path: Path, value: str, command: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Ledger.open(url, create=True) as ledger:
        world, _ = demo_world()
        assert all(o.ok for o in ledger.submit(world.events[:3]))
        with ledger.engine.begin() as conn:
            conn.execute(update(schema.meta).where(schema.meta.c.name == HEAD).values(value=value))
    result = runner.invoke(app, [*command, "--db", url])
    assert result.exit_code == 1, result.output
    assert "storage.corrupt_meta" in result.output
    assert "Traceback" not in result.output


def test_a_corrupted_head_row_refuses_a_submission_on_both_backends(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events[:3]))
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.meta).where(schema.meta.c.name == HEAD).values(value="three"))
    from adamas import StorageError

    with pytest.raises(StorageError) as caught:
        ledger.submit(world.events[3:5])
    assert caught.value.code == "storage.corrupt_meta"
    with pytest.raises(StorageError) as caught:
        Ledger.open(db_url)
    assert caught.value.code == "storage.corrupt_meta"
    with ledger.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.events)).scalar_one() == 3


@pytest.mark.parametrize(
    ("row", "value", "code"),
    [("log_skey", "garbage", "storage.corrupt_meta"), ("schema_version", "two", "storage.corrupt_meta")],
)
@pytest.mark.parametrize("command", [["log", "key"], ["lot", "show", "X"], ["rebuild"], ["audit"]])
def test_a_corrupted_meta_row_is_an_error_with_a_code(
    tmp_path: Path, row: str, value: str, code: str, command: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Ledger.open(url, create=True) as ledger:
        world, _ = demo_world()
        assert all(o.ok for o in ledger.submit(world.events[:3]))
        with ledger.engine.begin() as conn:
            conn.execute(update(schema.meta).where(schema.meta.c.name == row).values(value=value))
    result = runner.invoke(app, [*command, "--db", url])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    if command != ["audit"] or row == "log_skey":
        assert f"error: {code}" in result.output
    else:
        assert "error: audit.source" in result.output
