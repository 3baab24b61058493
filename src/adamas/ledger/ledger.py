"""The ledger: one ingest pipeline over one database, and the queries built on it.

Ingest is one straight path per batch (DESIGN.md): parse → canonicalize → (lock the sequencer) → load the
state the batch touches → verify signatures → check rules → apply → append leaves → commit → receipts.
One transaction per batch; when ``submit`` returns, every accepted event is committed durably.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import AdamasError, ConflictError, InputError, NotFoundError, StorageError
from adamas.ledger import pages, queries
from adamas.ledger.stored import stored_log, stored_meta
from adamas.ledger.transparency import TransparencyLog
from adamas.ledger.views import (
    Evidence,
    HistoryEntry,
    LotView,
    Page,
    ParticipantView,
    StoredEvent,
    Trace,
    TracePage,
)
from adamas.log import Tile, consistency_proof, inclusion_proof, leaf_hash
from adamas.model.values import format_time_ns, parse_time
from adamas.store import schema
from adamas.store.bulk import insert_rows
from adamas.store.database import (
    ANALYZE_AFTER,
    HEAD,
    analyze,
    begin_write,
    check_readable,
    is_initialized,
    is_read_only,
    migrate,
    open_engine,
    read_head,
)
from adamas.store.rows import load
from adamas.store.tree import StoredHashReader

if TYPE_CHECKING:
    import httpx

    from adamas.crypto import KeyPair
    from adamas.ledger.batch import BatchState, Registry
    from adamas.ledger.export import TilesExport
    from adamas.ledger.outcome import Outcome
    from adamas.ledger.receipts import Receipt
    from adamas.ledger.state_diff import StateDifference
    from adamas.ledger.transparency import Logged
    from adamas.ledger.verify import SignatureVerifier, VerifyWorker
    from adamas.ledger.witnesses import Collection, WitnessStatus
    from adamas.model.events import Envelope

# The write path (batches, rules, signature workers, witnesses, export, rebuild) is imported inside the
# methods that use it: a command that only reads (`adamas lot show`) does not pay for it (CLI start-up,
# issue 14).

__all__ = ["MAX_BATCH", "Ledger", "Mode"]

Mode = Literal["atomic", "proceed"]
Clock = Callable[[], int]
PARALLEL_VERIFY_MIN: Final = 64
VERIFY_THREADS: Final = 2
VERIFY_CHUNK: Final = 100
MAX_BATCH: Final = 100_000
"""The most envelopes one batch may hold (docs/limits.md); a larger one is refused whole."""
RawEnvelope = bytes | str | dict[str, Any]
_Known = tuple[int, bytes, int | None, str | None]
"""A logged event: leaf index, canonical envelope, logged time, backfill window."""


NOW_ENV: Final = "ADAMAS_NOW"
"""Environment variable that stops the ledger's clock at an RFC 3339 instant, for simulations, replays of
scripted worlds and tests (docs/time.md). A production ledger leaves it unset: the system clock."""


def default_clock() -> Clock:
    """The clock a ledger opened without one uses: ``$ADAMAS_NOW`` if set, else the system clock."""
    text = os.environ.get(NOW_ENV)
    if not text:
        return time.time_ns
    instant = parse_time(text, NOW_ENV)
    return lambda: instant


class Ledger:
    """An Adamas ledger in a SQLite or PostgreSQL database."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        log: TransparencyLog | None = None,
        read_engine: Engine | None = None,
        read_only: bool = False,
    ) -> None:
        self._engine = engine
        self._read_only = read_only
        self._unanalyzed = 0
        self._read_engine = read_engine or engine
        self._log = log
        self._clock: Clock = clock or default_clock()
        self._pool: VerifyWorker | None = None
        self._public_keys: dict[str, bytes] = {}
        self._registry: tuple[int, Registry] | None = None

    # --- opening ------------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        create: bool = False,
        clock: Clock | None = None,
        origin: str | None = None,
        read_url: str | None = None,
        read_only: bool = False,
    ) -> Ledger:
        """Open a ledger (migrating an older schema); ``create`` makes an empty one, awaiting its genesis.

        A ledger without a log key gets one here, for ``origin`` (default ``adamas.local/<random>``).
        ``read_url``: answer queries, proofs and tiles from that database (a replica of ``url``, which is
        never written through it); ingest always reads and writes ``url``. A read-only ``url`` (a hot
        standby) opens a read-only ledger: nothing is migrated or signed, and ``submit`` is refused.
        ``read_only``: for commands that only read: nothing is created, migrated or signed (a missing SQLite
        file stays missing; a ledger needing a migration or a log key is refused).
        """
        read_engine = None
        if read_url is not None:
            read_engine = open_engine(read_url)
            if not is_initialized(read_engine):
                read_engine.dispose()
                raise NotFoundError(
                    f"no Adamas ledger at {read_url} to read from", code="ledger.not_found", field="read_db"
                )
        engine = open_engine(url, read_only=read_only and not create)
        initialized = is_initialized(engine)
        if not create and not initialized:
            engine.dispose()
            if read_engine is not None:
                read_engine.dispose()
            raise NotFoundError(
                f"no Adamas ledger at {url}; create one with `adamas init`",
                code="ledger.not_found",
                field="db",
            )
        if read_only and not create:
            try:
                log = stored_log(engine, url)
                return cls(engine, clock=clock, log=log, read_engine=read_engine, read_only=True)
            except AdamasError:
                engine.dispose()
                if read_engine is not None:
                    read_engine.dispose()
                raise
        try:
            if initialized:
                stored_meta(engine, url)
            read_only = is_read_only(engine)
            migrate(engine)
            if read_only:
                log = TransparencyLog.read(engine, origin=origin)
            else:
                log = TransparencyLog.ensure(engine, origin=origin, now_ns=(clock or default_clock())())
            if read_engine is not None:
                check_readable(read_engine)
        except AdamasError:
            engine.dispose()
            if read_engine is not None:
                read_engine.dispose()
            raise
        return cls(engine, clock=clock, log=log, read_engine=read_engine, read_only=read_only)

    @classmethod
    def init(
        cls,
        url: str,
        *,
        admin_key: KeyPair,
        admin_id: str = "admin",
        admin_name: str | None = None,
        clock: Clock | None = None,
        origin: str | None = None,
        backdate_allowance_days: int | None = None,
    ) -> Ledger:
        """Create a ledger: the schema, the log's key (for ``origin``), then the genesis event (leaf 0)
        naming the administrator, signed into the log's first checkpoint.

        ``backdate_allowance_days`` (default 30) is recorded in the genesis event: how far a declared time
        may lag the logged time outside a backfill window (docs/time.md).
        """
        from adamas.crypto import canonicalize

        ledger = cls.open(url, create=True, clock=clock, origin=origin)
        if ledger.size:
            ledger.close()
            raise ConflictError(f"{url} already holds a ledger", code="ledger.exists", field="db")
        body = {
            "v": 1,
            "type": "genesis",
            "id": f"genesis-{admin_key.id}",
            "actor": admin_id,
            "key": admin_key.id,
            "time": format_time_ns(ledger._clock() // 1_000_000_000 * 1_000_000_000),
            "administrator": {
                "id": admin_id,
                "name": admin_name or "Scheme administrator",
                "keys": [{"id": admin_key.id, "public_key": admin_key.public_key_b64}],
            },
        }
        if backdate_allowance_days is not None:
            body["backdate_allowance_days"] = backdate_allowance_days
        envelope = {"body": body, "sig": admin_key.sign(canonicalize(body))}
        (outcome,) = ledger.submit([envelope])
        if outcome.error is not None:
            ledger.close()
            raise outcome.error
        return ledger

    def close(self) -> None:
        """Release the database connections and worker threads."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._engine.dispose()
        if self._read_engine is not self._engine:
            self._read_engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools that read the tables directly)."""
        return self._engine

    def clock(self) -> int:
        """The ledger's clock now (epoch nanoseconds): the one source of "now" for what it logs and signs.

        A batch is logged at the later of this and the last batch's logged time (docs/time.md).
        """
        return self._clock()

    @property
    def read_engine(self) -> Engine:
        """The engine queries read from: the ``read_url`` replica if one was given, else ``engine``."""
        return self._read_engine

    @property
    def read_only(self) -> bool:
        """True for a ledger opened on a read-only database (a hot standby): it answers reads only."""
        return self._read_only

    def wait_for_index(self, index: int, *, timeout: float = 2.0, poll: float = 0.01) -> None:
        """Wait until the database reads are answered from holds leaf ``index`` (read-your-writes on a
        replica: ``index`` from a receipt); refused with ``replica.behind`` after ``timeout`` seconds."""
        if index < 0:
            raise InputError(
                f"min_index must be >= 0, not {index}", code="replica.bad_index", field="min_index"
            )
        deadline = time.monotonic() + timeout
        while True:
            with _storage_errors(), self._connect() as conn:
                head = int(
                    conn.execute(select(schema.meta.c.value).where(schema.meta.c.name == HEAD)).scalar_one()
                )
            if head > index:
                return
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"the replica holds {head} events and has not reached leaf {index} within {timeout} s; "
                    "retry later",
                    code="replica.behind",
                    field="min_index",
                    expected=index,
                    actual=head,
                )
            time.sleep(poll)

    @property
    def size(self) -> int:
        """Number of events in the log."""
        with self._connect(primary=True) as conn:
            return read_head(conn)

    # --- ingest -------------------------------------------------------------------------------------------

    def submit(self, envelopes: Iterable[RawEnvelope], *, mode: Mode = "atomic") -> list[Outcome]:
        """Check and record a batch of envelopes; one outcome per envelope, in order.

        ``atomic``: all or nothing; any refusal leaves the ledger as it was. ``proceed``: valid envelopes
        are kept and each refusal reported.
        """
        if mode not in ("atomic", "proceed"):
            raise InputError(
                f"mode must be atomic or proceed, not {mode!r}", code="submit.bad_mode", field="mode"
            )
        if self._read_only:
            raise ConflictError(
                "this ledger is open read-only (a read-only command, or a replica); submit to its primary",
                code="ledger.read_only",
                field="db",
            )
        with _cyclic_gc_paused():
            outcomes = self._submit(envelopes, mode)
        self._count_written(sum(1 for o in outcomes if o.status == "accepted"))
        return outcomes

    def _count_written(self, accepted: int) -> None:
        """Refresh the planner's statistics once this process has written ``ANALYZE_AFTER`` events."""
        self._unanalyzed += accepted
        if self._unanalyzed >= ANALYZE_AFTER:
            self._unanalyzed = 0
            analyze(self._engine)

    def _submit(self, envelopes: Iterable[RawEnvelope], mode: Mode) -> list[Outcome]:
        from adamas.model.events import parse_envelope

        verifier = self._verifier()
        parsed: list[Envelope | AdamasError] = []
        for raw in envelopes:
            if len(parsed) == MAX_BATCH:
                raise InputError(
                    f"a batch holds at most {MAX_BATCH} envelopes", code="batch.too_large", field="envelopes"
                )
            try:
                envelope = parse_envelope(raw)
            except AdamasError as exc:
                parsed.append(exc)
                continue
            parsed.append(envelope)
            verifier.add(envelope)
        if not parsed:
            return []
        try:
            verifier.flush(last=True)
            return self._record(parsed, mode, verifier)
        finally:
            self._settle(verifier)

    def _settle(self, verifier: SignatureVerifier) -> None:
        """Empty the worker's pipe of this batch's answers; a worker that fails is replaced next time."""
        try:
            verifier.drain()
        except (OSError, RuntimeError):
            if self._pool is not None:
                self._pool.kill()
            self._pool = None

    def _record(
        self, parsed: list[Envelope | AdamasError], mode: Mode, verifier: SignatureVerifier
    ) -> list[Outcome]:
        from adamas.ledger.outcome import Outcome

        try:
            with begin_write(self._engine) as conn:
                head = self._lock_head(conn)
                # The batch's logged time: the ledger's clock, never before the last batch's (a clock that
                # steps back does not make the log's times decrease).
                now = self._clock()
                last = self.log.last_logged_ns(conn)
                now = now if last is None else max(last, now)
                outcomes, state, rows = self._check(conn, parsed, head=head, now_ns=now, verifier=verifier)
                refused = any(o.status == "refused" for o in outcomes)
                if refused and mode == "atomic":
                    conn.rollback()
                    return [
                        o
                        if o.status == "refused"
                        else Outcome(
                            o.position,
                            "not_written",
                            o.event_id,
                            error=AdamasError(
                                "the batch is atomic and another envelope in it was refused",
                                code="batch.aborted",
                            ),
                        )
                        if o.status == "accepted"
                        else o
                        for o in outcomes
                    ]
                logged: Logged | None = None
                if rows:
                    insert_rows(conn, schema.events, rows[state.rows_written :])
                    state.write()
                    conn.execute(
                        update(schema.meta)
                        .where(schema.meta.c.name == HEAD)
                        .values(value=str(head + len(rows)))
                    )
                    # The leaves join the tree and a checkpoint is signed over it, in this transaction.
                    logged = self.log.append(conn, head, [row["leaf_hash"] for row in rows], now_ns=now)
                self.log.attach_receipts(conn, outcomes, logged)
        except SQLAlchemyError as exc:
            self._registry = None
            raise StorageError(f"the batch could not be stored: {exc.__class__.__name__}: {exc}") from exc
        self._registry = (head + len(rows), state.registry())
        return outcomes

    def _verifier(self, conn: Connection | None = None) -> SignatureVerifier:
        """A verifier for one batch; ``conn``: look keys up inside that (write) transaction."""
        from adamas.ledger.verify import SignatureVerifier

        if conn is None:
            return SignatureVerifier(self._worker, self._public_keys, self._lookup_keys)
        return SignatureVerifier(
            self._worker, self._public_keys, lambda ids: load(conn, schema.keys, ids, _public_key)
        )

    def _worker(self) -> VerifyWorker:
        """The verification worker process, started on first need."""
        from adamas.ledger.verify import VerifyWorker

        if self._pool is None:
            self._pool = VerifyWorker()
        return self._pool

    def _lookup_keys(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """Public keys of committed keys (a read outside any write transaction, from the primary: a replica
        may not have the key registered by the previous batch yet)."""
        with self._connect(primary=True) as conn:
            return load(conn, schema.keys, key_ids, _public_key)

    def _lock_head(self, conn: Connection) -> int:
        """Take the sequencer lock (the head row) and return the next leaf index."""
        return read_head(conn, lock=True)

    def _check(
        self,
        conn: Connection,
        parsed: Sequence[Envelope | AdamasError],
        *,
        head: int,
        now_ns: int | None,
        verifier: SignatureVerifier | None,
        corrections: dict[str, dict[str, Any] | None] | None = None,
        logged: Sequence[int | None] | None = None,
    ) -> tuple[list[Outcome], BatchState, list[dict[str, Any]]]:
        """Run authentication and rules over a batch against ``conn``; nothing is written here.

        ``now_ns``: the batch's logged time. None (a replay of stored events) skips the duplicate lookup and
        takes each event's logged time from ``logged`` (aligned with ``parsed``; None where unknown).
        ``corrections`` (replays only): event id -> the body applied in its place (None: nothing).
        """
        from adamas.ledger.batch import BatchState
        from adamas.ledger.outcome import Outcome
        from adamas.model.events import Envelope, parse_body
        from adamas.model.rules import apply, authenticate
        from adamas.model.timing import admit_time

        envelopes = [p for p in parsed if isinstance(p, Envelope)]
        # The registry this ledger committed last is still the database's if no one has written since:
        # with one sequencer, an unchanged head means unchanged tables.
        registry = self._registry[1] if self._registry is not None and self._registry[0] == head else None
        state = BatchState(conn, registry=registry)
        known = {} if now_ns is None else self._known_events(conn, [e.event.id for e in envelopes])
        self._preload(state, envelopes)
        outcomes: list[Outcome] = []
        rows: list[dict[str, Any]] = []
        seq = head
        for position, item in enumerate(parsed):
            if isinstance(item, AdamasError):
                outcomes.append(Outcome(position, "refused", error=item))
                continue
            logged_ns = now_ns if now_ns is not None else logged[position] if logged is not None else None
            event = item.event
            previous = known.get(event.id)
            if previous is not None:
                if previous[1] == item.leaf:
                    outcomes.append(
                        Outcome(
                            position,
                            "duplicate",
                            event.id,
                            previous[0],
                            leaf_hash(item.leaf),
                            logged_ns=previous[2],
                            backfill=previous[3],
                        )
                    )
                else:
                    outcomes.append(
                        Outcome(
                            position,
                            "refused",
                            event.id,
                            error=ConflictError(
                                f"event id {event.id} is already used by a different event",
                                code="event.duplicate_id",
                                field="id",
                            ),
                        )
                    )
                continue
            state.begin_event(seq)
            try:
                if event.logged_ns != logged_ns:
                    # The event was parsed for this batch and no rule has read it yet: stamping the time the
                    # ledger logs it in place spares a copy per event (measured: 5% of ingest).
                    object.__setattr__(event, "logged_ns", logged_ns)
                if corrections is not None and event.id in corrections:
                    # A corrected event: its replacement (authorized by the correcting event) takes its place,
                    # held to the time checks at the original's logged time.
                    replacement = corrections[event.id]
                    if replacement is not None:
                        substitute = admit_time(replace(parse_body(replacement), logged_ns=logged_ns), state)
                        event = replace(event, backfill=substitute.backfill)
                        apply(substitute, state)
                else:
                    key = state.key(event.key)
                    sig_ok = verifier.result(item, key.public_key) if verifier and key else None
                    event = authenticate(item, state, sig_ok=sig_ok)
                    correcting = event.type == "correct" and now_ns is not None
                    if correcting:
                        # The recomputation replays the stored log: store what this batch accepted so far.
                        self._flush(conn, state, rows)
                    apply(event, state)
                    if correcting:
                        self._recompute(conn, seq, event.fields["event"], event.fields["replacement_body"])
                        state.stale = True
            except AdamasError as exc:
                state.undo_event()
                outcomes.append(Outcome(position, "refused", event.id, error=exc))
                continue
            when = event.time_ns if logged_ns is None else max(event.time_ns, logged_ns)
            state.end_event(seq, event.id, event.key, when)
            digest = leaf_hash(item.leaf)
            known[event.id] = (seq, item.leaf, logged_ns, event.backfill)
            rows.append(
                {
                    "seq": seq,
                    "event_id": event.id,
                    "type": event.type,
                    "actor": event.actor,
                    "key_id": event.key,
                    "time_ns": event.time_ns,
                    "envelope": item.leaf,
                    "leaf_hash": digest,
                    "logged_ns": logged_ns,
                    "backfill": event.backfill,
                }
            )
            outcomes.append(
                Outcome(
                    position, "accepted", event.id, seq, digest, logged_ns=logged_ns, backfill=event.backfill
                )
            )
            seq += 1
            if state.stale:
                # The state tables were rebuilt underneath this cache: store the correction's own rows and
                # go on with a fresh cache.
                self._flush(conn, state, rows)
                written = state.rows_written
                state = BatchState(conn)
                state.rows_written = written
        return outcomes, state, rows

    @staticmethod
    def _flush(conn: Connection, state: BatchState, rows: list[dict[str, Any]]) -> None:
        """Store the batch's accepted events and state so far (same transaction, nothing committed)."""
        insert_rows(conn, schema.events, rows[state.rows_written :])
        state.rows_written = len(rows)
        state.write()

    def _known_events(self, conn: Connection, event_ids: Sequence[str]) -> dict[str, _Known]:
        out: dict[str, _Known] = {}
        table = schema.events
        columns = (table.c.event_id, table.c.seq, table.c.envelope, table.c.logged_ns, table.c.backfill)
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            for row in conn.execute(select(*columns).where(table.c.event_id.in_(chunk))):
                out[row.event_id] = (row.seq, bytes(row.envelope), row.logged_ns, row.backfill)
        return out

    def _preload(self, state: BatchState, envelopes: Sequence[Envelope]) -> None:
        """Load every record the batch names, a few queries per table."""
        ids: dict[str, set[str]] = {k: set() for k in ("participant", "key", "site", "lot", "shipment")}
        for env in envelopes:
            event, fields = env.event, env.event.fields
            ids["participant"].add(event.actor)
            ids["key"].add(event.key)
            for name in ("participant", "to"):
                if isinstance(fields.get(name), str):
                    ids["participant"].add(fields[name])
            for name in ("lot", "lots"):
                value = fields.get(name)
                if isinstance(value, str):
                    ids["lot"].add(value)
                elif isinstance(value, list | tuple):
                    ids["lot"].update(v if isinstance(v, str) else v[0] for v in value)
                elif isinstance(value, dict):
                    ids["lot"].add(value["id"])
                    ids["site"].add(value["site"])
            into = fields.get("into")
            for spec in [
                *(into if isinstance(into, list) else [into] if into else []),
                *fields.get("remainder", []),
            ]:
                ids["lot"].add(spec.id)
            if isinstance(fields.get("shipment"), str):
                ids["shipment"].add(fields["shipment"])
            site = fields.get("site")
            if isinstance(site, dict):
                ids["site"].add(site["id"])
                ids["participant"].add(site["operator"])
        for kind, wanted in ids.items():
            state.preload(kind, wanted)
        state.preload("participant", {lot.holder for lot_id in ids["lot"] if (lot := state.lot(lot_id))})

    # --- replay audits -------------------------------------------------------------------------------------

    def replay_logged(
        self, leaves: Sequence[tuple[int, Envelope]], *, now_ns: int
    ) -> list[tuple[int, AdamasError]]:
        """Check logged envelopes ``(leaf, envelope)``, logged at ``now_ns``, through the ingest rules into
        this ledger (a fresh one: ``adamas.ledger.replay``); keep what the rules accept, under its own leaf
        index, without touching the log. Returns the refusals by leaf.

        The leaves are checked as one batch; if the rules refuse any, they are checked again one by one, so
        that every kept event keeps its leaf index.
        """
        if not leaves:
            return []
        # Participants, keys and sites carry over from the previous call when it ended just before.
        with begin_write(self._engine) as conn:
            # A savepoint: a correction in the batch may have stored rows before a later refusal.
            savepoint = conn.begin_nested()
            parsed: list[Envelope | AdamasError] = [envelope for _, envelope in leaves]
            outcomes, state, rows = self._check(conn, parsed, head=leaves[0][0], now_ns=now_ns, verifier=None)
            if all(o.status == "accepted" for o in outcomes):
                self._store_replayed(conn, state, rows)
                savepoint.commit()
                self._registry = (leaves[-1][0] + 1, state.registry())
                return []
            savepoint.rollback()
            self._registry = None
            refusals: list[tuple[int, AdamasError]] = []
            for leaf, envelope in leaves:
                (outcome,), state, rows = self._check(
                    conn, [envelope], head=leaf, now_ns=now_ns, verifier=None
                )
                if outcome.status == "accepted":
                    self._store_replayed(conn, state, rows)
                    self._registry = (leaf + 1, state.registry())
                else:
                    refusals.append((leaf, outcome.error or _repeated(envelope)))
                    kept: tuple[int, Registry] | None = self._registry
                    self._registry = (leaf + 1, kept[1]) if kept is not None and kept[0] == leaf else None
            return refusals

    @staticmethod
    def _store_replayed(conn: Connection, state: BatchState, rows: list[dict[str, Any]]) -> None:
        insert_rows(conn, schema.events, rows[state.rows_written :])
        state.write()

    # --- rebuild ------------------------------------------------------------------------------------------

    def rebuild(
        self,
        *,
        progress: Callable[[int, int], None] | None = None,
        on_repair: Callable[[StateDifference], None] | None = None,
        chunk: int | None = None,
        restart: bool = False,
    ) -> int:
        """Recompute every state table from the stored events alone; return the head replayed up to.

        The stored events must be the log's leaves, one for one: a missing or extra leaf, or an event whose
        leaf hash is not the tree's, is refused (``rebuild.log_mismatch``) before anything changes. Every
        event is checked again on the way; one that its predecessors no longer allow means the stored events
        were altered, and the rebuild stops with a ``StorageError`` naming it. ``on_repair`` is told every
        difference between the state tables before and after (what the rebuild repaired).

        The replay runs ``chunk`` events per transaction into a scratch copy, without the sequencer lock
        (ingest goes on), and resumes where a stopped rebuild left off unless ``restart``; the copy replaces
        the state tables under the lock at the end (``adamas.ledger.rebuild``). ``progress(done, total)``
        follows it. ``chunk`` defaults to ``adamas.ledger.rebuild.REBUILD_CHUNK``.
        """
        from adamas.ledger.rebuild import REBUILD_CHUNK
        from adamas.ledger.rebuild import rebuild as rebuild_state

        self._registry = None
        return rebuild_state(
            self,
            self._engine,
            chunk=REBUILD_CHUNK if chunk is None else chunk,
            restart=restart,
            progress=progress,
            on_repair=on_repair,
        )

    def _recompute(
        self, conn: Connection, upto: int, target: str, replacement: dict[str, Any] | None
    ) -> None:
        """Recompute the state as if ``target`` had been ``replacement`` (a correction, in ingest)."""
        from adamas.ledger.rebuild import recompute

        recompute(self, conn, upto, target, replacement)

    # --- the transparency log -----------------------------------------------------------------------------

    @property
    def log(self) -> TransparencyLog:
        """The ledger's transparency log (key, checkpoints); created on first use if the ledger has none."""
        if self._log is None:
            if self._read_only:
                raise NotFoundError("this ledger has no log key yet", code="log.no_key", field="db")
            self._log = TransparencyLog.ensure(self._engine, origin=None, now_ns=self._clock())
        return self._log

    @property
    def origin(self) -> str:
        """The origin line of the log's checkpoints."""
        return self.log.origin

    @property
    def vkey(self) -> str:
        """The log's public key as a C2SP signed-note verifier key (what ``adamas log key`` prints)."""
        return self.log.vkey

    def checkpoint(self, *, size: int | None = None) -> str:
        """The signed checkpoint note of the tree of ``size`` (default: the newest), verbatim."""
        with self._connect() as conn:
            return self.log.checkpoint(conn, size)

    def prove(self, index: int, *, size: int | None = None) -> list[bytes]:
        """Inclusion proof (RFC 9162 PATH) of leaf ``index`` in the tree of ``size`` (default: the newest
        checkpoint's), from the stored tiles: two queries."""
        with self._connect() as conn:
            size = self.log.checked_size(conn, size, field="size")
            return inclusion_proof(index, size, StoredHashReader(conn))

    def consistency(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof (RFC 9162 PROOF) from the tree of ``old_size`` to that of ``new_size`` (default:
        the newest checkpoint's); empty from size 0 (docs/adr/0002-consistency-from-size-zero.md)."""
        with self._connect() as conn:
            new_size = self.log.checked_size(conn, new_size, field="new_size")
            return consistency_proof(old_size, new_size, StoredHashReader(conn))

    def receipt(self, index: int) -> Receipt:
        """A receipt for leaf ``index``: in the newest checkpoint that witnesses cosigned and that includes
        the leaf, with its cosignatures; else in the newest checkpoint."""
        from adamas.ledger.receipts import Receipt
        from adamas.ledger.witnesses import cosigned_checkpoint, newest_cosigned_size

        with self._connect() as conn:
            size = self.log.checked_size(conn, None, field="size")
            size = newest_cosigned_size(conn, above=index) or size
            reader = StoredHashReader(conn)
            proof = inclusion_proof(index, size, reader)
            (digest,) = reader.read_hashes([(0, index)])
            logged = conn.execute(
                select(schema.events.c.logged_ns).where(schema.events.c.seq == index)
            ).scalar()
            return Receipt(
                index, digest, cosigned_checkpoint(conn, self.log, size), tuple(proof), logged_ns=logged
            )

    def export_tiles(
        self, directory: str | os.PathLike[str], *, progress: Callable[[int, int], None] | None = None
    ) -> TilesExport:
        """Write the log as C2SP tlog-tiles (tiles, entry bundles, every checkpoint) under ``directory``."""
        from adamas.ledger.export import export_tiles

        return export_tiles(self._engine, self.log, directory, progress=progress)

    # --- witnesses (adamas.ledger.witnesses) ---------------------------------------------------------------

    def add_witness(self, name: str, vkey: str, url: str) -> WitnessStatus:
        """Ask the witness ``name`` (its C2SP vkey, type 0x04) at ``url`` to cosign the log's checkpoints."""
        from adamas.ledger.witnesses import add_witness

        with _storage_errors():
            return add_witness(self._engine, name, vkey, url, now_ns=self._clock())

    def witnesses(self) -> list[WitnessStatus]:
        """The configured witnesses: last size cosigned, when, and the last error."""
        from adamas.ledger.witnesses import list_witnesses

        with _storage_errors():
            return list_witnesses(self._engine)

    def request_cosignatures(
        self, *, timeout: float = 10.0, client: httpx.Client | None = None
    ) -> list[Collection]:
        """One collection round (never inside an ingest transaction): send the newest checkpoint to every
        witness, store the cosignatures that verify; a failing witness is recorded, never raised.

        ``client``: an httpx client to reuse (keep-alive across rounds); ``timeout`` applies otherwise."""
        from adamas.ledger.witnesses import request_cosignatures

        with _storage_errors():
            return request_cosignatures(
                self._engine, self.log, now=self._clock, client=client, timeout=timeout
            )

    def cosigned_checkpoint(self, *, size: int | None = None) -> str:
        """The signed checkpoint of ``size`` (default: the newest) with every valid cosignature held."""
        from adamas.ledger.witnesses import cosigned_checkpoint

        with _storage_errors(), self._connect() as conn:
            return cosigned_checkpoint(conn, self.log, size)

    # --- queries ------------------------------------------------------------------------------------------

    def lot(self, lot_id: str) -> LotView:
        """The current state of one lot."""
        with self._connect() as conn:
            return queries.lot_view(conn, lot_id)

    def history(self, lot_id: str) -> list[HistoryEntry]:
        """Every event that touched the lot, oldest first."""
        with self._connect() as conn:
            return queries.history(conn, lot_id)

    def evidence(self, subject_kind: str, subject_id: str) -> Evidence:
        """Attestations about an event, lot, site, participant or country, and the evidence level reached."""
        with self._connect() as conn:
            return queries.evidence(conn, subject_kind, subject_id)

    def trace(self, lot_id: str, *, direction: Literal["backward", "forward"] = "backward") -> Trace:
        """The lineage of a lot: back to every mine it came from, or forward to every descendant."""
        if direction not in ("backward", "forward"):
            raise InputError(
                "direction must be backward or forward", code="trace.bad_direction", field="direction"
            )
        with self._connect() as conn:
            return queries.trace(conn, lot_id, direction=direction)

    # --- paged queries and single records (what the HTTP service serves) -----------------------------------

    def history_page(
        self, lot_id: str, *, cursor: str | None = None, limit: int = pages.DEFAULT_PAGE_LIMIT
    ) -> Page[HistoryEntry]:
        """A page of ``history``: up to ``limit`` events after ``cursor`` (the ``next_cursor`` of the page
        before), in log order."""
        with self._connect() as conn:
            return pages.history_page(conn, lot_id, cursor=cursor, limit=limit)

    def trace_page(
        self,
        lot_id: str,
        *,
        direction: Literal["backward", "forward"] = "backward",
        cursor: str | None = None,
        limit: int = pages.DEFAULT_PAGE_LIMIT,
    ) -> TracePage:
        """A page of ``trace``: forward in the log order of the lots made, backward by depth."""
        with self._connect() as conn:
            return pages.trace_page(conn, lot_id, direction=direction, cursor=cursor, limit=limit)

    def participant(self, participant_id: str) -> ParticipantView:
        """A participant as registered now, with its keys."""
        with self._connect() as conn:
            return queries.participant_view(conn, participant_id)

    def participant_events(
        self, participant_id: str, *, cursor: str | None = None, limit: int = pages.DEFAULT_PAGE_LIMIT
    ) -> Page[HistoryEntry]:
        """A page of the events a participant signed, in log order."""
        with self._connect() as conn:
            return pages.participant_events(conn, participant_id, cursor=cursor, limit=limit)

    def event(self, event_id: str) -> StoredEvent:
        """A logged event: its canonical envelope, leaf index and leaf hash."""
        with self._connect() as conn:
            return queries.stored_event(conn, event_id)

    def tile(self, tile: Tile) -> bytes:
        """The bytes of a C2SP tlog-tiles hash tile or entry bundle, as ``export_tiles`` would write it."""
        from adamas.ledger.tile_reads import read_tile

        with self._connect() as conn:
            return read_tile(conn, tile)

    def _connect(self, *, primary: bool = False) -> Any:
        try:
            return (self._engine if primary else self._read_engine).connect()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot reach the database: {exc}") from exc


def _public_key(row: Any) -> bytes:
    return bytes(row.public_key)


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    """Database failures outside ingest, as StorageError."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StorageError(f"the database failed: {exc.__class__.__name__}: {exc}") from exc


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch.

    A batch allocates hundreds of thousands of short-lived objects that reference counting frees at once;
    the cyclic collector, triggered by the allocation count, would walk the whole heap again and again for
    nothing (measured: 18% of ingest time). Cycles made meanwhile are collected once it runs again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _repeated(envelope: Envelope) -> AdamasError:
    """The refusal of a logged event whose id an earlier leaf used (where ingest reports a duplicate)."""
    return ConflictError(
        f"event id {envelope.event.id} is logged twice", code="event.duplicate_id", field="id"
    )
