"""The ``adamas`` command: a thin face over the Python API, one command per operation.

Exit codes: 0 success; 1 a refusal or a fault found (``submit`` with any refused envelope, a lot not found);
2 a usage error (bad option, unreadable file, malformed input that is not an envelope). No command prints a
Python traceback for bad input: every ``AdamasError`` becomes one line ``error: <code>: <message>``.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from adamas.crypto import canonicalize, generate_key, load_private_key, save_private_key
from adamas.errors import AdamasError, InputError, NotFoundError, StorageError
from adamas.ledger import Ledger, LotView, Trace
from adamas.model.signing import sign_body

__all__ = ["app", "main"]

app = typer.Typer(
    name="adamas",
    help="Adamas: open, tamper-evident track-and-trace for natural diamonds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
key_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
lot_app = typer.Typer(help="Look at lots.", no_args_is_help=True)
log_app = typer.Typer(help="The transparency log: key, checkpoints, proofs, tiles.", no_args_is_help=True)
receipt_app = typer.Typer(help="Receipts of logged events.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(lot_app, name="lot")
app.add_typer(log_app, name="log")
app.add_typer(receipt_app, name="receipt")

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_DB = "sqlite:///adamas.db"
DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="ADAMAS_DB",
        help="SQLAlchemy URL of the ledger (SQLite or PostgreSQL).",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def _fail(error: AdamasError) -> NoReturn:
    err.print(f"[bold red]error[/]: {error.code}: {error.message}", markup=True)
    code = 2 if isinstance(error, InputError) else 1
    raise typer.Exit(code)


def _open(db: str) -> Ledger:
    try:
        return Ledger.open(db)
    except AdamasError as exc:
        _fail(exc)


def _print_json(value: Any) -> None:
    out.print_json(data=value) if out.is_terminal else sys.stdout.write(json.dumps(value) + "\n")


@app.command()
def init(
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
) -> None:
    """Create a new ledger: its log key, and its genesis event (leaf 0) in the first checkpoint."""
    try:
        if admin_key.exists():
            key = load_private_key(admin_key)
        else:
            key = generate_key()
            save_private_key(admin_key, key)
            err.print(f"created administrator key {admin_key} (id {key.id})")
        with Ledger.init(
            db, admin_key=key, admin_id=admin_id, admin_name=admin_name, origin=origin
        ) as ledger:
            size = ledger.size
            vkey = ledger.vkey
    except AdamasError as exc:
        _fail(exc)
    _print_json({"db": db, "administrator": admin_id, "key": key.id, "size": size, "log_vkey": vkey})


@key_app.command("new")
def key_new(path: Annotated[Path, typer.Argument(help="Where to write the PKCS#8 PEM private key.")]) -> None:
    """Create an Ed25519 key (PEM, mode 0600) and print its id and public key."""
    try:
        key = generate_key()
        save_private_key(path, key)
    except AdamasError as exc:
        _fail(exc)
    _print_json({"id": key.id, "public_key": key.public_key_b64})


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(InputError(f"cannot read {source}: {exc}", code="input.unreadable", field="file"))


def _bodies(text: str) -> Iterator[dict[str, Any]]:
    """A JSON object, a JSON array of objects, or JSON lines."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                _fail(InputError(f"line {number} is not JSON: {exc.msg}", code="input.malformed"))
            yield from _bodies_of(item, number)
        return
    yield from _bodies_of(whole, 1)


def _bodies_of(item: Any, number: int) -> Iterator[dict[str, Any]]:
    items = item if isinstance(item, list) else [item]
    for body in items:
        if not isinstance(body, dict):
            _fail(InputError(f"item at line {number} is not a JSON object", code="input.malformed"))
        yield body.get("body", body) if set(body) <= {"body", "sig"} and "body" in body else body


@app.command()
def sign(
    body: Annotated[
        str, typer.Argument(help="File with a body, an array of bodies or JSON lines ('-': stdin).")
    ],
    key: Annotated[Path, typer.Option(help="PEM private key to sign with.")],
    actor: Annotated[str | None, typer.Option(help="Participant id of the signer (sets body.actor).")] = None,
) -> None:
    """Sign event bodies: fill v, key, id (if absent) and time (if absent); print envelopes as JSON lines."""
    try:
        signer = load_private_key(key)
        for item in _bodies(_read_text(body)):
            # Canonical JSON lines: the ledger then parses each envelope once.
            envelope = canonicalize(sign_body(item, signer, actor=actor))
            sys.stdout.write(envelope.decode("utf-8") + "\n")
    except AdamasError as exc:
        _fail(exc)


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
        _fail(
            InputError(
                f"--mode must be atomic or proceed, not {mode!r}", code="submit.bad_mode", field="mode"
            )
        )
    lines = [line for line in _read_text(envelopes).splitlines() if line.strip()]
    ledger = _open(db)
    try:
        outcomes = ledger.submit(lines, mode="atomic" if mode == "atomic" else "proceed")
    except AdamasError as exc:
        _fail(exc)
    finally:
        ledger.close()
    for outcome in outcomes:
        sys.stdout.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
    accepted = sum(o.ok for o in outcomes)
    err.print(f"{accepted} of {len(outcomes)} envelopes in the log")
    if accepted != len(outcomes):
        raise typer.Exit(1)


