"""The root ``adamas`` Typer application that every command group registers on, loaded lazily.

``adamas --help`` and one command must start in a fraction of a second (issue 14), so the root group imports
a command's module only when that command runs or shows its own help: ``COMMANDS`` names, in the order
``adamas --help`` lists them, each root command's module(s) and the first paragraph of its help, which is
all the root's help shows. ``tests/test_cli_startup.py`` checks this table against the commands themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from importlib import import_module
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup


class Entry(NamedTuple):
    """A root command: the modules that register it (and its sub-commands) and its one-paragraph help."""

    modules: tuple[str, ...]
    help: str


def _entry(*modules: str, help: str) -> Entry:
    return Entry(tuple(f"adamas.cli.{m}" for m in modules), help)


COMMANDS: dict[str, Entry] = {
    "trace": _entry(
        "lots",
        help="The lineage of a lot: back to every mine it came from (or --forward to every descendant).",
    ),
    "simulate": _entry(
        "simulate",
        help="Simulate a year of the world's diamond trade into a new ledger, with labelled fraud.",
    ),
    "demo": _entry(
        "demo",
        help="Build the demo world (a simulated 2024 with every fraud scenario) if the database is new, show "
        "three\nlots worth opening, then serve the API until Ctrl-C.",
    ),
    "evidence": _entry(
        "kp",
        help="What monitors, authorities and labs attested about a subject, and the evidence level reached.",
    ),
    "init": _entry(
        "ledger",
        help="Create a new ledger: its log key, and its genesis event (leaf 0) in the first checkpoint.",
    ),
    "sign": _entry(
        "ledger",
        help="Sign event bodies: fill v, key, id (if absent) and time (if absent); print envelopes as JSON "
        "lines.",
    ),
    "submit": _entry(
        "ledger", help="Submit signed envelopes; print one JSON receipt or refusal per envelope."
    ),
    "rebuild": _entry(
        "ledger",
        help="Recompute every state table from the stored events, re-checking each rule on the way; print "
        "what\nit repaired. A log whose stored events are not its leaves (one missing, one extra) is "
        "refused. Ingest\ngoes on meanwhile (it waits at most for one chunk); a stopped rebuild resumes "
        "where it stopped.",
    ),
    "audit": _entry(
        "log",
        help="Recompute every leaf, tile and checkpoint root of the log from its entries, check every "
        "checkpoint's\nsignature and every envelope's (with --replay, every rule too); exit 1 on any fault, "
        "naming the first\nbad leaf or checkpoint.",
    ),
    "backup": _entry(
        "ops",
        help="Copy one consistent snapshot of the ledger, taken online while it writes, into a new file "
        "(0600).",
    ),
    "restore": _entry(
        "ops", help="Restore a backup into an empty database (SQLite or PostgreSQL); then `adamas audit` it."
    ),
    "serve": _entry(
        "serve",
        help="Serve the ledger over HTTP: capture and query API, and the log as C2SP tlog-tiles under /log/.",
    ),
    "backfill": _entry("backfill", help="Backfill windows for importing historical records."),
    "lot": _entry("lots", help="Look at lots."),
    "epcis": _entry("epcis", help="GS1 EPCIS 2.0: export and import events."),
    "certificate": _entry("kp", help="Kimberley Process certificates."),
    "policy": _entry("kp", help="Scheme policy: KP standing and sanctions."),
    "key": _entry("ledger", help="Signing keys."),
    # `log witness` and `log witnesses` are registered by the witness module.
    "log": _entry("log", "witness", help="The transparency log: key, checkpoints, proofs, tiles."),
    "receipt": _entry("log", help="Receipts of logged events."),
    "flags": _entry("risk", help="Risk flags: list them, acknowledge or dismiss one."),
    "risk": _entry(
        "risk",
        help="A lot's risk (adamas risk LOT), running the detectors (scan), freezing a tainted lineage "
        "(freeze).",
    ),
    "stats": _entry("risk", help="Kimberley Process statistics from the log."),
    "witness": _entry(
        "witness", help="Run a witness (C2SP tlog-witness) or a monitor of a log served as tlog-tiles."
    ),
}


class LazyCommands(MutableMapping[str, Any]):
    """The root's commands by name, in ``COMMANDS`` order; a command is built when first looked up.

    Looking a command up imports its modules (which register it on ``app``) and builds it with Typer's own
    ``typer.main.get_command``; iterating names imports nothing, listing values or items imports everything.
    """

    def __init__(self, built: MutableMapping[str, Any]) -> None:
        self._built = dict(built)

    def loaded(self, name: str) -> bool:
        """Whether ``name`` is built already (so that showing it costs nothing)."""
        return name in self._built

    def load(self, *names: str) -> None:
        """Import the modules of ``names`` and build every command they register."""
        missing = [n for n in names if n in COMMANDS and n not in self._built]
        if not missing:
            return
        for name in missing:
            for module in COMMANDS[name].modules:
                import_module(module)
        root = typer.main.get_command(app)
        assert isinstance(root, LazyGroup)
        for name, command in root.commands.built_items():
            self._built.setdefault(name, command)

    def built_items(self) -> list[tuple[str, Any]]:
        """The commands built so far, without building more."""
        return list(self._built.items())

    def __getitem__(self, name: str) -> Any:
        self.load(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for name in self._built if name not in COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._built

    def items(self) -> Any:
        self.load(*COMMANDS)
        return super().items()

    def values(self) -> Any:
        self.load(*COMMANDS)
        return super().values()


class LazyGroup(TyperGroup):
    """The root group: a command's module is imported when that command runs or shows its help, not before.

    Its own help lists every command from ``COMMANDS`` (name and first paragraph) without importing one.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands: LazyCommands = LazyCommands(self.commands)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: Typer's own lists items, which would build every command

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing and cmd_name in COMMANDS and not self.commands.loaded(cmd_name):
            return typer.core.TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
        return self.commands.get(cmd_name)

    @contextmanager
    def _listing_only(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self._listing_only():
            super().format_help(ctx, formatter)


app = typer.Typer(
    name="adamas",
    cls=LazyGroup,
    help="Adamas: open, tamper-evident track-and-trace for natural diamonds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # A root callback makes Typer build a group even before any command module registered a command.
    pass
