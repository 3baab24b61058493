"""Set-up and writes: init, key new, sign, submit, rebuild."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import (
    DEFAULT_DB,
    DbOption,
    err,
    fail,
    ledger_clock,
    open_ledger,
    print_json,
    read_bodies,
    read_text,
)
from adamas.errors import AdamasError, InputError

key_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@app.command()
def init(
    *,
    db: DbOption = DEFAULT_DB,
    admin_key: Annotated[
        Path, typer.Option(help="PEM file of the administrator's key; created if absent.")
    ] = Path("admin.pem"),
    admin_id: Annotated[str, typer.Option(help="Participant id of the scheme administrator.")] = "admin",
    admin_name: Annotated[
        str, typer.Option(help="Name of the scheme administrator.")
    ] = "Scheme administrator",
    origin: Annotated[
        str | None,
        typer.Option(help="Origin line of the log's checkpoints, e.g. kp.example.org/log [default: random]."),
    ] = None,
    backdate_allowance: Annotated[
        int | None,
        typer.Option(
            "--backdate-allowance",
            metavar="DAYS",
            min=0,
            max=3650,
            help="How many days a declared time may lag the ledger's clock (recorded in the genesis event). "
            "[default: 30]",
        ),
    ] = None,
) -> None:
    """Create a new ledger: its log key, and its genesis event (leaf 0) in the first checkpoint."""
    from adamas.crypto import generate_key, load_private_key, save_private_key
    from adamas.ledger import Ledger

    try:
        if admin_key.exists():
            key = load_private_key(admin_key)
        else:
            key = generate_key()
            save_private_key(admin_key, key)
            err.print(f"created administrator key {admin_key} (id {key.id})")
        with Ledger.init(
            db,
            admin_key=key,
            admin_id=admin_id,
            admin_name=admin_name,
            origin=origin,
            clock=ledger_clock(),
            backdate_allowance_days=backdate_allowance,
        ) as ledger:
            size = ledger.size
            vkey = ledger.vkey
    except AdamasError as exc:
        fail(exc)
    print_json({"db": db, "administrator": admin_id, "key": key.id, "size": size, "log_vkey": vkey})


@key_app.command("new")
def key_new(path: Annotated[Path, typer.Argument(help="Where to write the PKCS#8 PEM private key.")]) -> None:
    """Create an Ed25519 key (PEM, mode 0600) and print its id and public key."""
    from adamas.crypto import generate_key, save_private_key

    try:
        key = generate_key()
        save_private_key(path, key)
    except AdamasError as exc:
        fail(exc)
    print_json({"id": key.id, "public_key": key.public_key_b64})


@app.command()
def sign(
    body: Annotated[
        str, typer.Argument(help="File with a body, an array of bodies or JSON lines ('-': stdin).")
    ],
    key: Annotated[Path, typer.Option(help="PEM private key to sign with.")],
    actor: Annotated[str | None, typer.Option(help="Participant id of the signer (sets body.actor).")] = None,
) -> None:
    """Sign event bodies: fill v, key, id (if absent) and time (if absent); print envelopes as JSON lines."""
    from adamas.crypto import canonicalize, load_private_key
    from adamas.model.signing import sign_body

    try:
        signer = load_private_key(key)
        clock = ledger_clock()
        for item in read_bodies(read_text(body)):
            # Canonical JSON lines: the ledger then parses each envelope once.
            now = None if clock is None else clock()
            envelope = canonicalize(sign_body(item, signer, actor=actor, time_ns=now))
            sys.stdout.write(envelope.decode("utf-8") + "\n")
    except AdamasError as exc:
        fail(exc)


@app.command()
def submit(
    envelopes: Annotated[str, typer.Argument(help="JSON-lines file of envelopes ('-': stdin).")],
    db: DbOption = DEFAULT_DB,
    mode: Annotated[
        str, typer.Option(help="atomic: all or nothing; proceed: keep the valid ones.")
    ] = "atomic",
) -> None:
    """Submit signed envelopes; print one JSON receipt or refusal per envelope."""
    if mode not in ("atomic", "proceed"):
        fail(
            InputError(
                f"--mode must be atomic or proceed, not {mode!r}", code="submit.bad_mode", field="mode"
            )
        )
    lines = [line for line in read_text(envelopes).splitlines() if line.strip()]
    ledger = open_ledger(db)
    try:
        outcomes = ledger.submit(lines, mode="atomic" if mode == "atomic" else "proceed")
    except AdamasError as exc:
        fail(exc)
    finally:
        ledger.close()
    for outcome in outcomes:
        sys.stdout.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
    accepted = sum(o.ok for o in outcomes)
    err.print(f"{accepted} of {len(outcomes)} envelopes in the log")
    if accepted != len(outcomes):
        raise typer.Exit(1)


@app.command()
def rebuild(
    db: DbOption = DEFAULT_DB,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start over instead of resuming a rebuild that was stopped.")
    ] = False,
    chunk: Annotated[
        int | None,
        typer.Option(
            min=1, help="Events replayed per transaction (ingest waits for one at most); default 1000."
        ),
    ] = None,
) -> None:
    """Recompute every state table from the stored events, re-checking each rule on the way; print what
    it repaired. A log whose stored events are not its leaves (one missing, one extra) is refused. Ingest
    goes on meanwhile (it waits at most for one chunk); a stopped rebuild resumes where it stopped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from adamas.ledger.rebuild import REBUILD_CHUNK, resume_point

    repairs: list[str] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with open_ledger(db) as ledger:
        try:
            start = None if restart else resume_point(ledger.engine)
        except AdamasError as exc:
            fail(exc)
        if start is not None:
            err.print(f"resuming at event {start} (--restart starts over)")
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("replaying events", total=ledger.size, rate="")

            def advance(done: int, total: int) -> None:
                speed = progress.tasks[0].speed
                rate = "" if speed is None else f"{speed:,.0f} events/s"
                progress.update(task, completed=done, total=total, rate=rate)

            try:
                count = ledger.rebuild(
                    progress=advance,
                    on_repair=lambda difference: repairs.append(difference.describe("stored", "rebuilt")),
                    chunk=chunk or REBUILD_CHUNK,
                    restart=restart,
                )
            except AdamasError as exc:
                fail(exc)
    print_json({"replayed": count, "repaired": repairs})


# --- the transparency log -----------------------------------------------------------------------------------
