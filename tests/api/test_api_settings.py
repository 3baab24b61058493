"""The service's settings travel to worker processes through the environment unchanged, and bad ones are
refused before anything starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adamas import InputError
from adamas.api.settings import Settings
from adamas.cli import app


def test_settings_survive_the_environment() -> None:
    settings = Settings(
        "sqlite:///a.db",
        read_db="sqlite:///b.db",
        cors_origin="https://x.example",
        max_body_bytes=10,
        max_batch=3,
    )
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env(Settings("sqlite:///a.db").to_env()) == Settings("sqlite:///a.db")


BAD_ENVIRONMENTS = {
    "no database": ({}, "serve.no_db"),
    "limit not a number": (
        {"ADAMAS_SERVE_DB": "sqlite:///a.db", "ADAMAS_SERVE_MAX_BATCH": "many"},
        "serve.bad_limit",
    ),
    "limit zero": (
        {"ADAMAS_SERVE_DB": "sqlite:///a.db", "ADAMAS_SERVE_MAX_BODY_BYTES": "0"},
        "serve.bad_limit",
    ),
}


@pytest.mark.parametrize("name", list(BAD_ENVIRONMENTS))
def test_bad_environment_is_refused(name: str) -> None:
    environ, code = BAD_ENVIRONMENTS[name]
    with pytest.raises(InputError) as caught:
        Settings.from_env(environ)
    assert caught.value.code == code


def test_serve_refuses_no_workers_and_a_missing_ledger(tmp_path: object) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["serve", "--workers", "0", "--db", "sqlite:///nowhere.db"])
    assert got.exit_code == 2
    assert "serve.bad_workers" in got.output
    got = runner.invoke(app, ["serve", "--db", f"sqlite:///{tmp_path}/none.db"])
    assert got.exit_code == 1
    assert "ledger.not_found" in got.output