def _lot_table(view: LotView) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("lot", view.id)
    table.add_row("kind", view.kind)
    table.add_row("carats", f"{view.carats:.2f}")
    table.add_row("stones", "-" if view.stones is None else str(view.stones))
    table.add_row("holder", f"{view.holder} ({view.holder_country or '-'})")
    table.add_row("state", view.state + (f" to {view.in_transit_to}" if view.in_transit_to else ""))
    table.add_row(
        "made by", f"{view.made_by.type} {view.made_by.id} at {view.made_by.time} (leaf {view.made_by.index})"
    )
    if view.parents:
        table.add_row("parents", ", ".join(view.parents))
    table.add_row("origin", "; ".join(f"{o.carats:.2f} ct {o.site} ({o.country})" for o in view.origin))
    return table


@lot_app.command("show")
def lot_show(lot: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """The current state of a lot: kind, carats, holder, state and origin."""
    with _open(db) as ledger:
        try:
            view = ledger.lot(lot)
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json(view.to_json())
    else:
        out.print(_lot_table(view))


@lot_app.command("history")
def lot_history(lot: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """Every event that touched a lot, oldest first."""
    with _open(db) as ledger:
        try:
            entries = ledger.history(lot)
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json([e.to_json() for e in entries])
        return
    table = Table("leaf", "time", "type", "actor", "event id")
    for e in entries:
        table.add_row(str(e.index), e.time, e.type, e.actor, e.id)
    out.print(table)


def _trace_tree(trace: Trace) -> Tree:
    nodes = {n.lot.id: n.lot for n in trace.nodes}
    compromised = {n.lot.id for n in trace.nodes if n.compromised}
    children: dict[str, list[str]] = {}
    for parent, child in trace.edges:
        if trace.direction == "backward":
            children.setdefault(child, []).append(parent)
        else:
            children.setdefault(parent, []).append(child)

    def label(lot_id: str) -> str:
        v = nodes[lot_id]
        where = f" → {v.in_transit_to}" if v.in_transit_to else ""
        warning = " [bold red]⚠ rests on a compromised key[/]" if lot_id in compromised else ""
        return (
            f"[bold]{v.id}[/] {v.kind} {v.carats:.2f} ct · {v.state} · {v.holder}{where} "
            f"[dim]{v.made_by.type}[/]{warning}"
        )

    tree = Tree(label(trace.lot))
    stack = [(tree, trace.lot, frozenset({trace.lot}))]
    while stack:
        branch, lot_id, seen = stack.pop()
        for nxt in sorted(children.get(lot_id, [])):
            if nxt in seen:
                continue
            sub = branch.add(label(nxt))
            stack.append((sub, nxt, seen | {nxt}))
    return tree


@app.command()
def trace(
    lot: str,
    db: DbOption = DEFAULT_DB,
    forward: Annotated[bool, typer.Option("--forward", help="Descendants instead of ancestors.")] = False,
    json_: JsonOption = False,
) -> None:
    """The lineage of a lot: back to every mine it came from (or --forward to every descendant)."""
    with _open(db) as ledger:
        try:
            result = ledger.trace(lot, direction="forward" if forward else "backward")
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json(result.to_json())
        return
    out.print(_trace_tree(result))
    if not forward:
        table = Table("mine", "country", "carats", title=f"origin of {lot}")
        for share in result.origin:
            table.add_row(f"{share.site_name or share.site}", share.country or "-", f"{share.carats:.2f}")
        out.print(table)


@app.command()
def rebuild(db: DbOption = DEFAULT_DB) -> None:
    """Recompute every state table from the stored events, re-checking each rule on the way."""
    from rich.progress import Progress

    with _open(db) as ledger, Progress(console=err, transient=True) as progress:
        task = progress.add_task("replaying events", total=ledger.size)
        try:
            count = ledger.rebuild(progress=lambda done, total: progress.update(task, completed=done))
        except AdamasError as exc:
            _fail(exc)
    _print_json({"replayed": count})


# --- the transparency log -----------------------------------------------------------------------------------


def _write_hashes(hashes: list[bytes]) -> None:
    sys.stdout.write("".join(base64.b64encode(h).decode("ascii") + "\n" for h in hashes))


@log_app.command("key")
def log_key(db: DbOption = DEFAULT_DB) -> None:
    """Print the log's public key (a C2SP signed-note vkey): all a verifier needs to trust."""
    with _open(db) as ledger:
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
    with _open(db) as ledger:
        try:
            note = ledger.checkpoint(size=size)
        except AdamasError as exc:
            _fail(exc)
    sys.stdout.write(note)


@log_app.command("prove")
def log_prove(
    index: Annotated[int, typer.Argument(help="Leaf index of the event.")],
    db: DbOption = DEFAULT_DB,
    size: Annotated[int | None, typer.Option(help="Tree size [default: the newest checkpoint's].")] = None,
) -> None:
    """Print the inclusion proof of leaf INDEX, one base64 hash per line, leaf side first."""
    with _open(db) as ledger:
        try:
            proof = ledger.prove(index, size=size)
        except AdamasError as exc:
            _fail(exc)
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
    with _open(db) as ledger:
        try:
            proof = ledger.consistency(old, new)
        except AdamasError as exc:
            _fail(exc)
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

    with _open(db) as ledger, Progress(console=err, transient=True) as progress:
        task = progress.add_task("exporting entries", total=ledger.size)
        try:
            summary = ledger.export_tiles(
                directory, progress=lambda done, total: progress.update(task, completed=done)
            )
        except AdamasError as exc:
            _fail(exc)
    _print_json(summary.to_json())


def _read_vkey(value: str) -> str:
    """A vkey given as the string itself or as a file holding it."""
    path = Path(value)
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(InputError(f"cannot read {value}: {exc}", code="input.unreadable", field="vkey"))
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
) -> None:
    """Verify receipts offline, with nothing but them and the log's vkey; exit 1 if any fails."""
    from adamas.ledger.receipts import Receipt
    from adamas.log import Verifier
    from adamas.model.events import parse_envelope

    if vkey is None:
        _fail(
            InputError("--vkey is required: the log's key is what a receipt is checked against", field="vkey")
        )
    key = _read_vkey(vkey)
    items = []
    for number, line in enumerate(_read_text(receipts).splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                _fail(InputError(f"line {number} is not JSON: {exc.msg}", code="receipt.malformed"))
    if not items:
        _fail(InputError(f"{receipts} holds no receipt", code="receipt.malformed"))
    leaf = None
    if envelope is not None:
        if len(items) != 1:
            _fail(
                InputError(
                    "--envelope checks exactly one receipt", code="receipt.malformed", field="envelope"
                )
            )
        try:
            leaf = parse_envelope(_read_text(str(envelope)).strip()).leaf
        except AdamasError as exc:
            _fail(exc)
    try:
        parsed = [Receipt.from_json(item) for item in items]
        Verifier.from_vkey(key)
    except AdamasError as exc:
        _fail(exc)
    failed = 0
    for item, receipt in zip(items, parsed, strict=True):
        try:
            checkpoint = receipt.verify(key, envelope=leaf)
        except AdamasError as exc:
            failed += 1
            _print_json({"ok": False, "index": item.get("index"), "code": exc.code, "message": exc.message})
            continue
        _print_json(
            {"ok": True, "index": receipt.index, "origin": checkpoint.origin, "size": checkpoint.size}
        )
    if failed:
        err.print(f"[bold red]error[/]: {failed} of {len(items)} receipts do not verify", markup=True)
        raise typer.Exit(1)


@app.command()
def audit(
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Ledger database to audit [default: $ADAMAS_DB, then sqlite:///adamas.db]."
        ),
    ] = None,
    tiles: Annotated[
        Path | None, typer.Option(help="A tlog-tiles directory to audit instead (needs --vkey).")
    ] = None,
    vkey: VkeyOption = None,
    opaque: Annotated[
        bool, typer.Option("--opaque", help="Entries are opaque bytes: Merkle and checkpoint checks only.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Recompute every leaf, tile and checkpoint root of the log from its entries, check every checkpoint's
    signature and every envelope's; exit 1 on any fault, naming the first bad leaf or checkpoint."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from adamas.ledger.audit import audit as run_audit

    if db is not None and tiles is not None:
        _fail(InputError("give --db or --tiles, not both", code="audit.usage", field="tiles"))
    key = _read_vkey(vkey) if vkey is not None else None
    columns = (TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("leaves", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            if tiles is not None:
                report = run_audit(tiles=tiles, vkey=key, opaque=opaque, progress=advance)
            else:
                url = db or os.environ.get("ADAMAS_DB") or DEFAULT_DB
                report = run_audit(db=url, vkey=key, opaque=opaque, progress=advance)
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json(report.to_json())
    else:
        out.print(
            f"{report.source}: {report.size} leaves, {report.tiles} tiles, {report.checkpoints} checkpoints, "
            f"{report.envelopes} envelope signatures checked; origin {report.origin}"
        )
    if not report.ok:
        for fault in report.faults[:10]:
            err.print(f"[bold red]fault[/]: {fault.code}: {fault.message}", markup=True)
        err.print(f"[bold red]error[/]: audit.failed: {report.fault_count} faults found", markup=True)
        raise typer.Exit(1)
    if not json_:
        out.print("[bold green]ok[/]: every leaf, tile and checkpoint checks out", markup=True)


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
        with Ledger.open(db, create=True) as ledger:
            outcomes = ledger.submit(world.events)
            refused = [o for o in outcomes if not o.ok]
            if refused:
                assert refused[0].error is not None
                _fail(refused[0].error)
            out.print(
                f"[bold]{len(outcomes)}[/] signed events by {len(world.actors)} participants are in the "
                f"ledger at {db}.\n"
            )
            out.print(_lot_table(ledger.lot(star)))
            out.print()
            result = ledger.trace(star)
    except (AdamasError, StorageError) as exc:
        _fail(exc)
    out.print(_trace_tree(result))
    table = Table("mine", "country", "carats", title=f"{star} came from")
    for share in result.origin:
        table.add_row(share.site_name or share.site, share.country or "-", f"{share.carats:.2f}")
    out.print(table)
    out.print(f"\nTry (after `. .venv/bin/activate`): adamas trace {star} --db {db}")
    out.print(f"                                  adamas lot history {star} --db {db}")


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
            help="Folder of the KP data pack (default: shared/data/kp, found upwards).",
        ),
    ] = None,
) -> None:
    """Record the real KP standing history and sanctions, signed by the administrator (idempotent)."""
    from rich.progress import Progress

    from adamas.ledger.policy import count_outcomes, find_kp_data, load_kp

    folder = data or find_kp_data()
    if folder is None:
        _fail(InputError("no KP data pack found; pass --data DIR", code="kp.no_data", field="data"))
    try:
        key = load_private_key(admin_key)
    except AdamasError as exc:
        _fail(exc)
    with _open(db) as ledger, Progress(console=err, transient=True) as progress:
        task = progress.add_task("recording KP policy", total=None)
        try:
            outcomes = load_kp(
                ledger,
                key,
                data_dir=folder,
                actor=actor,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except AdamasError as exc:
            _fail(exc)
    refused = [o for o in outcomes if o.status == "refused"]
    _print_json({"data": str(folder), **count_outcomes(outcomes)})
    if refused:
        assert refused[0].error is not None
        err.print(f"first refusal: {refused[0].error.code}: {refused[0].error.message}")
        raise typer.Exit(1)


@certificate_app.command("show")
def certificate_show(number: str, db: DbOption = DEFAULT_DB, json_: JsonOption = False) -> None:
    """A certificate's Annex I fields, its lots and its status."""
    from adamas.ledger.certificate_doc import certificate_view

    with _open(db) as ledger, ledger.engine.connect() as conn:
        try:
            view = certificate_view(conn, number)
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json(view.to_json())
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

    with _open(db) as ledger:
        try:
            verdict = verify_certificate(ledger, number)
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json(verdict.to_json())
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
    from adamas.ledger.certificate_doc import certificate_view, render_html

    with _open(db) as ledger, ledger.engine.connect() as conn:
        try:
            view = certificate_view(conn, number)
        except AdamasError as exc:
            _fail(exc)
    try:
        out_path.write_text(render_html(view, verify_url=verify_url), encoding="utf-8")
    except OSError as exc:
        _fail(InputError(f"cannot write {out_path}: {exc.strerror}", code="input.unwritable", field="out"))
    _print_json({"certificate": view.number, "leaf": view.leaf_index, "out": str(out_path)})


@app.command()
def evidence(
    kind: Annotated[str, typer.Argument(help="event, lot, site, participant or country.")],
    subject: Annotated[str, typer.Argument(help="Its id.")],
    db: DbOption = DEFAULT_DB,
    json_: JsonOption = False,
) -> None:
    """What monitors, authorities and labs attested about a subject, and the evidence level reached."""
    with _open(db) as ledger:
        try:
            result = ledger.evidence(kind, subject)
        except AdamasError as exc:
            _fail(exc)
    if json_:
        _print_json(result.to_json())
        return
    out.print(f"{kind} {subject}: [bold]{result.level}[/]")
    for item in result.attestations:
        out.print(f"  {item['time']} {item['actor']}: {item['claim']} — {item['statement']}")


def main() -> None:
    """Entry point of the ``adamas`` command."""
    try:
        app()
    except NotFoundError as exc:  # pragma: no cover - every command catches its own
        _fail(exc)
