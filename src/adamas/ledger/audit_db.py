"""The audit of a ledger database: every stored event hashed again, every stored tile and checkpoint root
recomputed from them, nothing stored beyond the head; with a replay (``adamas.ledger.replay``) the state
tables are compared with the state the rules rebuild from the events.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import AdamasError, StorageError
from adamas.ledger.audit_envelopes import EnvelopeCheck
from adamas.ledger.audit_faults import AuditReport, Faults, Progress
from adamas.ledger.audit_signatures import SIGN_MIN, ParallelEnvelopeCheck, Pending
from adamas.ledger.audit_tree import (
    CHUNK_TILES,
    WORKER_MIN,
    TileWorker,
    TreeRebuild,
    _sha256,
    encode_here,
    leaf_hashes,
    open_checkpoints,
    tile_count,
)
from adamas.ledger.transparency import META_ORIGIN, META_SKEY
from adamas.log import Signer, Tile, Verifier
from adamas.log.tiles import TILE_WIDTH
from adamas.model.events import Envelope
from adamas.store.database import HEAD, meta_int, open_engine
from adamas.store.schema import SCHEMA_VERSION, events, log_checkpoints, log_tiles, meta
from adamas.store.tree import PARTS, decode_tile

__all__ = ["DatabaseAudit", "StateCheck"]


class StateCheck(Protocol):
    """What a database audit hands every envelope to, and then the database to compare with (a replay)."""

    def record_checkpoints(self, signed: Sequence[tuple[int, int]]) -> None:
        """The stored checkpoints' ``(size, signed_ns)``, before any envelope."""
        ...

    def feed(self, leaf: int, envelope: Envelope) -> None:
        """Envelope of leaf ``leaf``, in leaf order."""
        ...

    def compare(self, conn: Connection) -> None:
        """Note every difference between the stored state (read through ``conn``) and the replayed one."""
        ...


