"""C2SP tlog-tiles@v0.1.0: the Merkle tree served as immutable tiles, and entry bundles.

A tile at level L, index N holds the stored hashes ``(8 * L, N * 256 + i)`` for i < W (W = 256 for a full
tile): level-0 tiles hold leaf hashes, and each hash at level L is the root of a full tile at level L - 1.
Entry bundles hold the raw entries whose leaf hashes make up the level-0 tile of the same index.

Invariants:
- tile height is 8; a full tile is 256 hashes (8,192 bytes); a partial tile has 1..255 hashes, exists only as
  the rightmost tile of its level, and is never hashed into the level above;
- a path is ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` with N in zero-padded 3-digit elements,
  all but the last prefixed by ``x`` (1234067 -> ``x001/x234/067``); ``parse_tile_path`` accepts only the
  one canonical spelling of each tile, so a path names exactly one resource;
- ``TileHashReader`` serves the ``HashReader`` port from tiles and recomputes the nodes between tile levels;
  it does not authenticate tiles: proofs and roots built from it must be checked against a verified
  checkpoint (a forged tile then fails that check);
- an entry is at most 65,535 bytes (its big-endian uint16 length prefix); a bundle holds 1..256 entries.

Error codes, InputError: ``log.tile`` (bad tile coordinates), ``log.tile_path``, ``log.tile_size``,
``log.entry_too_large``, ``log.entry_bundle``, ``log.size_order``. NotFoundError: ``log.node_missing``.
VerificationError: ``log.entry_mismatch``. StorageError: ``log.reader_mismatch``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from adamas.errors import InputError, NotFoundError, VerificationError
from adamas.log.hashing import HASH_SIZE, leaf_hash
from adamas.log.tree import HashReader, NodeId, read_checked, root_from_leaf_hashes

__all__ = [
    "ENTRIES",
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "TileFetcher",
    "TileHashReader",
    "build_tile",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "encode_tile_index",
    "entry_bundles_for_size",
    "new_tiles",
    "parse_tile_path",
    "tile_hashes",
    "tile_node_ids",
    "tiles_for_size",
    "verify_entry_bundle",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
# The level of entry bundles, which share the index and width scheme of level-0 tiles.
ENTRIES = -1

_LENGTH_PREFIX = 2
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_INNER_ELEMENT = re.compile(r"x[0-9]{3}")
_LAST_ELEMENT = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` of ``level`` with ``width`` hashes (or entries, when ``level`` is ``ENTRIES``)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not ENTRIES <= self.level <= MAX_TILE_LEVEL:
            raise InputError(
                f"tile level must be between 0 and {MAX_TILE_LEVEL} (or ENTRIES)",
                code="log.tile",
                field="level",
                actual=self.level,
            )
        if self.index < 0:
            raise InputError("tile index must not be negative", code="log.tile", field="index")
        if not 1 <= self.width <= TILE_WIDTH:
            raise InputError(
                f"tile width must be between 1 and {TILE_WIDTH}",
                code="log.tile",
                field="width",
                actual=self.width,
            )

    @property
    def is_entry_bundle(self) -> bool:
        """Whether this names an entry bundle rather than a hash tile."""
        return self.level == ENTRIES

    @property
    def is_partial(self) -> bool:
        """Whether the tile holds fewer than 256 hashes (it is then the rightmost of its level)."""
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
        level = "entries" if self.is_entry_bundle else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{level}/{encode_tile_index(self.index)}{suffix}"


class TileFetcher(Protocol):
    """Returns the bytes served at a tile path: from a dict, a directory, object storage or HTTP."""

    def fetch(self, path: str) -> bytes: ...


def encode_tile_index(index: int) -> str:
    """N as zero-padded 3-digit path elements, all but the last prefixed with ``x``."""
    if index < 0:
        raise InputError("tile index must not be negative", code="log.tile", field="index")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + group for group in groups[:-1]), groups[-1]])


def parse_tile_path(path: str) -> Tile:
    """The tile a path names; only canonical paths (the ones ``Tile.path`` produces) are accepted."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise _bad_path(path, "it must start with tile/<L>/ or tile/entries/")
    level_text, elements = parts[1], parts[2:]
    if level_text == "entries":
        level = ENTRIES
    elif _LEVEL.fullmatch(level_text) and int(level_text) <= MAX_TILE_LEVEL:
        level = int(level_text)
    else:
        raise _bad_path(path, f"level {level_text!r} is not a decimal between 0 and {MAX_TILE_LEVEL}")
    width = TILE_WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        if not _WIDTH.fullmatch(elements[-1]) or int(elements[-1]) >= TILE_WIDTH:
            raise _bad_path(path, f"partial width {elements[-1]!r} is not a decimal between 1 and 255")
        width = int(elements[-1])
        elements = [*elements[:-2], elements[-2][: -len(".p")]]
    *inner, last = elements
    if not all(_INNER_ELEMENT.fullmatch(e) for e in inner) or not _LAST_ELEMENT.fullmatch(last):
        raise _bad_path(path, "the index must be 3-digit elements, all but the last prefixed with 'x'")
    tile = Tile(level, int("".join(e.lstrip("x") for e in elements)), width)
    if tile.path != path:
        # For example x000/067 for 067: the same tile, spelled another way.
        raise _bad_path(path, f"the canonical path of this tile is {tile.path!r}")
    return tile


