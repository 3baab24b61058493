"""The KP commands: policy load-kp, certificate show/verify/render, evidence; exit codes and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update
from typer.testing import CliRunner

from adamas import Ledger
from adamas.cli import app
from adamas.crypto import save_private_key
from adamas.sim import World, demo_world
from adamas.store import schema
from conftest import fixed_clock


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    """A ledger holding the scripted demo world (certificate BW-2026-000042)."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    world, _ = demo_world()
    with Ledger.open(url, create=True, clock=fixed_clock) as ledger:
        assert all(o.ok for o in ledger.submit(world.events))
    return url


def test_verify_fails_with_exit_1_when_the_certificate_was_doctored(demo_db: str) -> None:
    engine = create_engine(demo_db)
    with engine.begin() as conn:
        conn.execute(update(schema.certificates).values(carats=1))
    engine.dispose()
    result = CliRunner().invoke(app, ["certificate", "verify", "BW-2026-000042", "--db", demo_db, "--json"])
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert not verdict["valid"]
    assert [c["check"] for c in verdict["checks"] if not c["ok"]] == ["record matches the signed events"]


def test_unknown_certificate_is_a_clear_error(demo_db: str) -> None:
    result = CliRunner().invoke(app, ["certificate", "show", "BW-2026-999999", "--db", demo_db])
    assert result.exit_code == 1
    assert "certificate.unknown" in result.stderr
    assert "Traceback" not in result.output


def test_load_kp_by_someone_else_is_refused(demo_db: str, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    save_private_key(stranger, World(seed="someone-else").admin.key)
    result = CliRunner().invoke(app, ["policy", "load-kp", "--db", demo_db, "--admin-key", str(stranger)])
    assert result.exit_code == 1
    assert json.loads(result.stdout).get("accepted", 0) == 0


def test_load_kp_from_a_missing_folder_is_a_usage_error(demo_db: str, tmp_path: Path) -> None:
    key = tmp_path / "admin.pem"
    save_private_key(key, World(seed="someone-else").admin.key)
    missing = tmp_path / "no-such-pack"
    result = CliRunner().invoke(
        app, ["policy", "load-kp", "--db", demo_db, "--admin-key", str(key), "--data", str(missing)]
    )
    assert result.exit_code == 2
    assert "kp.no_data" in result.output and "no-such-pack" in result.output


def test_certificate_json_and_render(demo_db: str, tmp_path: Path) -> None:
    shown = CliRunner().invoke(app, ["certificate", "show", "BW-2026-000042", "--db", demo_db, "--json"])
    assert json.loads(shown.stdout)["status"] == "confirmed"
    page = tmp_path / "cert.html"
    rendered = CliRunner().invoke(
        app,
        [
            "certificate",
            "render",
            "BW-2026-000042",
            "--db",
            demo_db,
            "--out",
            str(page),
            "--verify-url",
            "https://customs.example/verify",
        ],
    )
    assert rendered.exit_code == 0
    assert "customs.example/verify" in page.read_text(encoding="utf-8")
