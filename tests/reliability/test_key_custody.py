"""Private keys never leave their file: no command that takes a key prints it, on success or on refusal,
and every such command is in the table (a new one must be added here)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from adamas.cli import app
from adamas.crypto import load_private_key, save_private_key
from adamas.sim import World

# Every command with a private-key option, with arguments that make it load the key and then do (or try to
# do) its work: {key} the key file, {db} a ledger whose administrator that key is, {tmp} a scratch folder.
KEY_COMMANDS: dict[str, list[str]] = {
    "init": ["init", "--db", "{db}", "--admin-key", "{key}", "--origin", "keys.example.org/log"],
    "sign": ["sign", "--key", "{key}", "--actor", "admin", "{tmp}/body.json"],
    "policy load-kp": ["policy", "load-kp", "--db", "{db}", "--admin-key", "{key}"],
    "flags ack": [
        "flags",
        "ack",
        "no-such-flag",
        "--key",
        "{key}",
        "--actor",
        "admin",
        "--reason",
        "r",
        "--db",
        "{db}",
    ],
    "flags dismiss": [
        *("flags", "dismiss", "no-such-flag", "--key", "{key}", "--actor", "admin", "--reason", "r"),
        *("--db", "{db}"),
    ],
    "risk freeze": [
        "risk",
        "freeze",
        "NO-LOT",
        "--flag",
        "no-such",
        "--key",
        "{key}",
        "--actor",
        "admin",
        "--db",
        "{db}",
    ],
    "backfill open": [
        *("backfill", "open", "--admin-key", "{key}", "--from", "2020-01-01", "--until", "2021-01-01"),
        *("--reason", "history", "--db", "{db}"),
    ],
    "backfill close": ["backfill", "close", "--admin-key", "{key}", "--window", "no-such", "--db", "{db}"],
    "epcis import": [
        "epcis",
        "import",
        "{tmp}/body.json",
        "--key",
        "{key}",
        "--actor",
        "admin",
        "--db",
        "{db}",
    ],
    "witness vkey": ["witness", "vkey", "--key", "{key}", "--name", "w.example.org/1"],
    "witness serve": [
        *("witness", "serve", "--key", "{key}", "--name", "w.example.org/1", "--state", "{tmp}/w.db"),
        *("--log", "not-a-log-spec"),
    ],
}


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    # Typer vendors its own click: a group is whatever has sub-commands.
    if getattr(group, "commands", None):
        for name, command in group.commands.items():
            yield from _commands(command, (*path, name))
    else:
        yield " ".join(path), group


def test_every_command_taking_a_private_key_is_checked() -> None:
    taking = {
        name
        for name, command in _commands(typer.main.get_command(app))
        if any(p.name in ("key", "admin_key") for p in command.params)
    }
    assert taking == set(KEY_COMMANDS)


def _secrets(path: Path) -> list[str]:
    """Every spelling of the key a careless program might print: PEM lines, seed in hex and base64."""
    seed = load_private_key(path).seed
    pem = [line for line in path.read_text().splitlines() if line and not line.startswith("-----")]
    return [
        *pem,
        seed.hex(),
        base64.b64encode(seed).decode(),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
    ]


@pytest.fixture
def scene(tmp_path: Path) -> dict[str, str]:
    world = World(seed="key-custody")
    key = tmp_path / "admin.pem"
    save_private_key(key, world.admin.key)
    (tmp_path / "body.json").write_text(json.dumps({"type": "attest"}), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    result = CliRunner().invoke(
        app, ["init", "--db", db, "--admin-key", str(key), "--origin", "keys.example.org/log"]
    )
    assert result.exit_code == 0, result.output
    return {"key": str(key), "db": db, "tmp": str(tmp_path)}


@pytest.mark.parametrize("mode", [0o600, 0o644], ids=["owner_only", "world_readable"])
@pytest.mark.parametrize("command", KEY_COMMANDS, ids=lambda c: c.replace(" ", "_"))
def test_no_command_prints_the_private_key(scene: dict[str, str], command: str, mode: int) -> None:
    key = Path(scene["key"])
    secrets = _secrets(key)
    key.chmod(mode)
    args = [a.format(**scene) for a in KEY_COMMANDS[command]]
    result = CliRunner().invoke(app, args)
    text = result.output + (result.stderr or "")
    for secret in secrets:
        assert secret not in text, f"{command} printed the private key"
    if mode != 0o600:
        assert result.exit_code in (1, 2) and "key.insecure_permissions" in text, text
        assert str(key) in text


def test_key_new_prints_the_public_key_only(tmp_path: Path) -> None:
    path = tmp_path / "new.pem"
    result = CliRunner().invoke(app, ["key", "new", str(path)])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"id", "public_key"}
    for secret in _secrets(path):
        assert secret not in result.output
