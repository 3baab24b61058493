"""Strict standard base64 (RFC 4648 section 4) for note signatures, keys and checkpoint roots.

Only the canonical encoding of a byte string is accepted: the standard alphabet, the exact padding, and
zero unused trailing bits. Any other spelling of the same bytes is refused, so a signed value has exactly
one text form and signatures cannot be made to look different without changing.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["b64decode_canonical", "b64encode"]


def b64encode(data: bytes) -> str:
    """Standard, padded base64 of ``data``."""
    return base64.b64encode(data).decode("ascii")


def b64decode_canonical(text: str) -> bytes | None:
    """The bytes ``text`` encodes if it is their canonical base64, else None."""
    if not text.isascii():
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if b64encode(data) == text else None
