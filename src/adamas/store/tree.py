"""The log's Merkle tree inside the ledger database, stored as tiles.

Layout: one ``log_tiles`` row per tile of C2SP tlog-tiles -- tile level ``L``, index ``N``, width ``W`` --
holding the tile's ``W`` hashes (the stored hashes ``(8L, 256N + i)``) *and* every complete node of the seven
tree levels above them inside the tile. Part ``h`` (0..7) of a row holds the ``W >> h`` nodes
``(8L + h, (256N >> h) + k)``, parts concatenated in order of ``h``. So every stored hash ``NodeId`` of
``adamas.log.tree`` is a slice of exactly one row; a proof needs at most two rows per tile level
(``ceil(log256(n))`` levels), fetched in one query, and no hashing beyond the imperfect right edge. A
tlog-tiles tile is the first ``W`` hashes of a row's part 0, which makes exporting tiles a copy.

Invariants:
- the rows are exactly the tiles of ``tiles_for_size(head)``; a full row (``W == 256``) never changes, and
  the partial row of a level only ever gains hashes at its end (so any tile of an older size is a prefix);
- ``append_leaves`` is the only writer; it runs inside the caller's write transaction (the one inserting
  the events it logs), reads only the partial rows of the old size, and writes only rows it changed;
- every hash is 32 bytes; a row whose length disagrees with its width is reported, never sliced.

Error codes: StorageError ``log.tile_corrupt`` (a row of the wrong length), ``log.tree_size`` (the tree
does not have the size the caller expects); NotFoundError ``log.node_missing``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Connection, Select, and_, bindparam, column, func, insert, or_, select, update

from adamas.errors import NotFoundError, StorageError
from adamas.log import HASH_SIZE, NodeId, Tile
from adamas.log.tiles import TILE_HEIGHT, TILE_WIDTH
from adamas.store.schema import events, log_tiles

__all__ = [
    "PARTS",
    "Growth",
    "StoredHashReader",
    "append_leaves",
    "backfill",
    "decode_tile",
    "encode_tile",
    "encoded_root",
    "fetch_rows",
    "locate",
    "node_offset",
    "read_hash_tile",
    "stored_size",
    "tile_parts",
]

PARTS: Final = TILE_HEIGHT
"""Tree levels per tile row: the tile's own hashes (h = 0) and the seven levels above them (h = 1..7)."""

Parts = list[list[bytes]]
TileNodes = Sequence[Sequence[bytes]]
"""The parts of a row, read-only (``tile_parts`` returns tuples, which the garbage collector untracks)."""


_sha256 = hashlib.sha256


