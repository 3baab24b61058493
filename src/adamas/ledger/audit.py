"""A full audit of a log, from a ledger database or from a directory of C2SP tlog-tiles.

The audit trusts nothing but the log's vkey. It reads every entry in order and recomputes from the entries
alone: every leaf hash, every tile (in a database, every stored hash of ``adamas.store.tree``; in a tiles
directory, every hash tile), and the root of the tree at the size of every checkpoint the log signed. It
checks each checkpoint's signature under the vkey, its origin, and its root against the recomputed one.
Unless ``opaque``, it also checks that each entry is a canonical Adamas envelope whose Ed25519 signature
verifies under a key registered by an earlier entry of the same log (leaf 0 being the genesis).

Mutual consistency of the checkpoints follows, and is established this way rather than with consistency
proofs: every checkpoint's root is recomputed as the root of a prefix of one and the same sequence of
leaves, so any two of them are consistent, and a checkpoint for any other tree is reported by name.

Faults are collected (the first ``MAX_FAULTS`` kept, all counted) rather than raised, in the order the leaves
are read, so the first fault names the first bad leaf (or, when the entries and the tree were rewritten
together, the first checkpoint that no longer matches: that checkpoint's range of leaves holds the change).

Fault codes: ``audit.source`` (no log there), ``audit.log_key``, ``audit.size``, ``audit.leaf_missing``,
``audit.leaf_mismatch``, ``audit.leaf_hash_column``, ``audit.bundle``, ``audit.tile_missing``,
``audit.tile_mismatch``, ``audit.envelope``, ``audit.unknown_key``, ``audit.signature``,
``audit.checkpoint_signature``, ``audit.checkpoint_origin``, ``audit.checkpoint_size``,
``audit.checkpoint_root``. Usage errors raise ``InputError`` (``audit.usage``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import select as io_select
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Final

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import AdamasError, InputError, StorageError
from adamas.ledger.export import CHECKPOINTS_DIR
from adamas.ledger.tile_source import TileSource, open_tile_source
from adamas.ledger.transparency import META_ORIGIN, META_SKEY
from adamas.ledger.verify import verify_raw
from adamas.log import Checkpoint, Signer, Tile, Verifier, open_note
from adamas.log.tiles import ENTRIES, TILE_HEIGHT, TILE_WIDTH, decode_entry_bundle, parse_tile_path
from adamas.model.events import parse_envelope
from adamas.store.database import HEAD, open_engine
from adamas.store.schema import SCHEMA_VERSION, events, log_checkpoints, log_tiles, meta
from adamas.store.tree import (
    PARTS,
    Parts,
    decode_tile,
    encode_tile,
    encoded_root,
    locate,
    node_offset,
    tile_parts,
    tile_root,
)

__all__ = ["MAX_FAULTS", "AuditFault", "AuditReport", "audit"]

MAX_FAULTS: Final = 100
WORKER_MIN: Final = 64 * 256
"""Audits of a database with at least this many leaves use the tile worker process."""
_PIPE_SIZE: Final = 1 << 20
_F_SETPIPE_SZ: Final = 1031
# The tile worker's wire format (adamas.ledger.audit_worker, which this module does not import: it runs
# as ``python -m``, and a module imported before runpy executes it would be imported twice).
_READY = b"R"
_COUNT = struct.Struct("!I")
_WIDTH = struct.Struct("!H")
_CHUNK_TILES: Final = 16
Progress = Callable[[int, int], None]
_sha256 = hashlib.sha256


@dataclass(frozen=True)
class AuditFault:
    """One thing the audit found wrong, and where: a leaf index, a checkpoint's tree size, a tile path."""

    code: str
    message: str
    leaf: int | None = None
    checkpoint: int | None = None
    tile: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (absent locations left out)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for name in ("leaf", "checkpoint", "tile"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class AuditReport:
    """What an audit checked and found. ``ok`` when it found nothing wrong."""

    source: str
    origin: str | None
    size: int
    leaves: int
    tiles: int
    checkpoints: int
    envelopes: int
    faults: tuple[AuditFault, ...]
    fault_count: int
    trusted_key: str | None = None

    @property
    def ok(self) -> bool:
        """True when no fault was found."""
        return self.fault_count == 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report."""
        return {
            "ok": self.ok,
            "source": self.source,
            "origin": self.origin,
            "size": self.size,
            "leaves": self.leaves,
            "tiles": self.tiles,
            "checkpoints": self.checkpoints,
            "envelopes_verified": self.envelopes,
            "vkey": self.trusted_key,
            "fault_count": self.fault_count,
            "faults": [f.to_json() for f in self.faults],
        }


def audit(
    *,
    db: str | None = None,
    tiles: str | os.PathLike[str] | TileSource | None = None,
    vkey: str | None = None,
    opaque: bool = False,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit the log of a ledger database (``db``, a URL) or of tlog-tiles (``tiles``: a directory, an
    http(s) URL of a served log, or a ``TileSource``; over HTTP only the newest checkpoint is known).

    ``vkey``: the log's verifier key, the one thing trusted; required for a tiles directory, and for a
    database defaults to the key the database holds (which proves only that the database agrees with
    itself). ``opaque``: treat entries as opaque bytes (no envelope or signature checks), for any tlog-tiles
    log. ``progress(done, total)`` is called as leaves are checked.
    """
    if (db is None) == (tiles is None):
        raise InputError("audit takes exactly one of a database or a tiles directory", code="audit.usage")
    verifier = _verifier(vkey) if vkey is not None else None
    if tiles is not None:
        if verifier is None:
            raise InputError(
                "auditing a tiles directory needs the log's vkey", code="audit.usage", field="vkey"
            )
        source = open_tile_source(tiles)
        try:
            return _TilesAudit(source, verifier, opaque, progress).run()
        finally:
            source.close()
    assert db is not None
    return _DatabaseAudit(db, verifier, opaque, progress).run()


def _verifier(vkey: str) -> Verifier:
    return Verifier.from_vkey(vkey.strip())


class _Faults:
    """Faults in the order found; ``defer`` holds back those about the log as a whole (sizes) until
    ``flush``, so that a fault at a leaf is reported first."""

    def __init__(self) -> None:
        self.kept: list[AuditFault] = []
        self.count = 0
        self.deferred: list[AuditFault] = []

    def add(self, code: str, message: str, **where: Any) -> None:
        self.count += 1
        if len(self.kept) < MAX_FAULTS:
            self.kept.append(AuditFault(code, message, **where))

    def defer(self, code: str, message: str, **where: Any) -> None:
        self.deferred.append(AuditFault(code, message, **where))

    def flush(self) -> None:
        for fault in self.deferred:
            self.add(fault.code, fault.message, leaf=fault.leaf, checkpoint=fault.checkpoint, tile=fault.tile)
        self.deferred.clear()


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    return [_sha256(b"\x00" + e).digest() for e in entries]


@dataclass
class _Checkpoints:
    """The checkpoints to match, by tree size: the root each one signed."""

    roots: dict[int, bytes] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    position: int = 0


@dataclass
class _Tile:
    """A tile of the recomputed tree: level 0 as its stored bytes, the levels above built hash by hash."""

    index: int
    width: int = 0
    encoded: bytes = b""
    parts: Parts | None = None

    def node(self, height: int, slot: int) -> bytes | None:
        if self.parts is not None:
            part = self.parts[height]
            return part[slot] if slot < len(part) else None
        if slot >= self.width >> height:
            return None
        start = node_offset(self.width, height, slot)
        return self.encoded[start : start + 32]


OnTile = Callable[[int, int, int, bytes], None]
"""``on_tile(level, index, width, encoded)``: a recomputed tile, as ``adamas.store.tree`` stores it."""


class _Rebuild:
    """The tree recomputed tile by tile from leaf hashes; ``on_tile`` sees every tile (full ones as they
    complete, partial ones at ``finish``) and checkpoint roots are compared as the recomputed tree passes
    their sizes."""

    def __init__(self, size: int, checkpoints: _Checkpoints, faults: _Faults, on_tile: OnTile) -> None:
        self.size = size
        self.checkpoints = checkpoints
        self.faults = faults
        self.on_tile = on_tile
        # The rightmost tile of each level and the one completed before it: they hold every node of the
        # checkpoint roots still to come.
        self.current: dict[int, _Tile] = {}
        self.last: dict[int, _Tile] = {}
        self.tiles = 0

    def level0(self, index: int, width: int, encoded: bytes) -> None:
        """Add level-0 tile ``index`` of ``width`` leaves, recomputed and encoded (``encode_tile``)."""
        tile = _Tile(index, width, encoded)
        self.current[0] = tile
        self._seen(0, index, width, encoded)
        if width == TILE_WIDTH:
            self.last[0] = tile
            self._push(1, encoded_root(encoded))
        end = index * TILE_WIDTH + width
        cps = self.checkpoints
        while cps.position < len(cps.sizes) and cps.sizes[cps.position] <= end:
            size = cps.sizes[cps.position]
            cps.position += 1
            if self._root(size) != cps.roots[size]:
                self.faults.add(
                    "audit.checkpoint_root",
                    f"checkpoint {size}: its root is not the root of the first {size} leaves (one of leaves "
                    f"{self._previous_size(cps.position)}..{size - 1} or the tree was changed after signing)",
                    checkpoint=size,
                )

    def finish(self) -> None:
        """Hand the partial tiles above level 0 to ``on_tile``."""
        for level in sorted(self.current):
            tile = self.current[level]
            if level and tile.parts is not None and tile.parts[0]:
                self._seen(level, tile.index, len(tile.parts[0]), encode_tile(tile.parts))

    def _previous_size(self, position: int) -> int:
        return self.checkpoints.sizes[position - 2] if position >= 2 else 0

    def _seen(self, level: int, index: int, width: int, encoded: bytes) -> None:
        self.tiles += 1
        self.on_tile(level, index, width, encoded)

    def _push(self, level: int, value: bytes) -> None:
        tile = self.current.get(level)
        if tile is None:
            tile = self.current[level] = _Tile(0, parts=[[] for _ in range(PARTS)])
        parts = tile.parts
        assert parts is not None
        parts[0].append(value)
        for height in range(1, PARTS):
            below = parts[height - 1]
            if len(below) % 2:
                break
            parts[height].append(_node(below[-2], below[-1]))
        if len(parts[0]) == TILE_WIDTH:
            self._seen(level, tile.index, TILE_WIDTH, encode_tile(parts))
            self.last[level] = tile
            self.current[level] = _Tile(tile.index + 1, parts=[[] for _ in range(PARTS)])
            self._push(level + 1, tile_root(parts))

    def _root(self, size: int) -> bytes:
        # MTH(D[size]) from the perfect subtrees of size's binary decomposition, folded from the right.
        nodes = [
            self._node_at(level, (size >> level) - 1)
            for level in range(size.bit_length() - 1, -1, -1)
            if size >> level & 1
        ]
        root = nodes[-1]
        for left in reversed(nodes[:-1]):
            root = _node(left, root)
        return root

    def _node_at(self, level: int, index: int) -> bytes:
        tile_level, tile_index, height, slot = locate(level, index)
        for tile in (self.current.get(tile_level), self.last.get(tile_level)):
            if tile is not None and tile.index == tile_index:
                node = tile.node(height, slot)
                if node is not None:
                    return node
        raise AssertionError(f"node ({level}, {index}) is not on the recomputed right edge")


class _Envelopes:
    """Checks that each entry is a canonical Adamas envelope signed by a key the log registered earlier."""

    def __init__(self, faults: _Faults) -> None:
        self.faults = faults
        self.keys: dict[str, tuple[str, bytes]] = {}
        self.verified = 0

    def check(self, index: int, entry: bytes) -> None:
        try:
            envelope = parse_envelope(entry)
        except AdamasError as exc:
            self.faults.add(
                "audit.envelope",
                f"leaf {index} is not an Adamas envelope: {exc.code}: {exc.message}",
                leaf=index,
            )
            return
        if envelope.leaf != entry:
            self.faults.add(
                "audit.envelope", f"leaf {index} is not its envelope's canonical form", leaf=index
            )
            return
        event = envelope.event
        keys = self.keys
        if event.type == "genesis":
            admin = event.fields["administrator"]
            keys = {k.id: (admin.id, k.public_key) for k in admin.keys}
            if index != 0:
                self.faults.add("audit.envelope", f"leaf {index} is a second genesis event", leaf=index)
                return
        elif index == 0:
            self.faults.add("audit.envelope", "leaf 0 is not the genesis event", leaf=index)
        owner = keys.get(event.key)
        if owner is None or owner[0] != event.actor:
            self.faults.add(
                "audit.unknown_key",
                f"leaf {index} is signed with key {event.key}, which no earlier leaf registered for "
                f"{event.actor}",
                leaf=index,
            )
            return
        if not verify_raw(owner[1], envelope.body_bytes, base64.b64decode(envelope.sig)):
            self.faults.add(
                "audit.signature",
                f"leaf {index}: the signature does not verify under key {event.key}",
                leaf=index,
            )
            return
        self.verified += 1
        fields = event.fields
        if event.type in ("genesis", "participant.register"):
            spec = fields["administrator" if event.type == "genesis" else "participant"]
            for key in spec.keys:
                self.keys[key.id] = (spec.id, key.public_key)
        elif event.type == "key.add":
            self.keys[fields["new_key"].id] = (fields["participant"], fields["new_key"].public_key)


def _open_checkpoints(
    notes: Sequence[tuple[int | None, str, bytes]],
    verifier: Verifier,
    origin: str | None,
    faults: _Faults,
    size: int,
) -> tuple[_Checkpoints, str | None]:
    """Verify each ``(size it is filed under, where, note)``; return the roots to match and the origin."""
    found = _Checkpoints()
    for filed, where, note in notes:
        try:
            text = open_note(note, [verifier]).text
            checkpoint = Checkpoint.from_text(text)
        except AdamasError as exc:
            faults.add(
                "audit.checkpoint_signature",
                f"checkpoint {where} does not verify under the log's key: {exc.code}: {exc.message}",
                checkpoint=filed,
            )
            continue
        if origin is None:
            origin = checkpoint.origin
        if checkpoint.origin != origin:
            faults.add(
                "audit.checkpoint_origin",
                f"checkpoint {where} is for the log {checkpoint.origin!r}, not {origin!r}",
                checkpoint=checkpoint.size,
            )
            continue
        if filed is not None and checkpoint.size != filed:
            faults.add(
                "audit.checkpoint_size",
                f"checkpoint {where} is filed under size {filed} but signs size {checkpoint.size}",
                checkpoint=filed,
            )
            continue
        if checkpoint.size > size:
            faults.defer(
                "audit.checkpoint_size",
                f"checkpoint {where} signs {checkpoint.size} leaves; the log holds {size}",
                checkpoint=checkpoint.size,
            )
            continue
        if checkpoint.size == 0:
            continue
        previous = found.roots.setdefault(checkpoint.size, checkpoint.root_hash)
        if previous != checkpoint.root_hash:
            faults.add(
                "audit.checkpoint_root",
                f"two checkpoints of size {checkpoint.size} sign different roots",
                checkpoint=checkpoint.size,
            )
    found.sizes = sorted(found.roots)
    return found, origin


def _first_difference(actual: Sequence[bytes], expected: Sequence[bytes]) -> int:
    return next(i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b)


# --- a ledger database ----------------------------------------------------------------------------------


class _DatabaseAudit:
    worker_min = WORKER_MIN

    def __init__(self, url: str, verifier: Verifier | None, opaque: bool, progress: Progress | None) -> None:
        self.url = url
        self.verifier = verifier
        self.opaque = opaque
        self.progress = progress
        self.faults = _Faults()
        self.stored0: dict[int, tuple[int, bytes]] = {}

    def run(self) -> AuditReport:
        engine = open_engine(self.url)
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
        own = Signer.from_skey(info[META_SKEY]).verifier
        verifier = self.verifier or own
        if own.vkey != verifier.vkey:
            self.faults.add("audit.log_key", "the database's log key is not the vkey given")
        size = int(info[HEAD])
        notes = [
            (int(row.size), str(row.size), str(row.note).encode("utf-8"))
            for row in conn.execute(select(log_checkpoints.c.size, log_checkpoints.c.note).order_by("size"))
        ]
        checkpoints, origin = _open_checkpoints(notes, verifier, info.get(META_ORIGIN), self.faults, size)
        if size and (not checkpoints.sizes or checkpoints.sizes[-1] != size):
            self.faults.defer(
                "audit.checkpoint_size",
                f"no checkpoint covers all {size} leaves (the newest signs "
                f"{checkpoints.sizes[-1] if checkpoints.sizes else 0})",
            )
        self.conn = conn
        self.read_events = _event_reader(conn)
        rebuild = _Rebuild(size, checkpoints, self.faults, self._compare_tile)
        envelopes = None if self.opaque else _Envelopes(self.faults)
        # A large audit hands the node hashing of each chunk to the tile worker while it reads the next.
        worker = _TileWorker() if size >= self.worker_min else None
        try:
            pending: _Chunk | None = None
            start = 0
            while start < size:
                stop = min(size, start + _CHUNK_TILES * TILE_WIDTH)
                chunk = self._read(start, stop, envelopes)
                if worker is None or (pending is None and not worker.ready()):
                    self._check(chunk, _encode_here(chunk.tiles()), rebuild, envelopes)
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
        rebuild.finish()
        self.faults.flush()
        # Nothing stored beyond the head: no extra events, no extra tiles.
        count, highest = conn.execute(select(func.count(), func.max(events.c.seq))).one()
        if count != size or (highest is not None and highest != size - 1):
            self.faults.add(
                "audit.size",
                f"the ledger's head is {size} but it stores {count} events (highest leaf {highest})",
            )
        expected_tiles = _tile_count(size)
        stored_tiles = conn.execute(select(func.count()).select_from(log_tiles)).scalar_one()
        if stored_tiles != expected_tiles:
            self.faults.add(
                "audit.tile_mismatch",
                f"the tree of {size} leaves has {expected_tiles} tiles; {stored_tiles} are stored",
            )
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

    def _read(self, start: int, stop: int, envelopes: _Envelopes | None) -> _Chunk:
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
            chunk.column = [row[1] for row in rows]
        else:
            by_seq = {
                row.seq: (bytes(row.envelope), bytes(row.leaf_hash))
                for row in self.conn.execute(
                    select(events.c.seq, events.c.envelope, events.c.leaf_hash).where(
                        events.c.seq >= start, events.c.seq < stop
                    )
                )
            }
            found = [by_seq.get(index) for index in range(start, stop)]
            chunk.entries = [None if pair is None else pair[0] for pair in found]
            chunk.column = [b"" if pair is None else pair[1] for pair in found]
            chunk.hashes = _leaf_hashes(e if e is not None else b"" for e in chunk.entries)
            for offset, entry in enumerate(chunk.entries):
                if entry is None:
                    # A missing leaf takes the tree's hash, so that the rest can still be checked.
                    chunk.missing.append(start + offset)
                    width, data = stored.get((start + offset) // TILE_WIDTH, (0, b""))
                    slot = (start + offset) % TILE_WIDTH
                    chunk.hashes[offset] = data[slot * 32 : slot * 32 + 32] if slot < width else b"\x00" * 32
        return chunk

    def _check(
        self, chunk: _Chunk, encoded: Sequence[bytes], rebuild: _Rebuild, envelopes: _Envelopes | None
    ) -> None:
        """Every check of a chunk, in leaf order, given its level-0 tiles recomputed and encoded."""
        start = chunk.start
        for index in chunk.missing:
            self.faults.add("audit.leaf_missing", f"leaf {index} is missing", leaf=index)
        if chunk.column != chunk.hashes:
            for offset, (stored, actual) in enumerate(zip(chunk.column, chunk.hashes, strict=True)):
                if stored != actual and start + offset not in chunk.missing:
                    self.faults.add(
                        "audit.leaf_hash_column",
                        f"leaf {start + offset}: the stored leaf hash is not the hash of the stored envelope",
                        leaf=start + offset,
                    )
        self.stored0 = chunk.stored
        for (index, hashes), data in zip(chunk.tiles(), encoded, strict=True):
            rebuild.level0(index, len(hashes), data)
        if envelopes is not None:
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
    """Leaves ``start..stop`` as read: entries (empty when opaque), leaf hashes, the stored leaf-hash column,
    the leaves missing, and the stored level-0 rows of their tiles by index."""

    start: int
    stop: int
    stored: dict[int, tuple[int, bytes]]
    hashes: list[bytes] = field(default_factory=list)
    entries: list[bytes | None] = field(default_factory=list)
    column: list[bytes] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)

    def tiles(self) -> list[tuple[int, list[bytes]]]:
        """The level-0 tiles of the chunk: index and leaf hashes."""
        out = []
        for index in range(self.start // TILE_WIDTH, (self.stop + TILE_WIDTH - 1) // TILE_WIDTH):
            low = index * TILE_WIDTH
            out.append((index, self.hashes[low - self.start : min(self.stop, low + TILE_WIDTH) - self.start]))
        return out


def _encode_here(tiles: Sequence[tuple[int, Sequence[bytes]]]) -> list[bytes]:
    return [encode_tile(tile_parts(hashes)) for _, hashes in tiles]


class _TileWorker:
    """The tile worker process (``adamas.ledger.audit_worker``): one chunk of level-0 tiles in flight."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "adamas.ledger.audit_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._stdin: IO[bytes] = self._process.stdin
        self._stdout: IO[bytes] = self._process.stdout
        for pipe in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)
        self._ready = False

    def ready(self) -> bool:
        """Whether the worker has started (it says so with one byte); never blocks."""
        if not self._ready and io_select.select([self._stdout], [], [], 0)[0]:
            if self._stdout.read(1) != _READY:
                raise StorageError("the audit's tile worker did not start", code="audit.worker")
            self._ready = True
        return self._ready

    def send(self, tiles: Sequence[tuple[int, Sequence[bytes]]]) -> None:
        message = [_COUNT.pack(len(tiles))]
        for _, hashes in tiles:
            message.append(_WIDTH.pack(len(hashes)))
            message.append(b"".join(hashes))
        self._stdin.write(b"".join(message))
        self._stdin.flush()

    def receive(self, count: int) -> list[bytes]:
        out = []
        for _ in range(count):
            head = self._stdout.read(_COUNT.size)
            length = _COUNT.unpack(head)[0] if len(head) == _COUNT.size else -1
            data = self._stdout.read(length) if length >= 0 else b""
            if length < 0 or len(data) != length:
                raise StorageError("the audit's tile worker stopped", code="audit.worker")
            out.append(data)
        return out

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.write(_COUNT.pack(0))
            self._stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stdout.close()


def _event_reader(conn: Connection) -> Callable[[int, int], list[tuple[bytes, bytes]]]:
    """``read(lo, hi)``: the ``(envelope, leaf_hash)`` rows of leaves ``lo <= seq < hi``, in order.

    The SQL is compiled once from Core for the connection's dialect and run on the driver's cursor, in the
    connection's transaction: at a million rows, SQLAlchemy's per-row processing would be half the audit.
    """
    statement = (
        select(events.c.envelope, events.c.leaf_hash)
        .where(events.c.seq >= bindparam("lo"), events.c.seq < bindparam("hi"))
        .order_by(events.c.seq)
    )
    compiled = statement.compile(dialect=conn.dialect)
    sql = str(compiled)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    cursor = conn.connection.cursor()

    def read(lo: int, hi: int) -> list[tuple[bytes, bytes]]:
        params = {"lo": lo, "hi": hi}
        cursor.execute(sql, tuple(params[name] for name in order) if order is not None else params)
        rows: list[tuple[bytes, bytes]] = list(cursor.fetchall())
        if rows and not isinstance(rows[0][0], bytes):
            return [(bytes(envelope), bytes(digest)) for envelope, digest in rows]
        return rows

    return read


def _tile_count(size: int) -> int:
    count = 0
    level = 0
    while size >> (TILE_HEIGHT * level):
        count += -(-(size >> (TILE_HEIGHT * level)) // TILE_WIDTH)
        level += 1
    return count


# --- a tiles directory ----------------------------------------------------------------------------------


class _TilesAudit:
    worker_min = WORKER_MIN

    def __init__(
        self, source: TileSource, verifier: Verifier, opaque: bool, progress: Progress | None
    ) -> None:
        self.source = source
        self.verifier = verifier
        self.opaque = opaque
        self.progress = progress
        self.faults = _Faults()

    def _read(self, relative: str) -> bytes | None:
        try:
            return self.source.read(relative)
        except StorageError as exc:
            raise StorageError(exc.message, code="audit.source") from exc

    def run(self) -> AuditReport:
        latest = self._read("checkpoint")
        if latest is None:
            raise StorageError(f"{self.source.name} holds no checkpoint file", code="audit.source")
        try:
            head = Checkpoint.from_text(open_note(latest, [self.verifier]).text)
        except AdamasError as exc:
            raise StorageError(
                f"{self.source.name} checkpoint does not verify under the vkey: {exc.code}: {exc.message}",
                code="audit.checkpoint_signature",
            ) from exc
        size = head.size
        notes: list[tuple[int | None, str, bytes]] = [(None, "checkpoint", latest)]
        for relative in self.source.checkpoint_paths():
            note = self._read(relative)
            if note is not None:
                notes.append((_filed_size(relative), relative, note))
        checkpoints, origin = _open_checkpoints(notes, self.verifier, head.origin, self.faults, size)
        rebuild = _Rebuild(size, checkpoints, self.faults, self._compare_tile)
        envelopes = None if self.opaque else _Envelopes(self.faults)
        count = -(-size // TILE_WIDTH)
        worker = _TileWorker() if size >= self.worker_min else None
        try:
            pending: list[tuple[int, list[bytes]]] = []
            group: list[tuple[int, list[bytes]]] = []
            for index in range(count):
                width = min(TILE_WIDTH, size - index * TILE_WIDTH)
                group.append((index, self._level0(index, width, envelopes)))
                if len(group) < _CHUNK_TILES and index < count - 1:
                    continue
                if worker is None or (not pending and not worker.ready()):
                    self._feed(rebuild, group, _encode_here(group))
                else:
                    if pending:
                        self._feed(rebuild, pending, worker.receive(len(pending)))
                    worker.send(group)
                    pending = group
                group = []
                if self.progress is not None:
                    self.progress(index * TILE_WIDTH + width, size)
            if worker is not None and pending:
                self._feed(rebuild, pending, worker.receive(len(pending)))
        finally:
            if worker is not None:
                worker.close()
        rebuild.finish()
        self.faults.flush()
        return AuditReport(
            source=self.source.name,
            origin=origin,
            size=size,
            leaves=size,
            tiles=rebuild.tiles,
            checkpoints=len(notes),
            envelopes=0 if envelopes is None else envelopes.verified,
            faults=tuple(self.faults.kept),
            fault_count=self.faults.count,
            trusted_key=self.verifier.vkey,
        )

    def _level0(self, index: int, width: int, envelopes: _Envelopes | None) -> list[bytes]:
        """The leaf hashes of level-0 tile ``index``, recomputed from its entry bundle and checked against
        the tile (a missing entry takes the tile's hash, so that the rest can still be checked)."""
        tile = Tile(0, index, width)
        data = self._read(tile.path)
        stored = None
        if data is None or len(data) != width * 32:
            self.faults.add(
                "audit.tile_missing", f"tile {tile.path} is missing or of the wrong size", tile=tile.path
            )
        else:
            stored = [data[i : i + 32] for i in range(0, len(data), 32)]
        bundle = Tile(ENTRIES, index, width)
        raw = self._read(bundle.path)
        entries: list[bytes] = []
        if raw is None:
            self.faults.add(
                "audit.bundle",
                f"entry bundle {bundle.path} is missing",
                tile=bundle.path,
                leaf=index * TILE_WIDTH,
            )
        else:
            try:
                entries = decode_entry_bundle(raw)
            except AdamasError as exc:
                self.faults.add(
                    "audit.bundle", f"entry bundle {bundle.path}: {exc.message}", tile=bundle.path
                )
        hashes = _leaf_hashes(entries[:width])
        if stored is not None and hashes != stored[: len(hashes)]:
            leaf = index * TILE_WIDTH + _first_difference(hashes, stored)
            self.faults.add(
                "audit.leaf_mismatch",
                f"leaf {leaf}: the entry does not hash to the tile's leaf hash",
                leaf=leaf,
                tile=tile.path,
            )
        if len(entries) != width:
            leaf = index * TILE_WIDTH + min(len(entries), width)
            self.faults.add(
                "audit.bundle",
                f"entry bundle {bundle.path} holds {len(entries)} entries, the tree {width} "
                f"(from leaf {leaf})",
                leaf=leaf,
                tile=bundle.path,
            )
            filler = stored if stored is not None else [b"\x00" * 32] * width
            hashes = hashes + filler[len(hashes) :]
        if envelopes is not None:
            for offset, entry in enumerate(entries[:width]):
                envelopes.check(index * TILE_WIDTH + offset, entry)
        return hashes

    @staticmethod
    def _feed(rebuild: _Rebuild, tiles: Sequence[tuple[int, list[bytes]]], encoded: Sequence[bytes]) -> None:
        for (index, hashes), data in zip(tiles, encoded, strict=True):
            rebuild.level0(index, len(hashes), data)

    def _compare_tile(self, level: int, index: int, width: int, encoded: bytes) -> None:
        if level == 0:
            return  # level-0 tiles are checked leaf by leaf against their entries in _level0
        tile = Tile(level, index, width)
        data = self._read(tile.path)
        if data is None:
            self.faults.add("audit.tile_missing", f"tile {tile.path} is missing", tile=tile.path)
        elif data != encoded[: width * 32]:
            self.faults.add(
                "audit.tile_mismatch",
                f"tile {tile.path} differs from the tile recomputed from the entries",
                tile=tile.path,
            )


def _filed_size(relative: str) -> int | None:
    """The tree size a ``checkpoints/<N>`` path names (None if it names none)."""
    try:
        return parse_tile_path(f"tile/0/{relative[len(CHECKPOINTS_DIR) + 1 :]}").index
    except AdamasError:
        return None
