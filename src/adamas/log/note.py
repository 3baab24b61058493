"""C2SP signed notes (signed-note@v1.0.0) with Ed25519 keys, and the verifier-key (vkey) text format.

A signed note is ``text`` (UTF-8, ending in a newline), a blank line, then one or more lines
``— <key name> base64(key ID || signature)``. This module signs notes and opens them against a set of
trusted verifiers; other signature types (the 0x04 cosignatures of ``adamas.log.cosignature``) plug in
through the ``NoteSigner`` and ``NoteVerifier`` protocols.

Invariants:
- a note is valid UTF-8 with no ASCII control character other than newline, and the text is everything up
  to and including the newline before the *last* blank line;
- a key is identified by the pair (name, key ID); signatures from unknown pairs are kept aside unverified
  and never trusted, even when the name or the ID alone matches a known key;
- every signature from a known key is verified, and one that fails rejects the whole note; a note with no
  verified signature is rejected (``open_note`` never returns unverified text as if it were trusted);
- at most ``MAX_SIGNATURES`` (100, the spec requires at least 16) signature lines are parsed;
- key IDs are ``SHA-256(name || 0x0A || type || public key)[:4]`` read as a big-endian uint32, and a vkey or
  skey whose ID does not match its key is refused;
- base64 must be canonical (see ``adamas.log._base64``).

Error codes, InputError: ``note.not_utf8``, ``note.control_char``, ``note.text_newline``,
``note.signature_block``, ``note.signature_line``, ``note.key_name``, ``note.too_many_signatures``,
``note.no_signers``, ``note.ambiguous_verifier``, ``note.vkey``, ``note.skey``, ``note.key_id_mismatch``,
``note.key_type``. VerificationError: ``note.bad_signature``, ``note.unverified``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from adamas.errors import InputError, VerificationError
from adamas.log import _ed25519
from adamas.log._base64 import b64decode_canonical, b64encode

__all__ = [
    "ED25519_TYPE",
    "MAX_SIGNATURES",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "Signer",
    "Verifier",
    "VerifierKey",
    "check_key_name",
    "format_signature_line",
    "key_id",
    "open_note",
    "parse_vkey",
    "sign_note",
]

ED25519_TYPE = 0x01
MAX_SIGNATURES = 100

_SIGNATURE_PREFIX = "— "
_KEY_ID_SIZE = 4
_SKEY_PREFIX = "PRIVATE+KEY+"
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteSigner(Protocol):
    """A key that can sign note text: its name, its key ID, and the signature over the exact text bytes."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes: ...


class NoteVerifier(Protocol):
    """A trusted key: its name, its key ID, and whether a signature over the text bytes is valid."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key name, the key ID and the signature bytes that follow the ID."""

    name: str
    key_id: int
    signature: bytes

    def to_line(self) -> str:
        """The line as it appears in a note, newline included."""
        return format_signature_line(self.name, self.key_id, self.signature)


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified by trusted keys, and those from unknown keys."""

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...] = ()


@dataclass(frozen=True)
class VerifierKey:
    """A parsed vkey ``<name>+<hex key ID>+base64(type || public key)`` of any signature type."""

    name: str
    key_id: int
    key_type: int
    public_key: bytes

    def to_text(self) -> str:
        """The vkey string."""
        return _encode_key_text(self.name, self.key_id, self.key_type, self.public_key)


def key_id(name: str, key_type: int, public_key: bytes) -> int:
    """SHA-256(key name || 0x0A || signature type || public key)[:4], as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


def check_key_name(name: str, *, where: str = "name") -> str:
    """Return ``name`` if it is a valid key name: non-empty, no Unicode space, no ``+``; else raise."""
    if not name or "+" in name or any(_is_space(c) for c in name) or _CONTROL.search(name):
        raise InputError(
            f"key name {name!r} must be non-empty, without spaces, '+' or control characters",
            code="note.key_name",
            field=where,
        )
    return name


def format_signature_line(name: str, key_id: int, signature: bytes) -> str:
    """``— <name> base64(key ID || signature)`` followed by a newline."""
    return f"{_SIGNATURE_PREFIX}{name} {b64encode(key_id.to_bytes(_KEY_ID_SIZE, 'big') + signature)}\n"