def _node(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash (``adamas.log.node_hash`` without its length checks: every input here is
    a stored or freshly computed 32-byte hash)."""
    return _sha256(b"\x01" + left + right).digest()


def locate(level: int, index: int) -> tuple[int, int, int, int]:
    """Where stored hash ``(level, index)`` lives: ``(tile level, tile index, part h, slot in the part)``."""
    tile_level, height = divmod(level, TILE_HEIGHT)
    first = index << height  # the first tile hash the node spans
    return tile_level, first >> TILE_HEIGHT, height, (first & (TILE_WIDTH - 1)) >> height


@lru_cache(maxsize=TILE_WIDTH + 1)
def _offsets(width: int) -> tuple[int, ...]:
    """Start of each part (in hashes) in a row of ``width``; the last entry is the row's length."""
    out = [0]
    for height in range(PARTS):
        out.append(out[-1] + (width >> height))
    return tuple(out)


def encode_tile(parts: TileNodes) -> bytes:
    """The stored bytes of a row: its parts, concatenated in order of height."""
    return b"".join(itertools.chain.from_iterable(parts))


def decode_tile(width: int, data: bytes, *, where: str = "tile") -> Parts:
    """The parts of a stored row of ``width`` (refusing a row of the wrong length)."""
    offsets = _offsets(width)
    if not 1 <= width <= TILE_WIDTH or len(data) != offsets[-1] * HASH_SIZE:
        raise StorageError(
            f"stored {where} of width {width} has {len(data)} bytes, expected {offsets[-1] * HASH_SIZE}",
            code="log.tile_corrupt",
            expected=offsets[-1] * HASH_SIZE,
            actual=len(data),
        )
    return [
        [data[i : i + HASH_SIZE] for i in range(start * HASH_SIZE, end * HASH_SIZE, HASH_SIZE)]
        for start, end in itertools.pairwise(offsets)
    ]


def tile_parts(hashes: Sequence[bytes]) -> tuple[tuple[bytes, ...], ...]:
    """Every part of a row whose tile hashes are ``hashes``: the seven levels above them, recomputed."""
    sha256 = _sha256
    below = tuple(hashes)
    parts = [below]
    for _ in range(1, PARTS):
        pairs = iter(below)  # zip(pairs, pairs) walks consecutive pairs; an unpaired last is dropped
        below = tuple(
            [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        )
        parts.append(below)
    return tuple(parts)


def node_offset(width: int, height: int, slot: int) -> int:
    """Where node ``slot`` of part ``height`` starts in the stored bytes of a row of ``width``."""
    return (_offsets(width)[height] + slot) * HASH_SIZE


def encoded_root(data: bytes) -> bytes:
    """The root of a full tile from its stored bytes (the two nodes of its part 7, hashed)."""
    start = node_offset(TILE_WIDTH, PARTS - 1, 0)
    return _node(data[start : start + HASH_SIZE], data[start + HASH_SIZE : start + 2 * HASH_SIZE])


def tile_root(parts: TileNodes) -> bytes:
    """The hash of a full tile's whole subtree (the tile's entry in the level above)."""
    top = parts[-1]
    assert len(top) == 2, "only a full tile has a root"
    return _node(top[0], top[1])


def stored_size(conn: Connection) -> int:
    """The number of leaves the stored tree holds (the level-0 tiles' widths summed)."""
    total = conn.execute(
        select(func.coalesce(func.sum(log_tiles.c.width), 0)).where(log_tiles.c.level == 0)
    ).scalar_one()
    return int(total)


@lru_cache(maxsize=64)
def _rows_statement(count: int) -> Select[Any]:
    """SELECT of ``count`` rows by primary key, built and compiled once per count.

    An OR of key equalities is answered from the primary key index on every engine (a row-value ``IN``
    is not: SQLite scans the table for it).
    """
    return select(log_tiles.c.level, log_tiles.c.idx, log_tiles.c.width, log_tiles.c.hashes).where(
        or_(
            *(
                and_(log_tiles.c.level == bindparam(f"l{n}"), log_tiles.c.idx == bindparam(f"i{n}"))
                for n in range(count)
            )
        )
    )


def fetch_rows(conn: Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, bytes]]:
    """Rows ``(tile level, tile index) -> (width, stored bytes)`` in one query; absent rows are left out and
    a row whose length disagrees with its width is refused (``log.tile_corrupt``)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params = {}
    for n, (tile_level, tile_index) in enumerate(wanted):
        params[f"l{n}"] = tile_level
        params[f"i{n}"] = tile_index
    out = {}
    for row in conn.execute(_rows_statement(len(wanted)), params):
        tile_level, tile_index, width, data = int(row[0]), int(row[1]), int(row[2]), row[3]
        blob = bytes(data)
        if not 1 <= width <= TILE_WIDTH or len(blob) != _offsets(width)[-1] * HASH_SIZE:
            decode_tile(width, blob, where=f"tile {tile_level}/{tile_index}")  # raises log.tile_corrupt
        out[tile_level, tile_index] = (width, blob)
    return out


class StoredHashReader:
    """The ``HashReader`` port of ``adamas.log.tree`` over ``log_tiles``: one query per ``read_hashes``.

    Rows fetched are kept for the reader's life (pass ``cache=False`` to refetch each time); a kept row
    that is a partial tile is refetched when asked for a hash beyond its end, so a reader stays correct
    while the tree grows. Hashes are sliced straight out of the stored bytes.
    """

    def __init__(self, conn: Connection, *, cache: bool = True) -> None:
        self._conn = conn
        self._cache = cache
        self._rows: dict[tuple[int, int], tuple[int, bytes]] = {}

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """The stored hashes of ``ids``, in order; ``NotFoundError(code="log.node_missing")`` if one is not
        stored."""
        rows = self._rows
        places = [locate(level, index) for level, index in ids]
        wanted = {
            (tl, ti) for tl, ti, h, slot in places if (tl, ti) not in rows or slot >= rows[tl, ti][0] >> h
        }
        if wanted:
            rows.update(fetch_rows(self._conn, wanted))
        out = []
        for (level, index), (tl, ti, h, slot) in zip(ids, places, strict=True):
            width, blob = rows.get((tl, ti), (0, b""))
            if slot >= width >> h:
                raise NotFoundError(
                    f"no stored hash for node (level {level}, index {index})",
                    code="log.node_missing",
                    level=level,
                    index=index,
                )
            start = (_offsets(width)[h] + slot) * HASH_SIZE
            out.append(blob[start : start + HASH_SIZE])
        if not self._cache:
            rows.clear()
        return out

    def tile(self, tile_level: int, tile_index: int) -> Parts:
        """The parts of one stored row (``NotFoundError`` if absent)."""
        if (tile_level, tile_index) not in self._rows:
            self._rows.update(fetch_rows(self._conn, [(tile_level, tile_index)]))
        if (tile_level, tile_index) not in self._rows:
            raise NotFoundError(
                f"no stored tile at level {tile_level}, index {tile_index}",
                code="log.node_missing",
                level=tile_level,
                index=tile_index,
            )
        width, blob = self._rows[tile_level, tile_index]
        return decode_tile(width, blob, where=f"tile {tile_level}/{tile_index}")


def read_hash_tile(reader: StoredHashReader, tile: Tile) -> bytes:
    """The bytes of a tlog-tiles hash tile (any size up to the stored one): a prefix of the row's part 0."""
    part = reader.tile(tile.level, tile.index)[0]
    if len(part) < tile.width:
        raise NotFoundError(
            f"tile {tile.path} is beyond the stored tree",
            code="log.node_missing",
            level=tile.level,
            index=tile.index,
        )
    return b"".join(part[: tile.width])


@dataclass(frozen=True, eq=False)
class Growth:
    """What appending leaves ``[old_size, new_size)`` produced: the new root, and the levels of the tree of
    ``new_size`` over the new leaves, from which ``proof`` answers any new leaf's inclusion proof without
    reading the database (level ``l`` holds the nodes from index ``starts[l]`` to the end of the level)."""

    old_size: int
    new_size: int
    root: bytes
    starts: tuple[int, ...]
    levels: tuple[list[bytes], ...]

    def proof(self, index: int) -> tuple[bytes, ...]:
        """PATH(index, D[new_size]) for a new leaf (leaf side first): in the promoted-node construction,
        the sibling ``j ^ 1`` of the path's node ``j`` at each level where that sibling exists."""
        if not self.old_size <= index < self.new_size:
            raise NotFoundError(
                f"leaf {index} was not appended here", code="log.node_missing", level=0, index=index
            )
        out = []
        j = index
        for level in range(len(self.levels) - 1):
            sibling = j ^ 1
            if sibling < (self.new_size + (1 << level) - 1) >> level:
                out.append(self.levels[level][sibling - self.starts[level]])
            j >>= 1
        return tuple(out)


def _edge(conn: Connection, size: int) -> dict[tuple[int, int], Parts]:
    """The partial rows of a tree of ``size``: the only rows appending may change, and the home of every
    node of the old tree that a new node or a new leaf's proof needs (the perfect subtrees of ``size``'s
    binary decomposition)."""
    keys = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        if count % TILE_WIDTH:
            keys.append((level, count // TILE_WIDTH))
        level += 1
    if not keys:
        return {}
    rows = {
        key: decode_tile(width, blob, where=f"tile {key[0]}/{key[1]}")
        for key, (width, blob) in fetch_rows(conn, keys).items()
    }
    for tl, ti in keys:
        expected = (size >> (TILE_HEIGHT * tl)) % TILE_WIDTH
        if (tl, ti) not in rows or len(rows[tl, ti][0]) != expected:
            raise StorageError(
                f"the stored tree does not have {size} leaves (tile {tl}/{ti} should hold {expected} hashes)",
                code="log.tree_size",
                expected=size,
                level=tl,
                index=ti,
            )
    return rows


def append_leaves(conn: Connection, old_size: int, leaf_hashes: Sequence[bytes]) -> Growth:
    """Append ``leaf_hashes`` as leaves ``old_size...`` of the stored tree, in the caller's transaction.

    The new nodes are computed level by level over the new leaves only, as RFC 9162's tree is built when an
    unpaired last node is promoted unchanged: level ``l`` is kept from index ``s_l = (old_size >> l) & ~1``
    (the left sibling of the first new node, which is a perfect subtree of the old tree) to its end. Its
    complete nodes are the stored hashes the append creates; its top is the new root; and the path of each
    new leaf through these levels is its inclusion proof.
    """
    a = old_size
    b = old_size + len(leaf_hashes)
    if b == a:
        raise StorageError("nothing to append", code="log.tree_size", expected=a + 1, actual=a)
    edge = _edge(conn, a)

    def frontier(level: int, index: int) -> bytes:
        tl, ti, h, slot = locate(level, index)
        return edge[tl, ti][h][slot]

    # starts[l] = s_l; levels[l] = the nodes of level l from s_l to the end of the tree of size b.
    starts: list[int] = []
    levels: list[list[bytes]] = []
    start = a & ~1
    current = ([frontier(0, a - 1)] if a & 1 else []) + list(leaf_hashes)
    level = 0
    while True:
        starts.append(start)
        levels.append(current)
        if not (b - 1) >> level:
            break
        level += 1
        # s_{l-1} == 2 * (a >> l): the level below starts exactly at the children of node a >> l.
        start = (a >> level) & ~1
        paired = [_node(current[i], current[i + 1]) for i in range(0, len(current) - 1, 2)]
        if len(current) % 2:
            paired.append(current[-1])
        current = ([frontier(level, start)] if start < a >> level else []) + paired
    root = levels[-1][0]

    # The stored hashes created: at level l, the perfect nodes a >> l .. (b >> l) - 1, in their rows.
    rows: dict[tuple[int, int], Parts] = {key: [list(p) for p in parts] for key, parts in edge.items()}
    touched: set[tuple[int, int]] = set()
    for level, (start, nodes) in enumerate(zip(starts, levels, strict=True)):
        first, end = a >> level, b >> level
        if first == end:
            continue
        tl, height = divmod(level, TILE_HEIGHT)
        j = first
        while j < end:
            _, ti, _, slot = locate(level, j)
            stop = min(end, ((ti + 1) << TILE_HEIGHT) >> height)
            parts = rows.setdefault((tl, ti), [[] for _ in range(PARTS)])
            if len(parts[height]) != slot:
                raise StorageError(
                    f"stored tile {tl}/{ti} has {len(parts[height])} nodes at height {height}, "
                    f"expected {slot}",
                    code="log.tile_corrupt",
                )
            parts[height].extend(nodes[j - start : stop - start])
            touched.add((tl, ti))
            j = stop
    updates = [
        {"l": tl, "i": ti, "w": len(rows[tl, ti][0]), "h": encode_tile(rows[tl, ti])}
        for tl, ti in sorted(touched)
        if (tl, ti) in edge
    ]
    inserts = [
        {"level": tl, "idx": ti, "width": len(rows[tl, ti][0]), "hashes": encode_tile(rows[tl, ti])}
        for tl, ti in sorted(touched)
        if (tl, ti) not in edge
    ]
    if updates:
        conn.execute(
            update(log_tiles)
            .where(log_tiles.c.level == bindparam("l"), log_tiles.c.idx == bindparam("i"))
            .values(width=bindparam("w"), hashes=bindparam("h")),
            updates,
        )
    if inserts:
        conn.execute(insert(log_tiles), inserts)
    return Growth(a, b, root, tuple(starts), tuple(levels))


BACKFILL_CHUNK: Final = 16 * TILE_WIDTH


def backfill(conn: Connection) -> int:
    """Build the stored tree over the events already in ``events`` (the version 1 -> 2 migration).

    Each leaf hash is recomputed from the stored envelope and must equal the ``leaf_hash`` column that
    version 1 stored (dropped by version 6): the tree commits to the envelopes, not to a column that could
    have been altered. Returns the tree size.
    """
    size = stored_size(conn)
    while True:
        rows = conn.execute(
            select(events.c.seq, events.c.envelope, column("leaf_hash"))
            .select_from(events)
            .where(events.c.seq >= size)
            .order_by(events.c.seq)
            .limit(BACKFILL_CHUNK)
        ).all()
        if not rows:
            break
        hashes: list[bytes] = []
        for row in rows:
            index = size + len(hashes)
            if row.seq != index:
                raise StorageError(
                    f"leaf {index} is missing from the stored events",
                    code="storage.missing_event",
                    index=index,
                )
            digest = _sha256(b"\x00" + bytes(row.envelope)).digest()
            if digest != bytes(row.leaf_hash):
                raise StorageError(
                    f"stored event at leaf {index} does not hash to its recorded leaf hash",
                    code="storage.corrupt_event",
                    index=index,
                )
            hashes.append(digest)
        append_leaves(conn, size, hashes)
        size += len(hashes)
    return size
