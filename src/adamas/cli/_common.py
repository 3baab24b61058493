"""What every command group shares: consoles, the --db and --json options, and error exits."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from adamas.errors import AdamasError, InputError
from adamas.ledger import Ledger
from adamas.ledger.ledger import NOW_ENV
from adamas.model.values import parse_time

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_DB = "sqlite:///adamas.db"
DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="ADAMAS_DB",
        help="SQLAlchemy URL of the ledger (SQLite or PostgreSQL).",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def fail(error: AdamasError) -> NoReturn:
    err.print(f"[bold red]error[/]: {error.code}: {error.message}", markup=True)
    code = 2 if isinstance(error, InputError) else 1
    raise typer.Exit(code)


def ledger_clock() -> Callable[[], int] | None:
    """The clock ``$ADAMAS_NOW`` sets (the log's times still never decrease), or None: the system clock."""
    text = os.environ.get(NOW_ENV)
    if not text:
        return None
    try:
        instant = parse_time(text, NOW_ENV)
    except AdamasError as exc:
        fail(exc)
    return lambda: instant


def open_ledger(db: str) -> Ledger:
    try:
        return Ledger.open(db, clock=ledger_clock())
    except AdamasError as exc:
        fail(exc)


def print_json(value: Any) -> None:
    out.print_json(data=value) if out.is_terminal else sys.stdout.write(json.dumps(value) + "\n")


def read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(InputError(f"cannot read {source}: {exc}", code="input.unreadable", field="file"))


def read_bodies(text: str) -> Iterator[dict[str, Any]]:
    """A JSON object, a JSON array of objects, or JSON lines."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                fail(InputError(f"line {number} is not JSON: {exc.msg}", code="input.malformed"))
            yield from _bodies_of(item, number)
        return
    yield from _bodies_of(whole, 1)


def _bodies_of(item: Any, number: int) -> Iterator[dict[str, Any]]:
    items = item if isinstance(item, list) else [item]
    for body in items:
        if not isinstance(body, dict):
            fail(InputError(f"item at line {number} is not a JSON object", code="input.malformed"))
        yield body.get("body", body) if set(body) <= {"body", "sig"} and "body" in body else body
