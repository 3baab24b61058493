"""Ed25519 keys, key ids, signatures and PEM files.

A key id is the lowercase hex of the first 8 bytes of SHA-256 over the raw 32-byte public key (EVENTS.md).
Signatures are base64 (standard alphabet, padded) over the exact bytes given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adamas.errors import InputError

__all__ = [
    "KeyPair",
    "generate_key",
    "key_id",
    "load_private_key",
    "public_key_from_b64",
    "save_private_key",
    "sign",
    "verify",
]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 signing key with its raw public key and key id."""

    signing_key: nacl.signing.SigningKey

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        return bytes(self.signing_key.verify_key)

    @property
    def public_key_b64(self) -> str:
        """The public key as EVENTS.md writes it: standard padded base64 of the raw bytes."""
        return base64.b64encode(self.public_key).decode("ascii")

    @property
    def id(self) -> str:
        """The key id: hex of the first 8 bytes of SHA-256(public key)."""
        return key_id(self.public_key)

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed (RFC 8032 secret key)."""
        return bytes(self.signing_key)

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """A key pair from a 32-byte RFC 8032 secret key."""
        if len(seed) != 32:
            raise InputError(f"an Ed25519 seed has 32 bytes, not {len(seed)}", code="key.invalid")
        return cls(nacl.signing.SigningKey(seed))

    def sign(self, message: bytes) -> str:
        """Sign ``message``; return the base64 signature."""
        return sign(self, message)


def generate_key() -> KeyPair:
    """A fresh random Ed25519 key pair."""
    return KeyPair(nacl.signing.SigningKey.generate())


def key_id(public_key: bytes) -> str:
    """Key id of a raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_key).digest()[:8].hex()


def public_key_from_b64(text: str, *, field: str = "public_key") -> bytes:
    """Decode a standard padded base64 public key; refuse anything but 32 raw bytes."""
    raw = _b64decode(text, field=field, code="key.invalid")
    if len(raw) != PUBLIC_KEY_SIZE:
        raise InputError(
            f"an Ed25519 public key has 32 bytes, this one {len(raw)}", code="key.invalid", field=field
        )
    return raw


def sign(key: KeyPair, message: bytes) -> str:
    """Sign ``message`` with ``key``; return standard padded base64."""
    return base64.b64encode(key.signing_key.sign(message).signature).decode("ascii")


def verify_raw(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` (64 raw bytes) is valid for ``message`` under ``public_key`` (the hot path of
    ingest and audit: no base64, no key object)."""
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def verify(public_key: bytes, message: bytes, signature_b64: str) -> bool:
    """True when ``signature_b64`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(signature) != SIGNATURE_SIZE or len(public_key) != PUBLIC_KEY_SIZE:
        return False
    if base64.b64encode(signature).decode("ascii") != signature_b64:
        return False  # a non-canonical spelling of the same bytes
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        return False
    return True


def save_private_key(path: Path, key: KeyPair) -> None:
    """Write ``key`` as an unencrypted PKCS#8 PEM file readable by its owner only (mode 0600)."""
    pem = Ed25519PrivateKey.from_private_bytes(key.seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(
            f"{path} exists already; a key file is never overwritten", code="key.exists", field="path"
        ) from exc
    except OSError as exc:
        raise InputError(
            f"cannot write key file {path}: {exc.strerror}", code="key.unwritable", field="path"
        ) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def load_private_key(path: Path) -> KeyPair:
    """Read a PKCS#8 PEM Ed25519 private key; refuse a file that its group or others may read or write.

    Like ssh refusing an unprotected identity file: a key others could read may already be someone else's,
    so it is refused before a byte of it is read (``key.insecure_permissions``); ``chmod 600`` mends it.
    """
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if stat.S_ISREG(mode) and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise InputError(
                    f"key file {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
                    f"a private key must be readable by its owner only: chmod 600 {path}",
                    code="key.insecure_permissions",
                    field="path",
                    path=str(path),
                )
            data = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read key file {path}: {exc.strerror}", code="key.unreadable") from exc
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{path} is not an unencrypted PEM private key", code="key.invalid") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError(f"{path} holds a key that is not Ed25519", code="key.invalid")
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return KeyPair.from_seed(seed)


def _b64decode(text: str, *, field: str, code: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{field} is not valid base64", code=code, field=field) from exc
