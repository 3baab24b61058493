"""Ed25519 (RFC 8032) through PyNaCl, shared by note signatures (type 0x01) and cosignatures (type 0x04).

Verification never raises: a malformed key or signature is simply not a valid signature.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.signing

from adamas.errors import InputError

__all__ = [
    "KEY_SIZE",
    "SIGNATURE_SIZE",
    "check_public_key",
    "check_seed",
    "generate_seed",
    "public_key",
    "sign",
    "verify",
]

KEY_SIZE = 32
SIGNATURE_SIZE = 64


def check_public_key(value: bytes, *, code: str) -> bytes:
    """Return ``value`` if it has the length of an Ed25519 public key, else raise ``InputError(code)``."""
    if len(value) != KEY_SIZE:
        raise InputError(
            f"an Ed25519 public key is {KEY_SIZE} bytes, got {len(value)}",
            code=code,
            field="public_key",
            expected=KEY_SIZE,
            actual=len(value),
        )
    return value


def check_seed(value: bytes, *, code: str) -> bytes:
    """Return ``value`` if it has the length of an Ed25519 seed, else raise ``InputError(code)``."""
    if len(value) != KEY_SIZE:
        raise InputError(
            f"an Ed25519 seed is {KEY_SIZE} bytes, got {len(value)}",
            code=code,
            field="seed",
            expected=KEY_SIZE,
            actual=len(value),
        )
    return value


def generate_seed() -> bytes:
    """A fresh random 32-byte seed."""
    return bytes(nacl.signing.SigningKey.generate())


def public_key(seed: bytes) -> bytes:
    """The public key of a 32-byte seed."""
    return bytes(nacl.signing.SigningKey(seed).verify_key)


def sign(seed: bytes, message: bytes) -> bytes:
    """The 64-byte signature over ``message`` (deterministic, per RFC 8032)."""
    return bytes(nacl.signing.SigningKey(seed).sign(message).signature)


def verify(key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid signature by ``key`` over ``message``."""
    if len(key) != KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        nacl.signing.VerifyKey(key).verify(message, signature)
    except (nacl.exceptions.CryptoError, ValueError):
        return False
    return True
