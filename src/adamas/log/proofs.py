"""Verification of RFC 9162 inclusion and consistency proofs.

Each public function either returns normally or raises one precise error carrying the expected and the
actual value (hashes as lowercase hex), in the manner of sigstore-python's ``_internal/merkle.py``.
Comments name the steps of RFC 9162 sections 2.1.3.2 and 2.1.4.2.

Invariants:
- every hash (leaf, roots, proof elements) must be 32 bytes, checked before any hashing;
- a proof of the wrong length is refused before it is evaluated, with the length the sizes imply;
- ``verify_consistency`` requires ``0 < old_size <= new_size``: a proof from the empty tree proves nothing,
  so asking for one is a caller error. ``verify_witness_consistency`` is the C2SP tlog-witness variant that
  accepts ``old_size == 0`` with an empty proof (docs/adr/0002-consistency-from-size-zero.md).

Error codes: InputError ``log.hash_length``, ``log.index_out_of_range``, ``log.size_order``,
``log.old_size_zero``; VerificationError ``log.proof_length``, ``log.root_mismatch``.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from adamas.errors import InputError, VerificationError
from adamas.log.hashing import EMPTY_ROOT, check_hash, node_hash, split_point

__all__ = [
    "consistency_proof_size",
    "inclusion_proof_size",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
    "verify_witness_consistency",
]


def inclusion_proof_size(index: int, size: int) -> int:
    """The number of hashes in PATH(index, D[size]), for ``0 <= index < size``."""
    _check_index(index, size)
    count = 0
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            hi = lo + k
        else:
            lo += k
        count += 1
    return count


def consistency_proof_size(old_size: int, new_size: int) -> int:
    """The number of hashes in PROOF(old_size, D[new_size]), for ``0 < old_size <= new_size``."""
    _check_sizes(old_size, new_size)
    count = 0
    m, n, whole_old_tree = old_size, new_size, True
    while m != n:
        k = split_point(n)
        if m <= k:
            n = k
        else:
            m, n, whole_old_tree = m - k, n - k, False
        count += 1
    return count if whole_old_tree else count + 1


def root_from_inclusion_proof(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for leaf ``index`` of a tree of ``size``; it is up to the caller to
    compare it with a root it trusts (``verify_inclusion`` does)."""
    check_hash(leaf_hash, "leaf_hash")
    _check_proof_hashes(proof)
    # 1. Compare leaf_index from the inclusion_proof against tree_size: fail if leaf_index >= tree_size.
    expected_length = inclusion_proof_size(index, size)
    if len(proof) != expected_length:
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} needs {expected_length} hashes, got {len(proof)}",
            code="log.proof_length",
            field="proof",
            expected=expected_length,
            actual=len(proof),
        )
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, size - 1
    # 3. Set r to hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError(
                "inclusion proof is longer than the path to the root",
                code="log.proof_length",
                field="proof",
                expected=expected_length,
                actual=len(proof),
            )
        # b. If LSB(fn) is set, or if fn is equal to sn, then: set r to HASH(0x01 || p || r); if LSB(fn) is
        #    not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0.
        #    Otherwise: set r to HASH(0x01 || r || p).
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0 (the root of the tree must have been reached).
    if sn != 0:
        raise VerificationError(
            "inclusion proof ends below the root",
            code="log.proof_length",
            field="proof",
            expected=expected_length,
            actual=len(proof),
        )
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose root is ``root``.

    Raises ``VerificationError(code="log.root_mismatch")`` with the trusted root as ``expected`` and the
    root the proof leads to as ``actual``.
    """
    check_hash(root, "root")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    # 5. Compare r against the root_hash; if they are equal the log has proven the inclusion of hash.
    if not hmac.compare_digest(computed, root):
        raise VerificationError(
            f"inclusion proof for leaf {index} of {size} leads to a different root",
            code="log.root_mismatch",
            field="root",
            expected=root.hex(),
            actual=computed.hex(),
        )


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``new_size`` leaves with ``new_root`` extends the one of ``old_size`` with
    ``old_root`` (RFC 9162 section 2.1.4.2). Requires ``0 < old_size <= new_size``.
    """
    check_hash(old_root, "old_root")
    check_hash(new_root, "new_root")
    _check_proof_hashes(proof)
    expected_length = consistency_proof_size(old_size, new_size)
    if len(proof) != expected_length:
        raise VerificationError(
            f"consistency proof from {old_size} to {new_size} must have {expected_length} hashes, "
            f"got {len(proof)}",
            code="log.proof_length",
            field="proof",
            expected=expected_length,
            actual=len(proof),
        )
    if old_size == new_size:
        # The same size: the proof is empty and the two roots must be the same tree head.
        _check_root("new_root", expected=old_root, actual=new_root)
        return
    # 1. If consistency_path is an empty array, stop and fail the proof verification (checked above).
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError(
                "consistency proof is longer than the path to the root",
                code="log.proof_length",
                field="proof",
                expected=expected_length,
                actual=len(proof),
            )
        # b. If LSB(fn) is set, or if fn is equal to sn, then: set fr to HASH(0x01 || c || fr) and sr to
        #    HASH(0x01 || c || sr); if LSB(fn) is not set, right-shift both fn and sn equally until either
        #    LSB(fn) is set or fn is 0. Otherwise: set sr to HASH(0x01 || sr || c).
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify fr is equal to first_hash, sr is equal to second_hash, and sn is 0.
    if sn != 0:
        raise VerificationError(
            "consistency proof ends below the root",
            code="log.proof_length",
            field="proof",
            expected=expected_length,
            actual=len(proof),
        )
    _check_root("old_root", expected=old_root, actual=fr)
    _check_root("new_root", expected=new_root, actual=sr)