def tiles_for_size(size: int) -> list[Tile]:
    """Every hash tile, full and partial, of a tree of ``size`` leaves, level by level."""
    return list(new_tiles(0, size))


def entry_bundles_for_size(size: int) -> list[Tile]:
    """Every entry bundle, full and partial, of a tree of ``size`` leaves."""
    return [Tile(ENTRIES, tile.index, tile.width) for tile in tiles_for_size(size) if tile.level == 0]


def new_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """The hash tiles that exist at ``new_size`` but not at ``old_size``: what growing the tree publishes."""
    if not 0 <= old_size <= new_size:
        raise InputError(
            f"old size {old_size} must be between 0 and the new size {new_size}",
            code="log.size_order",
            field="old_size",
        )
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        # At level L the tiles hold floor(size / 256**L) hashes: full tiles of 256, then a partial rest.
        old_count = old_size >> (TILE_HEIGHT * level)
        new_count = new_size >> (TILE_HEIGHT * level)
        for index in range(old_count // TILE_WIDTH, new_count // TILE_WIDTH):
            yield Tile(level, index)
        if new_count % TILE_WIDTH and new_count != old_count:
            yield Tile(level, new_count // TILE_WIDTH, new_count % TILE_WIDTH)
        level += 1


def tile_node_ids(tile: Tile) -> list[NodeId]:
    """The stored hashes a hash tile is made of, in order."""
    if tile.is_entry_bundle:
        raise InputError("an entry bundle holds entries, not hashes", code="log.tile", field="level")
    first = tile.index * TILE_WIDTH
    return [(TILE_HEIGHT * tile.level, first + i) for i in range(tile.width)]


def build_tile(tile: Tile, reader: HashReader) -> bytes:
    """The bytes of a hash tile: its hashes concatenated."""
    return b"".join(read_checked(reader, tile_node_ids(tile)))


def tile_hashes(tile: Tile, data: bytes) -> list[bytes]:
    """Split the bytes of a hash tile into its hashes; the length must be exactly width * 32."""
    if tile.is_entry_bundle:
        raise InputError("an entry bundle holds entries, not hashes", code="log.tile", field="level")
    if len(data) != tile.width * HASH_SIZE:
        raise InputError(
            f"tile {tile.path} must be {tile.width * HASH_SIZE} bytes, got {len(data)}",
            code="log.tile_size",
            field="data",
            expected=tile.width * HASH_SIZE,
            actual=len(data),
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


class TileHashReader:
    """A ``HashReader`` over the tiles of a tree of ``size`` leaves, fetched once each and kept.

    The nodes between tile levels (levels not a multiple of 8) are recomputed from the tile below them.
    """

    def __init__(self, size: int, fetcher: TileFetcher) -> None:
        self._size = size
        self._fetcher = fetcher
        self._tiles: dict[Tile, list[bytes]] = {}

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """The hashes of ``ids``; ``NotFoundError(code="log.node_missing")`` if one is not in the tree."""
        return [self._read_one(level, index) for level, index in ids]

    def _read_one(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self._size:
            raise NotFoundError(
                f"node (level {level}, index {index}) is not complete in a tree of size {self._size}",
                code="log.node_missing",
                level=level,
                index=index,
                size=self._size,
            )
        tile_level, height = divmod(level, TILE_HEIGHT)
        # The node spans 2**height consecutive hashes of a tile at tile_level.
        first = index << height
        tile_index, position = divmod(first, TILE_WIDTH)
        count = (self._size >> (TILE_HEIGHT * tile_level)) - tile_index * TILE_WIDTH
        hashes = self._tile(Tile(tile_level, tile_index, min(count, TILE_WIDTH)))
        return root_from_leaf_hashes(hashes[position : position + (1 << height)])

    def _tile(self, tile: Tile) -> list[bytes]:
        if tile not in self._tiles:
            self._tiles[tile] = tile_hashes(tile, self._fetcher.fetch(tile.path))
        return self._tiles[tile]


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """1..256 entries, each prefixed by its length as a big-endian uint16."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise InputError(
            f"an entry bundle holds 1 to {TILE_WIDTH} entries, got {len(entries)}",
            code="log.entry_bundle",
            field="entries",
            actual=len(entries),
        )
    out = bytearray()
    for number, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise InputError(
                f"entry {number} is {len(entry)} bytes; a bundle entry holds at most {MAX_ENTRY_SIZE}",
                code="log.entry_too_large",
                field=f"entries[{number}]",
                expected=MAX_ENTRY_SIZE,
                actual=len(entry),
            )
        out += len(entry).to_bytes(_LENGTH_PREFIX, "big") + entry
    return bytes(out)


def decode_entry_bundle(data: bytes, *, width: int | None = None) -> list[bytes]:
    """The entries of a bundle; with ``width``, the bundle must hold exactly that many."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + _LENGTH_PREFIX > len(data):
            raise _bad_bundle(f"truncated length prefix at offset {offset}")
        length = int.from_bytes(data[offset : offset + _LENGTH_PREFIX], "big")
        offset += _LENGTH_PREFIX
        if offset + length > len(data):
            raise _bad_bundle(f"entry {len(entries)} needs {length} bytes, {len(data) - offset} left")
        entries.append(data[offset : offset + length])
        offset += length
        if len(entries) > TILE_WIDTH:
            raise _bad_bundle(f"more than {TILE_WIDTH} entries")
    if not entries:
        raise _bad_bundle("empty bundles are never served")
    if width is not None and len(entries) != width:
        raise InputError(
            f"entry bundle holds {len(entries)} entries, expected {width}",
            code="log.entry_bundle",
            field="width",
            expected=width,
            actual=len(entries),
        )
    return entries


def verify_entry_bundle(bundle: bytes, tile: bytes) -> list[bytes]:
    """Check that each entry of ``bundle`` hashes to the same position of the level-0 ``tile``; return them.

    "Each entry in a bundle hashes to the corresponding entry in the corresponding level 0 tile."
    """
    entries = decode_entry_bundle(bundle)
    hashes = tile_hashes(Tile(0, 0, len(entries)), tile)
    for number, (entry, expected) in enumerate(zip(entries, hashes, strict=True)):
        actual = leaf_hash(entry)
        if not hmac.compare_digest(actual, expected):
            raise VerificationError(
                f"entry {number} does not hash to the tile's leaf hash",
                code="log.entry_mismatch",
                field=f"entries[{number}]",
                expected=expected.hex(),
                actual=actual.hex(),
            )
    return entries


def _bad_path(path: str, reason: str) -> InputError:
    return InputError(f"bad tile path {path!r}: {reason}", code="log.tile_path", field="path", actual=path)


def _bad_bundle(reason: str) -> InputError:
    return InputError(f"malformed entry bundle: {reason}", code="log.entry_bundle", field="data")
