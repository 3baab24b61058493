"""Making envelopes: fill in the header of a body and sign its canonical bytes."""

from __future__ import annotations

import time
from typing import Any

from ulid import ULID

from adamas.crypto import KeyPair, canonicalize
from adamas.errors import InputError
from adamas.model.values import format_time_ns

__all__ = ["new_event_id", "sign_body"]


def new_event_id() -> str:
    """A fresh event id: a ULID, unique and sortable by creation time."""
    return str(ULID())


def sign_body(
    body: dict[str, Any], key: KeyPair, *, actor: str | None = None, time_ns: int | None = None
) -> dict[str, Any]:
    """Return the envelope ``{"body", "sig"}`` for ``body`` signed by ``key``.

    Fills ``v`` and ``key``, and ``id`` and ``time`` when absent (a ULID and the current second);
    ``actor`` sets the actor when given. A header that contradicts the key is refused.
    """
    if not isinstance(body, dict):
        raise InputError("an event body is a JSON object", code="event.schema")
    out = dict(body)
    out.setdefault("v", 1)
    if "key" in out and out["key"] != key.id:
        raise InputError(
            f"the body names key {out['key']}, but it is being signed with key {key.id}",
            code="event.schema",
            field="key",
        )
    out["key"] = key.id
    if actor is not None:
        out["actor"] = actor
    out.setdefault("id", new_event_id())
    if "time" not in out:
        now = time.time_ns() if time_ns is None else time_ns
        out["time"] = format_time_ns(now // 1_000_000_000 * 1_000_000_000)
    return {"body": out, "sig": key.sign(canonicalize(out))}