def verify_witness_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Consistency as C2SP tlog-witness's add-checkpoint checks it: like ``verify_consistency``, but an
    ``old_size`` of 0 (a witness that never cosigned this log) is accepted with an empty proof.

    The tree of size 0 has the fixed root MTH({}) = ``EMPTY_ROOT``, so for ``old_size == 0`` the caller
    passes ``EMPTY_ROOT`` as ``old_root``; a ``new_size`` of 0 must come with ``EMPTY_ROOT`` as well.
    """
    if old_size != 0:
        verify_consistency(old_size, new_size, proof, old_root, new_root)
        return
    check_hash(old_root, "old_root")
    check_hash(new_root, "new_root")
    _check_proof_hashes(proof)
    if new_size < 0:
        raise InputError(
            f"new size must not be negative, got {new_size}",
            code="log.size_order",
            field="new_size",
            expected="new_size >= 0",
            actual=new_size,
        )
    # tlog-witness: "The proof MUST be empty if the old size is zero."
    if proof:
        raise VerificationError(
            "a consistency proof from size 0 must be empty",
            code="log.proof_length",
            field="proof",
            expected=0,
            actual=len(proof),
        )
    _check_root("old_root", expected=EMPTY_ROOT, actual=old_root)
    if new_size == 0:
        _check_root("new_root", expected=EMPTY_ROOT, actual=new_root)


def _check_root(field: str, *, expected: bytes, actual: bytes) -> None:
    if not hmac.compare_digest(expected, actual):
        raise VerificationError(
            f"the proof does not reproduce {field}",
            code="log.root_mismatch",
            field=field,
            expected=expected.hex(),
            actual=actual.hex(),
        )


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, value in enumerate(proof):
        check_hash(value, f"proof[{i}]")


def _check_index(index: int, size: int) -> None:
    if not 0 <= index < size:
        raise InputError(
            f"leaf index {index} is not in a tree of size {size}",
            code="log.index_out_of_range",
            field="index",
            expected=f"0 <= index < {size}",
            actual=index,
        )


def _check_sizes(old_size: int, new_size: int) -> None:
    if old_size == 0:
        raise InputError(
            "a consistency proof from the empty tree proves nothing; use verify_witness_consistency",
            code="log.old_size_zero",
            field="old_size",
            expected="old_size > 0",
            actual=0,
        )
    if not 0 < old_size <= new_size:
        raise InputError(
            f"old size {old_size} must be between 1 and the new size {new_size}",
            code="log.size_order",
            field="old_size",
            expected=f"0 < old_size <= {new_size}",
            actual=old_size,
        )
