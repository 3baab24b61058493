"""Keys, signatures and canonical bytes: the only cryptography Adamas does by itself.

Ed25519 comes from libsodium (PyNaCl); PEM files are read and written with ``cryptography``;
RFC 8785 canonical JSON comes from the ``rfc8785`` library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adamas._lazy import lazy_exports

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): `canonicalize` alone does not import PyNaCl and `cryptography` (CLI
# start-up, issue 14).
_LAZY = {
    "KeyPair": "adamas.crypto.keys",
    "canonicalize": "adamas.crypto.canonical",
    "generate_key": "adamas.crypto.keys",
    "key_id": "adamas.crypto.keys",
    "load_private_key": "adamas.crypto.keys",
    "public_key_from_b64": "adamas.crypto.keys",
    "save_private_key": "adamas.crypto.keys",
    "sign": "adamas.crypto.keys",
    "verify": "adamas.crypto.keys",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


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
