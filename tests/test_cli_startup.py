"""CLI start-up (issue 14): what ``adamas --help`` and ``adamas lot show`` import, and that loading command
modules lazily changes nothing a user sees. Module sets, never timings (those live in benchmarks/startup.py).
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer

from adamas import Ledger
from adamas.cli._app import COMMANDS, app
from adamas.sim import demo_world

# Runs the CLI like the `adamas` script, then names every module the process imported.
DRIVER = """
import sys
from adamas.cli import main
try:
    main()
finally:
    sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


def _run(*args: str, preload: str = "") -> tuple[str, set[str]]:
    env = {**os.environ, "COLUMNS": "100", "TERMINAL_WIDTH": "100"}
    got = subprocess.run(
        [sys.executable, "-c", preload + DRIVER, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr
    modules = got.stderr.rsplit("MODULES ", 1)[1].split()
    return got.stdout, set(modules)


def _under(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


def test_help_imports_no_command_module_nor_storage() -> None:
    out, modules = _run("--help")
    assert "lot" in out and "witness" in out
    assert _under(modules, "adamas") == {
        "adamas",
        "adamas._lazy",
        "adamas.errors",
        "adamas.cli",
        "adamas.cli._app",
        "adamas.cli._common",
    }
    heavy = ("sqlalchemy", "pydantic", "fastapi", "nacl", "cryptography", "psycopg", "httpx")
    assert _under(modules, *heavy) == set()


def test_help_lists_what_the_commands_themselves_say() -> None:
    lazy, _ = _run("--help")
    # The same help with every command module imported first, so the root lists the real commands.
    eager, _ = _run("--help", preload="".join(f"import {m}\n" for e in COMMANDS.values() for m in e.modules))
    assert lazy == eager


def test_lot_show_imports_its_group_and_the_read_path_only(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world, _ = demo_world()
    assert all(o.ok for o in open_ledger(db_url).submit(world.events))
    out, modules = _run("lot", "show", "JW-2026-0001", "--db", db_url)
    assert "JW-2026-0001" in out and "risk" in out
    assert _under(modules, "adamas.cli") == {
        "adamas.cli",
        "adamas.cli._app",
        "adamas.cli._common",
        "adamas.cli.lots",
    }
    # A read needs neither the detectors a scan runs nor the simulator, the web stack or the HTTP client.
    unread = ("adamas.risk.scan", "adamas.risk.detectors", "adamas.risk.facts", "adamas.sim", "adamas.api")
    assert _under(modules, *unread, "adamas.web", "adamas.epcis", "fastapi", "uvicorn", "httpx") == set()
    # Nor the write path: batches, rules, signature workers, witnesses, export, rebuild, receipts, keys.
    assert _under(modules, *WRITE_PATH, "cryptography", "ulid") == set()
    # pydantic only through Typer's own coercion of parameters (Typer >= 0.29), never through Adamas.
    assert not _under(modules, "pydantic") or "typer._adapters" in modules


WRITE_PATH = (
    "adamas.crypto.keys",
    "adamas.ledger.backfill",
    "adamas.ledger.batch",
    "adamas.ledger.export",
    "adamas.ledger.logged_time",
    "adamas.ledger.outcome",
    "adamas.ledger.rebuild",
    "adamas.ledger.receipts",
    "adamas.ledger.state_diff",
    "adamas.ledger.tile_reads",
    "adamas.ledger.verify",
    "adamas.ledger.witnesses",
    "adamas.log.cosignature",
    "adamas.model.events",
    "adamas.model.rules",
    "adamas.model.signing",
    "adamas.witness",
)


def test_the_read_path_imports_no_pydantic_nor_the_write_path(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    # What `lot show` imports of Adamas, imported alone (no Typer): Adamas itself needs no pydantic.
    world, _ = demo_world()
    assert all(o.ok for o in open_ledger(db_url).submit(world.events))
    _, modules = _run("lot", "show", "JW-2026-0001", "--db", db_url)
    ours = sorted(_under(modules, "adamas") - _under(modules, "adamas.cli"))
    got = subprocess.run(
        [
            sys.executable,
            "-c",
            "".join(f"import {m}\n" for m in ours) + "import sys; print(*sorted(sys.modules))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    alone = set(got.stdout.split())
    assert _under(alone, "pydantic", "typer", *WRITE_PATH, "cryptography", "ulid") == set()


@pytest.mark.parametrize(
    "package", ["adamas", "adamas.crypto", "adamas.ledger", "adamas.log", "adamas.model"]
)
def test_a_lazy_package_exports_what_it_names(package: str) -> None:
    # Each package imports its exports on first use (PEP 562): every name of __all__ resolves, from the
    # module its table names, in a fresh process as in this one.
    module = importlib.import_module(package)
    lazy: dict[str, str] = module._LAZY
    assert set(lazy) <= set(module.__all__)
    assert set(module.__all__) - set(lazy) <= set(vars(module))
    for name, source in lazy.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name
    got = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from {package} import *; import {package} as p; print(sorted(set(p.__all__) - set(dir())))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.stdout.strip() == "[]"


def _walk(group: Any) -> Iterator[Any]:
    for command in group.commands.values():
        yield command
        if getattr(command, "commands", None):
            yield from _walk(command)


def test_the_command_table_agrees_with_the_commands() -> None:
    root = typer.main.get_command(app)
    assert list(root.commands) == list(COMMANDS)
    for name, command in root.commands.items():
        assert not command.hidden
        shown = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert shown == COMMANDS[name].help, f"set COMMANDS[{name!r}] in adamas/cli/_app.py to {shown!r}"
        # Every module defining a command under `name` is one the table imports for it.
        tree = [command, *(_walk(command) if getattr(command, "commands", None) else ())]
        defined = {c.callback.__module__ for c in tree if c.callback is not None}
        assert defined <= set(COMMANDS[name].modules), name


def test_a_command_outside_the_table_is_unknown() -> None:
    root = typer.main.get_command(app)
    assert root.get_command(None, "no-such-command") is None  # type: ignore[arg-type]
