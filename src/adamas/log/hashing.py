"""RFC 9162 section 2.1 hashing: the leaf and interior node hashes of a Merkle tree, over SHA-256.

Invariants:
- every hash this package accepts or returns is exactly ``HASH_SIZE`` (32) bytes; anything else is refused
  with ``InputError(code="log.hash_length")`` naming the offending field;
- leaves and interior nodes are domain-separated by the 0x00 and 0x01 prefixes, so no leaf can be passed off
  as a node (the second-preimage defence of RFC 9162 section 2.1.1).

Error codes: ``log.hash_length``.
"""

from __future__ import annotations

import hashlib

from adamas.errors import InputError

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "check_hash", "leaf_hash", "node_hash", "split_point"]

HASH_SIZE = 32

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

# MTH({}) = SHA-256(): the root of the empty tree (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0)): the hash of one leaf's raw data."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node from its two children's hashes."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def check_hash(value: bytes, field: str) -> bytes:
    """Return ``value`` if it is a 32-byte hash; otherwise raise ``InputError(code="log.hash_length")``.

    Checked up front so that a truncated or padded hash is reported as what it is, rather than as a proof
    that merely fails to verify.
    """
    if len(value) != HASH_SIZE:
        raise InputError(
            f"{field} must be a {HASH_SIZE}-byte SHA-256 hash, got {len(value)} bytes",
            code="log.hash_length",
            field=field,
            expected=HASH_SIZE,
            actual=len(value),
        )
    return value


def split_point(n: int) -> int:
    """k of RFC 9162 section 2.1.1: the largest power of two strictly smaller than ``n`` (``n >= 2``).

    Every split of the tree, and so of every proof, happens there.
    """
    return 1 << ((n - 1).bit_length() - 1)