class DatabaseAudit:
    """One audit of a ledger database, in one read snapshot; ``state`` (a replay) sees every envelope."""

    worker_min = WORKER_MIN
    sign_min = SIGN_MIN

    def __init__(
        self,
        url: str,
        verifier: Verifier | None,
        opaque: bool,
        progress: Progress | None,
        state: StateCheck | None = None,
        *,
        jobs: int = 1,
    ) -> None:
        self.url = url
        self.jobs = jobs
        self.verifier = verifier
        self.opaque = opaque
        self.progress = progress
        self.state = state
        self.faults = Faults()
        self.stored0: dict[int, tuple[int, bytes]] = {}

    def run(self) -> AuditReport:
        """Check everything; faults are in the report, only a database that holds no log raises."""
        engine = open_engine(self.url, read_only=True)
        try:
            with engine.connect() as conn:
                # One snapshot for the whole audit: SQLite's read transaction gives one; PostgreSQL needs
                # REPEATABLE READ (its default isolation sees each statement's own snapshot).
                if engine.dialect.name == "postgresql":
                    return self._run(conn.execution_options(isolation_level="REPEATABLE READ"))
                return self._run(conn)
        except SQLAlchemyError as exc:  # a database that is not a ledger, or unreachable
            raise StorageError(
                f"cannot audit {self.url}: {exc.__class__.__name__}: {exc}", code="audit.source"
            ) from exc
        finally:
            engine.dispose()

    def _run(self, conn: Connection) -> AuditReport:
        info = {str(row[0]): str(row[1]) for row in conn.execute(select(meta.c.name, meta.c.value))}
        if info.get("schema_version") != str(SCHEMA_VERSION) or META_SKEY not in info:
            raise StorageError(
                f"{self.url} holds no Adamas log of schema version {SCHEMA_VERSION} "
                "(open it with adamas first)",
                code="audit.source",
            )
        try:
            own = Signer.from_skey(info[META_SKEY]).verifier
        except AdamasError as exc:
            raise StorageError(
                f"the ledger's log key row is corrupted: {exc.message}", code="storage.corrupt_meta"
            ) from exc
        verifier = self.verifier or own
        if own.vkey != verifier.vkey:
            self.faults.add("audit.log_key", "the database's log key is not the vkey given")
        size = meta_int(info.get(HEAD), HEAD)
        notes = [
            (int(row.size), str(row.size), str(row.note).encode("utf-8"))
            for row in conn.execute(select(log_checkpoints.c.size, log_checkpoints.c.note).order_by("size"))
        ]
        # A head beyond every stored event and checkpoint is a corrupted head: audit what is stored.
        highest = conn.execute(select(func.max(events.c.seq))).scalar()
        stored = max(0 if highest is None else int(highest) + 1, max((n[0] for n in notes), default=0))
        if size > stored:
            self.faults.add(
                "audit.size",
                f"the ledger's head says {size} leaves, but nothing is stored beyond leaf {stored - 1}",
            )
            size = stored
        checkpoints, origin = open_checkpoints(notes, verifier, info.get(META_ORIGIN), self.faults, size)
        if size and (not checkpoints.sizes or checkpoints.sizes[-1] != size):
            self.faults.defer(
                "audit.checkpoint_size",
                f"no checkpoint covers all {size} leaves (the newest signs "
                f"{checkpoints.sizes[-1] if checkpoints.sizes else 0})",
            )
        self.conn = conn
        self.read_events = _event_reader(conn)
        rebuild = TreeRebuild(size, checkpoints, self.faults, self._compare_tile)
        on_envelope = None
        if self.state is not None:
            signed = conn.execute(select(log_checkpoints.c.size, log_checkpoints.c.signed_ns)).all()
            self.state.record_checkpoints([(int(row.size), int(row.signed_ns)) for row in signed])
            on_envelope = self.state.feed
        envelopes: EnvelopeCheck | None = None
        if self.opaque:
            pass
        elif self.jobs > 1 and on_envelope is None and size >= self.sign_min:
            # Parsing and Ed25519 on every core; a replay needs every envelope here, parsed in order.
            envelopes = ParallelEnvelopeCheck(self.faults, self.jobs)
        else:
            envelopes = EnvelopeCheck(self.faults, on_envelope)
        # A large audit hands the node hashing of each chunk to the tile worker while it reads the next, if a
        # core is left for it: beside a signature worker on every core, its start (a third of a second of CPU,
        # SQLAlchemy imported) and its pipes cost more than the ~1 us per leaf it would take off this process.
        spare = not isinstance(envelopes, ParallelEnvelopeCheck) or self.jobs < (os.cpu_count() or 1)
        worker = TileWorker() if size >= self.worker_min and spare else None
        try:
            pending: _Chunk | None = None
            start = 0
            while start < size:
                stop = min(size, start + CHUNK_TILES * TILE_WIDTH)
                chunk = self._read(start, stop, envelopes)
                if worker is None or (pending is None and not worker.ready()):
                    self._check(chunk, encode_here(chunk.tiles()), rebuild, envelopes)
                else:
                    if pending is not None:
                        self._check(pending, worker.receive(len(pending.tiles())), rebuild, envelopes)
                    worker.send(chunk.tiles())
                    pending = chunk
                if self.progress is not None:
                    self.progress(stop, size)
                start = stop
            if worker is not None and pending is not None:
                self._check(pending, worker.receive(len(pending.tiles())), rebuild, envelopes)
        finally:
            if worker is not None:
                worker.close()
            if isinstance(envelopes, ParallelEnvelopeCheck):
                envelopes.close()
        rebuild.finish()
        self.faults.flush()
        # Nothing stored beyond the head: no extra events, no extra tiles.
        count, highest = conn.execute(select(func.count(), func.max(events.c.seq))).one()
        if count != size or (highest is not None and highest != size - 1):
            self.faults.add(
                "audit.size",
                f"the ledger's head is {size} but it stores {count} events (highest leaf {highest})",
            )
        expected_tiles = tile_count(size)
        stored_tiles = conn.execute(select(func.count()).select_from(log_tiles)).scalar_one()
        if stored_tiles != expected_tiles:
            self.faults.add(
                "audit.tile_mismatch",
                f"the tree of {size} leaves has {expected_tiles} tiles; {stored_tiles} are stored",
            )
        if self.state is not None:
            self.state.compare(conn)
        return AuditReport(
            source=self.url,
            origin=origin,
            size=size,
            leaves=size,
            tiles=rebuild.tiles,
            checkpoints=len(notes),
            envelopes=0 if envelopes is None else envelopes.verified,
            faults=tuple(self.faults.kept),
            fault_count=self.faults.count,
            trusted_key=verifier.vkey,
        )

    def _read(self, start: int, stop: int, envelopes: EnvelopeCheck | None) -> _Chunk:
        """Leaves ``start..stop``: their entries, leaf hashes and stored rows (the part one process does)."""
        rows = self.read_events(start, stop)
        first_tile, end_tile = start // TILE_WIDTH, (stop + TILE_WIDTH - 1) // TILE_WIDTH
        stored = {
            row.idx: (row.width, bytes(row.hashes))
            for row in self.conn.execute(
                select(log_tiles.c.idx, log_tiles.c.width, log_tiles.c.hashes).where(
                    log_tiles.c.level == 0, log_tiles.c.idx >= first_tile, log_tiles.c.idx < end_tile
                )
            )
        }
        chunk = _Chunk(start, stop, stored)
        if len(rows) == stop - start:  # seq is the primary key: stop - start rows in range are all of them
            # (Not zip(*rows): unpacking thousands of rows into one call provokes full garbage collections.)
            sha256 = _sha256
            chunk.hashes = [sha256(b"\x00" + row[0]).digest() for row in rows]
            chunk.entries = [] if envelopes is None else [row[0] for row in rows]
        else:
            by_seq = {
                row.seq: bytes(row.envelope)
                for row in self.conn.execute(
                    select(events.c.seq, events.c.envelope).where(events.c.seq >= start, events.c.seq < stop)
                )
            }
            chunk.entries = [by_seq.get(index) for index in range(start, stop)]
            chunk.hashes = leaf_hashes(e if e is not None else b"" for e in chunk.entries)
            for offset, entry in enumerate(chunk.entries):
                if entry is None:
                    # A missing leaf takes the tree's hash, so that the rest can still be checked.
                    chunk.missing.append(start + offset)
                    width, data = stored.get((start + offset) // TILE_WIDTH, (0, b""))
                    slot = (start + offset) % TILE_WIDTH
                    chunk.hashes[offset] = data[slot * 32 : slot * 32 + 32] if slot < width else b"\x00" * 32
        if isinstance(envelopes, ParallelEnvelopeCheck):
            chunk.pending = envelopes.submit(chunk.entries)
        return chunk

    def _check(
        self, chunk: _Chunk, encoded: Sequence[bytes], rebuild: TreeRebuild, envelopes: EnvelopeCheck | None
    ) -> None:
        """Every check of a chunk, in leaf order, given its level-0 tiles recomputed and encoded."""
        start = chunk.start
        for index in chunk.missing:
            self.faults.add("audit.leaf_missing", f"leaf {index} is missing", leaf=index)
        self.stored0 = chunk.stored
        for (index, hashes), data in zip(chunk.tiles(), encoded, strict=True):
            rebuild.level0(index, len(hashes), data)
        if isinstance(envelopes, ParallelEnvelopeCheck) and chunk.pending is not None:
            envelopes.check_chunk(start, chunk.entries, chunk.pending)
        elif envelopes is not None:
            for offset, entry in enumerate(chunk.entries):
                if entry is not None:
                    envelopes.check(start + offset, entry)

    def _compare_tile(self, level: int, index: int, width: int, encoded: bytes) -> None:
        path = Tile(level, index, width).path
        if level == 0:
            stored = self.stored0.get(index)
        else:
            row = self.conn.execute(
                select(log_tiles.c.width, log_tiles.c.hashes).where(
                    log_tiles.c.level == level, log_tiles.c.idx == index
                )
            ).first()
            stored = None if row is None else (row.width, bytes(row.hashes))
        if stored is None or stored[0] != width:
            self.faults.add(
                "audit.tile_missing",
                f"tile {path} is not stored"
                if stored is None
                else f"tile {path} is stored with width {stored[0]}",
                tile=path,
            )
            return
        if stored[1] == encoded:
            return
        try:
            stored_parts = decode_tile(width, stored[1], where=f"tile {path}")
        except StorageError as exc:
            self.faults.add("audit.tile_mismatch", exc.message, tile=path)
            return
        parts = decode_tile(width, encoded)
        if level == 0 and stored_parts[0] != parts[0]:
            for slot, (stored_hash, actual) in enumerate(zip(stored_parts[0], parts[0], strict=True)):
                if stored_hash != actual:
                    leaf = index * TILE_WIDTH + slot
                    self.faults.add(
                        "audit.leaf_mismatch",
                        f"leaf {leaf}: the stored envelope does not hash to the tree's leaf hash",
                        leaf=leaf,
                        tile=path,
                    )
            return
        height = next(h for h in range(PARTS) if stored_parts[h] != parts[h])
        self.faults.add(
            "audit.tile_mismatch",
            f"tile {path}: stored hashes at height {height} differ from those recomputed from the leaves",
            tile=path,
        )


@dataclass
class _Chunk:
    """Leaves ``start..stop`` as read: entries (empty when opaque), leaf hashes, the leaves missing, and the
    stored level-0 rows of their tiles by index."""

    start: int
    stop: int
    stored: dict[int, tuple[int, bytes]]
    hashes: list[bytes] = field(default_factory=list)
    entries: list[bytes | None] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    pending: Pending | None = None

    def tiles(self) -> list[tuple[int, list[bytes]]]:
        """The level-0 tiles of the chunk: index and leaf hashes."""
        out = []
        for index in range(self.start // TILE_WIDTH, (self.stop + TILE_WIDTH - 1) // TILE_WIDTH):
            low = index * TILE_WIDTH
            out.append((index, self.hashes[low - self.start : min(self.stop, low + TILE_WIDTH) - self.start]))
        return out


def _event_reader(conn: Connection) -> Callable[[int, int], list[tuple[bytes]]]:
    """``read(lo, hi)``: the ``(envelope,)`` rows of leaves ``lo <= seq < hi``, in order.

    The SQL is compiled once from Core for the connection's dialect and run on the driver's cursor, in the
    connection's transaction: at a million rows, SQLAlchemy's per-row processing would be half the audit.
    """
    statement = (
        select(events.c.envelope)
        .where(events.c.seq >= bindparam("lo"), events.c.seq < bindparam("hi"))
        .order_by(events.c.seq)
    )
    compiled = statement.compile(dialect=conn.dialect)
    sql = str(compiled)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    cursor = conn.connection.cursor()

    def read(lo: int, hi: int) -> list[tuple[bytes]]:
        params = {"lo": lo, "hi": hi}
        cursor.execute(sql, tuple(params[name] for name in order) if order is not None else params)
        rows: list[tuple[bytes]] = list(cursor.fetchall())
        if rows and not isinstance(rows[0][0], bytes):
            return [(bytes(envelope),) for (envelope,) in rows]
        return rows

    return read
