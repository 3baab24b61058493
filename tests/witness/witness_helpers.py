"""A small real log for witness tests (the generic log library over memory), and a loopback port finder."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adamas.log import (
    Checkpoint,
    MemoryHashStore,
    Signer,
    consistency_proof,
    leaf_hash,
    sign_checkpoint,
    tree_root,
)
from serving import serving as _serving

ORIGIN = "log.example/witnessed"


class MemoryLog:
    """A log whose leaves are ``prefix || n``, signed by ``signer``: two of them with one signer and
    different prefixes are a fork of one log."""

    def __init__(self, signer: Signer, *, prefix: bytes = b"leaf", size: int = 0) -> None:
        self.signer = signer
        self.prefix = prefix
        self.store = MemoryHashStore()
        self.grow(size)

    @property
    def size(self) -> int:
        return self.store.size

    def grow(self, count: int) -> None:
        start = self.store.size
        self.store.extend(leaf_hash(self.prefix + str(n).encode()) for n in range(start, start + count))

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size if size is None else size, self.store)

    def note(self, size: int | None = None, *, signers: list[Signer] | None = None) -> bytes:
        size = self.size if size is None else size
        return sign_checkpoint(Checkpoint(self.signer.name, size, self.root(size)), signers or [self.signer])

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        return consistency_proof(old, self.size if new is None else new, self.store)


def fork_of(log: MemoryLog, common: int) -> MemoryLog:
    """A log with the same key and the first ``common`` leaves, then different ones."""
    forked = MemoryLog(log.signer, prefix=log.prefix)
    forked.grow(common)
    forked.prefix = b"other-" + hashlib.sha256(log.prefix).hexdigest()[:8].encode()
    return forked


def independent_verify(line: str, cosigner_vkey: str, checkpoint_text: str) -> int:
    """Verify a cosignature line with `cryptography`, straight from the spec's layout; return its time."""
    name, key_id_hex, key_b64 = cosigner_vkey.split("+", 2)
    raw_key = base64.b64decode(key_b64)
    assert raw_key[0] == 0x04
    public = raw_key[1:]
    # The key ID MUST be SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4].
    assert hashlib.sha256(name.encode() + b"\n" + b"\x04" + public).digest()[:4].hex() == key_id_hex
    prefix = f"— {name} "
    assert line.startswith(prefix) and line.endswith("\n")
    payload = base64.b64decode(line[len(prefix) :])
    assert len(payload) == 4 + 72
    assert payload[:4].hex() == key_id_hex
    timestamp = int.from_bytes(payload[4:12], "big")
    message = f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()
    Ed25519PublicKey.from_public_bytes(public).verify(payload[12:], message)  # raises if invalid
    return timestamp


def serving(app: Any) -> contextlib.AbstractContextManager[str]:
    """Serve a witness app (no lifespan: its state is opened by the test) on a loopback port."""
    return _serving(app, lifespan="off")
