"""The log's commands: ``adamas init --origin``, ``log key|checkpoint|prove|consistency|export-tiles``,
``receipt verify`` and ``audit``, each as a user runs them (exit codes 0, 1 for a fault, 2 for a usage error).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adamas.cli import app
from adamas.crypto import canonicalize
from adamas.log import Checkpoint, Verifier, open_checkpoint, verify_consistency, verify_inclusion
from conftest import FIXED_NOW
from log_helpers import ORIGIN, build_ledger, signed_events

runner = CliRunner()


@pytest.fixture(autouse=True)
def _ledger_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line's ledger clock at the tests' fixed now, where the scripted events are recent."""
    monkeypatch.setenv("ADAMAS_NOW", FIXED_NOW)


def adamas(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


@pytest.fixture
def ledger_url(db_url: str) -> str:
    """A ledger of 120 events (checkpoints at 100 and 120)."""
    build_ledger(db_url, 120).close()
    return db_url


def _checkpoint(url: str) -> Checkpoint:
    _, vkey, _ = adamas("log", "key", "--db", url)
    _, note, _ = adamas("log", "checkpoint", "--db", url)
    checkpoint, _ = open_checkpoint(
        note.encode(), origin=ORIGIN, verifiers=[Verifier.from_vkey(vkey.strip())]
    )
    return checkpoint


def test_init_creates_the_log_key_for_the_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, output = adamas("init", "--db", "sqlite:///kp.db", "--origin", "kp.example/log")
    assert code == 0, output
    created = json.loads(out)
    code, vkey, _ = adamas("log", "key", "--db", "sqlite:///kp.db")
    assert code == 0
    assert vkey.strip() == created["log_vkey"]
    assert vkey.startswith("kp.example/log+")
    code, note, _ = adamas("log", "checkpoint", "--db", "sqlite:///kp.db")
    assert note.startswith("kp.example/log\n1\n")
    code, _, output = adamas("init", "--db", "sqlite:///other.db", "--origin", "has space")
    assert code == 2
    assert "log.origin" in output


def test_log_prove_and_consistency_print_proofs_that_verify(ledger_url: str) -> None:
    checkpoint = _checkpoint(ledger_url)
    assert checkpoint.size == 120
    code, out, output = adamas("log", "prove", "57", "--db", ledger_url)
    assert code == 0, output
    proof = [base64.b64decode(line) for line in out.splitlines()]
    leaf = __import__("adamas.log", fromlist=["leaf_hash"]).leaf_hash(canonicalize(signed_events(120)[57]))
    verify_inclusion(leaf, 57, 120, proof, checkpoint.root_hash)

    code, out, _ = adamas("log", "consistency", "100", "--db", ledger_url)
    assert code == 0
    code, old_note, _ = adamas("log", "checkpoint", "--size", "100", "--db", ledger_url)
    old = Checkpoint.from_text(old_note.split("\n\n")[0] + "\n")
    verify_consistency(
        100, 120, [base64.b64decode(x) for x in out.splitlines()], old.root_hash, checkpoint.root_hash
    )

    code, out, _ = adamas("log", "prove", "57", "--size", "100", "--db", ledger_url)
    verify_inclusion(leaf, 57, 100, [base64.b64decode(x) for x in out.splitlines()], old.root_hash)
    code, out, _ = adamas("log", "consistency", "0", "120", "--db", ledger_url)
    assert (code, out) == (0, "")


@pytest.mark.parametrize(
    ("args", "code", "fault"),
    [
        (["log", "prove", "120"], 2, "log.index_out_of_range"),
        (["log", "prove", "3", "--size", "121"], 2, "log.size_order"),
        (["log", "consistency", "121"], 2, "log.size_order"),
        (["log", "consistency", "100", "130"], 2, "log.size_order"),
        (["log", "checkpoint", "--size", "99"], 1, "log.no_checkpoint"),
    ],
)
def test_log_commands_refuse_sizes_the_log_never_had(
    ledger_url: str, args: list[str], code: int, fault: str
) -> None:
    exit_code, _, output = adamas(*args, "--db", ledger_url)
    assert exit_code == code, output
    assert fault in output


def test_submit_prints_receipts_that_verify_offline(sqlite_url: str, tmp_path: Path) -> None:
    build_ledger(sqlite_url, 50).close()
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(e) + "\n" for e in signed_events(60)[48:]), encoding="utf-8")
    code, out, output = adamas("submit", str(batch), "--db", sqlite_url)
    assert code == 0, output
    receipts = tmp_path / "receipts.jsonl"
    receipts.write_text(out, encoding="utf-8")
    _, vkey, _ = adamas("log", "key", "--db", sqlite_url)
    vkey_file = tmp_path / "log.vkey"
    vkey_file.write_text(vkey, encoding="utf-8")
    for key in (vkey.strip(), str(vkey_file)):
        code, out, output = adamas("receipt", "verify", str(receipts), "--vkey", key)
        assert code == 0, output
        results = [json.loads(line) for line in out.splitlines()]
        assert [r["index"] for r in results] == list(range(48, 60))
        assert all(r["ok"] and r["size"] == 60 and r["origin"] == ORIGIN for r in results)
    # One receipt, checked against its own envelope and against another.
    one = tmp_path / "one.jsonl"
    one.write_text(receipts.read_text().splitlines()[3] + "\n", encoding="utf-8")
    envelope = tmp_path / "envelope.json"
    envelope.write_text(json.dumps(signed_events(60)[51]), encoding="utf-8")
    assert (
        adamas("receipt", "verify", str(one), "--vkey", str(vkey_file), "--envelope", str(envelope))[0] == 0
    )
    envelope.write_text(json.dumps(signed_events(60)[52]), encoding="utf-8")
    code, out, _ = adamas(
        "receipt", "verify", str(one), "--vkey", str(vkey_file), "--envelope", str(envelope)
    )
    assert code == 1 and json.loads(out)["code"] == "receipt.leaf_mismatch"


