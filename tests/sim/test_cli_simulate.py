"""``adamas simulate`` and ``adamas demo --no-serve`` from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adamas import Ledger
from adamas.cli import app
from adamas.crypto import KeyPair
from adamas.model.values import parse_time

runner = CliRunner()


def test_simulate_writes_the_world_its_truth_and_keys(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--db",
            db,
            "--seed",
            "3",
            "--fraud",
            "weight_skim,round_trip,reused_certificate",
            "--truth",
            str(tmp_path / "truth.json"),
            "--keys",
            str(tmp_path / "keys"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "the simulated world" in result.stdout and "certificate.used 1" in result.stdout
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert {c["scenario"] for c in truth["cases"]} == {"weight_skim", "round_trip"}
    assert [a["code"] for a in truth["attempts"]] == ["certificate.used"]
    assert (tmp_path / "keys" / "admin.pem").is_file()
    with Ledger.open(db) as ledger:
        assert ledger.size == truth["log"]["size"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["--fraud", "teleportation"], "sim.unknown_scenario", id="unknown-scenario"),
        pytest.param(["--scale", "0"], "sim.bad_scale", id="zero-scale"),
        pytest.param(["--scale", "2"], "sim.bad_scale", id="scale-above-one"),
        pytest.param(["--year", "1999"], "sim.no_data", id="year-without-figures"),
    ],
)
def test_bad_simulate_options_exit_2_and_write_nothing(args: list[str], code: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--db", f"sqlite:///{tmp_path / 'w.db'}", *args])
    assert result.exit_code == 2, result.output
    assert f"error: {code}:" in result.stderr
    assert not (tmp_path / "w.db").exists()


def test_simulate_into_a_ledger_that_ran_later_exits_1(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    clock = lambda: parse_time("2026-01-01T00:00:00Z", "t")  # noqa: E731
    Ledger.init(db, admin_key=KeyPair.from_seed(bytes(32)), clock=clock).close()
    result = runner.invoke(app, ["simulate", "--db", db, "--year", "2023"])
    assert result.exit_code == 1
    assert "error: sim.log_ahead:" in result.stderr


def test_demo_builds_the_world_once_and_points_at_three_lots(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo' / 'adamas.db'}"
    first = runner.invoke(app, ["demo", "--db", db, "--no-serve", "--port", "8123"])
    assert first.exit_code == 0, first.output
    for title in ("a clean stone", "a laundered stone", "a sanctioned stone"):
        assert title in first.stdout
    lots = re.findall(r"http://127\.0\.0\.1:8123/lots/([A-Za-z0-9-]+)   \(its passport", first.stdout)
    assert len(set(lots)) == 3
    assert "http://127.0.0.1:8123/docs" in first.stdout
    assert "http://127.0.0.1:8123/flags" in first.stdout  # the monitor's console, flags scanned
    with Ledger.open(db) as ledger:
        size = ledger.size
        assert size >= 20_000
        sanctioned = ledger.trace(lots[2])
        assert "RU" in {share.country for share in sanctioned.origin}
        assert ledger.lot(lots[2]).state == "sold"
        assert "RU" not in {share.country for share in ledger.trace(lots[0]).origin}
    again = runner.invoke(app, ["demo", "--db", db, "--no-serve", "--port", "8123"])
    assert again.exit_code == 0, again.output
    assert "Reusing the demo world" in again.stdout
    assert re.findall(r"http://127\.0\.0\.1:8123/lots/([A-Za-z0-9-]+)   \(its passport", again.stdout) == lots
    with Ledger.open(db) as ledger:
        assert ledger.size == size
