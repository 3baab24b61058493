"""The clock's commands: ``init --backdate-allowance``, ``backfill open|close|list``, and the logged time in
``lot history`` and ``lot show`` (exit codes 0, 1 for a refusal, 2 for a usage error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adamas.cli import app
from adamas.crypto import canonicalize, save_private_key
from adamas.sim import World

runner = CliRunner()
NOW = "2026-03-20T00:00:00Z"


def adamas(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


@pytest.fixture
def kp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, World]:
    """A ledger made by ``adamas init`` with a 10-day allowance, the clock at ``NOW``, and a world whose
    administrator key is the ledger's, with Botswana's authority and a miner registered (logged at NOW)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADAMAS_NOW", NOW)
    w = World(seed="cli-clock", start="2026-03-19T00:00:00Z")
    save_private_key(tmp_path / "admin.pem", w.admin.key)
    code, _, output = adamas("init", "--db", "sqlite:///kp.db", "--backdate-allowance", "10")
    assert code == 0, output
    bw = w.authority("BW")
    w.register(bw, "miner", "BW", ["mine_operator"])
    w.site(bw, "mine-a", "mine", "BW", "miner")
    (tmp_path / "setup.jsonl").write_text("".join(canonicalize(e).decode() + "\n" for e in w.events))
    code, _, output = adamas("submit", "setup.jsonl", "--db", "sqlite:///kp.db")
    assert code == 0, output
    return "sqlite:///kp.db", w


def register(w: World, lot_id: str, time: str) -> Path:
    envelope = w.sign(
        "miner",
        "lot.register",
        record=False,
        time=time,
        lot={
            "id": lot_id,
            "kind": "rough_parcel",
            "carats": "10.00",
            "stones": 4,
            "value": {"amount": "10.00", "currency": "USD"},
            "site": "mine-a",
        },
    )
    path = Path(f"{lot_id}.jsonl")
    path.write_text(canonicalize(envelope).decode() + "\n")
    return path


def test_init_records_the_allowance_and_the_ledger_refuses_older_times(kp: tuple[str, World]) -> None:
    db, w = kp
    code, out, _ = adamas("submit", str(register(w, "LOT-OK", "2026-03-10T00:00:00Z")), "--db", db)
    assert code == 0 and json.loads(out)["logged"] == NOW
    code, out, _ = adamas("submit", str(register(w, "LOT-OLD", "2026-03-09T23:59:59Z")), "--db", db)
    assert code == 1 and json.loads(out)["code"] == "time.backdated"
    code, _, output = adamas("init", "--db", "sqlite:///other.db", "--backdate-allowance", "-1")
    assert code == 2, output


def test_backfill_open_admits_history_and_close_ends_it(
    kp: tuple[str, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, w = kp
    code, out, output = adamas(
        "backfill", "open", "--admin-key", "admin.pem", "--from", "2025-01-01", "--until", "2026-01-01",
        "--reason", "the 2025 paper registers", "--db", db,
    )  # fmt: skip
    assert code == 0, output
    window = json.loads(out)["window"]
    code, out, _ = adamas("backfill", "list", "--db", db)
    assert [w["id"] for w in json.loads(out)] == [window]
    code, out, output = adamas("submit", str(register(w, "LOT-2025", "2025-06-01T00:00:00Z")), "--db", db)
    assert code == 0, output
    assert json.loads(out)["backfill"] == window
    code, out, _ = adamas("lot", "history", "LOT-2025", "--db", db, "--json")
    (entry,) = json.loads(out)
    assert (entry["logged"], entry["backfill"], entry["time"]) == (NOW, window, "2025-06-01T00:00:00Z")
    code, out, _ = adamas("lot", "history", "LOT-2025", "--db", db)
    assert "backfilled" in out and window in out
    code, out, _ = adamas("lot", "show", "LOT-2025", "--db", db)
    assert f"backfilled under {window}" in " ".join(out.split())

    monkeypatch.setenv("ADAMAS_NOW", "2026-03-20T00:00:01Z")
    code, out, output = adamas("backfill", "close", "--admin-key", "admin.pem", "--db", db)
    assert code == 0, output
    assert [o["status"] for o in json.loads(out)] == ["accepted"]
    monkeypatch.setenv("ADAMAS_NOW", "2026-03-20T00:00:02Z")
    code, out, _ = adamas("backfill", "list", "--db", db)
    assert json.loads(out) == []
    code, out, _ = adamas("submit", str(register(w, "LOT-2025-B", "2025-06-02T00:00:00Z")), "--db", db)
    assert code == 1 and json.loads(out)["code"] == "time.backdated"
    code, _, output = adamas("backfill", "close", "--admin-key", "admin.pem", "--window", window, "--db", db)
    assert code == 1 and "backfill.unknown" in output


def test_backfill_open_refuses_a_bad_date_and_a_non_administrator(
    kp: tuple[str, World], tmp_path: Path
) -> None:
    db, w = kp
    code, _, output = adamas(
        "backfill", "open", "--admin-key", "admin.pem", "--from", "2025-13-01", "--until", "2026-01-01",
        "--reason", "x", "--db", db,
    )  # fmt: skip
    assert code == 2 and "event.schema" in output
    save_private_key(tmp_path / "bw.pem", w.actor("bw-authority").key)
    code, _, output = adamas(
        "backfill", "open", "--admin-key", "bw.pem", "--admin-id", "bw-authority", "--from", "2025-01-01",
        "--until", "2026-01-01", "--reason", "x", "--db", db,
    )  # fmt: skip
    assert code == 1 and "actor.not_authorized" in output


def test_sign_refuses_a_body_that_names_another_key(kp: tuple[str, World], tmp_path: Path) -> None:
    _, w = kp
    save_private_key(tmp_path / "miner.pem", w.actor("miner").key)
    body = {
        "type": "attest",
        "key": w.actor("bw-authority").key.id,
        "subject": {"kind": "site", "id": "mine-a"},
    }
    (tmp_path / "body.json").write_text(json.dumps(body))
    code, _, output = adamas("sign", "--key", "miner.pem", "--actor", "miner", "body.json")
    assert code == 2 and "event.schema" in output
