"""RFC 8785 (JCS) canonical bytes of a JSON value.

Signed bodies and log leaves are these bytes. Binary floats never reach here from the model (carats and
money are decimal strings), but the library still handles them per the RFC.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from adamas.errors import InputError

__all__ = ["canonicalize"]


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``."""
    try:
        out: bytes = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError(f"value cannot be canonicalized: {exc}", code="event.schema") from exc
    return out
