"""Receipts: what the ledger hands back for each event in its log, verifiable offline with the log's vkey.

A receipt is ``{index, leaf_hash, checkpoint, inclusion_proof}``: the event's leaf index, the RFC 9162 leaf
hash of its canonical envelope, a checkpoint signed by the log (C2SP signed note) whose tree includes the
leaf, and the RFC 9162 inclusion proof of the leaf in that tree. In JSON the leaf hash is lowercase hex (as in
every outcome), the checkpoint is the signed note's text, and the proof is a list of base64 hashes, leaf side
first. An outcome line printed by ``adamas submit`` is itself a receipt (it carries these four members).

Invariants:
- ``verify_receipt`` trusts nothing but the vkey it is given: the checkpoint must verify under that key,
  and the proof must lead from the leaf hash to the checkpoint's root;
- given the envelope too, the leaf hash must be that of the envelope's canonical bytes, which binds the
  receipt to the event and not merely to a hash;
- given witnesses' vkeys (type 0x04), at least ``min_cosignatures`` of those witnesses must have a valid
  cosignature line (C2SP tlog-cosignature) on the receipt's checkpoint; cosignature lines of other keys are
  ignored, as the log's signature is by the witness check.

Error codes: InputError ``receipt.malformed``, ``receipt.min_cosignatures`` (and ``note.vkey``,
``note.key_type`` for a bad key); VerificationError ``receipt.leaf_mismatch``, ``receipt.not_in_tree``,
``receipt.cosignatures`` (too few valid cosignatures), ``receipt.logged_time``, plus the ``note.*`` codes
of ``adamas.log.open_note`` and the ``log.*`` codes of ``adamas.log.verify_inclusion``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from adamas.errors import InputError, VerificationError
from adamas.ledger.logged_time import checkpoint_logged_ns
from adamas.log import (
    Checkpoint,
    CosignatureVerifier,
    Verifier,
    leaf_hash,
    open_note,
    verify_cosignature,
    verify_inclusion,
)
from adamas.model.values import format_time_ns, parse_time

__all__ = ["ProofSource", "Receipt", "verify_receipt"]


class ProofSource(Protocol):
    """Something that can produce the inclusion proof of a leaf on demand (a batch's tree levels)."""

    def proof(self, index: int) -> tuple[bytes, ...]: ...


class Receipt:
    """Proof that one event is in the log: leaf ``index`` with ``leaf_hash`` is included in the tree of the
    signed ``checkpoint`` (note text), as ``inclusion_proof`` (RFC 9162 PATH, leaf side first) shows.

    An immutable value. Receipts the ledger hands out for a batch compute their proof on first access from
    the batch's tree levels (``deferred``), so a batch of a thousand receipts costs nothing until read.
    """

    __slots__ = ("_checkpoint", "_index", "_leaf_hash", "_logged_ns", "_proof", "_source")

    def __init__(
        self,
        index: int,
        leaf_hash: bytes,
        checkpoint: str,
        inclusion_proof: Sequence[bytes],
        *,
        logged_ns: int | None = None,
    ) -> None:
        self._index = index
        self._leaf_hash = leaf_hash
        self._checkpoint = checkpoint
        self._proof: tuple[bytes, ...] | None = tuple(inclusion_proof)
        self._source: ProofSource | None = None
        self._logged_ns = logged_ns

    @classmethod
    def deferred(
        cls,
        index: int,
        leaf_hash: bytes,
        checkpoint: str,
        source: ProofSource,
        *,
        logged_ns: int | None = None,
    ) -> Receipt:
        """A receipt whose proof ``source.proof(index)`` computes when it is first read."""
        receipt = cls.__new__(cls)
        receipt._index = index
        receipt._leaf_hash = leaf_hash
        receipt._checkpoint = checkpoint
        receipt._proof = None
        receipt._source = source
        receipt._logged_ns = logged_ns
        return receipt

    @property
    def logged_ns(self) -> int | None:
        """The ledger's logged time of the event (docs/time.md); None when unknown."""
        return self._logged_ns

    @property
    def index(self) -> int:
        """The leaf index of the event."""
        return self._index

    @property
    def leaf_hash(self) -> bytes:
        """SHA-256(0x00 || canonical envelope)."""
        return self._leaf_hash

    @property
    def checkpoint(self) -> str:
        """The signed checkpoint note (text) of a tree that includes the leaf."""
        return self._checkpoint

    @property
    def inclusion_proof(self) -> tuple[bytes, ...]:
        """The RFC 9162 inclusion proof of the leaf in the checkpoint's tree, leaf side first."""
        if self._proof is None:
            assert self._source is not None
            self._proof = self._source.proof(self._index)
            self._source = None
        return self._proof

    def _key(self) -> tuple[int, bytes, str, tuple[bytes, ...]]:
        return (self._index, self._leaf_hash, self._checkpoint, self.inclusion_proof)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Receipt) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        proof = len(self.inclusion_proof)
        return f"Receipt(index={self._index}, leaf_hash={self._leaf_hash.hex()!r}, proof={proof} hashes)"

    def to_json(self) -> dict[str, Any]:
        """The JSON members of a receipt: hex leaf hash, note text, base64 proof hashes, and ``logged`` (the
        logged time, RFC 3339) when known."""
        out: dict[str, Any] = {
            "index": self.index,
            "leaf_hash": self.leaf_hash.hex(),
            "checkpoint": self.checkpoint,
            "inclusion_proof": [base64.b64encode(h).decode("ascii") for h in self.inclusion_proof],
        }
        if self._logged_ns is not None:
            out["logged"] = format_time_ns(self._logged_ns)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Receipt:
        """A receipt from its JSON members (extra members, such as an outcome's ``status``, are ignored)."""
        if not isinstance(data, Mapping):
            raise _malformed("a receipt is a JSON object", None)
        index = data.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise _malformed("index must be a non-negative integer", "index")
        digest = data.get("leaf_hash")
        try:
            leaf = bytes.fromhex(digest) if isinstance(digest, str) else b""
        except ValueError:
            leaf = b""
        if len(leaf) != 32 or digest != leaf.hex():
            raise _malformed("leaf_hash must be 64 lowercase hex digits", "leaf_hash")
        checkpoint = data.get("checkpoint")
        if not isinstance(checkpoint, str) or not checkpoint:
            raise _malformed("checkpoint must be the text of a signed note", "checkpoint")
        proof = data.get("inclusion_proof")
        if not isinstance(proof, list):
            raise _malformed("inclusion_proof must be a list of base64 hashes", "inclusion_proof")
        hashes = []
        for number, item in enumerate(proof):
            try:
                value = base64.b64decode(item, validate=True) if isinstance(item, str) else b""
            except (binascii.Error, ValueError):
                value = b""
            if len(value) != 32:
                raise _malformed(
                    "every proof element is the base64 of a 32-byte hash", f"inclusion_proof[{number}]"
                )
            hashes.append(value)
        logged = data.get("logged")
        try:
            logged_ns = None if logged is None else parse_time(logged, "logged")
        except (InputError, TypeError) as exc:
            raise _malformed("logged must be an RFC 3339 UTC time", "logged") from exc
        return cls(index, leaf, checkpoint, tuple(hashes), logged_ns=logged_ns)

    def verify(
        self,
        vkey: str,
        *,
        envelope: bytes | None = None,
        witnesses: Sequence[str] = (),
        min_cosignatures: int | None = None,
    ) -> Checkpoint:
        """``verify_receipt(self, vkey, ...)``."""
        return verify_receipt(
            self, vkey, envelope=envelope, witnesses=witnesses, min_cosignatures=min_cosignatures
        )


