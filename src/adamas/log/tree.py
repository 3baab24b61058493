"""RFC 9162 Merkle tree hashes and proof generation from stored perfect-subtree hashes.

A log stores, for every leaf appended, the hashes of the *perfect* subtrees that the leaf completed (the
"stored hashes" of golang.org/x/mod/sumdb/tlog and the full-tile nodes of C2SP tlog-tiles). Every other
hash a proof or a root needs -- the hash of an imperfect subtree on the right edge of the tree -- is
recomputed here from those, so producing a proof reads only O(log n) stored hashes and never a leaf.

Invariants:
- a ``NodeId`` ``(level, index)`` names MTH(D[index * 2**level : (index + 1) * 2**level]), the perfect
  subtree of ``2**level`` leaves; it exists in a tree of size ``n`` exactly when
  ``(index + 1) * 2**level <= n``, and once it exists it never changes (so it may be cached or served
  forever);
- appending leaf ``n`` creates ``(0, n)`` plus one node per trailing 1-bit of ``n``
  (``new_node_hashes``); nothing else is ever written;
- proofs are returned leaf-side first, root-side last, exactly as RFC 9162 sections 2.1.3.1 and 2.1.4.1
  define PATH and PROOF, and each generator reads all the stored hashes it needs in a single
  ``read_hashes`` call, so a database-backed reader costs one query per proof.

Error codes: ``log.index_out_of_range``, ``log.size_order``, ``log.hash_length`` (InputError);
``log.node_missing`` (NotFoundError, from ``MemoryHashStore``); ``log.reader_mismatch`` (StorageError: a
reader answered with the wrong number of hashes or a hash of the wrong length).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeAlias

from adamas.errors import InputError, NotFoundError, StorageError
from adamas.log.hashing import EMPTY_ROOT, HASH_SIZE, check_hash, node_hash, split_point

__all__ = [
    "HashReader",
    "MemoryHashStore",
    "NodeId",
    "consistency_proof",
    "inclusion_proof",
    "new_node_hashes",
    "read_checked",
    "root_from_leaf_hashes",
    "tree_root",
]


# (level, index): the stored hash of the perfect subtree of 2**level leaves from leaf index * 2**level.
NodeId: TypeAlias = tuple[int, int]


class HashReader(Protocol):
    """Anything that can return stored perfect-subtree hashes: a dict, a database table, a tile server."""

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """Return the hashes of ``ids``, in the same order; raise if one is not stored."""
        ...


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over all the leaf hashes at once (RFC 9162 section 2.1.1).

    Built level by level, promoting an unpaired last node unchanged: that is the same tree as the
    recursive definition, whose split point is always the largest power of two below n.
    """
    if not hashes:
        return EMPTY_ROOT
    level = [check_hash(h, f"hashes[{i}]") for i, h in enumerate(hashes)]
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def tree_root(size: int, reader: HashReader) -> bytes:
    """MTH of the first ``size`` leaves, from at most log2(size) + 1 stored hashes."""
    if size < 0:
        raise InputError(f"tree size must not be negative, got {size}", code="log.size_order", field="size")
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], reader)[0]


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 section 2.1.3.1: the audit path of leaf ``index``."""
    if not 0 <= index < size:
        raise InputError(
            f"leaf index {index} is not in a tree of size {size}",
            code="log.index_out_of_range",
            field="index",
            expected=f"0 <= index < {size}",
            actual=index,
        )
    # PATH(m, D[n]): split at k, the largest power of two below n; recurse into the half holding m and
    # append the hash of the other half. Walked top-down here, so the list is reversed at the end.
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return _range_hashes(ranges, reader)


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 section 2.1.4.1.

    The proof is empty when ``old_size == new_size`` and, following C2SP tlog-witness, when
    ``old_size == 0`` (see docs/adr/0002-consistency-from-size-zero.md).
    """
    if not 0 <= old_size <= new_size:
        raise InputError(
            f"old size {old_size} must be between 0 and the new size {new_size}",
            code="log.size_order",
            field="old_size",
            expected=f"0 <= old_size <= {new_size}",
            actual=old_size,
        )
    if old_size == 0:
        return []
    # SUBPROOF(m, D[n], b): while m < n split at k; if m <= k recurse left and append MTH(D[k:n]), else
    # recurse right (b becomes false) and append MTH(D[0:k]). At m == n, the subtree's own hash is part of
    # the proof unless it is the whole old tree (b true), which the verifier already knows.
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole_old_tree = 0, new_size, old_size, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((lo, hi))
    ranges.reverse()
    return _range_hashes(ranges, reader)


