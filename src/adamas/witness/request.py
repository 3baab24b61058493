"""The add-checkpoint request of C2SP tlog-witness@v1.0.0, as bytes on the wire and as a value.

    old <size>\\n
    <base64 consistency proof hash>\\n      (0 to 63 lines)
    \\n
    <signed checkpoint note>

Invariants:
- ``parse_add_checkpoint`` accepts exactly what ``format_add_checkpoint`` produces: ``old`` and one space, a
  decimal without leading zeroes (``0`` for zero), at most 63 canonical base64 32-byte hashes, one empty
  line, then a note (checked later, against the trusted keys, by the witness);
- every line ends in a newline; nothing is trimmed or guessed.

Error codes, InputError: ``witness.malformed``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from adamas.errors import InputError
from adamas.log._base64 import b64decode_canonical, b64encode
from adamas.log.hashing import HASH_SIZE

__all__ = ["MAX_PROOF_LINES", "AddCheckpoint", "format_add_checkpoint", "parse_add_checkpoint"]

MAX_PROOF_LINES: Final = 63
_OLD = re.compile(r"old (0|[1-9][0-9]*)")
_MAX_SIZE: Final = 2**64 - 1


@dataclass(frozen=True)
class AddCheckpoint:
    """One add-checkpoint request: the size the client thinks the witness holds, the consistency proof from
    that size, and the signed checkpoint note (bytes, verbatim)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: bytes | str) -> bytes:
    """The request body: the old size line, one base64 line per proof hash, an empty line, the note."""
    if isinstance(note, str):
        note = note.encode("utf-8")
    lines = [f"old {old_size}\n", *(b64encode(h) + "\n" for h in proof), "\n"]
    return "".join(lines).encode("ascii") + note


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Split a request body into its parts; ``InputError(code="witness.malformed")`` if it is not one."""
    lines: list[bytes] = []
    offset = 0
    # The header is the old size line, then proof lines, up to the first empty line.
    while True:
        end = body.find(b"\n", offset)
        if end < 0:
            raise _malformed("the request must have an old size line, proof lines and an empty line")
        line = body[offset:end]
        offset = end + 1
        if not line:
            break
        lines.append(line)
        if len(lines) > MAX_PROOF_LINES + 1:
            raise _malformed(f"more than {MAX_PROOF_LINES} consistency proof lines")
    if not lines:
        raise _malformed("the request must start with an old size line")
    match = _OLD.fullmatch(lines[0].decode("ascii", "replace"))
    if match is None or int(match.group(1)) > _MAX_SIZE:
        raise _malformed("the first line must be 'old <size>' with a decimal size without leading zeroes")
    proof = []
    for number, line in enumerate(lines[1:]):
        value = b64decode_canonical(line.decode("ascii", "replace"))
        if value is None or len(value) != HASH_SIZE:
            raise _malformed(f"proof line {number} is not the base64 of a {HASH_SIZE}-byte hash")
        proof.append(value)
    note = body[offset:]
    if not note:
        raise _malformed("the request holds no checkpoint after the empty line")
    return AddCheckpoint(int(match.group(1)), tuple(proof), note)


def _malformed(reason: str) -> InputError:
    return InputError(f"malformed add-checkpoint request: {reason}", code="witness.malformed", field="body")
