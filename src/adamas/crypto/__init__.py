"""Keys, signatures and canonical bytes: the only cryptography Adamas does by itself.

Ed25519 comes from libsodium (PyNaCl); PEM files are read and written with ``cryptography``;
RFC 8785 canonical JSON comes from the ``rfc8785`` library.
"""

from __future__ import annotations

from adamas.crypto.canonical import canonicalize
from adamas.crypto.keys import (
    KeyPair,
    generate_key,
    key_id,
    load_private_key,
    public_key_from_b64,
    save_private_key,
    sign,
    verify,
)

__all__ = [
    "KeyPair",
    "canonicalize",
    "generate_key",
    "key_id",
    "load_private_key",
    "public_key_from_b64",
    "save_private_key",
    "sign",
    "verify",
]
