"""C2SP tlog-cosignature@v1.0.1: timestamped Ed25519 witness cosignatures (signature type 0x04).

A cosigner states that, at ``timestamp``, the checkpoint is the largest consistent tree head it has seen for
the log. The signature covers

    cosignature/v1
    time <timestamp>
    <the whole checkpoint note text>

and travels as an ordinary note signature line whose payload is the 72-byte ``timestamped_signature``
(big-endian u64 timestamp || 64-byte Ed25519 signature).

Invariants:
- the key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4], so a cosigner key can never be mistaken
  for (or verify as) an Ed25519 note key of type 0x01, even with the same name and key bytes;
- the header line gives domain separation: a cosignature is never a valid signature over the bare text;
- timestamps are POSIX seconds no greater than 2**63 - 1; nothing here reads a clock, the caller supplies it;
- ``CosignatureVerifier`` is a ``NoteVerifier``, so cosignatures are checked by ``open_note`` like any other.

Error codes, InputError: ``log.cosignature_timestamp``, ``log.cosignature_size``, and for keys ``note.vkey``,
``note.skey``, ``note.key_type``, ``note.key_name``, ``note.key_id_mismatch``. VerificationError:
``log.cosignature_missing``, ``log.cosignature_invalid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adamas.errors import InputError, VerificationError
from adamas.log import _ed25519
from adamas.log.note import (
    NoteSignature,
    VerifierKey,
    check_key_name,
    format_signature_line,
    key_id,
    open_note,
    parse_vkey,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "MAX_TIMESTAMP",
    "Cosignature",
    "CosignatureVerifier",
    "Cosigner",
    "cosignature_message",
    "verify_cosignature",
]

COSIGNATURE_TYPE = 0x04
MAX_TIMESTAMP = 2**63 - 1

_HEADER = "cosignature/v1\n"
_TIMESTAMP_SIZE = 8
_TIMESTAMPED_SIGNATURE_SIZE = _TIMESTAMP_SIZE + _ed25519.SIGNATURE_SIZE


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The signed message: header line, ``time <timestamp>`` line, then the checkpoint note text."""
    _check_timestamp(timestamp)
    return f"{_HEADER}time {timestamp}\n{checkpoint_text}".encode()


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who signed, with which key ID, and when they say they did."""

    name: str
    key_id: int
    timestamp: int
    signature: bytes

    @classmethod
    def from_note_signature(cls, signature: NoteSignature) -> Cosignature:
        """Split a note signature's payload into the timestamp and the Ed25519 signature."""
        payload = signature.signature
        if len(payload) != _TIMESTAMPED_SIGNATURE_SIZE:
            raise InputError(
                f"a cosignature is {_TIMESTAMPED_SIGNATURE_SIZE} bytes, got {len(payload)}",
                code="log.cosignature_size",
                field="signature",
                expected=_TIMESTAMPED_SIGNATURE_SIZE,
                actual=len(payload),
            )
        timestamp = int.from_bytes(payload[:_TIMESTAMP_SIZE], "big")
        _check_timestamp(timestamp)
        return cls(signature.name, signature.key_id, timestamp, payload[_TIMESTAMP_SIZE:])


@dataclass(frozen=True)
class CosignatureVerifier:
    """A trusted cosigner: name and 32-byte Ed25519 public key. Usable wherever a ``NoteVerifier`` is."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _ed25519.check_public_key(self.public_key, code="note.vkey")

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """The cosigner a vkey of signature type 0x04 describes."""
        parsed = parse_vkey(vkey)
        if parsed.key_type != COSIGNATURE_TYPE:
            raise InputError(
                f"key has signature type 0x{parsed.key_type:02x}, expected 0x{COSIGNATURE_TYPE:02x}",
                code="note.key_type",
                field="key_type",
                expected=COSIGNATURE_TYPE,
                actual=parsed.key_type,
            )
        return cls(parsed.name, parsed.public_key)

    @property
    def key_id(self) -> int:
        """SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
        return key_id(self.name, COSIGNATURE_TYPE, self.public_key)

    @property
    def vkey(self) -> str:
        """The vkey string (signature type 0x04)."""
        return VerifierKey(self.name, self.key_id, COSIGNATURE_TYPE, self.public_key).to_text()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid timestamped cosignature over the checkpoint text ``message``."""
        if len(signature) != _TIMESTAMPED_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError:
            return False
        signed = cosignature_message(text, timestamp)
        return _ed25519.verify(self.public_key, signed, signature[_TIMESTAMP_SIZE:])


@dataclass(frozen=True)
class Cosigner:
    """A witness key that produces cosignature/v1 lines, from a 32-byte Ed25519 seed."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _ed25519.check_seed(self.seed, code="note.skey")

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        """A cosigner with a fresh random key."""
        return cls(name, _ed25519.generate_seed())

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return _ed25519.public_key(self.seed)

    @property
    def key_id(self) -> int:
        """SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
        return key_id(self.name, COSIGNATURE_TYPE, self.public_key)

    @property
    def verifier(self) -> CosignatureVerifier:
        """The matching verifier."""
        return CosignatureVerifier(self.name, self.public_key)

    def sign(self, checkpoint_text: str, *, timestamp: int) -> bytes:
        """The 72-byte ``timestamped_signature`` over ``checkpoint_text`` at ``timestamp``."""
        signature = _ed25519.sign(self.seed, cosignature_message(checkpoint_text, timestamp))
        return timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature

    def cosign(self, checkpoint_text: str, *, timestamp: int) -> str:
        """The note signature line to append to the signed checkpoint (what tlog-witness returns)."""
        return format_signature_line(self.name, self.key_id, self.sign(checkpoint_text, timestamp=timestamp))


def verify_cosignature(note: bytes, verifier: CosignatureVerifier) -> Cosignature:
    """Find and verify ``verifier``'s cosignature on a signed checkpoint note; return it with its time.

    This checks only the cosignature: the log's own signature is checked by ``open_checkpoint``.
    """
    try:
        opened = open_note(note, [verifier])
    except VerificationError as exc:
        if exc.code == "note.unverified":
            raise VerificationError(
                f"checkpoint carries no cosignature by {verifier.name}",
                code="log.cosignature_missing",
                field="signatures",
                expected=f"{verifier.name}+{verifier.key_id:08x}",
            ) from exc
        raise VerificationError(
            f"cosignature by {verifier.name} does not verify",
            code="log.cosignature_invalid",
            field="signatures",
            name=verifier.name,
        ) from exc
    # A cosigner may have signed several times (different timestamps); the latest statement counts.
    return max(
        (Cosignature.from_note_signature(signature) for signature in opened.signatures),
        key=lambda cosignature: cosignature.timestamp,
    )


def _check_timestamp(timestamp: int) -> None:
    # It MUST NOT exceed 2^63 - 1.
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InputError(
            f"cosignature timestamp must be between 0 and {MAX_TIMESTAMP}",
            code="log.cosignature_timestamp",
            field="timestamp",
            actual=timestamp,
        )
