"""The transparency log: log key/checkpoint/prove/consistency/export-tiles, receipt verify, audit."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    err,
    fail,
    open_reader,
    out,
    print_json,
    read_text,
)
from adamas.errors import AdamasError, InputError

log_app = typer.Typer(help="The transparency log: key, checkpoints, proofs, tiles.", no_args_is_help=True)
receipt_app = typer.Typer(help="Receipts of logged events.", no_args_is_help=True)
app.add_typer(log_app, name="log")
app.add_typer(receipt_app, name="receipt")


def _write_hashes(hashes: list[bytes]) -> None:
    sys.stdout.write("".join(base64.b64encode(h).decode("ascii") + "\n" for h in hashes))


@log_app.command("key")
def log_key(db: DbOption = DEFAULT_DB) -> None:
    """Print the log's public key (a C2SP signed-note vkey): all a verifier needs to trust."""
    with open_reader(db) as ledger:
        vkey = ledger.vkey
    sys.stdout.write(vkey + "\n")


@log_app.command("checkpoint")
def log_checkpoint(
    db: DbOption = DEFAULT_DB,
    size: Annotated[
        int | None, typer.Option(help="The checkpoint of this tree size [default: newest].")
    ] = None,
) -> None:
    """Print the newest signed checkpoint (C2SP tlog-checkpoint note), verbatim."""
    with open_reader(db) as ledger:
        try:
            note = ledger.checkpoint(size=size)
        except AdamasError as exc:
            fail(exc)
    sys.stdout.write(note)


@log_app.command("prove")
def log_prove(
    index: Annotated[int, typer.Argument(help="Leaf index of the event.")],
    db: DbOption = DEFAULT_DB,
    size: Annotated[int | None, typer.Option(help="Tree size [default: the newest checkpoint's].")] = None,
) -> None:
    """Print the inclusion proof of leaf INDEX, one base64 hash per line, leaf side first."""
    with open_reader(db) as ledger:
        try:
            proof = ledger.prove(index, size=size)
        except AdamasError as exc:
            fail(exc)
    _write_hashes(proof)


