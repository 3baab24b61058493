"""Flags, risk and statistics: flags [ack|dismiss], risk LOT|scan|freeze, stats [report]."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from adamas.cli._app import app
from adamas.cli._common import DEFAULT_DB, DbOption, JsonOption, err, fail, open_ledger, out, print_json

if TYPE_CHECKING:
    from adamas.ledger import Outcome
    from adamas.risk.flags import RiskFlag
from adamas.errors import AdamasError, InputError

KeyOption = Annotated[Path, typer.Option("--key", help="PEM file of the signing key.")]
ActorOption = Annotated[str, typer.Option("--actor", help="Participant id of the signer.")]


class _LotOrCommand(TyperGroup):
    """``adamas risk LOT`` shows a lot's risk; ``adamas risk scan|freeze`` are commands."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "show", self.commands["show"], args
        return super().resolve_command(ctx, args)


flags_app = typer.Typer(
    help="Risk flags: list them, acknowledge or dismiss one.", invoke_without_command=True
)
risk_app = typer.Typer(
    cls=_LotOrCommand,
    help="A lot's risk (adamas risk LOT), running the detectors (scan), freezing a tainted lineage (freeze).",
    no_args_is_help=True,
)
stats_app = typer.Typer(help="Kimberley Process statistics from the log.", invoke_without_command=True)
app.add_typer(flags_app, name="flags")
app.add_typer(risk_app, name="risk")
app.add_typer(stats_app, name="stats")


def _flags_table(found: list[RiskFlag]) -> Table:
    table = Table("id", "detector", "severity", "status", "subject", "period", "explanation")
    for f in found:
        table.add_row(
            f.id,
            f.detector,
            f.severity,
            f.status,
            f"{f.subject_kind} {f.subject_id}",
            f.period or "-",
            f.explanation,
        )
    return table


@flags_app.callback()
def flags_list(
    ctx: typer.Context,
    *,
    open_: Annotated[
        bool, typer.Option("--open", help="Only flags nobody acknowledged or dismissed.")
    ] = False,
    detector: Annotated[str | None, typer.Option(help="Only this detector's flags.")] = None,
    country: Annotated[
        str | None, typer.Option(help="Only flags naming this country (ISO 3166-1 alpha-2).")
    ] = None,
    lot: Annotated[str | None, typer.Option(help="Only flags naming this lot.")] = None,
    db: DbOption = DEFAULT_DB,
    json_: JsonOption = False,
) -> None:
    """List the risk flags (run `adamas risk scan` first to raise them)."""
    from adamas.risk import flags as list_flags

    if ctx.invoked_subcommand is not None:
        return
    with open_ledger(db) as ledger:
        try:
            found = list_flags(ledger, open_only=open_, detector=detector, country=country, lot=lot)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json([f.to_json() for f in found])
    else:
        out.print(_flags_table(found))


def _review(flag: str, verdict: str, *, key: Path, actor: str, reason: str, db: str) -> None:
    from adamas.crypto import load_private_key
    from adamas.risk import review

    with open_ledger(db) as ledger:
        try:
            outcome = review(ledger, flag, verdict, key=load_private_key(key), actor=actor, reason=reason)  # type: ignore[arg-type]
        except AdamasError as exc:
            fail(exc)
    _print_outcomes([outcome])


def _print_outcomes(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        print_json(o.to_json())
    if any(o.status == "refused" for o in outcomes):
        raise typer.Exit(1)


ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why (required; goes into the signed attestation).")
]


@flags_app.command("ack")
def flags_ack(
    flag: str, key: KeyOption, actor: ActorOption, reason: ReasonOption, db: DbOption = DEFAULT_DB
) -> None:
    """Acknowledge a flag: sign and submit an attestation (claim concern) naming it."""
    _review(flag, "acknowledged", key=key, actor=actor, reason=reason, db=db)


@flags_app.command("dismiss")
def flags_dismiss(
    flag: str, key: KeyOption, actor: ActorOption, reason: ReasonOption, db: DbOption = DEFAULT_DB
) -> None:
    """Dismiss a flag: sign and submit an attestation (claim documents_verified) naming it."""
    _review(flag, "dismissed", key=key, actor=actor, reason=reason, db=db)