def verify_receipt(
    receipt: Receipt,
    vkey: str,
    *,
    envelope: bytes | None = None,
    witnesses: Sequence[str] = (),
    min_cosignatures: int | None = None,
) -> Checkpoint:
    """Check a receipt offline against the log's vkey; return the checkpoint it is proven in.

    ``envelope``: the canonical bytes of the event (the leaf); if given, the receipt must be for them.
    ``witnesses``: vkeys of trusted witnesses; at least ``min_cosignatures`` of them (default: all) must have
    cosigned the checkpoint. Raises ``VerificationError`` on the first check that fails.
    """
    verifier = Verifier.from_vkey(vkey.strip())
    cosigners = [CosignatureVerifier.from_vkey(w.strip()) for w in witnesses]
    needed = len(cosigners) if min_cosignatures is None else min_cosignatures
    if not 0 <= needed <= len(cosigners):
        raise InputError(
            f"cannot demand {needed} cosignatures from {len(cosigners)} witnesses",
            code="receipt.min_cosignatures",
            field="min_cosignatures",
            expected=f"0 <= min <= {len(cosigners)}",
            actual=needed,
        )
    # 1. The checkpoint is a signed note; a signature by the log's key must verify (signed-note).
    note = open_note(receipt.checkpoint.encode("utf-8"), [verifier])
    # 2. Its text is a well-formed checkpoint: origin, tree size, root hash (tlog-checkpoint).
    checkpoint = Checkpoint.from_text(note.text)
    # 3. The receipt is for this event: its leaf hash is SHA-256(0x00 || canonical envelope).
    if envelope is not None:
        actual = leaf_hash(envelope)
        if not hmac.compare_digest(actual, receipt.leaf_hash):
            raise VerificationError(
                "the receipt is for another event: the envelope does not hash to its leaf hash",
                code="receipt.leaf_mismatch",
                field="leaf_hash",
                expected=receipt.leaf_hash.hex(),
                actual=actual.hex(),
            )
    # 4. The checkpoint's tree is large enough to hold the leaf at all.
    if not 0 <= receipt.index < checkpoint.size:
        raise VerificationError(
            f"leaf {receipt.index} is not in the checkpoint's tree of {checkpoint.size} leaves",
            code="receipt.not_in_tree",
            field="index",
            expected=f"0 <= index < {checkpoint.size}",
            actual=receipt.index,
        )
    # 5. The inclusion proof leads from the leaf to the checkpoint's root (RFC 9162 section 2.1.3.2).
    verify_inclusion(
        receipt.leaf_hash, receipt.index, checkpoint.size, receipt.inclusion_proof, checkpoint.root_hash
    )
    # 6. A logged time it claims is no later than the logged time its checkpoint was signed with (for the
    #    receipt of an accepted event, the checkpoint of its own batch: the two are equal).
    signed = checkpoint_logged_ns(checkpoint)
    if receipt.logged_ns is not None and signed is not None and receipt.logged_ns > signed:
        raise VerificationError(
            "the receipt claims a logged time after its checkpoint was signed",
            code="receipt.logged_time",
            field="logged",
            expected=f"<= {format_time_ns(signed)}",
            actual=format_time_ns(receipt.logged_ns),
        )
    # 7. Enough trusted witnesses cosigned this very checkpoint (tlog-cosignature: a cosignature covers the
    #    whole checkpoint text, so it vouches for the root the proof just led to).
    if cosigners:
        _check_cosignatures(receipt.checkpoint.encode("utf-8"), cosigners, needed)
    return checkpoint


def _check_cosignatures(note: bytes, cosigners: Sequence[CosignatureVerifier], needed: int) -> None:
    valid, problems = 0, []
    for cosigner in cosigners:
        try:
            verify_cosignature(note, cosigner)
        except VerificationError as exc:
            problems.append(f"{cosigner.name}: {exc.code}")
            continue
        valid += 1
    if valid < needed:
        raise VerificationError(
            f"{valid} valid cosignatures by the witnesses given, {needed} demanded ({'; '.join(problems)})",
            code="receipt.cosignatures",
            field="checkpoint",
            expected=needed,
            actual=valid,
        )


def _malformed(message: str, field: str | None) -> InputError:
    return InputError(f"not a receipt: {message}", code="receipt.malformed", field=field)
