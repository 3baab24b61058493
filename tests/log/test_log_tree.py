"""Tree hashing, proof generation from stored perfect-subtree hashes, and the properties every proof keeps."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adamas.errors import AdamasError, InputError, NotFoundError, StorageError
from adamas.log import (
    EMPTY_ROOT,
    MemoryHashStore,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_node_hashes,
    node_hash,
    root_from_leaf_hashes,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_witness_consistency,
)


def _leaves(count: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(count)]


def _reference_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH exactly as RFC 9162 section 2.1.1 writes it, recursively, as an independent oracle."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(_reference_mth(hashes[:k]), _reference_mth(hashes[k:]))


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


class CountingReader:
    """Wraps a store and records every read_hashes call, to pin down what proof generation reads."""

    def __init__(self, store: MemoryHashStore) -> None:
        self.store = store
        self.calls: list[list[NodeId]] = []

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        self.calls.append(list(ids))
        return self.store.read_hashes(ids)


class ShortReader:
    """A broken storage port that drops the last hash or truncates one."""

    def __init__(self, store: MemoryHashStore, *, truncate: bool) -> None:
        self.store = store
        self.truncate = truncate

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        hashes = self.store.read_hashes(ids)
        return [h[:-1] for h in hashes] if self.truncate else hashes[:-1]


trees = st.integers(min_value=1, max_value=300).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, 2**16))
)


@settings(max_examples=60, deadline=None)
@given(trees, st.data())
def test_every_inclusion_proof_verifies_and_any_flipped_bit_is_refused(
    tree: tuple[int, int, int], data: st.DataObject
) -> None:
    size, index, salt = tree
    leaves = _leaves(size, salt)
    store = MemoryHashStore.from_leaf_hashes(leaves)
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(index, size, store)
    verify_inclusion(leaves[index], index, size, proof, root)

    # Flip one bit anywhere in the proof, the leaf hash or the root: the proof must no longer verify.
    target = data.draw(st.sampled_from(["proof", "leaf", "root"] if proof else ["leaf", "root"]))
    bit = data.draw(st.integers(0, 255))
    leaf, bad_proof, bad_root = leaves[index], list(proof), root
    if target == "proof":
        position = data.draw(st.integers(0, len(proof) - 1))
        bad_proof[position] = _flip(proof[position], bit)
    elif target == "leaf":
        leaf = _flip(leaf, bit)
    else:
        bad_root = _flip(root, bit)
    with pytest.raises(AdamasError):
        verify_inclusion(leaf, index, size, bad_proof, bad_root)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))), st.data())
def test_consistency_holds_for_any_prefix_and_forgeries_are_refused(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    old, new = sizes
    leaves = _leaves(new)
    store = MemoryHashStore.from_leaf_hashes(leaves)
    old_root, new_root = root_from_leaf_hashes(leaves[:old]), root_from_leaf_hashes(leaves)
    proof = consistency_proof(old, new, store)
    verify_consistency(old, new, proof, old_root, new_root)

    bit = data.draw(st.integers(0, 255))
    with pytest.raises(AdamasError):
        verify_consistency(old, new, proof, _flip(old_root, bit), new_root)
    with pytest.raises(AdamasError):
        verify_consistency(old, new, proof, old_root, _flip(new_root, bit))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        forged = list(proof)
        forged[position] = _flip(proof[position], bit)
        with pytest.raises(AdamasError):
            verify_consistency(old, new, forged, old_root, new_root)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**16))
def test_tree_root_from_stored_nodes_equals_the_rfc_definition(size: int, salt: int) -> None:
    leaves = _leaves(size, salt)
    store = MemoryHashStore.from_leaf_hashes(leaves)
    expected = _reference_mth(leaves)
    assert root_from_leaf_hashes(leaves) == expected
    assert tree_root(size, store) == expected
    # Every prefix root can still be computed after the tree has grown past it.
    cut = size // 2
    assert tree_root(cut, store) == _reference_mth(leaves[:cut])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.integers(1, n), st.just(n))))
def test_proof_generation_reads_logarithmically_many_hashes_in_one_call(sizes: tuple[int, int, int]) -> None:
    index, old, size = sizes
    reader = CountingReader(MemoryHashStore.from_leaf_hashes(_leaves(size)))
    inclusion_proof(index, size, reader)
    consistency_proof(old, size, reader)
    tree_root(size, reader)
    assert len(reader.calls) <= 3
    for ids in reader.calls:
        assert len(ids) <= 2 * size.bit_length()
        # Only perfect subtrees that exist at this size are ever asked for.
        assert all((i + 1) << level <= size for level, i in ids)


def test_new_node_hashes_are_exactly_the_completed_perfect_subtrees() -> None:
    store = MemoryHashStore.from_leaf_hashes(_leaves(7))
    new_leaf = leaf_hash(b"eighth")
    rows = new_node_hashes(7, new_leaf, store)
    # Leaf 7 (binary 111) completes the pair (6, 7), the quad 4..7 and the whole tree of 8.
    assert [node for node, _ in rows] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert rows[-1][1] == _reference_mth([*_leaves(7), new_leaf])
    assert store.append(new_leaf) == rows


@pytest.mark.parametrize("size_before", [0, 2, 4, 6, 100])
def test_appending_at_an_even_size_stores_only_the_leaf(size_before: int) -> None:
    store = MemoryHashStore.from_leaf_hashes(_leaves(size_before))
    assert [node for node, _ in store.append(leaf_hash(b"x"))] == [(0, size_before)]


def test_store_rows_replayed_into_a_dict_serve_the_same_proofs() -> None:
    # What the ledger does: persist only the rows new_node_hashes returns, then serve proofs from them.
    rows: dict[NodeId, bytes] = {}

    class DictReader:
        def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
            return [rows[node] for node in ids]

    reader = DictReader()
    leaves = _leaves(77)
    for size, leaf in enumerate(leaves):
        rows.update(new_node_hashes(size, leaf, reader))
    assert len(rows) == 2 * 77 - bin(77).count("1")
    assert tree_root(77, reader) == _reference_mth(leaves)
    verify_inclusion(leaves[40], 40, 77, inclusion_proof(40, 77, reader), _reference_mth(leaves))


def test_empty_tree_root_is_the_empty_root() -> None:
    assert tree_root(0, MemoryHashStore()) == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


def test_consistency_proof_from_size_zero_is_empty_and_passes_the_witness_check() -> None:
    leaves = _leaves(5)
    store = MemoryHashStore.from_leaf_hashes(leaves)
    assert consistency_proof(0, 5, store) == []
    verify_witness_consistency(0, 5, [], EMPTY_ROOT, root_from_leaf_hashes(leaves))


@pytest.mark.parametrize(
    ("call", "code"),
    [
        pytest.param(lambda s: inclusion_proof(5, 5, s), "log.index_out_of_range", id="index-equal-size"),
        pytest.param(lambda s: inclusion_proof(-1, 5, s), "log.index_out_of_range", id="negative-index"),
        pytest.param(lambda s: inclusion_proof(0, 0, s), "log.index_out_of_range", id="empty-tree"),
        pytest.param(lambda s: consistency_proof(4, 3, s), "log.size_order", id="old-after-new"),
        pytest.param(lambda s: consistency_proof(-1, 3, s), "log.size_order", id="negative-old"),
        pytest.param(lambda s: tree_root(-1, s), "log.size_order", id="negative-size"),
        pytest.param(lambda s: new_node_hashes(5, b"short", s), "log.hash_length", id="short-leaf"),
        pytest.param(
            lambda s: new_node_hashes(-1, bytes(32), s), "log.size_order", id="negative-size-before"
        ),
        pytest.param(lambda s: root_from_leaf_hashes([bytes(31)]), "log.hash_length", id="short-leaf-hash"),
    ],
)
def test_bad_generation_request_is_refused(call: Callable[[MemoryHashStore], object], code: str) -> None:
    store = MemoryHashStore.from_leaf_hashes(_leaves(5))
    with pytest.raises(InputError) as caught:
        call(store)
    assert caught.value.code == code


def test_asking_beyond_the_stored_tree_reports_the_missing_node() -> None:
    store = MemoryHashStore.from_leaf_hashes(_leaves(5))
    with pytest.raises(NotFoundError) as caught:
        inclusion_proof(3, 9, store)
    assert caught.value.code == "log.node_missing"


@pytest.mark.parametrize("truncate", [False, True], ids=["dropped-hash", "truncated-hash"])
def test_reader_returning_the_wrong_hashes_is_a_storage_error(truncate: bool) -> None:
    reader = ShortReader(MemoryHashStore.from_leaf_hashes(_leaves(13)), truncate=truncate)
    with pytest.raises(StorageError) as caught:
        inclusion_proof(4, 13, reader)
    assert caught.value.code == "log.reader_mismatch"
