"""Key ids, PEM key files and public-key decoding in ``adamas.crypto.keys``."""

from __future__ import annotations

import base64
import hashlib
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from adamas.crypto import (
    KeyPair,
    generate_key,
    key_id,
    load_private_key,
    public_key_from_b64,
    save_private_key,
)
from adamas.errors import InputError

# RFC 8032 section 7.1 TEST 1: a published key pair, so these tests do not depend on randomness.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")


def test_key_id_is_hex_of_first_8_bytes_of_sha256_of_public_key() -> None:
    expected = hashlib.sha256(PUBLIC).digest()[:8].hex()
    assert key_id(PUBLIC) == expected
    assert KeyPair.from_seed(SEED).id == expected
    assert len(expected) == 16
    assert expected == expected.lower()


def test_key_id_differs_between_keys() -> None:
    other = generate_key()
    assert other.id == hashlib.sha256(other.public_key).digest()[:8].hex()
    assert other.id != key_id(PUBLIC)


def test_public_key_b64_is_standard_padded_base64_of_raw_key() -> None:
    assert KeyPair.from_seed(SEED).public_key_b64 == base64.b64encode(PUBLIC).decode("ascii")


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_seed_of_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(InputError) as caught:
        KeyPair.from_seed(bytes(length))
    assert caught.value.code == "key.invalid"


def test_private_key_pem_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "signer.pem"
    save_private_key(path, KeyPair.from_seed(SEED))
    loaded = load_private_key(path)
    assert loaded.seed == SEED
    assert loaded.public_key == PUBLIC


def test_private_key_file_is_pkcs8_pem_readable_by_other_tools(tmp_path: Path) -> None:
    path = tmp_path / "signer.pem"
    save_private_key(path, KeyPair.from_seed(SEED))
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    private = serialization.load_pem_private_key(data, password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw == PUBLIC


def test_private_key_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "signer.pem"
    save_private_key(path, generate_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_refuses_to_overwrite_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "signer.pem"
    path.write_bytes(b"precious")
    with pytest.raises(InputError) as caught:
        save_private_key(path, generate_key())
    assert caught.value.code == "key.exists"
    assert path.read_bytes() == b"precious"


def _pkcs8(key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ec_p256() -> bytes:
    return _pkcs8(ec.generate_private_key(ec.SECP256R1()))


def _x25519() -> bytes:
    return _pkcs8(x25519.X25519PrivateKey.generate())


def _encrypted_ed25519() -> bytes:
    return ed25519.Ed25519PrivateKey.from_private_bytes(SEED).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )


def _public_key_pem() -> bytes:
    return (
        ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


BAD_KEY_FILES: dict[str, Callable[[], bytes]] = {
    "ec_p256": _ec_p256,
    "x25519": _x25519,
    "encrypted_ed25519": _encrypted_ed25519,
    "ed25519_public_key": _public_key_pem,
    "not_pem": lambda: b"this is not a key\n",
    "empty": lambda: b"",
}


@pytest.mark.parametrize("make", BAD_KEY_FILES.values(), ids=BAD_KEY_FILES.keys())
def test_key_file_that_is_not_an_unencrypted_ed25519_key_is_refused(
    tmp_path: Path, make: Callable[[], bytes]
) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(make())
    path.chmod(0o600)
    with pytest.raises(InputError) as caught:
        load_private_key(path)
    assert caught.value.code == "key.invalid"


@pytest.mark.parametrize(
    "mode",
    [0o640, 0o604, 0o644, 0o660, 0o606, 0o666, 0o610, 0o601, 0o700 | 0o007, 0o620],
    ids=lambda m: f"{m:04o}",
)
def test_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "signer.pem"
    save_private_key(path, KeyPair.from_seed(SEED))
    path.chmod(mode)
    with pytest.raises(InputError) as caught:
        load_private_key(path)
    assert caught.value.code == "key.insecure_permissions"
    assert caught.value.field == "path"
    assert str(path) in caught.value.message
    assert f"{mode:04o}" in caught.value.message
    assert base64.b64encode(SEED).decode() not in str(caught.value.to_dict())
    assert stat.S_IMODE(path.stat().st_mode) == mode  # reported, never silently changed


@pytest.mark.parametrize("mode", [0o600, 0o400], ids=lambda m: f"{m:04o}")
def test_key_file_readable_by_owner_only_loads(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "signer.pem"
    save_private_key(path, KeyPair.from_seed(SEED))
    path.chmod(mode)
    assert load_private_key(path).seed == SEED


def test_missing_key_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_private_key(tmp_path / "absent.pem")
    assert caught.value.code == "key.unreadable"


def test_directory_as_key_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_private_key(tmp_path)
    assert caught.value.code == "key.unreadable"


def test_public_key_from_b64_decodes_raw_key() -> None:
    assert public_key_from_b64(base64.b64encode(PUBLIC).decode("ascii")) == PUBLIC


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


BAD_PUBLIC_KEYS = {
    "not_base64": "not base64 at all!",
    "urlsafe_alphabet": base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode("ascii"),
    "missing_padding": _b64(PUBLIC).rstrip("="),
    "embedded_newline": _b64(PUBLIC)[:20] + "\n" + _b64(PUBLIC)[20:],
    "hex_instead_of_base64": PUBLIC.hex(),
    "empty": "",
    "31_bytes": _b64(PUBLIC[:31]),
    "33_bytes": _b64(PUBLIC + b"\x00"),
    "64_bytes": _b64(PUBLIC * 2),
}


@pytest.mark.parametrize("text", BAD_PUBLIC_KEYS.values(), ids=BAD_PUBLIC_KEYS.keys())
def test_public_key_from_b64_refuses_malformed_key(text: str) -> None:
    with pytest.raises(InputError) as caught:
        public_key_from_b64(text, field="signer_key")
    assert caught.value.code == "key.invalid"
    assert caught.value.field == "signer_key"
