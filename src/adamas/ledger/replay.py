"""The replay audit: every logged event checked again by the ledger's own rules, from the log alone.

A ``Replay`` is fed the log's envelopes in leaf order and submits them, through the same checking code as
ingest (``Ledger.replay_logged``), into a fresh ledger in a temporary SQLite database. It starts empty: the
genesis at leaf 0 brings the administrator and its key, and every later participant, key, site, lot and
certificate comes from events of the log. Each logged event that the rules refuse is named (its leaf and the
rule's refusal code) and left out, as the honest ledger would have left it out. On a database the stored
state tables are then compared with the replayed ones, naming every difference: a row edited behind the
ledger's back cannot hide.

Each event is judged at the time the ledger logged it, given by one function, ``logged_time(leaf,
envelope)``. Until events carry the ledger's own logged time, it is the time the first checkpoint covering
the leaf was signed where the source keeps it (a database: each batch is signed, with the clock its rules
saw, in its own transaction: ``checkpoint_time``), else the declared time (``declared_time``, a mirror).
Runs of leaves logged at one time are checked as one batch, as ingest checked them.
"""

from __future__ import annotations

import tempfile
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, event

from adamas.ledger.audit_faults import AuditReport, Faults
from adamas.ledger.ledger import Ledger
from adamas.ledger.state_diff import differences, snapshot
from adamas.model.events import Envelope
from adamas.store.database import migrate, open_engine

__all__ = [
    "MAX_REPLAY_FAULTS",
    "REPLAY_BATCH",
    "LoggedTime",
    "Replay",
    "checkpoint_time",
    "declared_time",
]

LoggedTime = Callable[[int, Envelope], int]
"""``logged_time(leaf, envelope)``: the ledger's clock, in ns, when it logged the event at ``leaf``."""
MAX_REPLAY_FAULTS: Final = 10_000
"""The replay names up to this many refused events and differing rows (all are counted)."""
REPLAY_BATCH: Final = 500
"""At most this many leaves logged at one time are checked as one batch."""


def declared_time(leaf: int, envelope: Envelope) -> int:
    """The event's declared time: what the replay judges an event by while the log records no other."""
    return envelope.event.time_ns


def checkpoint_time(signed: Sequence[tuple[int, int]]) -> LoggedTime:
    """``logged_time`` from the checkpoints ``(size, signed_ns)``: a leaf's is the signing time of the first
    checkpoint that covers it (the declared time beyond the last)."""
    ordered = sorted(signed)
    sizes = [size for size, _ in ordered]
    times = [when for _, when in ordered]

    def logged_time(leaf: int, envelope: Envelope) -> int:
        position = bisect_right(sizes, leaf)
        return times[position] if position < len(times) else envelope.event.time_ns

    return logged_time


class Replay:
    """Envelopes replayed in leaf order into a fresh temporary ledger; faults collected, not raised."""

    def __init__(self, *, logged_time: LoggedTime | None = None) -> None:
        self._given = logged_time
        self.logged_time = logged_time or declared_time
        self.faults = Faults(MAX_REPLAY_FAULTS)
        self.accepted = 0
        self._directory = tempfile.TemporaryDirectory(prefix="adamas-replay-")
        engine = open_engine(f"sqlite:///{Path(self._directory.name) / 'replay.db'}")

        @event.listens_for(engine, "connect")
        def _scratch(dbapi_connection: Any, _record: Any) -> None:
            # A scratch database, dropped after the audit: no need to wait for the disk at each commit.
            dbapi_connection.execute("PRAGMA synchronous=OFF")

        migrate(engine)
        self.ledger = Ledger(engine)
        self._pending: list[tuple[int, Envelope]] = []
        self._pending_time = 0

    def record_checkpoints(self, signed: Sequence[tuple[int, int]]) -> None:
        """The checkpoints ``(size, signed_ns)`` the source keeps: unless a ``logged_time`` was given,
        leaves are judged at their checkpoint's time (``checkpoint_time``)."""
        if self._given is None:
            self.logged_time = checkpoint_time(signed)

    def feed(self, leaf: int, envelope: Envelope) -> None:
        """The envelope logged at ``leaf`` (leaves in increasing order; missing ones are simply absent)."""
        when = self.logged_time(leaf, envelope)
        pending = self._pending
        if pending and (
            when != self._pending_time or leaf != pending[-1][0] + 1 or len(pending) >= REPLAY_BATCH
        ):
            self._flush()
        if not self._pending:
            self._pending_time = when
        self._pending.append((leaf, envelope))

    def _flush(self) -> None:
        if not self._pending:
            return
        refusals = self.ledger.replay_logged(self._pending, now_ns=self._pending_time)
        self.accepted += len(self._pending) - len(refusals)
        for leaf, error in refusals:
            self.faults.add(
                "audit.replay_refused",
                f"leaf {leaf}: the rules refuse this logged event: {error.code}: {error.message}",
                leaf=leaf,
                rule=error.code,
            )
        self._pending = []

    def compare(self, conn: Connection) -> None:
        """Name every difference between the state tables read through ``conn`` and the replayed state."""
        self._flush()
        with self.ledger.engine.connect() as mine:
            replayed = snapshot(mine)
        for difference in differences(snapshot(conn), replayed):
            self.faults.add(
                f"audit.state_{difference.kind}",
                difference.describe("stored", "replayed"),
                table=difference.table,
                row=difference.row,
            )

    def conclude(self, report: AuditReport) -> AuditReport:
        """The audit's report with the replay's findings added after its own."""
        self._flush()
        return replace(
            report,
            faults=(*report.faults, *self.faults.kept),
            fault_count=report.fault_count + self.faults.count,
            replayed=self.accepted,
        )

    def close(self) -> None:
        """Drop the temporary database."""
        self.ledger.close()
        self._directory.cleanup()
