"""The risk commands end to end: risk scan, flags [--filters] [ack|dismiss], risk LOT, risk freeze, taint in
lot show and trace, stats report; errors exit 1 or 2 with ``error: <code>: <message>``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from live import LiveLedger
from typer.testing import CliRunner, Result

from adamas.cli import app
from adamas.crypto import save_private_key
from conftest import basic_world

FLAG_KEYS = [
    "id",
    "detector",
    "severity",
    "status",
    "subject",
    "period",
    "lots",
    "participants",
    "countries",
    "events",
    "evidence",
    "explanation",
]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A SQLite ledger with a lot skimmed in transit and merged; the world's keys as PEM files."""
    url = f"sqlite:///{tmp_path / 'risk.db'}"
    live = LiveLedger(url, basic_world())
    w = live.world
    w.register(w.admin, "monitor", "ZA", ["monitor"])
    w.produce("miner", "DIRTY", "mine-a", "30.00")
    w.produce("miner", "CLEAN", "mine-b", "70.00")
    w.ship("miner", "s1", ["DIRTY", "CLEAN"], "trader")
    w.receive("trader", "s1", {"DIRTY": "29.00", "CLEAN": "70.00"})
    w.merge("trader", ["DIRTY", "CLEAN"], "MIX")
    w.split("trader", "MIX", {"MIX-1": "40.00", "MIX-2": "60.00"})
    live.flush()
    live.close()
    for who in ("monitor", "bw-authority"):
        save_private_key(tmp_path / f"{who}.pem", w.actor(who).key)
    yield url, tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_scan_then_list_review_and_freeze(ledger: tuple[str, Path]) -> None:
    url, keys = ledger
    scanned = run("risk", "scan", "--db", url, "--json")
    assert scanned.exit_code == 0, scanned.output
    assert len(json.loads(scanned.stdout)["new"]) == 1
    listed = json.loads(run("flags", "--json", "--db", url).stdout)
    assert [list(f) for f in listed] == [FLAG_KEYS]
    flag_id = listed[0]["id"]
    for filters in (["--open"], ["--detector", "weight"], ["--country", "BW"], ["--lot", "DIRTY"]):
        assert [f["id"] for f in json.loads(run("flags", *filters, "--json", "--db", url).stdout)] == [
            flag_id
        ]
    assert json.loads(run("flags", "--lot", "CLEAN", "--json", "--db", url).stdout) == []
    assert flag_id in run("flags", "--db", url).stdout

    risk = json.loads(run("risk", "MIX-2", "--json", "--db", url).stdout)
    assert risk["taint"]["share"] == 0.3 and risk["reasons"][0]["flag"] == flag_id
    assert "tainted 30.0%" in run("risk", "MIX-2", "--db", url).stdout
    assert "tainted 30.0%" in run("lot", "show", "MIX-2", "--db", url).stdout
    assert "tainted 30%" in run("trace", "MIX-2", "--db", url).stdout
    forward = json.loads(run("trace", "DIRTY", "--forward", "--json", "--db", url).stdout)
    assert {n["id"]: n["taint"] for n in forward["nodes"]} == {
        "DIRTY": 1.0,
        "MIX": 0.3,
        "MIX-1": 0.3,
        "MIX-2": 0.3,
    }

    acked = run(
        "flags",
        "ack",
        flag_id,
        "--key",
        str(keys / "monitor.pem"),
        "--actor",
        "monitor",
        "--reason",
        "carrier cannot explain the loss",
        "--db",
        url,
    )
    assert acked.exit_code == 0, acked.output
    assert json.loads(acked.stdout)["status"] == "accepted"
    assert json.loads(run("flags", "--open", "--json", "--db", url).stdout) == []
    assert json.loads(run("flags", "--json", "--db", url).stdout)[0]["status"] == "acknowledged"

    frozen = run(
        "risk",
        "freeze",
        "MIX",
        "--flag",
        flag_id,
        "--key",
        str(keys / "bw-authority.pem"),
        "--actor",
        "bw-authority",
        "--db",
        url,
    )
    assert frozen.exit_code == 0, frozen.output
    assert [json.loads(line)["status"] for line in frozen.stdout.splitlines()] == ["accepted", "accepted"]
    assert json.loads(run("lot", "show", "MIX-1", "--json", "--db", url).stdout)["state"] == "frozen"

    report = run("stats", "report", "--year", "2026", "--out", str(keys / "report"), "--db", url)
    assert report.exit_code == 0, report.output
    page = (keys / "report" / "index.html").read_text(encoding="utf-8")
    assert flag_id in page and "production-carats.svg" in page
    assert (keys / "report" / "flags.svg").read_text(encoding="utf-8").startswith("<?xml")


@pytest.mark.parametrize(
    ("args", "exit_code", "code"),
    [
        pytest.param(["flags", "--detector", "nope"], 2, "risk.bad_detector", id="unknown-detector"),
        pytest.param(["risk", "NO-SUCH-LOT"], 1, "lot.not_found", id="unknown-lot"),
        pytest.param(
            [
                "flags",
                "dismiss",
                "weight-0000000000000000",
                "--key",
                "{keys}/monitor.pem",
                "--actor",
                "monitor",
                "--reason",
                "no",
            ],
            1,
            "risk.flag_not_found",
            id="unknown-flag",
        ),
        pytest.param(
            ["flags", "ack", "{flag}", "--key", "{keys}/monitor.pem", "--actor", "monitor", "--reason", " "],
            2,
            "risk.review_reason",
            id="blank-reason",
        ),
        pytest.param(
            ["flags", "ack", "{flag}", "--key", "{keys}/missing.pem", "--actor", "monitor", "--reason", "x"],
            2,
            "key.unreadable",
            id="missing-key",
        ),
        pytest.param(
            [
                "risk",
                "freeze",
                "CLEAN",
                "--flag",
                "{flag}",
                "--key",
                "{keys}/bw-authority.pem",
                "--actor",
                "bw-authority",
            ],
            2,
            "risk.not_tainted",
            id="freeze-untainted",
        ),
    ],
)
def test_bad_risk_commands_fail_cleanly_and_write_nothing(
    ledger: tuple[str, Path], args: list[str], exit_code: int, code: str
) -> None:
    url, keys = ledger
    run("risk", "scan", "--db", url)
    flag_id = json.loads(run("flags", "--json", "--db", url).stdout)[0]["id"]
    checkpoint = run("log", "checkpoint", "--db", url).stdout
    result = run(*[a.format(keys=keys, flag=flag_id) for a in args], "--db", url)
    assert result.exit_code == exit_code, result.output
    assert f"error: {code}:" in result.stderr
    assert run("log", "checkpoint", "--db", url).stdout == checkpoint
