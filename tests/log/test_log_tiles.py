"""tlog-tiles: paths, which tiles exist, tiles rebuilt into the same tree, and entry bundles."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adamas.errors import InputError, NotFoundError, VerificationError
from adamas.log import (
    MemoryHashStore,
    Tile,
    TileHashReader,
    build_tile,
    consistency_proof,
    decode_entry_bundle,
    encode_entry_bundle,
    entry_bundles_for_size,
    inclusion_proof,
    leaf_hash,
    new_tiles,
    parse_tile_path,
    root_from_leaf_hashes,
    tile_hashes,
    tiles_for_size,
    tree_root,
    verify_entry_bundle,
)
from adamas.log.tiles import ENTRIES, MAX_ENTRY_SIZE, encode_tile_index, tile_node_ids


class DictFetcher:
    """Tiles served from a dict: the same port a directory or HTTP client implements."""

    def __init__(self, tiles: dict[str, bytes]) -> None:
        self.tiles = tiles
        self.fetched: list[str] = []

    def fetch(self, path: str) -> bytes:
        self.fetched.append(path)
        return self.tiles[path]


@cache
def _entries(count: int) -> tuple[bytes, ...]:
    return tuple(f"entry {i}".encode() for i in range(count))


@cache
def _store(count: int) -> MemoryHashStore:
    return MemoryHashStore.from_leaf_hashes(leaf_hash(e) for e in _entries(count))


def _publish(size: int, store: MemoryHashStore) -> dict[str, bytes]:
    return {tile.path: build_tile(tile, store) for tile in tiles_for_size(size)}


@pytest.mark.parametrize(
    ("index", "encoded"),
    [
        (0, "000"),
        (67, "067"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_tile_index_is_written_in_x_prefixed_3_digit_elements(index: int, encoded: str) -> None:
    assert encode_tile_index(index) == encoded


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 1234067), "tile/0/x001/x234/067"),
        (Tile(1, 0, 17), "tile/1/000.p/17"),
        (Tile(2, 0, 1), "tile/2/000.p/1"),
        (Tile(63, 5), "tile/63/005"),
        (Tile(ENTRIES, 1234067), "tile/entries/x001/x234/067"),
        (Tile(ENTRIES, 273, 112), "tile/entries/273.p/112"),
    ],
)
def test_tile_path_round_trips(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert parse_tile_path(path) == tile


BAD_PATHS = [
    "tile/0/67",
    "tile/0/0067",
    "tile/0/x067",
    "tile/0/x000/067",
    "tile/0/001/234",
    "tile/01/000",
    "tile/64/000",
    "tile/-1/000",
    "tile/0/000.p/256",
    "tile/0/000.p/0",
    "tile/0/000.p/07",
    "tile/0/000.p",
    "tile/0/000.p/",
    "tile/0/x001.p/5/000",
    "tile/0/",
    "tile/0",
    "tiles/0/000",
    "/tile/0/000",
    "tile/data/000",
    "tile/8/data/000",
    "tile/0/000/",
    "tile/0/٠٠٠",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_non_canonical_or_malformed_tile_path_is_refused(path: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_tile_path(path)
    assert caught.value.code == "log.tile_path"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"level": 64, "index": 0},
        {"level": -2, "index": 0},
        {"level": 0, "index": -1},
        {"level": 0, "index": 0, "width": 0},
    ],
)
def test_impossible_tile_cannot_be_built(kwargs: dict[str, int]) -> None:
    with pytest.raises(InputError) as caught:
        Tile(**kwargs)
    assert caught.value.code == "log.tile"


def test_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = tiles_for_size(70_000)
    full_level_0 = [t for t in tiles if t.level == 0 and not t.is_partial]
    assert len(full_level_0) == 273
    assert [t for t in tiles if t.is_partial] == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert [t for t in tiles if t.level == 1 and not t.is_partial] == [Tile(1, 0)]
    assert len(tiles) == 273 + 1 + 1 + 1 + 1


def test_tree_of_256_has_a_full_tile_and_a_partial_level_1_tile() -> None:
    assert tiles_for_size(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert entry_bundles_for_size(257) == [Tile(ENTRIES, 0), Tile(ENTRIES, 1, 1)]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 200_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_new_tiles_are_exactly_those_that_did_not_exist_before(sizes: tuple[int, int]) -> None:
    old, new = sizes
    assert set(new_tiles(old, new)) == set(tiles_for_size(new)) - set(tiles_for_size(old))


def test_new_tiles_refuses_a_shrinking_tree() -> None:
    with pytest.raises(InputError) as caught:
        list(new_tiles(10, 9))
    assert caught.value.code == "log.size_order"


@pytest.mark.parametrize("size", [1, 7, 255, 256, 257, 511, 512, 1000, 65_536, 70_000])
def test_tiles_rebuild_the_same_tree(size: int) -> None:
    store = _store(70_000)
    fetcher = DictFetcher(_publish(size, store))
    reader = TileHashReader(size, fetcher)
    expected_root = root_from_leaf_hashes([leaf_hash(e) for e in _entries(size)])
    assert tree_root(size, reader) == expected_root
    for index in {0, size // 3, size - 1}:
        assert inclusion_proof(index, size, reader) == inclusion_proof(index, size, store)
    for old in {1, size // 2 or 1, size - 1 or 1}:
        assert consistency_proof(old, size, reader) == consistency_proof(old, size, store)
    # Each tile is fetched once, however many nodes are read from it.
    assert len(fetcher.fetched) == len(set(fetcher.fetched))


def test_tile_hashes_are_the_stored_nodes_of_their_level() -> None:
    store = _store(1000)
    tile = Tile(1, 0, 3)
    hashes = tile_hashes(tile, build_tile(tile, store))
    assert tile_node_ids(tile) == [(8, 0), (8, 1), (8, 2)]
    assert hashes[1] == root_from_leaf_hashes([leaf_hash(e) for e in _entries(512)[256:512]])


def test_tile_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        tile_hashes(Tile(0, 0, 3), bytes(32 * 3 + 1))
    assert caught.value.code == "log.tile_size"
    assert caught.value.context == {"expected": 96, "actual": 97}


def test_tile_reader_refuses_nodes_beyond_its_tree() -> None:
    reader = TileHashReader(300, DictFetcher(_publish(300, _store(300))))
    with pytest.raises(NotFoundError) as caught:
        reader.read_hashes([(8, 1)])
    assert caught.value.code == "log.node_missing"


def test_tiles_are_not_hashes_of_entry_bundles() -> None:
    with pytest.raises(InputError) as caught:
        tile_node_ids(Tile(ENTRIES, 0))
    assert caught.value.code == "log.tile"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=256))
def test_entry_bundle_round_trips(entries: list[bytes]) -> None:
    bundle = encode_entry_bundle(entries)
    assert decode_entry_bundle(bundle, width=len(entries)) == entries


def test_largest_entry_fits_and_one_byte_more_does_not() -> None:
    biggest = bytes(MAX_ENTRY_SIZE)
    assert decode_entry_bundle(encode_entry_bundle([biggest])) == [biggest]
    with pytest.raises(InputError) as caught:
        encode_entry_bundle([b"ok", bytes(MAX_ENTRY_SIZE + 1)])
    assert (caught.value.code, caught.value.field) == ("log.entry_too_large", "entries[1]")


@pytest.mark.parametrize("count", [0, 257])
def test_bundle_must_hold_1_to_256_entries(count: int) -> None:
    with pytest.raises(InputError) as caught:
        encode_entry_bundle([b"x"] * count)
    assert caught.value.code == "log.entry_bundle"


BAD_BUNDLES = [
    pytest.param(b"", None, id="empty"),
    pytest.param(b"\x00", None, id="half-length-prefix"),
    pytest.param(b"\x00\x05abc", None, id="truncated-entry"),
    pytest.param(b"\x00\x01a\x00", None, id="trailing-byte"),
    pytest.param(b"\x00\x00" * 257, None, id="257-entries"),
    pytest.param(b"\x00\x01a\x00\x01b", 3, id="fewer-than-width"),
]


@pytest.mark.parametrize(("data", "width"), BAD_BUNDLES)
def test_malformed_entry_bundle_is_refused(data: bytes, width: int | None) -> None:
    with pytest.raises(InputError) as caught:
        decode_entry_bundle(data, width=width)
    assert caught.value.code == "log.entry_bundle"


def test_entry_bundle_matches_its_level_0_tile() -> None:
    entries = list(_entries(300))
    store = _store(300)
    bundle = encode_entry_bundle(entries[256:300])
    tile = build_tile(Tile(0, 1, 44), store)
    assert verify_entry_bundle(bundle, tile) == entries[256:300]


def test_substituted_entry_is_refused_against_its_tile() -> None:
    entries = list(_entries(300))
    tile = build_tile(Tile(0, 1, 44), _store(300))
    entries[260] = b"substituted"
    with pytest.raises(VerificationError) as caught:
        verify_entry_bundle(encode_entry_bundle(entries[256:300]), tile)
    assert (caught.value.code, caught.value.field) == ("log.entry_mismatch", "entries[4]")
