"""``adamas simulate``: a year of the world's diamond trade from real KP figures, with labelled fraud."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DbOption, err, fail, out
from adamas.errors import AdamasError
from adamas.sim.fraud import SCENARIOS

if TYPE_CHECKING:
    from rich.table import Table

    from adamas.sim.simulate import Options, Summary
    from adamas.sim.truth import Truth

__all__ = ["run_simulation", "summary_table"]


def run_simulation(db: str, options: Options, *, keys: Path | None = None) -> tuple[Summary, Truth]:
    """Simulate ``options`` into ``db`` with a progress bar on stderr (shared with ``adamas demo``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from adamas.sim.simulate import simulate

    with Progress(
        TextColumn("[bold]simulating {task.fields[year]}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("weeks · {task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("simulate", total=52, year=options.year, events=0)

        def progress(week: int, weeks: int, events: int) -> None:
            bar.update(task, completed=week, total=weeks, events=events)

        return simulate(db, options, progress=progress, keys_dir=keys)


def summary_table(summary: Summary) -> Table:
    """The closing summary of a simulation."""
    from rich.table import Table

    table = Table("", "", title="the simulated world", show_header=False)
    for name, value in (
        ("participants", summary.participants),
        ("lots", summary.lots),
        ("events logged", summary.events),
        ("KP certificates", summary.certificates),
        ("shipments", summary.shipments),
        ("retail sales", summary.sales),
    ):
        table.add_row(name, f"{value:,}")
    refused = ", ".join(f"{code} {n}" for code, n in sorted(summary.refusals.items())) or "none"
    table.add_row("refusals (attempts)", f"{sum(summary.refusals.values())}: {refused}")
    injected = ", ".join(f"{name} {n}" for name, n in summary.scenarios.items()) or "none"
    table.add_row("fraud scenarios", injected)
    table.add_row("log", f"size {summary.size:,}, root {summary.root[:16]}…")
    return table


@app.command("simulate")
def simulate_command(
    *,
    db: DbOption = "sqlite:///adamas.db",
    year: Annotated[int, typer.Option(help="The year of KP production figures to simulate.")] = 2023,
    scale: Annotated[float, typer.Option(help="Fraction of the real carats to simulate.")] = 1e-5,
    seed: Annotated[int, typer.Option(help="Seed of keys, ids, times and choices.")] = 1,
    fraud: Annotated[
        str, typer.Option(help=f"all, none, or names separated by commas: {', '.join(SCENARIOS)}.")
    ] = "all",
    truth: Annotated[
        Path | None, typer.Option(help="Write the ground truth of the fraud cases here (JSON).")
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="Write every participant's private key here (<id>.pem, mode 0600).")
    ] = None,
) -> None:
    """Simulate a year of the world's diamond trade into a new ledger, with labelled fraud."""
    from adamas.sim.simulate import Options, parse_fraud

    try:
        if not 0 < scale <= 1:
            raise_scale(scale)
        options = Options(year=year, scale=scale, seed=seed, fraud=parse_fraud(fraud))
        summary, facts = run_simulation(db, options, keys=keys)
    except AdamasError as exc:
        fail(exc)
    if truth is not None:
        facts.write(truth)
    out.print(summary_table(summary))
    if truth is not None:
        out.print(f"ground truth: {truth}")
    if keys is not None:
        out.print(f"private keys: {keys}/<participant>.pem")


def raise_scale(scale: float) -> None:
    """Refuse a scale outside (0, 1]."""
    from adamas.errors import InputError

    raise InputError(f"--scale must be in (0, 1], not {scale}", code="sim.bad_scale", field="scale")