def parse_vkey(vkey: str) -> VerifierKey:
    """Parse a vkey of any signature type, checking that its key ID matches its name and key."""
    name, key_id_hex, key_b64 = _split_key_text(vkey, code="note.vkey")
    check_key_name(name, where="vkey")
    return _decode_key(name, key_id_hex, key_b64, code="note.vkey")


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier (signature type 0x01)."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _ed25519.check_public_key(self.public_key, code="note.vkey")

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """The verifier a vkey describes; its signature type must be Ed25519 (0x01)."""
        parsed = parse_vkey(vkey)
        _check_key_type(parsed.key_type, ED25519_TYPE)
        return cls(parsed.name, parsed.public_key)

    @property
    def key_id(self) -> int:
        """SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
        return key_id(self.name, ED25519_TYPE, self.public_key)

    @property
    def vkey(self) -> str:
        """The vkey string of this verifier."""
        return _encode_key_text(self.name, self.key_id, ED25519_TYPE, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature over ``message``."""
        return _ed25519.verify(self.public_key, message, signature)


@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer (signature type 0x01), from a 32-byte RFC 8032 seed."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _ed25519.check_seed(self.seed, code="note.skey")

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A signer with a fresh random key."""
        return cls(name, _ed25519.generate_seed())

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)``, checking the key ID."""
        if not skey.startswith(_SKEY_PREFIX):
            raise InputError(f"a signer key must start with {_SKEY_PREFIX!r}", code="note.skey", field="skey")
        name, key_id_hex, key_b64 = _split_key_text(skey[len(_SKEY_PREFIX) :], code="note.skey")
        check_key_name(name, where="skey")
        raw = _decode_key_material(key_b64, code="note.skey")
        _check_key_type(raw[0], ED25519_TYPE)
        signer = cls(name, raw[1:])
        _check_key_id(key_id_hex, signer.key_id, code="note.skey")
        return signer

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return _ed25519.public_key(self.seed)

    @property
    def key_id(self) -> int:
        """SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
        return key_id(self.name, ED25519_TYPE, self.public_key)

    @property
    def skey(self) -> str:
        """The skey string of this signer (secret: it holds the seed)."""
        return _SKEY_PREFIX + _encode_key_text(self.name, self.key_id, ED25519_TYPE, self.seed)

    @property
    def verifier(self) -> Verifier:
        """The matching verifier."""
        return Verifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature over ``message``."""
        return _ed25519.sign(self.seed, message)


def sign_note(text: str, signers: Sequence[NoteSigner]) -> bytes:
    """The signed note: ``text``, a blank line, and one signature line per signer, in order."""
    _check_note_characters(text)
    if not text.endswith("\n"):
        raise InputError("note text must end with a newline", code="note.text_newline", field="text")
    if not signers:
        raise InputError("a note needs at least one signer", code="note.no_signers", field="signers")
    message = text.encode("utf-8")
    lines = []
    for signer in signers:
        check_key_name(signer.name, where="signers")
        lines.append(format_signature_line(signer.name, signer.key_id, signer.sign(message)))
    return (text + "\n" + "".join(lines)).encode("utf-8")


