"""The public face: the curated ``__all__``, and help for every CLI command."""

from __future__ import annotations

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

import adamas
from adamas.cli import app

DOCUMENTED = {
    "AdamasError",
    "AuditFault",
    "AuditReport",
    "ConflictError",
    "HistoryEntry",
    "InputError",
    "KeyPair",
    "Ledger",
    "LotView",
    "NotFoundError",
    "OriginShare",
    "Outcome",
    "Receipt",
    "RuleError",
    "StorageError",
    "TilesExport",
    "Trace",
    "TraceNode",
    "VerificationError",
    "audit",
    "generate_key",
    "load_private_key",
    "save_private_key",
    "sign_body",
    "verify_receipt",
}


def test_exported_members_are_the_documented_ones() -> None:
    assert set(adamas.__all__) == DOCUMENTED
    for name in adamas.__all__:
        assert getattr(adamas, name).__doc__, f"{name} has no docstring"


def test_every_error_descends_from_adamas_error() -> None:
    for name in DOCUMENTED:
        obj = getattr(adamas, name)
        if isinstance(obj, type) and name.endswith("Error"):
            assert issubclass(obj, adamas.AdamasError)


def _commands(group: typer.Typer) -> list[list[str]]:
    root = get_command(group)
    out: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        sub = getattr(cmd, "commands", None)
        if sub:
            for name, child in sub.items():
                walk(child, [*path, name])
        else:
            out.append(path)

    walk(root, [])
    return out


@pytest.mark.parametrize("path", _commands(app), ids=" ".join)
def test_every_command_has_help(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    assert len(result.output.strip().splitlines()) > 3
