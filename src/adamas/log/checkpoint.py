"""C2SP tlog-checkpoint@v1.0.0: the signed tree head of a log, as the text of a signed note.

    <origin>
    <tree size, decimal>
    <root hash, base64>
    [<extension line> ...]

Invariants:
- ``Checkpoint`` values are always well-formed: origin non-empty, size a uint64, root 32 bytes, every
  extension line non-empty; none of them holds a newline or another control character;
- ``from_text`` accepts exactly the texts ``to_text`` produces: decimal size without leading zeroes (``0`` for
  the empty tree), canonical base64 for the root, a final newline, no empty line. Anything else is refused,
  so one tree head has one text and one signature;
- ``open_checkpoint`` returns a checkpoint only if the note verifies under a trusted log key and its origin is
  the one the caller expects (a valid signature for another log's checkpoint proves nothing here).

Error codes, InputError: ``log.checkpoint_text``, ``log.checkpoint_origin``, ``log.checkpoint_size``,
``log.checkpoint_root``, ``log.checkpoint_extension``. VerificationError: ``log.checkpoint_origin_mismatch``
(and the ``note.*`` codes of ``open_note``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adamas.errors import InputError, VerificationError
from adamas.log._base64 import b64decode_canonical, b64encode
from adamas.log.hashing import HASH_SIZE
from adamas.log.note import Note, NoteSigner, NoteVerifier, open_note, sign_note

__all__ = ["MAX_TREE_SIZE", "Checkpoint", "open_checkpoint", "sign_checkpoint"]

# RFC 9162 tree sizes are uint64.
MAX_TREE_SIZE = 2**64 - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f]")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and optional opaque extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The origin MUST be non-empty (its URL-like form is only a SHOULD, so it is not enforced).
        if not self.origin or _CONTROL.search(self.origin):
            raise InputError(
                "checkpoint origin must be a non-empty line", code="log.checkpoint_origin", field="origin"
            )
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InputError(
                f"checkpoint size must be between 0 and {MAX_TREE_SIZE}",
                code="log.checkpoint_size",
                field="size",
                actual=self.size,
            )
        if len(self.root_hash) != HASH_SIZE:
            raise InputError(
                f"checkpoint root hash must be {HASH_SIZE} bytes, got {len(self.root_hash)}",
                code="log.checkpoint_root",
                field="root_hash",
                expected=HASH_SIZE,
                actual=len(self.root_hash),
            )
        for number, line in enumerate(self.extensions):
            # Extension lines, if any, MUST be non-empty.
            if not line or _CONTROL.search(line):
                raise InputError(
                    f"extension line {number} must be a non-empty line",
                    code="log.checkpoint_extension",
                    field=f"extensions[{number}]",
                )

    def to_text(self) -> str:
        """The checkpoint as note text, ending in a newline."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse note text strictly (see the module docstring)."""
        if not text.endswith("\n"):
            raise InputError("checkpoint text must end with a newline", code="log.checkpoint_text")
        lines = text[:-1].split("\n")
        # The note text is a sequence of at least three non-empty lines.
        if len(lines) < 3:
            raise InputError(
                f"checkpoint text needs at least 3 lines, got {len(lines)}",
                code="log.checkpoint_text",
                expected=3,
                actual=len(lines),
            )
        origin, size_text, root_text, *extensions = lines
        # The tree size: ASCII decimal with no leading zeroes (unless the tree is empty: "0").
        if not _DECIMAL.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
            raise InputError(
                f"checkpoint size {size_text!r} is not a decimal uint64 without leading zeroes",
                code="log.checkpoint_size",
                field="size",
            )
        # The root hash: the base64 encoding of the RFC 6962 Merkle tree root.
        root = b64decode_canonical(root_text)
        if root is None or len(root) != HASH_SIZE:
            raise InputError(
                f"checkpoint root {root_text!r} is not the base64 of a {HASH_SIZE}-byte hash",
                code="log.checkpoint_root",
                field="root_hash",
            )
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[NoteSigner]) -> bytes:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.to_text(), signers)


def open_checkpoint(
    note: bytes, *, origin: str, verifiers: Iterable[NoteVerifier]
) -> tuple[Checkpoint, Note]:
    """Verify a signed checkpoint from the log ``origin`` and parse it.

    ``verifiers`` are the keys trusted for that log; signatures by other keys (cosignatures, for example)
    are returned unverified in the note.
    """
    opened = open_note(note, verifiers)
    checkpoint = Checkpoint.from_text(opened.text)
    if checkpoint.origin != origin:
        raise VerificationError(
            "checkpoint is for another log",
            code="log.checkpoint_origin_mismatch",
            field="origin",
            expected=origin,
            actual=checkpoint.origin,
        )
    return checkpoint, opened
