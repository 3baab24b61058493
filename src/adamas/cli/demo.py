"""``adamas demo``: a believable year of the world's diamond trade, three lots worth opening, and the API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DbOption, fail, out
from adamas.errors import AdamasError, NotFoundError, StorageError

if TYPE_CHECKING:
    from adamas.sim.truth import Truth

__all__ = ["demo"]


def _is_new(db: str) -> bool:
    from adamas.ledger import Ledger

    try:
        with Ledger.open(db) as ledger:
            return ledger.size == 0
    except NotFoundError:
        return True


def _serve(db: str, port: int) -> None:
    """Serve the HTTP API over ``db`` until Ctrl-C (imported here: ``--no-serve`` needs no web stack)."""
    from adamas.api import serve

    serve(db, host="127.0.0.1", port=port)


@app.command()
def demo(
    db: DbOption = "sqlite:///demo/adamas.db",
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API after printing.")] = True,
    scripted: Annotated[
        bool,
        typer.Option(help="Instead, write the small scripted world (39 events, one Botswana stone) afresh."),
    ] = False,
) -> None:
    """Build the demo world (a simulated 2024 with every fraud scenario) if the database is new, show three
    lots worth opening, then serve the API until Ctrl-C."""
    # Imported here, not at the top: `adamas --help` must not pay for the ledger and the simulator.
    from adamas.cli.simulate import run_simulation, summary_table
    from adamas.ledger import Ledger
    from adamas.sim.showcase import DEMO, replay_truth, showcase

    if scripted:
        _scripted(db)
        return
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
            from adamas.risk import scan

            # The detectors read the whole simulated year once, so the monitor console opens with its flags.
            flagged = scan(ledger)
            picks = showcase(ledger, truth)
    except AdamasError as exc:
        fail(exc)
    base = f"http://127.0.0.1:{port}"
    out.print(
        f"\n[bold]Three lots worth opening[/] (a year of {DEMO.year} trade drawn from real KP figures):"
    )
    for pick in picks:
        out.print(f"\n  [bold]{pick.title}[/]  {pick.lot}\n    {pick.story}")
        out.print(f"    {base}/lots/{pick.lot}   (its passport: press Verify)")
        out.print(f"    adamas trace {pick.lot} --db {db}")
    out.print(f"\nThe ledger at a glance: {base}/")
    out.print(f"The monitor's console ({flagged.total} flags): {base}/flags")
    out.print(f"The API and its documentation: {base}/docs")
    if serve:
        out.print("Serving until Ctrl-C.")
        try:
            _serve(db, port)
        except AdamasError as exc:
            fail(exc)


def _scripted(db: str) -> None:
    """The scripted world of ``adamas.sim.demo_world``, written afresh, and its star stone's trace."""
    from rich.table import Table

    from adamas.cli.lots import lot_table, trace_tree
    from adamas.ledger import Ledger
    from adamas.sim import demo_world

    if db.startswith("sqlite:///"):
        path = Path(db.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    world, star = demo_world()
    try:
        # The ledger logs the scripted world as it happens: its clock is the world's (docs/time.md).
        with Ledger.open(db, create=True, clock=world.clock) as ledger:
            outcomes = ledger.submit(world.events)
            refused = [o for o in outcomes if o.status == "refused"]
            if refused:
                assert refused[0].error is not None
                fail(refused[0].error)
            out.print(
                f"[bold]{len(outcomes)}[/] signed events by {len(world.actors)} participants are in the "
                f"ledger at {db}.\n"
            )
            out.print(lot_table(ledger.lot(star)))
            out.print()
            result = ledger.trace(star)
    except (AdamasError, StorageError) as exc:
        fail(exc)
    out.print(trace_tree(result))
    table = Table("mine", "country", "carats", title=f"{star} came from")
    for share in result.origin:
        table.add_row(share.site_name or share.site, share.country or "-", f"{share.carats:.2f}")
    out.print(table)
    out.print(f"\nTry: adamas trace {star} --db {db}")
