"""GS1 EPCIS 2.0: epcis export, epcis import."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DEFAULT_DB, DbOption, fail, open_ledger, read_text
from adamas.crypto import load_private_key
from adamas.epcis import export_document, import_document
from adamas.errors import AdamasError, InputError

epcis_app = typer.Typer(help="GS1 EPCIS 2.0: export and import events.", no_args_is_help=True)
app.add_typer(epcis_app, name="epcis")


@epcis_app.command("export")
def export(
    db: DbOption = DEFAULT_DB,
    lot: Annotated[
        str | None, typer.Option(help="Only the lineage of this lot (its history and its ancestors').")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only events declared at or after this RFC 3339 time.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only events declared before this RFC 3339 time.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the document here instead of stdout.")
    ] = None,
) -> None:
    """Print an EPCIS 2.0 EPCISDocument (JSON-LD) of the ledger's events, eventIDs by the CBV 2.0 hash."""
    with open_ledger(db) as ledger:
        try:
            document = export_document(ledger, lot=lot, since=since, until=until)
        except AdamasError as exc:
            fail(exc)
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@epcis_app.command("import")
def import_(
    document: Annotated[str, typer.Argument(help="EPCIS 2.0 JSON-LD document ('-': stdin).")],
    key: Annotated[Path, typer.Option(help="PEM file of the signing key of the importing participant.")],
    actor: Annotated[str, typer.Option(help="Participant id the events are signed as.")],
    db: DbOption = DEFAULT_DB,
    mode: Annotated[
        str, typer.Option(help="atomic: all or nothing; proceed: keep what maps and is accepted.")
    ] = "atomic",
) -> None:
    """Sign the document's events as ACTOR and submit them; print one JSON line per EPCIS event."""
    if mode not in ("atomic", "proceed"):
        fail(InputError("--mode must be atomic or proceed", code="submit.bad_mode", field="mode"))
    try:
        parsed = json.loads(read_text(document))
    except json.JSONDecodeError as exc:
        fail(InputError(f"{document} is not JSON: {exc.msg}", code="input.malformed", field="document"))
    if not isinstance(parsed, dict):
        fail(InputError("an EPCIS document is a JSON object", code="epcis.bad_document", field="document"))
    try:
        signer = load_private_key(key)
        with open_ledger(db) as ledger:
            report = import_document(
                ledger, parsed, key=signer, actor=actor, mode="atomic" if mode == "atomic" else "proceed"
            )
    except AdamasError as exc:
        fail(exc)
    lines = [r.to_json() for r in report.refusals]
    lines += [{**o.to_json(), "position": p} for o, p in zip(report.outcomes, report.positions, strict=True)]
    for line in sorted(lines, key=lambda item: item["position"]):
        sys.stdout.write(json.dumps(line) + "\n")
    if not report.ok:
        raise typer.Exit(1)
