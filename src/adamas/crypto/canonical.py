"""RFC 8785 (JCS) canonical bytes of a JSON value.

Signed bodies and log leaves are these bytes. Binary floats never reach here from the model (carats and
money are decimal strings), but the library still handles them per the RFC.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from adamas.errors import InputError

__all__ = ["canonicalize", "canonicalize_plain"]

_PLAIN = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value``."""
    try:
        out: bytes = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError(f"value cannot be canonicalized: {exc}", code="event.schema") from exc
    return out


def canonicalize_plain(value: Any) -> bytes:
    """RFC 8785 bytes of a *plain* value: no floats, integers within ±2**53, object keys in ASCII only.

    For such values the standard library's encoder writes exactly what JCS prescribes: the same string
    escapes (``\\b \\f \\n \\r \\t``, other controls as lowercase ``\\u00xx``, nothing else escaped), the
    same integer form, and the same member order (code-point order equals UTF-16 order for ASCII keys). It
    is several times faster than the general path; event bodies that passed the schema are plain, and a
    property test holds this function to ``canonicalize`` on them.
    """
    try:
        return _PLAIN.encode(value).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InputError(f"value cannot be canonicalized: {exc}", code="event.schema") from exc
