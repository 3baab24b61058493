"""Backfill windows: admit historical records past the backdating allowance (docs/time.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DEFAULT_DB, DbOption, fail, open_ledger, print_json
from adamas.crypto import load_private_key
from adamas.errors import AdamasError
from adamas.ledger.backfill import close_backfill, open_backfill, open_backfills
from adamas.model.values import parse_time

backfill_app = typer.Typer(help="Backfill windows for importing historical records.", no_args_is_help=True)
app.add_typer(backfill_app, name="backfill")

AdminKeyOption = Annotated[Path, typer.Option("--admin-key", help="PEM file of the administrator's key.")]
AdminIdOption = Annotated[str, typer.Option("--admin-id", help="Participant id of the administrator.")]


def _instant(text: str, field: str) -> int:
    """An RFC 3339 UTC time, or a date (its midnight UTC)."""
    try:
        return parse_time(text if "T" in text else f"{text}T00:00:00Z", field)
    except AdamasError as exc:
        fail(exc)


@backfill_app.command("open")
def backfill_open(
    *,
    admin_key: AdminKeyOption,
    from_: Annotated[str, typer.Option("--from", help="First declared time admitted (date or RFC 3339).")],
    until: Annotated[str, typer.Option(help="Declared times admitted are before this (date or RFC 3339).")],
    reason: Annotated[str, typer.Option(help="Why history is being imported.")],
    closes: Annotated[
        str | None,
        typer.Option(help="Logged time after which the window admits nothing (default: one day from now)."),
    ] = None,
    admin_id: AdminIdOption = "admin",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Open a ledger.backfill window; prints the window's id and its receipt."""
    start, end = _instant(from_, "from"), _instant(until, "until")
    closes_ns = None if closes is None else _instant(closes, "closes")
    with open_ledger(db) as ledger:
        try:
            key = load_private_key(admin_key)
            outcome = open_backfill(
                ledger,
                key,
                start_ns=start,
                until_ns=end,
                closes_ns=closes_ns,
                reason=reason,
                actor=admin_id,
            )
        except AdamasError as exc:
            fail(exc)
    print_json({"window": outcome.event_id, **outcome.to_json()})


@backfill_app.command("close")
def backfill_close(
    admin_key: AdminKeyOption,
    window: Annotated[
        str | None, typer.Option(help="The window to close [default: every open window].")
    ] = None,
    admin_id: AdminIdOption = "admin",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Close open backfill windows now: another ledger.backfill naming each, with closes = now."""
    with open_ledger(db) as ledger:
        try:
            outcomes = close_backfill(ledger, load_private_key(admin_key), window=window, actor=admin_id)
        except AdamasError as exc:
            fail(exc)
    print_json([o.to_json() for o in outcomes])


@backfill_app.command("list")
def backfill_list(db: DbOption = DEFAULT_DB) -> None:
    """The backfill windows still open at the ledger's clock."""
    with open_ledger(db) as ledger:
        print_json(open_backfills(ledger))
