"""The audit's tree: the Merkle tree recomputed tile by tile from leaf hashes, the signed checkpoints whose
roots it must reproduce, and the tile worker process that hashes large logs' tiles alongside.

Mutual consistency of the checkpoints follows, and is established this way rather than with consistency
proofs: every checkpoint's root is recomputed as the root of a prefix of one and the same sequence of
leaves, so any two of them are consistent, and a checkpoint for any other tree is reported by name.
"""

from __future__ import annotations

import hashlib
import select as io_select
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from adamas.errors import AdamasError, StorageError
from adamas.ledger.audit_faults import Faults
from adamas.ledger.piped import Piped
from adamas.log import Checkpoint, Verifier, open_note
from adamas.log.tiles import TILE_HEIGHT, TILE_WIDTH
from adamas.store.tree import (
    PARTS,
    Parts,
    encode_tile,
    encoded_root,
    locate,
    node_offset,
    tile_parts,
    tile_root,
)

__all__ = [
    "CHUNK_TILES",
    "WORKER_MIN",
    "Checkpoints",
    "OnTile",
    "TileWorker",
    "TreeRebuild",
    "encode_here",
    "first_difference",
    "leaf_hashes",
    "open_checkpoints",
    "tile_count",
]

WORKER_MIN: Final = 64 * 256
"""Audits of a log with at least this many leaves use the tile worker process."""
# The tile worker's wire format (adamas.ledger.audit_worker, which this module does not import: it runs
# as ``python -m``, and a module imported before runpy executes it would be imported twice).
_READY = b"R"
_COUNT = struct.Struct("!I")
_WIDTH = struct.Struct("!H")
CHUNK_TILES: Final = 16
"""Level-0 tiles read, checked and hashed as one chunk."""
_sha256 = hashlib.sha256


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    return [_sha256(b"\x00" + e).digest() for e in entries]


@dataclass
class Checkpoints:
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


class TreeRebuild:
    """The tree recomputed tile by tile from leaf hashes; ``on_tile`` sees every tile (full ones as they
    complete, partial ones at ``finish``) and checkpoint roots are compared as the recomputed tree passes
    their sizes."""

    def __init__(self, size: int, checkpoints: Checkpoints, faults: Faults, on_tile: OnTile) -> None:
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


def open_checkpoints(
    notes: Sequence[tuple[int | None, str, bytes]],
    verifier: Verifier,
    origin: str | None,
    faults: Faults,
    size: int,
) -> tuple[Checkpoints, str | None]:
    """Verify each ``(size it is filed under, where, note)``; return the roots to match and the origin."""
    found = Checkpoints()
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


def first_difference(actual: Sequence[bytes], expected: Sequence[bytes]) -> int:
    return next(i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b)


def encode_here(tiles: Sequence[tuple[int, Sequence[bytes]]]) -> list[bytes]:
    return [encode_tile(tile_parts(hashes)) for _, hashes in tiles]


class TileWorker:
    """The tile worker process (``adamas.ledger.audit_worker``): one chunk of level-0 tiles in flight."""

    def __init__(self) -> None:
        self._piped = Piped("adamas.ledger.audit_worker")
        self._stdin: IO[bytes] = self._piped.stdin
        self._stdout: IO[bytes] = self._piped.stdout
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
        self._piped.stop(_COUNT.pack(0))


def tile_count(size: int) -> int:
    count = 0
    level = 0
    while size >> (TILE_HEIGHT * level):
        count += -(-(size >> (TILE_HEIGHT * level)) // TILE_WIDTH)
        level += 1
    return count
