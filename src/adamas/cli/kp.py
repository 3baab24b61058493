"""The Kimberley Process: policy load-kp, certificate show/verify/render, evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from adamas.cli._app import app
from adamas.cli._common import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    err,
    fail,
    open_ledger,
    open_reader,
    out,
    print_json,
)
from adamas.errors import AdamasError, InputError

# --- Kimberley Process ------------------------------------------------------------------------------------

certificate_app = typer.Typer(help="Kimberley Process certificates.", no_args_is_help=True)
policy_app = typer.Typer(help="Scheme policy: KP standing and sanctions.", no_args_is_help=True)
app.add_typer(certificate_app, name="certificate")
app.add_typer(policy_app, name="policy")
DEFAULT_VERIFY_URL = "https://adamas.local/verify"


@policy_app.command("load-kp")
def policy_load_kp(
    admin_key: Annotated[Path, typer.Option(help="PEM key of the scheme administrator.")],
    db: DbOption = DEFAULT_DB,
    actor: Annotated[str, typer.Option(help="Participant id of the administrator.")] = "admin",
    data: Annotated[
        Path | None,
        typer.Option(
            envvar="ADAMAS_KP_DATA",
            help="Folder of another KP data pack with the same files (default: the one shipped with Adamas).",
        ),
    ] = None,
) -> None:
    """Record the real KP standing history and sanctions, signed by the administrator (idempotent)."""
    from rich.progress import Progress

    from adamas.crypto import load_private_key
    from adamas.data import kp_pack
    from adamas.ledger.policy import count_outcomes, load_kp

    if data is not None and not data.is_dir():
        # Checked here rather than by Typer, whose boxed message wraps a long path mid-name.
        fail(InputError(f"there is no KP data pack folder at {data}", code="kp.no_data", field="data"))
    pack = kp_pack(data)
    try:
        key = load_private_key(admin_key)
    except AdamasError as exc:
        fail(exc)
    with open_ledger(db) as ledger, Progress(console=err, transient=True) as progress:
        task = progress.add_task("recording KP policy", total=None)
        try:
            outcomes = load_kp(
                ledger,
                key,
                data_dir=pack,
                actor=actor,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except AdamasError as exc:
            fail(exc)
    refused = [o for o in outcomes if o.status == "refused"]
    print_json({"data": str(pack), **count_outcomes(outcomes)})
    if refused:
        assert refused[0].error is not None
        err.print(f"first refusal: {refused[0].error.code}: {refused[0].error.message}")
        raise typer.Exit(1)


@certificate_app.command("show")
def certificate_show(number: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """A certificate's Annex I fields, its lots and its status."""
    from adamas.ledger.certificate_doc import certificate_view

    with open_reader(db) as ledger, ledger.engine.connect() as conn:
        try:
            view = certificate_view(conn, number)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json(view.to_json())
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for name, value in [
        ("certificate", f"{view.number} ({view.status})"),
        ("issued by", f"{view.issuing_authority.id} ({view.exporting_country})"),
        ("exporter", f"{view.exporter.id} ({view.exporter.country})"),
        ("importer", f"{view.importer.id} ({view.importer.country})"),
        (
            "origin",
            view.origin_label + ": " + ", ".join(f"{o.country} {o.carats:.2f} ct" for o in view.origin),
        ),
        ("carats", f"{view.carats:.2f} in {view.parcels} parcel(s), HS {view.hs_code}"),
        ("value", f"{view.value:.2f} {view.currency}"),
        ("valid", f"{view.issued} to {view.expires}"),
        ("shipment", view.shipment),
        ("lots", ", ".join(lot.id for lot in view.lots)),
        ("logged", f"leaf {view.leaf_index} ({view.event})"),
    ]:
        table.add_row(name, value)
    out.print(table)


@certificate_app.command("verify")
def certificate_verify(number: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """Re-check every rule of a certificate from the log and prove its events included; exit 1 if invalid."""
    from adamas.ledger.certificate_check import verify_certificate

    with open_reader(db) as ledger:
        try:
            verdict = verify_certificate(ledger, number)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json(verdict.to_json())
    else:
        for check in verdict.checks:
            mark = "[green]✓[/]" if check.ok else "[bold red]✗[/]"
            out.print(f"{mark} {check.name}: {check.detail}")
        out.print(
            f"certificate {number} is [bold]{'VALID' if verdict.valid else 'NOT VALID'}[/] ({verdict.status})"
        )
    if not verdict.valid:
        raise typer.Exit(1)


@certificate_app.command("render")
def certificate_render(
    number: str,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the HTML page.")],
    db: DbOption = DEFAULT_DB,
    verify_url: Annotated[str, typer.Option(help="URL the QR code points to.")] = DEFAULT_VERIFY_URL,
) -> None:
    """Write a printable certificate (HTML) whose QR code encodes a verification URL and the leaf index."""
    from adamas.ledger.certificate_doc import certificate_view
    from adamas.web.certificate_print import render_html

    with open_reader(db) as ledger, ledger.engine.connect() as conn:
        try:
            view = certificate_view(conn, number)
        except AdamasError as exc:
            fail(exc)
    try:
        out_path.write_text(render_html(view, verify_url=verify_url), encoding="utf-8")
    except OSError as exc:
        fail(InputError(f"cannot write {out_path}: {exc.strerror}", code="input.unwritable", field="out"))
    print_json({"certificate": view.number, "leaf": view.leaf_index, "out": str(out_path)})


@app.command()
def evidence(
    kind: Annotated[str, typer.Argument(help="event, lot, site, participant or country.")],
    subject: Annotated[str, typer.Argument(help="Its id.")],
    db: DbOption = DEFAULT_DB,
    json_: JsonOption = False,
) -> None:
    """What monitors, authorities and labs attested about a subject, and the evidence level reached."""
    with open_reader(db) as ledger:
        try:
            result = ledger.evidence(kind, subject)
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json(result.to_json())
        return
    out.print(f"{kind} {subject}: [bold]{result.level}[/]")
    for item in result.attestations:
        out.print(f"  {item['time']} {item['actor']}: {item['claim']} — {item['statement']}")
