"""RFC 8032 section 7.1 Ed25519 test vectors, run through ``adamas.crypto``.

The vectors live in ``tests/vectors/rfc8032/ed25519.json`` (origin in tests/vectors/SOURCES.md).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adamas.crypto import KeyPair, verify
from adamas.crypto.keys import verify_raw
from conftest import VECTORS as VECTOR_DIR

ASSETS = VECTOR_DIR / "rfc8032"
VECTORS: list[dict[str, Any]] = json.loads((ASSETS / "ed25519.json").read_text(encoding="utf-8"))
RFC8032_NAMES = {"TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"}

vectors = pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def test_all_rfc8032_section_7_1_vectors_are_present() -> None:
    assert {v["name"] for v in VECTORS} == RFC8032_NAMES


@vectors
def test_public_key_is_derived_from_secret_key(vector: dict[str, Any]) -> None:
    key = KeyPair.from_seed(bytes.fromhex(vector["secret_key"]))
    assert key.public_key.hex() == vector["public_key"]
    assert key.seed.hex() == vector["secret_key"]


@vectors
def test_signature_is_reproduced_exactly(vector: dict[str, Any]) -> None:
    key = KeyPair.from_seed(bytes.fromhex(vector["secret_key"]))
    signature_b64 = key.sign(bytes.fromhex(vector["message"]))
    assert base64.b64decode(signature_b64, validate=True).hex() == vector["signature"]
    assert signature_b64 == _b64(bytes.fromhex(vector["signature"]))


@vectors
def test_published_signature_verifies(vector: dict[str, Any]) -> None:
    public_key = bytes.fromhex(vector["public_key"])
    message = bytes.fromhex(vector["message"])
    assert verify(public_key, message, _b64(bytes.fromhex(vector["signature"])))


@vectors
@given(bit=st.integers(0, 64 * 8 - 1))
def test_raw_verification_takes_the_published_signature_and_refuses_a_flipped_bit(
    vector: dict[str, Any], bit: int
) -> None:
    """``verify_raw``, the ingest and audit hot path (raw bytes, no base64), against the same vectors."""
    public_key = bytes.fromhex(vector["public_key"])
    message = bytes.fromhex(vector["message"])
    signature = bytes.fromhex(vector["signature"])
    assert verify_raw(public_key, message, signature)
    assert not verify_raw(public_key, message, _flip(signature, bit))
    assert not verify_raw(public_key, message + b"\x00", signature)
    assert not verify_raw(public_key[:31], message, signature)


@vectors
@given(data=st.data())
def test_flipped_bit_in_message_is_refused(vector: dict[str, Any], data: st.DataObject) -> None:
    public_key = bytes.fromhex(vector["public_key"])
    message = bytes.fromhex(vector["message"])
    signature_b64 = _b64(bytes.fromhex(vector["signature"]))
    if message:
        tampered = _flip(message, data.draw(st.integers(0, len(message) * 8 - 1), label="bit"))
    else:
        # TEST 1 signs the empty message: there is no bit to flip, so any one byte stands in.
        tampered = bytes([data.draw(st.integers(0, 255), label="byte")])
    assert not verify(public_key, tampered, signature_b64)


@vectors
@given(bit=st.integers(0, 64 * 8 - 1))
def test_flipped_bit_in_signature_is_refused(vector: dict[str, Any], bit: int) -> None:
    public_key = bytes.fromhex(vector["public_key"])
    message = bytes.fromhex(vector["message"])
    signature = _flip(bytes.fromhex(vector["signature"]), bit)
    assert not verify(public_key, message, _b64(signature))


@vectors
@given(bit=st.integers(0, 32 * 8 - 1))
def test_flipped_bit_in_public_key_is_refused(vector: dict[str, Any], bit: int) -> None:
    public_key = _flip(bytes.fromhex(vector["public_key"]), bit)
    message = bytes.fromhex(vector["message"])
    assert not verify(public_key, message, _b64(bytes.fromhex(vector["signature"])))


TEST_1 = next(v for v in VECTORS if v["name"] == "TEST 1")
TEST_1_PUBLIC = bytes.fromhex(TEST_1["public_key"])
TEST_1_SIGNATURE = bytes.fromhex(TEST_1["signature"])

MALFORMED_SIGNATURES = {
    "not_base64": "!" * 88,
    "urlsafe_alphabet": base64.urlsafe_b64encode(TEST_1_SIGNATURE).decode("ascii").replace("=", ""),
    "missing_padding": _b64(TEST_1_SIGNATURE).rstrip("="),
    "embedded_newline": _b64(TEST_1_SIGNATURE)[:40] + "\n" + _b64(TEST_1_SIGNATURE)[40:],
    "non_ascii": _b64(TEST_1_SIGNATURE)[:-3] + "é==",
    "empty": "",
    "63_bytes": _b64(TEST_1_SIGNATURE[:63]),
    "65_bytes": _b64(TEST_1_SIGNATURE + b"\x00"),
    "hex_instead_of_base64": TEST_1["signature"],
}


@pytest.mark.parametrize("signature_b64", MALFORMED_SIGNATURES.values(), ids=MALFORMED_SIGNATURES.keys())
def test_malformed_signature_is_refused_without_raising(signature_b64: str) -> None:
    assert not verify(TEST_1_PUBLIC, b"", signature_b64)


MALFORMED_PUBLIC_KEYS = {
    "empty": b"",
    "31_bytes": TEST_1_PUBLIC[:31],
    "33_bytes": TEST_1_PUBLIC + b"\x00",
    "64_bytes": TEST_1_PUBLIC * 2,
}


@pytest.mark.parametrize("public_key", MALFORMED_PUBLIC_KEYS.values(), ids=MALFORMED_PUBLIC_KEYS.keys())
def test_malformed_public_key_is_refused_without_raising(public_key: bytes) -> None:
    assert not verify(public_key, b"", _b64(TEST_1_SIGNATURE))