@risk_app.command("show", hidden=True)
def risk_show(lot: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """A lot's risk: score, taint and the flags on its lineage."""
    from adamas.risk import lot_risk

    with open_ledger(db) as ledger:
        try:
            result = lot_risk(ledger, lot)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json(result)
        return
    out.print(f"[bold]{lot}[/]: risk score {result['score']:.2f}, tainted {result['taint']['share']:.1%}")
    if result["compromised_key"]:
        out.print("[bold red]rests on an event signed with a compromised key[/]")
    table = Table("flag", "detector", "severity", "status", "share", "explanation")
    for r in result["reasons"]:
        table.add_row(
            r["flag"], r["detector"], r["severity"], r["status"], f"{r['share']:.1%}", r["explanation"]
        )
    out.print(table)


@risk_app.command("scan")
def risk_scan(
    db: DbOption = DEFAULT_DB,
    full: Annotated[
        bool, typer.Option("--full", help="Forget the stored flags and recompute from leaf 0.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Run every detector over what was logged since the last scan and store the new flags."""
    from adamas.risk import scan

    with open_ledger(db) as ledger:
        try:
            result = scan(ledger, full=full)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json(result.to_json())
    else:
        out.print(
            f"scanned leaves {result.from_leaf}..{result.to_leaf}: {len(result.new)} new flag(s), "
            f"{len(result.updated)} updated, {result.total} in all"
        )


@risk_app.command("freeze")
def risk_freeze(
    lot: str,
    flag: Annotated[str, typer.Option("--flag", help="The flag whose taint justifies the freeze.")],
    key: KeyOption,
    actor: ActorOption,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Freeze LOT and every live lot made from it that the flag taints (one signed lot.freeze each)."""
    from adamas.crypto import load_private_key
    from adamas.risk import freeze

    with open_ledger(db) as ledger:
        try:
            outcomes = freeze(ledger, flag, key=load_private_key(key), actor=actor, lot=lot)
        except AdamasError as exc:
            fail(exc)
    _print_outcomes(outcomes)


@stats_app.callback()
def stats(
    ctx: typer.Context,
    *,
    year: Annotated[int | None, typer.Option("--year", help="Calendar year.")] = None,
    half: Annotated[bool, typer.Option("--half", help="Per half year.")] = False,
    quarter: Annotated[bool, typer.Option("--quarter", help="Per quarter.")] = False,
    country: Annotated[str | None, typer.Option(help="Only this country (ISO 3166-1 alpha-2).")] = None,
    format_: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Production, exports and imports per country and period (carats, US$, $/ct, certificates, partners)."""
    from adamas.risk.stats import statistics

    if ctx.invoked_subcommand is not None:
        return
    if year is None:
        fail(InputError("--year is required", code="stats.year_required", field="year"))
    if half and quarter:
        fail(InputError("--half and --quarter exclude each other", code="stats.bad_period", field="period"))
    if format_ not in ("table", "csv", "json"):
        fail(InputError("--format is table, csv or json", code="stats.bad_format", field="format"))
    granularity = "half" if half else "quarter" if quarter else "year"
    with open_ledger(db) as ledger:
        try:
            result = statistics(ledger, year, granularity=granularity, country=country)
        except AdamasError as exc:
            fail(exc)
    if format_ == "json":
        print_json(result.to_json())
    elif format_ == "csv":
        csv.writer(sys.stdout, lineterminator="\n").writerows(result.csv_rows())
    else:
        out.print(_stats_table(result.csv_rows(), year))


def _stats_table(lines: list[list[str]], year: int) -> Table:
    table = Table(
        "country",
        "period",
        "production ct",
        "US$",
        "$/ct",
        "exports ct",
        "US$",
        "$/ct",
        "KPC",
        "imports ct",
        "US$",
        "$/ct",
        title=f"Kimberley Process statistics {year}",
    )
    for line in lines[1:]:
        table.add_row(*line[0:2], *line[2:5], *line[5:8], line[11], *line[8:11])
    return table


@stats_app.command("report")
def stats_report(
    year: Annotated[int, typer.Option("--year", help="Calendar year.")],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory to write index.html and the SVG charts into.")
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write an HTML report of a year's statistics and flags, with SVG charts."""
    from adamas.risk.report import write_report

    with open_ledger(db) as ledger:
        try:
            written: list[Any] = write_report(ledger, year, out_dir)
        except AdamasError as exc:
            fail(exc)
    err.print(f"wrote {len(written)} file(s) to {out_dir}")
    print_json({"out": str(out_dir), "files": [str(p) for p in written]})
