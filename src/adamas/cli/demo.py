"""``adamas demo``: a believable year of the world's diamond trade, three lots worth opening, and the API."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DbOption, fail, out
from adamas.cli.simulate import run_simulation, summary_table
from adamas.errors import AdamasError, NotFoundError
from adamas.ledger import Ledger
from adamas.sim.showcase import DEMO, replay_truth, showcase
from adamas.sim.truth import Truth

__all__ = ["demo"]


def _is_new(db: str) -> bool:
    try:
        with Ledger.open(db) as ledger:
            return ledger.size == 0
    except NotFoundError:
        return True


def _serve(db: str, port: int) -> None:
    """Serve the HTTP API over ``db`` until Ctrl-C."""
    try:
        api = importlib.import_module("adamas.api")
    except ModuleNotFoundError as exc:
        raise AdamasError("this installation has no HTTP service (adamas.api)", code="demo.no_api") from exc
    api.serve(db, host="127.0.0.1", port=port)


@app.command()
def demo(
    db: DbOption = "sqlite:///demo/adamas.db",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API after printing.")] = True,
) -> None:
    """Build the demo world (a simulated 2024 with every fraud scenario) if the database is new, show three
    lots worth opening, then serve the API until Ctrl-C."""
    try:
        if db.startswith("sqlite:///"):
            Path(db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        truth: Truth
        if _is_new(db):
            summary, truth = run_simulation(db, DEMO)
            out.print(summary_table(summary))
        else:
            out.print(f"Reusing the demo world in {db}.")
            truth = replay_truth(DEMO)
        with Ledger.open(db) as ledger:
            picks = showcase(ledger, truth)
    except AdamasError as exc:
        fail(exc)
    base = f"http://127.0.0.1:{port}"
    out.print(
        f"\n[bold]Three lots worth opening[/] (a year of {DEMO.year} trade drawn from real KP figures):"
    )
    for pick in picks:
        out.print(f"\n  [bold]{pick.title}[/]  {pick.lot}\n    {pick.story}")
        out.print(f"    {base}/v1/lots/{pick.lot}/trace")
        out.print(f"    adamas trace {pick.lot} --db {db}")
    out.print(f"\nThe API and its documentation: {base}/docs")
    if serve:
        out.print("Serving until Ctrl-C.")
        try:
            _serve(db, port)
        except AdamasError as exc:
            fail(exc)