def _tampered(line: str, how: str) -> str:
    receipt = json.loads(line)
    if how == "index":
        receipt["index"] -= 1
    elif how == "index beyond":
        receipt["index"] += 1
    elif how == "leaf_hash":
        receipt["leaf_hash"] = "00" + receipt["leaf_hash"][2:]
    elif how == "proof":
        proof = bytearray(base64.b64decode(receipt["inclusion_proof"][0]))
        proof[0] ^= 1
        receipt["inclusion_proof"][0] = base64.b64encode(bytes(proof)).decode()
    elif how == "short proof":
        receipt["inclusion_proof"].pop()
    elif how == "checkpoint size":
        text, signature = receipt["checkpoint"].split("\n\n")
        lines = text.split("\n")
        lines[1] = str(int(lines[1]) + 1)
        receipt["checkpoint"] = "\n".join(lines) + "\n\n" + signature
    elif how == "signature":
        receipt["checkpoint"] = receipt["checkpoint"][:-10] + "AAAAAAAAA\n"
    return json.dumps(receipt)


@pytest.mark.parametrize(
    ("how", "fault"),
    [
        ("index", "log.proof_length"),
        ("index beyond", "receipt.not_in_tree"),
        ("leaf_hash", "log.root_mismatch"),
        ("proof", "log.root_mismatch"),
        ("short proof", "log.proof_length"),
        ("checkpoint size", "note.bad_signature"),
        ("signature", "note.bad_signature"),
    ],
)
def test_a_tampered_receipt_fails_verification(sqlite_url: str, tmp_path: Path, how: str, fault: str) -> None:
    build_ledger(sqlite_url, 30).close()
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps(signed_events(31)[30]) + "\n", encoding="utf-8")
    _, out, _ = adamas("submit", str(batch), "--db", sqlite_url)
    _, vkey, _ = adamas("log", "key", "--db", sqlite_url)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(out, encoding="utf-8")
    assert adamas("receipt", "verify", str(receipt), "--vkey", vkey.strip())[0] == 0
    receipt.write_text(_tampered(out, how) + "\n", encoding="utf-8")
    code, out, output = adamas("receipt", "verify", str(receipt), "--vkey", vkey.strip())
    assert code == 1, output
    assert json.loads(out)["code"] == fault


def test_receipt_verify_refuses_another_logs_key_and_malformed_input(sqlite_url: str, tmp_path: Path) -> None:
    from adamas.log import Signer

    build_ledger(sqlite_url, 30).close()
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps(signed_events(31)[30]) + "\n", encoding="utf-8")
    _, out, _ = adamas("submit", str(batch), "--db", sqlite_url)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(out, encoding="utf-8")
    code, out, _ = adamas("receipt", "verify", str(receipt), "--vkey", Signer.generate(ORIGIN).verifier.vkey)
    assert code == 1 and json.loads(out)["code"] == "note.unverified"
    receipt.write_text('{"index": -1}\n', encoding="utf-8")
    code, _, output = adamas(
        "receipt", "verify", str(receipt), "--vkey", Signer.generate(ORIGIN).verifier.vkey
    )
    assert code == 2 and "receipt.malformed" in output
    assert adamas("receipt", "verify", str(receipt))[0] == 2


def test_export_tiles_then_audit_them_with_only_the_vkey(ledger_url: str, tmp_path: Path) -> None:
    code, out, output = adamas("log", "export-tiles", str(tmp_path / "tiles"), "--db", ledger_url)
    assert code == 0, output
    summary = json.loads(out)
    assert summary["size"] == 120 and summary["checkpoints"] == 2
    assert (tmp_path / "tiles" / "tile" / "entries" / "000.p" / "120").is_file()
    _, vkey, _ = adamas("log", "key", "--db", ledger_url)
    code, out, output = adamas("audit", "--tiles", str(tmp_path / "tiles"), "--vkey", vkey.strip())
    assert code == 0, output
    assert "120 leaves" in out and "ok" in out
    code, out, output = adamas("audit", "--db", ledger_url, "--json")
    assert code == 0, output
    report = json.loads(out)
    assert report["ok"] and report["envelopes_verified"] == 120 and report["vkey"] == vkey.strip()


@pytest.mark.parametrize(
    ("args", "fault"),
    [
        (["--tiles", "somewhere"], "audit.usage"),
        (["--db", "sqlite:///x.db", "--tiles", "somewhere", "--vkey", "k"], "audit.usage"),
    ],
)
def test_audit_usage_errors(args: list[str], fault: str) -> None:
    code, _, output = adamas("audit", *args)
    assert code == 2, output
    assert fault in output


def test_audit_of_something_that_is_not_a_log_fails(tmp_path: Path) -> None:
    code, _, output = adamas("audit", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
    assert code == 1
    assert "audit.source" in output
    code, _, output = adamas("audit", "--tiles", str(tmp_path), "--vkey", "x+00000000+AAAA")
    assert code != 0
