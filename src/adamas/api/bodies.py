"""Reading a batch of envelopes from a request body: a JSON array, or JSON lines.

Body-level faults (not UTF-8 JSON, not an array, a line that is not JSON, too many envelopes, a media type
not read here) refuse the whole request; an item that is not a valid envelope is left to ``Ledger.submit``,
which refuses it at its position like any other.
"""

from __future__ import annotations

import json
from typing import Any, Final

from adamas.api.errors import TooLargeError, UnsupportedMediaTypeError
from adamas.errors import InputError

__all__ = ["JSONL_TYPES", "JSON_TYPES", "read_batch"]

JSON_TYPES: Final = frozenset({"application/json"})
JSONL_TYPES: Final = frozenset({"application/jsonl", "application/x-ndjson", "application/jsonlines"})


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object hook that refuses duplicate member names (canonical JSON cannot hold them, and a signer
    and a reader might disagree on which one counts)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InputError(f"duplicate member name {name!r}", code="envelope.malformed", field=name)
            seen.add(name)
    return out


def read_batch(body: bytes, content_type: str | None, *, max_batch: int) -> list[bytes | dict[str, Any]]:
    """The envelopes of a request body, in order: JSON lines as each line's bytes, a JSON array's items."""
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media in JSONL_TYPES:
        items: list[bytes | dict[str, Any]] = [line for line in body.split(b"\n") if line.strip()]
    elif media in JSON_TYPES:
        try:
            whole = json.loads(body, object_pairs_hook=_no_duplicates)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InputError(f"the body is not JSON: {exc}", code="request.malformed", field="body") from exc
        if not isinstance(whole, list):
            raise InputError(
                "the body must be a JSON array of envelopes (or JSON lines with Content-Type "
                "application/jsonl)",
                code="request.malformed",
                field="body",
            )
        # Anything but an object is handed on as JSON text, which the ledger refuses at its position
        # (a string is not parsed as an envelope of its own).
        items = [item if isinstance(item, dict) else json.dumps(item).encode() for item in whole]
    else:
        raise UnsupportedMediaTypeError(
            f"envelopes are sent as application/json (an array) or application/jsonl, not {media}",
            field="Content-Type",
        )
    if len(items) > max_batch:
        raise TooLargeError(
            f"a batch holds at most {max_batch} envelopes, this one {len(items)}",
            code="batch.too_large",
            field="body",
            expected=max_batch,
            actual=len(items),
        )
    return items