@log_app.command("consistency")
def log_consistency(
    old: Annotated[int, typer.Argument(help="The older tree size.")],
    new: Annotated[
        int | None, typer.Argument(help="The newer tree size [default: newest checkpoint].")
    ] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Print the consistency proof from tree size OLD to NEW, one base64 hash per line."""
    with open_reader(db) as ledger:
        try:
            proof = ledger.consistency(old, new)
        except AdamasError as exc:
            fail(exc)
    _write_hashes(proof)


@log_app.command("export-tiles")
def log_export_tiles(
    directory: Annotated[
        Path, typer.Argument(help="Directory to write (created; re-export adds what is new).")
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write the log as C2SP tlog-tiles: checkpoint, checkpoints/, tile/<L>/<N>, tile/entries/<N>."""
    from rich.progress import Progress

    with open_reader(db) as ledger, Progress(console=err, transient=True) as progress:
        task = progress.add_task("exporting entries", total=ledger.size)
        try:
            summary = ledger.export_tiles(
                directory, progress=lambda done, total: progress.update(task, completed=done)
            )
        except AdamasError as exc:
            fail(exc)
    print_json(summary.to_json())


def _read_vkey(value: str) -> str:
    """A vkey given as the string itself or as a file holding it."""
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        fail(InputError(f"cannot read {value}: {exc}", code="input.unreadable", field="vkey"))
    return value.strip()


VkeyOption = Annotated[
    str | None, typer.Option("--vkey", help="The log's vkey, or a file holding it (adamas log key).")
]


@receipt_app.command("verify")
def receipt_verify(
    receipts: Annotated[
        str,
        typer.Argument(help="File of receipts, one JSON object per line, e.g. submit's output ('-': stdin)."),
    ],
    vkey: VkeyOption = None,
    envelope: Annotated[
        Path | None, typer.Option(help="The signed envelope too: check the receipt is for it (one receipt).")
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option("--witness", help="A trusted witness's vkey (or a file holding it); repeatable."),
    ] = None,
    min_: Annotated[
        int | None,
        typer.Option("--min", help="Valid cosignatures demanded of the --witness keys [default: all]."),
    ] = None,
) -> None:
    """Verify receipts offline, with nothing but them and the log's vkey; exit 1 if any fails.

    With --witness, also demand --min valid cosignatures by those witnesses on each receipt's checkpoint."""
    from adamas.ledger.receipts import Receipt
    from adamas.log import Verifier
    from adamas.model.events import parse_envelope

    if vkey is None:
        fail(
            InputError("--vkey is required: the log's key is what a receipt is checked against", field="vkey")
        )
    key = _read_vkey(vkey)
    items = []
    for number, line in enumerate(read_text(receipts).splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                fail(InputError(f"line {number} is not JSON: {exc.msg}", code="receipt.malformed"))
    if not items:
        fail(InputError(f"{receipts} holds no receipt", code="receipt.malformed"))
    leaf = None
    if envelope is not None:
        if len(items) != 1:
            fail(
                InputError(
                    "--envelope checks exactly one receipt", code="receipt.malformed", field="envelope"
                )
            )
        try:
            leaf = parse_envelope(read_text(str(envelope)).strip()).leaf
        except AdamasError as exc:
            fail(exc)
    witnesses = [_read_vkey(w) for w in witness or []]
    try:
        parsed = [Receipt.from_json(item) for item in items]
        Verifier.from_vkey(key)
        _check_witness_keys(witnesses, min_)
    except AdamasError as exc:
        fail(exc)
    failed = 0
    for item, receipt in zip(items, parsed, strict=True):
        try:
            checkpoint = receipt.verify(key, envelope=leaf, witnesses=witnesses, min_cosignatures=min_)
        except AdamasError as exc:
            failed += 1
            print_json({"ok": False, "index": item.get("index"), "code": exc.code, "message": exc.message})
            continue
        print_json({"ok": True, "index": receipt.index, "origin": checkpoint.origin, "size": checkpoint.size})
    if failed:
        err.print(f"[bold red]error[/]: {failed} of {len(items)} receipts do not verify", markup=True)
        raise typer.Exit(1)


def _check_witness_keys(witnesses: list[str], needed: int | None) -> None:
    """Refuse bad --witness keys or an impossible --min before any receipt is checked (exit 2)."""
    from adamas.log import CosignatureVerifier

    for vkey in witnesses:
        CosignatureVerifier.from_vkey(vkey)
    if needed is not None and not 0 <= needed <= len(witnesses):
        raise InputError(
            f"--min {needed} needs at least {needed} --witness keys",
            code="receipt.min_cosignatures",
            field="min",
        )


@receipt_app.command("get")
def receipt_get(
    index: Annotated[int, typer.Argument(help="Leaf index of the event.")], db: DbOption = DEFAULT_DB
) -> None:
    """Print a receipt for leaf INDEX, in the newest checkpoint witnesses cosigned (with their cosignatures)
    if one includes it, else in the newest checkpoint."""
    with open_reader(db) as ledger:
        try:
            receipt = ledger.receipt(index)
        except AdamasError as exc:
            fail(exc)
    sys.stdout.write(json.dumps(receipt.to_json()) + "\n")


@app.command()
def audit(
    *,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Ledger database to audit [default: $ADAMAS_DB, then sqlite:///adamas.db]."
        ),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            help="A tlog-tiles directory, or the http(s) URL of a served log, to audit (needs --vkey)."
        ),
    ] = None,
    vkey: VkeyOption = None,
    opaque: Annotated[
        bool, typer.Option("--opaque", help="Entries are opaque bytes: Merkle and checkpoint checks only.")
    ] = False,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="Also check every event again with the rules, from the log alone; on --db compare the "
            "state tables with the replayed state.",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            help="Worker processes that check a database's envelope signatures [default: one per core].",
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Recompute every leaf, tile and checkpoint root of the log from its entries, check every checkpoint's
    signature and every envelope's (with --replay, every rule too); exit 1 on any fault, naming the first
    bad leaf or checkpoint."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from adamas.ledger.audit import audit as run_audit

    if db is not None and tiles is not None:
        fail(InputError("give --db or --tiles, not both", code="audit.usage", field="tiles"))
    key = _read_vkey(vkey) if vkey is not None else None
    columns = (TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("leaves", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            if tiles is not None:
                report = run_audit(tiles=tiles, vkey=key, opaque=opaque, replay=replay, progress=advance)
            else:
                url = db or os.environ.get("ADAMAS_DB") or DEFAULT_DB
                report = run_audit(
                    db=url, vkey=key, opaque=opaque, replay=replay, progress=advance, jobs=jobs
                )
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json(report.to_json())
    else:
        out.print(
            f"{report.source}: {report.size} leaves, {report.tiles} tiles, {report.checkpoints} checkpoints, "
            f"{report.envelopes} envelope signatures checked; origin {report.origin}"
            + ("" if report.replayed is None else f"; {report.replayed} events replayed by the rules")
        )
    if not report.ok:
        for fault in report.faults[:10]:
            err.print(f"[bold red]fault[/]: {fault.code}: {fault.message}", markup=True)
        err.print(f"[bold red]error[/]: audit.failed: {report.fault_count} faults found", markup=True)
        raise typer.Exit(1)
    if not json_:
        out.print("[bold green]ok[/]: every leaf, tile and checkpoint checks out", markup=True)
