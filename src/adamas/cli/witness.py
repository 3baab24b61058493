"""Witnessing: ``adamas witness serve|vkey|watch`` (a witness and a monitor of other logs), and the ledger's
side, ``adamas log witness add|collect`` and ``adamas log witnesses``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DEFAULT_DB, DbOption, JsonOption, err, fail, open_ledger, out, print_json
from adamas.cli.log import _read_vkey, log_app
from adamas.errors import AdamasError, InputError

if TYPE_CHECKING:
    from adamas.log import Cosigner, Verifier

witness_app = typer.Typer(
    help="Run a witness (C2SP tlog-witness) or a monitor of a log served as tlog-tiles.", no_args_is_help=True
)
log_witness_app = typer.Typer(
    help="The witnesses that cosign this ledger's checkpoints.", no_args_is_help=True
)
app.add_typer(witness_app, name="witness")
log_app.add_typer(log_witness_app, name="witness")

KeyOption = Annotated[Path, typer.Option("--key", help="The witness's Ed25519 PEM key (adamas key new).")]
NameOption = Annotated[
    str, typer.Option("--name", help="The witness's key name, e.g. witness.example.org/w1.")
]


def _cosigner(key: Path, name: str) -> Cosigner:
    from adamas.crypto import load_private_key
    from adamas.log import Cosigner

    try:
        return Cosigner(name, load_private_key(key).seed)
    except AdamasError as exc:
        fail(exc)


@witness_app.command("vkey")
def witness_vkey(key: KeyOption, name: NameOption) -> None:
    """Print the witness's C2SP verifier key (signature type 0x04), for logs and verifiers to trust."""
    out.print(_cosigner(key, name).verifier.vkey, soft_wrap=True)


def _trusted_logs(specs: list[str]) -> dict[str, list[Verifier]]:
    from adamas.log import Verifier

    logs: dict[str, list[Verifier]] = {}
    for spec in specs:
        origin, sep, vkey = spec.partition("=")
        if not sep or not origin or not vkey:
            fail(InputError(f"--log takes ORIGIN=VKEY, not {spec!r}", code="witness.usage", field="log"))
        try:
            logs.setdefault(origin, []).append(Verifier.from_vkey(_read_vkey(vkey)))
        except AdamasError as exc:
            fail(exc)
    return logs


@witness_app.command("serve")
def witness_serve(
    *,
    key: KeyOption,
    name: NameOption,
    state: Annotated[str, typer.Option("--state", help="The witness's own database: a file or a URL.")],
    log: Annotated[
        list[str],
        typer.Option("--log", help="ORIGIN=VKEY of a log to witness (VKEY: the key or a file); repeatable."),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve POST /add-checkpoint (C2SP tlog-witness v1.0.0) for the logs given with --log."""
    from adamas.witness import Witness, WitnessState
    from adamas.witness.http import serve

    cosigner = _cosigner(key, name)
    logs = _trusted_logs(log)
    try:
        witness = Witness(cosigner, logs, WitnessState.open(state))
    except AdamasError as exc:
        fail(exc)
    err.print(f"witness {cosigner.verifier.vkey} on http://{host}:{port}/add-checkpoint", soft_wrap=True)
    try:
        serve(witness, host=host, port=port)
    finally:
        witness.state.close()


# --- the ledger's witnesses -------------------------------------------------------------------------------


@log_witness_app.command("add")
def log_witness_add(
    name: Annotated[str, typer.Argument(help="The witness's key name (the name in its vkey).")],
    vkey: Annotated[
        str, typer.Argument(help="The witness's vkey (adamas witness vkey), or a file holding it.")
    ],
    url: Annotated[str, typer.Argument(help="The witness's submission prefix, e.g. https://w.example/")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Ask this witness to cosign the ledger's checkpoints (adamas log witness collect)."""
    with open_ledger(db) as ledger:
        try:
            status = ledger.add_witness(name, _read_vkey(vkey), url)
        except AdamasError as exc:
            fail(exc)
    print_json(status.to_json())


@log_witness_app.command("collect")
def log_witness_collect(db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """One round: send the newest checkpoint to every witness and keep their cosignatures.

    Exits 1 if any witness did not cosign it (the reason is recorded; see adamas log witnesses).
    """
    with open_ledger(db) as ledger:
        try:
            results = ledger.request_cosignatures()
        except AdamasError as exc:
            fail(exc)
    if json_:
        print_json([r.to_json() for r in results])
    elif not results:
        out.print("no witnesses to ask (adamas log witness add NAME VKEY URL)")
    else:
        for r in results:
            verdict = f"cosigned size {r.size}" if r.ok else f"error: {r.error}"
            out.print(f"{r.witness}: {verdict}", soft_wrap=True)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


@log_app.command("witnesses")
def log_witnesses(db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """List the configured witnesses: last size cosigned, when, and the last error."""
    from adamas.model.values import format_time_ns

    with open_ledger(db) as ledger:
        statuses = ledger.witnesses()
    if json_:
        print_json([s.to_json() for s in statuses])
        return
    if not statuses:
        out.print("no witnesses (adamas log witness add NAME VKEY URL)")
    for s in statuses:
        line = f"{s.name} {s.url} cosigned size {s.cosigned_size}"
        if s.cosigned_ns is not None:
            line += f" at {format_time_ns(s.cosigned_ns)}"
        if s.last_error and s.error_ns is not None:
            line += f"; last error at {format_time_ns(s.error_ns)}: {s.last_error}"
        out.print(line, soft_wrap=True)


# --- the monitor ------------------------------------------------------------------------------------------


@witness_app.command("watch")
def witness_watch(
    url: Annotated[str, typer.Argument(help="The log's tlog-tiles prefix: an http(s) URL or a directory.")],
    *,
    vkey: Annotated[str, typer.Option("--vkey", help="The log's vkey, or a file holding it.")],
    state: Annotated[Path, typer.Option("--state", help="The monitor's view of the log (a JSON file).")],
    once: Annotated[bool, typer.Option("--once", help="Check once and exit (for cron and tests).")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks.")] = 60.0,
    json_: JsonOption = False,
) -> None:
    """Follow a log: verify each new checkpoint, its consistency with the last one verified and its root
    recomputed from the entries. Exit 1 with an ALARM naming both checkpoints on a fork or a rewrite."""
    from adamas.witness.monitor import AlarmError, Monitor

    try:
        monitor = Monitor(url, _read_vkey(vkey), state)
    except AdamasError as exc:
        fail(exc)
    with monitor:
        while True:
            try:
                view = monitor.check()
            except AlarmError as alarm:
                err.print(f"[bold red]ALARM[/]: {alarm.code}: {alarm.message}", markup=True, soft_wrap=True)
                raise typer.Exit(1) from None
            except AdamasError as exc:
                if once:
                    fail(exc)
                err.print(f"[yellow]warning[/]: {exc.code}: {exc.message}", markup=True, soft_wrap=True)
            else:
                if json_:
                    print_json(view.to_json())
                else:
                    out.print(
                        f"{view.origin}: verified size {view.size} root {view.root_b64}", soft_wrap=True
                    )
            if once:
                return
            time.sleep(interval)
