"""The audit's signature worker: ``python -m adamas.audit_sign_worker``.

It sits outside ``adamas.ledger``, whose ``__init__`` imports the whole ledger and SQLAlchemy: a worker
importing only the event model starts in a third of the time (measured 0.35 s of CPU against 1 s), which
counts with one worker per core.

Several run at once, one per core (``audit --jobs``), each checking a slice of each chunk of entries: the
lean check (``adamas.audit_lean``) or the parse and canonical form, and the Ed25519 signature under the key
this worker believes registered. The auditing process then walks the leaves in order with the one true key
map and keeps a worker's verdict only where the worker used the key that map gives
(``adamas.ledger.audit_signatures``); the worker's map is a guess that is right almost always, never
trusted.

Wire format (plain pipes, ADR 0001), each message ``!I`` length then a ``marshal`` payload. Parent to
worker: ``(updates, entries)``, ``updates`` a list of registrations ``(key id, owner, public key)`` found
by other workers, ``entries`` a list of entry bytes; an empty payload ends the worker. Worker to parent: one
result per entry (``audit_signatures.Result``). Once started the worker writes one byte ``R``.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
from typing import Any, BinaryIO

from adamas.audit_lean import Lean, lean
from adamas.crypto.keys import verify_raw
from adamas.errors import AdamasError
from adamas.model.events import Event, parse_envelope

__all__ = ["READY", "check", "main", "registrations", "serve"]

READY = b"R"
_LENGTH = struct.Struct("!I")
Keys = dict[str, tuple[str, bytes]]


def registrations(event: Event) -> list[tuple[str, str, bytes]]:
    """The keys an event registers, ``(key id, owner, public key)``, if its signature verifies."""
    fields = event.fields
    if event.type in ("genesis", "participant.register"):
        spec = fields["administrator" if event.type == "genesis" else "participant"]
        return [(key.id, spec.id, key.public_key) for key in spec.keys]
    if event.type == "key.add":
        return [(fields["new_key"].id, fields["participant"], fields["new_key"].public_key)]
    return []


def check(entry: bytes, keys: Keys) -> tuple[Any, ...]:
    """One entry's result: ``(0, code, message)`` not an envelope; ``(1,)`` not canonical; else ``(2, type,
    actor, key id, owner used, public key used, verified, registrations)`` (owner None: no key known).

    A custody entry that the lean check accepts (``adamas.audit_lean``) is not parsed: it registers no key,
    and the lean check proves what the parse would (a canonical, valid envelope); any other is parsed."""
    custody = lean(entry)
    if custody is not None:
        return _signed(keys, custody, [])
    try:
        envelope = parse_envelope(entry)
    except AdamasError as exc:
        return (0, exc.code, exc.message)
    if envelope.leaf != entry:
        return (1,)
    event = envelope.event
    registered = registrations(event)
    lookup = {k: (owner, public) for k, owner, public in registered} if event.type == "genesis" else keys
    signed = (event.type, event.actor, event.key, envelope.body_bytes, envelope.signature)
    result = _signed(lookup, signed, registered)
    if result[6]:  # verified: its registrations count from the next entry on
        for key_id, key_owner, public in registered:
            keys[key_id] = (key_owner, public)
    return result


def _signed(keys: Keys, signed: Lean, registered: list[tuple[str, str, bytes]]) -> tuple[Any, ...]:
    """The ``(2, ...)`` result of an envelope (``signed``: type, actor, key id, body, signature): its
    signature checked under the key ``keys`` gives the key id, if that key is the actor's."""
    type_, actor, key_id, body, signature = signed
    owner = keys.get(key_id)
    if owner is None or owner[0] != actor:
        return (2, type_, actor, key_id, None, None, False, registered)
    return (2, type_, actor, key_id, owner[0], owner[1], verify_raw(owner[1], body, signature), registered)


def _read(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    return data if len(data) == size else b""


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """Answer messages from ``source`` on ``sink`` until an empty one or the end of ``source``."""
    keys: Keys = {}
    while True:
        head = _read(source, _LENGTH.size)
        if not head:
            return
        (length,) = _LENGTH.unpack(head)
        if length == 0:
            return
        updates, entries = marshal.loads(_read(source, length))
        for key_id, owner, public in updates:
            keys[key_id] = (owner, public)
        out = marshal.dumps([check(entry, keys) for entry in entries])
        sink.write(_LENGTH.pack(len(out)) + out)
        sink.flush()


def main() -> None:
    """Entry point of the worker process."""
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    serve(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    os._exit(0)  # nothing to tear down


if __name__ == "__main__":
    main()
