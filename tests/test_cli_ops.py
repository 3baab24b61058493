"""``adamas backup`` and ``adamas restore`` as an operator runs them: a private file, a clean audit after."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from adamas.cli import app
from log_helpers import build_ledger

runner = CliRunner()


def test_backup_then_restore_from_the_command_line(db_url: str, tmp_path: Path) -> None:
    build_ledger(db_url, 30).close()
    out = tmp_path / "kp.backup"
    result = runner.invoke(app, ["backup", str(out), "--db", db_url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["size"] == 30 and report["rows"]["events"] == 30
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    target = f"sqlite:///{tmp_path / 'restored.db'}"
    result = runner.invoke(app, ["restore", str(out), "--db", target])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["audit", "--db", target]).exit_code == 0
    original = runner.invoke(app, ["log", "checkpoint", "--db", db_url]).stdout
    assert runner.invoke(app, ["log", "checkpoint", "--db", target]).stdout == original

    again = runner.invoke(app, ["backup", str(out), "--db", db_url])
    assert again.exit_code == 1 and "backup.exists" in again.output
    busy = runner.invoke(app, ["restore", str(out), "--db", target])
    assert busy.exit_code == 1 and "backup.target_not_empty" in busy.output
