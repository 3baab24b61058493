"""Operations: backup and restore of a whole ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from adamas.cli._app import app
from adamas.cli._common import DEFAULT_DB, DbOption, err, fail, print_json
from adamas.errors import AdamasError

if TYPE_CHECKING:
    from adamas.ledger.backup import BackupReport


def _with_progress(label: str, run: Callable[[Callable[[int, int], None]], BackupReport]) -> BackupReport:
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(step)


@app.command()
def backup(
    out: Annotated[Path, typer.Argument(help="The backup file to create (SQLite; never overwritten).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Copy one consistent snapshot of the ledger, taken online while it writes, into a new file (0600)."""
    from adamas.ledger.backup import backup as run_backup

    try:
        report = _with_progress("backup", lambda step: run_backup(db, out, progress=step))
    except AdamasError as exc:
        fail(exc)
    err.print(f"backed up {report.size} events (the signed tree of that size) to {out}; keep it like a key")
    print_json(report.to_json())


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `adamas backup`.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Restore a backup into an empty database (SQLite or PostgreSQL); then `adamas audit` it."""
    from adamas.ledger.backup import restore as run_restore

    try:
        report = _with_progress("restore", lambda step: run_restore(backup_file, db, progress=step))
    except AdamasError as exc:
        fail(exc)
    err.print(f"restored {report.size} events into {db}")
    print_json(report.to_json())