def new_node_hashes(size_before: int, leaf_hash: bytes, reader: HashReader) -> list[tuple[NodeId, bytes]]:
    """The stored hashes that appending ``leaf_hash`` as leaf ``size_before`` completes, leaf first.

    Leaf n completes node ``(0, n)`` and, for each trailing 1-bit of n, the parent of the subtree that just
    became perfect; the left sibling of each such subtree is already stored and is read in one call.
    A log persists exactly these rows, in the same transaction as the leaf.
    """
    if size_before < 0:
        raise InputError(
            f"tree size must not be negative, got {size_before}", code="log.size_order", field="size_before"
        )
    check_hash(leaf_hash, "leaf_hash")
    n = size_before
    completed_levels = ((n + 1) & -(n + 1)).bit_length() - 1  # trailing zeros of n + 1
    siblings = read_checked(reader, [(level, (n >> level) - 1) for level in range(completed_levels)])
    out: list[tuple[NodeId, bytes]] = [((0, n), leaf_hash)]
    current = leaf_hash
    for level, left in enumerate(siblings):
        current = node_hash(left, current)
        out.append(((level + 1, n >> (level + 1)), current))
    return out


class MemoryHashStore:
    """An in-memory log of stored hashes, for tests, tools and small mirrors.

    Holds one list per level; ``levels[l][i]`` is node ``(l, i)``. Appending only ever adds entries.
    """

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MemoryHashStore:
        """A store holding the given leaf hashes, in order."""
        store = cls()
        store.extend(hashes)
        return store

    @property
    def size(self) -> int:
        """The number of leaves appended."""
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> list[tuple[NodeId, bytes]]:
        """Append one leaf hash; return the (NodeId, hash) rows it completed, as ``new_node_hashes`` does."""
        rows = new_node_hashes(self.size, leaf_hash, self)
        for (level, _), value in rows:
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(value)
        return rows

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for value in leaf_hashes:
            self.append(value)

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """The stored hashes of ``ids``; ``NotFoundError(code="log.node_missing")`` for any not yet stored."""
        out = []
        for level, index in ids:
            if not (0 <= level < len(self._levels) and 0 <= index < len(self._levels[level])):
                raise NotFoundError(
                    f"no stored hash for node (level {level}, index {index}) in a tree of size {self.size}",
                    code="log.node_missing",
                    level=level,
                    index=index,
                    size=self.size,
                )
            out.append(self._levels[level][index])
        return out


def _perfect_cover(lo: int, hi: int) -> list[NodeId]:
    """The perfect subtrees whose concatenation is D[lo:hi], left to right, largest first.

    Only ranges that RFC 9162's recursion produces are asked for: lo is a multiple of a power of two at
    least hi - lo, so peeling the bits of hi - lo from the top yields aligned, stored subtrees whose
    right-to-left fold is exactly MTH(D[lo:hi]).
    """
    assert lo % (1 << (hi - lo - 1).bit_length()) == 0, (lo, hi)
    out: list[NodeId] = []
    remaining = hi - lo
    while remaining:
        level = remaining.bit_length() - 1
        out.append((level, lo >> level))
        lo += 1 << level
        remaining -= 1 << level
    return out


def _range_hashes(ranges: Sequence[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """MTH(D[lo:hi]) for each range, reading every stored hash involved in one call."""
    covers = [_perfect_cover(lo, hi) for lo, hi in ranges]
    stored = read_checked(reader, [node for cover in covers for node in cover])
    out = []
    position = 0
    for cover in covers:
        parts = stored[position : position + len(cover)]
        position += len(cover)
        # The imperfect right edge: MTH(a, b, c) = H(a, H(b, c)) for perfect a > b > c: fold from the right.
        current = parts[-1]
        for part in reversed(parts[:-1]):
            current = node_hash(part, current)
        out.append(current)
    return out


def read_checked(reader: HashReader, ids: Sequence[NodeId]) -> list[bytes]:
    """``reader.read_hashes(ids)``, refusing an answer that cannot be the one asked for (wrong count or a
    hash that is not 32 bytes) with ``StorageError(code="log.reader_mismatch")``."""
    if not ids:
        return []
    hashes = reader.read_hashes(ids)
    if len(hashes) != len(ids):
        raise StorageError(
            f"hash reader returned {len(hashes)} hashes for {len(ids)} nodes",
            code="log.reader_mismatch",
            expected=len(ids),
            actual=len(hashes),
        )
    for (level, index), value in zip(ids, hashes, strict=True):
        if len(value) != HASH_SIZE:
            raise StorageError(
                f"hash reader returned {len(value)} bytes for node (level {level}, index {index})",
                code="log.reader_mismatch",
                expected=HASH_SIZE,
                actual=len(value),
                level=level,
                index=index,
            )
    return hashes