def open_note(note: bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse ``note`` and verify its signatures against ``verifiers``; return the text and signatures.

    Raises InputError for a malformed note, ``VerificationError(code="note.bad_signature")`` if a known
    key's signature fails, and ``VerificationError(code="note.unverified")`` if no known key signed it.
    """
    known = _index_verifiers(verifiers)
    # Signed notes MUST be valid UTF-8 and MUST NOT contain any ASCII control characters other than newline.
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("note is not valid UTF-8", code="note.not_utf8", field="note") from exc
    _check_note_characters(decoded)
    # The text is separated from the signatures by the last empty line in the note.
    split = decoded.rfind("\n\n")
    if split < 0:
        raise InputError("note has no blank line before its signatures", code="note.signature_block")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block or not block.endswith("\n"):
        raise InputError(
            "note must end with one or more newline-terminated signature lines", code="note.signature_block"
        )
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InputError(
            f"note has more than {MAX_SIGNATURES} signatures",
            code="note.too_many_signatures",
            expected=MAX_SIGNATURES,
            actual=len(lines),
        )
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for number, line in enumerate(lines):
        signature = _parse_signature_line(line, number)
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            # Verifiers MUST ignore signatures from unknown keys, even if they share a name or ID.
            if signature not in unverified:
                unverified.append(signature)
            continue
        # If the key name and ID match a known key, verifiers MUST verify the signature; if it fails,
        # clients SHOULD reject the whole note (we do: a known key signing garbage is a warning sign).
        if not verifier.verify(message, signature.signature):
            raise VerificationError(
                f"signature by {signature.name}+{signature.key_id:08x} does not verify",
                code="note.bad_signature",
                field="signature",
                name=signature.name,
                key_id=f"{signature.key_id:08x}",
            )
        if signature not in verified:
            verified.append(signature)
    # If no signature from a known key verifies successfully, clients MUST reject the note.
    if not verified:
        raise VerificationError(
            "note carries no signature from a trusted key",
            code="note.unverified",
            expected=sorted(f"{name}+{kid:08x}" for name, kid in known),
            actual=[f"{s.name}+{s.key_id:08x}" for s in unverified],
        )
    return Note(text, tuple(verified), tuple(unverified))


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    # — <key name> base64(32-bit key ID || signature)
    where = f"signatures[{number}]"
    if not line.startswith(_SIGNATURE_PREFIX):
        raise InputError(
            f"signature line {number} does not start with an em dash and a space",
            code="note.signature_line",
            field=where,
        )
    name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    check_key_name(name, where=where)
    raw = b64decode_canonical(encoded)
    if raw is None or len(raw) <= _KEY_ID_SIZE:
        raise InputError(
            f"signature line {number} does not hold base64 of a key ID and a signature",
            code="note.signature_line",
            field=where,
        )
    return NoteSignature(name, int.from_bytes(raw[:_KEY_ID_SIZE], "big"), raw[_KEY_ID_SIZE:])


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in known and known[key] != verifier:
            # Two trusted keys with the same name and ID: a signature could not be attributed to one.
            raise InputError(
                f"two different verifiers share the name and key ID {key[0]}+{key[1]:08x}",
                code="note.ambiguous_verifier",
                field="verifiers",
            )
        known[key] = verifier
    return known


def _check_note_characters(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("note is not valid UTF-8", code="note.not_utf8", field="text") from exc
    found = _CONTROL.search(text)
    if found:
        raise InputError(
            f"note contains the control character U+{ord(found.group()):04X} at offset {found.start()}",
            code="note.control_char",
            field="text",
        )


def _is_space(char: str) -> bool:
    # Go's unicode.IsSpace: the White_Space property, which str.isspace() and category Zs together cover.
    return char.isspace() or unicodedata.category(char) == "Zs"


def _split_key_text(value: str, *, code: str) -> tuple[str, str, str]:
    # name + hex key ID + base64: the name has no '+' and the ID is hex, but base64 may contain '+'.
    pieces = value.split("+", 2)
    if len(pieces) != 3:
        raise InputError(
            "a key must be <name>+<hex key ID>+<base64 key>", code=code, field="key", actual=len(pieces)
        )
    return pieces[0], pieces[1], pieces[2]


def _decode_key_material(encoded: str, *, code: str) -> bytes:
    raw = b64decode_canonical(encoded)
    if not raw:
        raise InputError("key material is not canonical base64 of a type byte and a key", code=code)
    return raw


def _decode_key(name: str, key_id_hex: str, key_b64: str, *, code: str) -> VerifierKey:
    raw = _decode_key_material(key_b64, code=code)
    parsed = VerifierKey(name, key_id(name, raw[0], raw[1:]), raw[0], raw[1:])
    _check_key_id(key_id_hex, parsed.key_id, code=code)
    return parsed


def _check_key_id(key_id_hex: str, computed: int, *, code: str) -> None:
    if not _HEX_KEY_ID.fullmatch(key_id_hex):
        raise InputError(f"key ID {key_id_hex!r} is not 8 lowercase hex digits", code=code, field="key_id")
    if int(key_id_hex, 16) != computed:
        raise InputError(
            "key ID does not match the key's name and public key",
            code="note.key_id_mismatch",
            field="key_id",
            expected=f"{computed:08x}",
            actual=key_id_hex,
        )


def _check_key_type(actual: int, expected: int) -> None:
    if actual != expected:
        raise InputError(
            f"key has signature type 0x{actual:02x}, expected 0x{expected:02x}",
            code="note.key_type",
            field="key_type",
            expected=expected,
            actual=actual,
        )


def _encode_key_text(name: str, key_id: int, key_type: int, material: bytes) -> str:
    return f"{name}+{key_id:08x}+{b64encode(bytes([key_type]) + material)}"
