"""Published Merkle vectors: the transparency-dev/merkle probes and all proofs of the 8-leaf RFC 6962 tree.

The vectors are copied in ``tests/vectors/tlog/`` (origin, version and licence in tests/vectors/SOURCES.md).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from adamas.errors import AdamasError, InputError
from adamas.log import (
    EMPTY_ROOT,
    MemoryHashStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from conftest import VECTORS

TLOG = VECTORS / "tlog"
PROBES = TLOG / "transparency-dev-merkle"
ALL_PROOFS = json.loads((TLOG / "rfc6962_8leaf_all_proofs.json").read_text(encoding="utf-8"))

# Our one documented departure from a probe: every hash must be 32 bytes (the policy that
# tests/vectors/SOURCES.md states for these probes), so equal sizes with equal but 12-byte "roots" are
# refused as malformed input rather than accepted by a plain byte comparison as the Go reference does.
POLICY_OVERRIDES = {"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json": "log.hash_length"}


def _probes(kind: str) -> list[Any]:
    files = sorted((PROBES / kind).rglob("*.json"))
    assert files, f"no {kind} probes found under {PROBES}"
    return [pytest.param(path, id=str(path.relative_to(PROBES))) for path in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _hashes(values: list[str] | None) -> list[bytes]:
    return [_b64(v) for v in values or []]


def _leaves() -> list[bytes]:
    return [bytes.fromhex(h) for h in ALL_PROOFS["leaves_hex"]]


def _root(size: int) -> bytes:
    return bytes.fromhex(ALL_PROOFS["roots_hex_by_size"][str(size)])


@pytest.fixture(scope="module")
def store() -> MemoryHashStore:
    return MemoryHashStore.from_leaf_hashes(leaf_hash(leaf) for leaf in _leaves())


@pytest.mark.parametrize("path", _probes("inclusion"))
def test_inclusion_probe_is_decided_as_published(path: Path) -> None:
    probe = json.loads(path.read_text())
    args = (_b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], _hashes(probe["proof"]))
    if probe["wantErr"]:
        with pytest.raises(AdamasError):
            verify_inclusion(*args, _b64(probe["root"]))
    else:
        verify_inclusion(*args, _b64(probe["root"]))


@pytest.mark.parametrize("path", _probes("consistency"))
def test_consistency_probe_is_decided_as_published(path: Path) -> None:
    probe = json.loads(path.read_text())
    args = (
        probe["size1"],
        probe["size2"],
        _hashes(probe["proof"]),
        _b64(probe["root1"]),
        _b64(probe["root2"]),
    )
    override = POLICY_OVERRIDES.get(str(path.relative_to(PROBES)))
    if override:
        with pytest.raises(InputError) as caught:
            verify_consistency(*args)
        assert caught.value.code == override
    elif probe["wantErr"]:
        with pytest.raises(AdamasError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_probe_corpus_is_complete() -> None:
    # tests/vectors/SOURCES.md pins the transparency-dev commit; a partial copy must not pass silently.
    assert len(list(PROBES.rglob("*.json"))) == 196


def test_leaf_hashes_match_published_values() -> None:
    assert [leaf_hash(leaf).hex() for leaf in _leaves()] == ALL_PROOFS["leaf_hashes_hex"]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_published_values(size: int, store: MemoryHashStore) -> None:
    assert root_from_leaf_hashes([leaf_hash(leaf) for leaf in _leaves()[:size]]) == _root(size)
    assert tree_root(size, store) == _root(size)


def test_empty_root_is_sha256_of_nothing() -> None:
    assert _root(0) == EMPTY_ROOT


@pytest.mark.parametrize(
    "vector", ALL_PROOFS["inclusion"], ids=lambda v: f"leaf{v['index']}-of-{v['tree_size']}"
)
def test_inclusion_proof_is_generated_and_verifies(vector: dict[str, Any], store: MemoryHashStore) -> None:
    index, size = vector["index"], vector["tree_size"]
    expected = [bytes.fromhex(h) for h in vector["proof_hex"]]
    assert inclusion_proof(index, size, store) == expected
    leaf = leaf_hash(_leaves()[index])
    verify_inclusion(leaf, index, size, expected, _root(size))
    assert root_from_inclusion_proof(leaf, index, size, expected) == _root(size)


@pytest.mark.parametrize("vector", ALL_PROOFS["consistency"], ids=lambda v: f"{v['size1']}-to-{v['size2']}")
def test_consistency_proof_is_generated_and_verifies(vector: dict[str, Any], store: MemoryHashStore) -> None:
    old, new = vector["size1"], vector["size2"]
    expected = [bytes.fromhex(h) for h in vector["proof_hex"]]
    assert consistency_proof(old, new, store) == expected
    verify_consistency(old, new, expected, _root(old), _root(new))


def test_all_72_published_proofs_are_exercised() -> None:
    assert len(ALL_PROOFS["inclusion"]) == 36
    assert len(ALL_PROOFS["consistency"]) == 36
