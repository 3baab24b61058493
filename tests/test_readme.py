"""The README's tour runs as written: every ``$ adamas ...`` line of its console blocks, in order."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from adamas.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def tour_lines() -> list[str]:
    """Every command line of the README's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def body_file(name: str, keys: dict[str, dict[str, str]]) -> Any:
    """The content of a body file the tour signs (authority.json exactly as the README shows it)."""
    if name == "authority.json":
        text = README.read_text(encoding="utf-8")
        authority = json.loads(re.search(r"```json\n(.*?)```", text, flags=re.S).group(1))  # type: ignore[union-attr]
        authority["participant"]["keys"] = [keys["bw.pem"]]
        return authority
    return {
        "operator.json": [
            {
                "type": "participant.register",
                "participant": {
                    "id": "debswana",
                    "name": "Debswana",
                    "country": "BW",
                    "roles": ["mine_operator", "exporter"],
                    "keys": [keys["miner.pem"]],
                },
            },
            {
                "type": "site.register",
                "site": {
                    "id": "jwaneng",
                    "name": "Jwaneng",
                    "kind": "mine",
                    "country": "BW",
                    "operator": "debswana",
                    "lat": "-24.52",
                    "lon": "24.70",
                },
            },
        ],
        "production.json": [
            {
                "type": "lot.register",
                "lot": {
                    "id": "JW-0001",
                    "kind": "rough_parcel",
                    "carats": "1000.00",
                    "stones": 400,
                    "value": {"amount": "150000.00", "currency": "USD"},
                    "site": "jwaneng",
                },
            },
            {
                "type": "lot.split",
                "lot": "JW-0001",
                "into": [{"id": "JW-0001-A", "carats": "600.00"}, {"id": "JW-0001-B", "carats": "395.00"}],
                "loss": "5.00",
            },
        ],
        "bad-split.json": {
            "type": "lot.split",
            "lot": "JW-0001-A",
            "into": [{"id": "JW-0001-C", "carats": "300.00"}, {"id": "JW-0001-D", "carats": "200.00"}],
        },
    }[name]


def test_readme_tour_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADAMAS_DB", raising=False)
    monkeypatch.delenv(
        "ADAMAS_KP_DATA", raising=False
    )  # policy load-kp reads the pack shipped in the package
    runner = CliRunner()
    lines = tour_lines()
    assert len(lines) >= 20
    keys: dict[str, dict[str, str]] = {}
    for line in lines:
        words = shlex.split(line)
        target = None
        if ">" in words:
            target = words[words.index(">") + 1]
            words = words[: words.index(">")]
        assert words[0] == "adamas", line
        if words[1] == "sign":
            name = words[-1]
            (tmp_path / name).write_text(json.dumps(body_file(name, keys)), encoding="utf-8")
        result = runner.invoke(app, words[1:])
        if "bad-split.jsonl" in line and words[1] == "submit":
            assert result.exit_code == 1, result.output
            refusal = json.loads(result.stdout.splitlines()[0])
            assert (refusal["code"], refusal["field"]) == ("mass.not_conserved", "into")
            continue
        assert result.exit_code == 0, f"{line}\n{result.output}"
        if words[1:3] == ["key", "new"]:
            keys[words[3]] = json.loads(result.stdout)
        if target is not None:
            (tmp_path / target).write_text(result.stdout, encoding="utf-8")
        if words[1] == "submit":
            assert all(json.loads(x)["status"] == "accepted" for x in result.stdout.splitlines())
        if words[1:3] == ["receipt", "verify"]:
            verified = [json.loads(x) for x in result.stdout.splitlines()]
            assert len(verified) == 2 and all(v["ok"] for v in verified)
        if words[1] == "audit":
            assert "ok: every leaf, tile and checkpoint checks out" in result.stdout
        if words[1:3] == ["log", "prove"]:
            assert len(result.stdout.splitlines()) >= 2
        if words[1:3] == ["policy", "load-kp"]:
            assert json.loads(result.stdout)["accepted"] > 200
        if words[1:3] == ["certificate", "verify"]:
            assert "is VALID (confirmed)" in result.stdout
        if words[1:3] == ["certificate", "render"]:
            assert words[3] in (tmp_path / "certificate.html").read_text(encoding="utf-8")
        if words[1] == "simulate" and "--truth" in words:
            truth = json.loads((tmp_path / words[words.index("--truth") + 1]).read_text(encoding="utf-8"))
            assert truth["cases"] and truth["log"]["size"] > 1000
        if words[1] == "evidence":
            assert "independently audited" in result.stdout
    assert os.path.exists(tmp_path / "kp.db")
    shown = runner.invoke(app, ["trace", "JW-0001-A", "--db", "sqlite:///kp.db", "--json"])
    origin = json.loads(shown.stdout)["origin"]
    assert origin == [{"site": "jwaneng", "site_name": "Jwaneng", "country": "BW", "carats": "600.00"}]
