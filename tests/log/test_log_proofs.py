"""Proof verification: precise errors with expected and actual values, and the size-0 policy (ADR 0002)."""

from __future__ import annotations

from typing import Any

import pytest

from adamas.errors import InputError, VerificationError
from adamas.log import (
    EMPTY_ROOT,
    MemoryHashStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_witness_consistency,
)
from adamas.log.proofs import consistency_proof_size, inclusion_proof_size

LEAVES = [leaf_hash(bytes([i])) for i in range(11)]
STORE = MemoryHashStore.from_leaf_hashes(LEAVES)
ROOT = {size: tree_root(size, STORE) for size in range(12)}
PATH_3_OF_11 = inclusion_proof(3, 11, STORE)
PATH_6_TO_11 = consistency_proof(6, 11, STORE)


def test_wrong_root_reports_trusted_and_computed_roots() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_inclusion(LEAVES[3], 3, 11, PATH_3_OF_11, ROOT[10])
    error = caught.value
    assert (error.code, error.field) == ("log.root_mismatch", "root")
    assert error.context == {"expected": ROOT[10].hex(), "actual": ROOT[11].hex()}


def test_root_from_inclusion_proof_is_the_root_the_proof_implies() -> None:
    assert root_from_inclusion_proof(LEAVES[3], 3, 11, PATH_3_OF_11) == ROOT[11]


@pytest.mark.parametrize(
    ("proof", "expected"),
    [
        pytest.param(PATH_3_OF_11[:-1], len(PATH_3_OF_11), id="truncated"),
        pytest.param([*PATH_3_OF_11, ROOT[11]], len(PATH_3_OF_11), id="extended"),
    ],
)
def test_inclusion_proof_of_wrong_length_reports_both_lengths(proof: list[bytes], expected: int) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_inclusion(LEAVES[3], 3, 11, proof, ROOT[11])
    assert caught.value.code == "log.proof_length"
    assert caught.value.context == {"expected": expected, "actual": len(proof)}


INCLUSION_INPUT_ERRORS: list[Any] = [
    pytest.param(
        (LEAVES[3][:31], 3, 11, PATH_3_OF_11, ROOT[11]), "log.hash_length", "leaf_hash", id="short-leaf"
    ),
    pytest.param(
        (LEAVES[3], 3, 11, PATH_3_OF_11, ROOT[11] + b"\0"), "log.hash_length", "root", id="long-root"
    ),
    pytest.param(
        (LEAVES[3], 3, 11, [b"", *PATH_3_OF_11], ROOT[11]), "log.hash_length", "proof[0]", id="empty-elt"
    ),
    pytest.param(
        (LEAVES[3], 11, 11, PATH_3_OF_11, ROOT[11]), "log.index_out_of_range", "index", id="index=size"
    ),
    pytest.param(
        (LEAVES[3], -1, 11, PATH_3_OF_11, ROOT[11]), "log.index_out_of_range", "index", id="negative"
    ),
    pytest.param((LEAVES[0], 0, 0, [], EMPTY_ROOT), "log.index_out_of_range", "index", id="empty-tree"),
]


@pytest.mark.parametrize(("args", "code", "field"), INCLUSION_INPUT_ERRORS)
def test_malformed_inclusion_input_is_refused_as_input(
    args: tuple[bytes, int, int, list[bytes], bytes], code: str, field: str
) -> None:
    with pytest.raises(InputError) as caught:
        verify_inclusion(*args)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_forged_old_root_is_refused_with_the_recomputed_root() -> None:
    forged = leaf_hash(b"forged")
    with pytest.raises(VerificationError) as caught:
        verify_consistency(6, 11, PATH_6_TO_11, forged, ROOT[11])
    assert (caught.value.code, caught.value.field) == ("log.root_mismatch", "old_root")
    assert caught.value.context == {"expected": forged.hex(), "actual": ROOT[6].hex()}


def test_forged_new_root_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_consistency(6, 11, PATH_6_TO_11, ROOT[6], ROOT[10])
    assert (caught.value.code, caught.value.field) == ("log.root_mismatch", "new_root")


def test_equal_sizes_need_an_empty_proof_and_equal_roots() -> None:
    verify_consistency(7, 7, [], ROOT[7], ROOT[7])
    with pytest.raises(VerificationError) as caught:
        verify_consistency(7, 7, [ROOT[7]], ROOT[7], ROOT[7])
    assert caught.value.code == "log.proof_length"
    with pytest.raises(VerificationError) as caught:
        verify_consistency(7, 7, [], ROOT[7], ROOT[6])
    assert caught.value.code == "log.root_mismatch"


def test_consistency_from_size_zero_is_refused_by_the_strict_check() -> None:
    with pytest.raises(InputError) as caught:
        verify_consistency(0, 11, [], EMPTY_ROOT, ROOT[11])
    assert (caught.value.code, caught.value.field) == ("log.old_size_zero", "old_size")


@pytest.mark.parametrize(("old", "new"), [(5, 4), (-1, 3), (1, 0)])
def test_shrinking_tree_is_refused(old: int, new: int) -> None:
    with pytest.raises(InputError) as caught:
        verify_consistency(old, new, [], ROOT[1], ROOT[1])
    assert caught.value.code == "log.size_order"


@pytest.mark.parametrize("new", [0, 1, 11])
def test_witness_accepts_old_size_zero_with_an_empty_proof(new: int) -> None:
    verify_witness_consistency(0, new, [], EMPTY_ROOT, ROOT[new])


def test_witness_refuses_a_proof_from_size_zero() -> None:
    with pytest.raises(VerificationError) as caught:
        verify_witness_consistency(0, 11, [ROOT[1]], EMPTY_ROOT, ROOT[11])
    assert caught.value.code == "log.proof_length"
    assert caught.value.context == {"expected": 0, "actual": 1}


@pytest.mark.parametrize(
    ("old_root", "new_size", "new_root", "field"),
    [
        pytest.param(ROOT[1], 11, ROOT[11], "old_root", id="old-root-not-empty-root"),
        pytest.param(EMPTY_ROOT, 0, ROOT[1], "new_root", id="empty-new-tree-with-other-root"),
    ],
)
def test_witness_refuses_a_wrong_empty_tree_root(
    old_root: bytes, new_size: int, new_root: bytes, field: str
) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_witness_consistency(0, new_size, [], old_root, new_root)
    assert (caught.value.code, caught.value.field) == ("log.root_mismatch", field)


def test_witness_refuses_a_negative_new_size() -> None:
    with pytest.raises(InputError) as caught:
        verify_witness_consistency(0, -1, [], EMPTY_ROOT, EMPTY_ROOT)
    assert caught.value.code == "log.size_order"


def test_witness_check_is_the_strict_check_above_size_zero() -> None:
    verify_witness_consistency(6, 11, PATH_6_TO_11, ROOT[6], ROOT[11])
    with pytest.raises(VerificationError):
        verify_witness_consistency(6, 11, PATH_6_TO_11, ROOT[5], ROOT[11])


def test_proof_sizes_match_generated_proofs() -> None:
    for size in range(1, 12):
        for index in range(size):
            assert inclusion_proof_size(index, size) == len(inclusion_proof(index, size, STORE))
        for old in range(1, size + 1):
            assert consistency_proof_size(old, size) == len(consistency_proof(old, size, STORE))
