"""The demo world."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adamas.cli._app import app
from adamas.cli._common import (
    DbOption,
    fail,
    out,
)
from adamas.cli.lots import lot_table, trace_tree
from adamas.errors import AdamasError, StorageError
from adamas.ledger import Ledger


@app.command()
def demo(
    db: DbOption = "sqlite:///demo/adamas.db",
    fresh: Annotated[bool, typer.Option(help="Start from an empty database.")] = True,
) -> None:
    """Build a small scripted world (two mines to a sold ring) and trace its polished stone to its mines."""
    from adamas.sim import demo_world

    if fresh and db.startswith("sqlite:///"):
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
    out.print(f"\nTry (after `. .venv/bin/activate`): adamas trace {star} --db {db}")
    out.print(f"                                  adamas lot history {star} --db {db}")
