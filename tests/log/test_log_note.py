"""C2SP signed notes: the published vectors, vkeys and skeys, and every rejection the spec asks for."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from adamas.errors import InputError, VerificationError
from adamas.log import Note, NoteSignature, Signer, Verifier, VerifierKey, open_note, parse_vkey, sign_note
from adamas.log.note import MAX_SIGNATURES, format_signature_line, key_id
from conftest import VECTORS

NOTE_VECTORS: list[dict[str, Any]] = json.loads(
    (VECTORS / "tlog" / "signed_note_vectors.json").read_text(encoding="utf-8")
)
KEYED_VECTORS = [pytest.param(v, id=v["src"]) for v in NOTE_VECTORS if "vkey" in v]
SIGNING_VECTORS = [pytest.param(v, id=v["src"]) for v in NOTE_VECTORS if "skey" in v]

ALICE = Signer("example.com/alice", bytes(range(32)))
BOB = Signer("example.com/bob", bytes(range(1, 33)))
TEXT = "hello\nworld\n"
SIGNED = sign_note(TEXT, [ALICE])


def _text_of(note: str) -> str:
    return note[: note.rindex("\n\n") + 1]


@pytest.mark.parametrize("vector", KEYED_VECTORS)
def test_published_note_verifies_under_its_vkey(vector: dict[str, Any]) -> None:
    verifier = Verifier.from_vkey(vector["vkey"])
    opened = open_note(vector["note"].encode(), [verifier])
    assert opened.text == _text_of(vector["note"])
    assert [(s.name, s.key_id) for s in opened.signatures] == [(verifier.name, verifier.key_id)]
    assert opened.unverified == ()


@pytest.mark.parametrize("vector", KEYED_VECTORS)
def test_published_vkey_round_trips(vector: dict[str, Any]) -> None:
    parsed = parse_vkey(vector["vkey"])
    assert parsed.to_text() == vector["vkey"]
    assert parsed.key_type == 0x01
    assert Verifier.from_vkey(vector["vkey"]).vkey == vector["vkey"]


@pytest.mark.parametrize("vector", SIGNING_VECTORS)
def test_signing_reproduces_the_published_note_byte_for_byte(vector: dict[str, Any]) -> None:
    signer = Signer.from_skey(vector["skey"])
    assert signer.skey == vector["skey"]
    assert signer.verifier.vkey == vector["vkey"]
    assert sign_note(_text_of(vector["note"]), [signer]) == vector["note"].encode()


def test_spec_example_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    raw = base64.b64decode(vkey.split("+", 2)[2])
    assert key_id("example.com/foo", raw[0], raw[1:]) == 0x530D903A


def test_note_signed_by_several_keys_verifies_each_known_key() -> None:
    note = sign_note(TEXT, [ALICE, BOB])
    opened = open_note(note, [ALICE.verifier, BOB.verifier])
    assert [s.name for s in opened.signatures] == ["example.com/alice", "example.com/bob"]
    only_bob = open_note(note, [BOB.verifier])
    assert [s.name for s in only_bob.signatures] == ["example.com/bob"]
    assert [s.name for s in only_bob.unverified] == ["example.com/alice"]


def test_text_may_contain_blank_lines_and_splits_at_the_last_one() -> None:
    text = "first\n\nsecond\n\n"
    assert open_note(sign_note(text, [ALICE]), [ALICE.verifier]).text == text


def test_unknown_key_sharing_only_the_name_or_only_the_id_is_ignored() -> None:
    impostor = Signer(ALICE.name, bytes(32))  # same name, other key, so another key ID
    forged_id = format_signature_line("example.com/mallory", ALICE.key_id, bytes(64))  # same ID, other name
    note = sign_note(TEXT, [ALICE, impostor]) + forged_id.encode()
    opened = open_note(note, [ALICE.verifier])
    assert [s.name for s in opened.signatures] == [ALICE.name]
    assert {(s.name, s.key_id) for s in opened.unverified} == {
        (impostor.name, impostor.key_id),
        ("example.com/mallory", ALICE.key_id),
    }


def test_repeated_identical_signature_lines_are_kept_once() -> None:
    line = SIGNED.decode().split("\n\n")[1]
    opened = open_note(SIGNED + line.encode(), [ALICE.verifier])
    assert len(opened.signatures) == 1


def test_tampered_text_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        open_note(SIGNED.replace(b"world", b"w0rld"), [ALICE.verifier])
    assert caught.value.code == "note.bad_signature"
    assert caught.value.context["key_id"] == f"{ALICE.key_id:08x}"


def test_bad_signature_from_a_known_key_rejects_the_whole_note() -> None:
    bad = format_signature_line(BOB.name, BOB.key_id, bytes(64)).encode()
    with pytest.raises(VerificationError) as caught:
        open_note(sign_note(TEXT, [ALICE]) + bad, [ALICE.verifier, BOB.verifier])
    assert caught.value.code == "note.bad_signature"


def test_note_with_no_trusted_signature_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        open_note(SIGNED, [BOB.verifier])
    assert caught.value.code == "note.unverified"
    assert caught.value.context["actual"] == [f"{ALICE.name}+{ALICE.key_id:08x}"]


def test_wrong_key_under_the_right_name_is_refused() -> None:
    other = Verifier(ALICE.name, BOB.public_key)
    with pytest.raises(VerificationError) as caught:
        open_note(SIGNED, [other])
    assert caught.value.code == "note.unverified"


def test_sixteen_signatures_are_accepted() -> None:
    signers = [Signer(f"example.com/w{i}", bytes([i]) * 32) for i in range(16)]
    opened = open_note(sign_note(TEXT, signers), [s.verifier for s in signers])
    assert len(opened.signatures) == 16


def test_more_signatures_than_the_limit_are_refused() -> None:
    junk = "".join(format_signature_line(f"example.com/u{i}", i, bytes(64)) for i in range(MAX_SIGNATURES))
    with pytest.raises(InputError) as caught:
        open_note(SIGNED + junk.encode(), [ALICE.verifier])
    assert caught.value.code == "note.too_many_signatures"


def test_two_different_verifiers_with_the_same_name_and_id_are_ambiguous() -> None:
    class Fixed:
        def __init__(self, key: bytes) -> None:
            self.key = key

        name = ALICE.name
        key_id = ALICE.key_id

        def verify(self, message: bytes, signature: bytes) -> bool:
            return True

    with pytest.raises(InputError) as caught:
        open_note(SIGNED, [Fixed(b"a"), Fixed(b"b")])
    assert caught.value.code == "note.ambiguous_verifier"


def _line(payload: bytes, name: str = "example.com/alice") -> bytes:
    return f"— {name} {base64.b64encode(payload).decode()}\n".encode()


GOOD_LINE = SIGNED[len(TEXT) + 1 :]

MALFORMED_NOTES = [
    pytest.param(b"hello\n\n" + GOOD_LINE.replace(b"alice", b"\xffalice"), "note.not_utf8", id="not-utf8"),
    pytest.param(b"hel\tlo\n\n" + GOOD_LINE, "note.control_char", id="tab"),
    pytest.param(b"hello\r\n\n" + GOOD_LINE, "note.control_char", id="carriage-return"),
    pytest.param(b"hello\n\x00\n" + GOOD_LINE, "note.control_char", id="nul"),
    pytest.param(b"hello\n" + GOOD_LINE, "note.signature_block", id="no-blank-line"),
    pytest.param(TEXT.encode() + b"\n", "note.signature_block", id="no-signatures"),
    pytest.param(SIGNED[:-1], "note.signature_block", id="no-final-newline"),
    pytest.param(SIGNED + b"\n", "note.signature_block", id="trailing-blank-line"),
    pytest.param(SIGNED.replace("—".encode(), b"--"), "note.signature_line", id="ascii-dashes"),
    pytest.param(
        SIGNED.replace("— ".encode(), "—".encode()), "note.signature_line", id="no-space-after-dash"
    ),
    pytest.param(TEXT.encode() + b"\n" + _line(b"\x01\x02\x03\x04"), "note.signature_line", id="only-key-id"),
    pytest.param(
        TEXT.encode() + b"\n\xe2\x80\x94 example.com/alice !!!!\n", "note.signature_line", id="not-b64"
    ),
    pytest.param(
        TEXT.encode() + b"\n\xe2\x80\x94 example.com/alice\n", "note.signature_line", id="no-signature"
    ),
    pytest.param(TEXT.encode() + b"\n" + _line(bytes(68), "a+b"), "note.key_name", id="plus-in-name"),
    pytest.param(TEXT.encode() + b"\n" + _line(bytes(68), ""), "note.key_name", id="empty-name"),
    pytest.param(
        TEXT.encode() + b"\n\xe2\x80\x94 a\xc2\xa0b " + base64.b64encode(bytes(68)) + b"\n",
        "note.key_name",
        id="no-break-space-in-name",
    ),
]


@pytest.mark.parametrize(("note", "code"), MALFORMED_NOTES)
def test_malformed_note_is_refused(note: bytes, code: str) -> None:
    with pytest.raises(InputError) as caught:
        open_note(note, [ALICE.verifier])
    assert caught.value.code == code


def test_non_canonical_base64_signature_is_refused() -> None:
    encoded = GOOD_LINE.decode().rsplit(" ", 1)[1].rstrip("\n")
    raw = base64.b64decode(encoded)
    # 4 + 64 = 68 bytes end in one padding character, so the last data character has two unused low
    # bits: setting one spells the same bytes another way, which strict decoding must refuse.
    assert encoded.endswith("=") and not encoded.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = encoded[:-2] + alphabet[alphabet.index(encoded[-2]) ^ 1] + "="
    assert base64.b64decode(twin) == raw
    note = TEXT.encode() + b"\n" + f"— {ALICE.name} {twin}\n".encode()
    with pytest.raises(InputError) as caught:
        open_note(note, [ALICE.verifier])
    assert caught.value.code == "note.signature_line"


@pytest.mark.parametrize(
    ("text", "signers", "code"),
    [
        pytest.param("no newline", [ALICE], "note.text_newline", id="no-final-newline"),
        pytest.param("", [ALICE], "note.text_newline", id="empty"),
        pytest.param("bell\a\n", [ALICE], "note.control_char", id="control-char"),
        pytest.param("lone \ud800 surrogate\n", [ALICE], "note.not_utf8", id="surrogate"),
        pytest.param(TEXT, [], "note.no_signers", id="no-signers"),
    ],
)
def test_unsignable_note_is_refused(text: str, signers: list[Signer], code: str) -> None:
    with pytest.raises(InputError) as caught:
        sign_note(text, signers)
    assert caught.value.code == code


def _vkey_with(name: str, key_type: int, material: bytes) -> str:
    return VerifierKey(name, key_id(name, key_type, material), key_type, material).to_text()


GOOD_VKEY = ALICE.verifier.vkey

BAD_VKEYS = [
    pytest.param(GOOD_VKEY.replace("+", "-", 1), "note.vkey", id="missing-separator"),
    pytest.param("example.com/alice+" + GOOD_VKEY.split("+", 2)[2], "note.vkey", id="missing-key-id"),
    pytest.param(
        GOOD_VKEY.replace(f"{ALICE.key_id:08x}", f"{ALICE.key_id:08X}"), "note.vkey", id="upper-hex"
    ),
    pytest.param(
        GOOD_VKEY.replace(f"{ALICE.key_id:08x}", f"{ALICE.key_id ^ 1:08x}"), "note.key_id_mismatch", id="id"
    ),
    pytest.param(GOOD_VKEY[:-4] + "!!!!", "note.vkey", id="bad-base64"),
    pytest.param("example.com/alice+00000000+", "note.vkey", id="empty-key"),
    pytest.param(GOOD_VKEY.replace("example.com/alice", "example.com/ alice"), "note.key_name", id="space"),
    pytest.param(_vkey_with("example.com/alice", 0x01, bytes(31)), "note.vkey", id="short-key"),
    pytest.param(_vkey_with("example.com/alice", 0x04, bytes(32)), "note.key_type", id="cosignature-type"),
]


@pytest.mark.parametrize(("vkey", "code"), BAD_VKEYS)
def test_bad_vkey_is_refused(vkey: str, code: str) -> None:
    with pytest.raises(InputError) as caught:
        Verifier.from_vkey(vkey)
    assert caught.value.code == code


BAD_SKEYS = [
    pytest.param(ALICE.skey.replace("PRIVATE+KEY+", ""), "note.skey", id="no-prefix"),
    pytest.param(
        ALICE.skey.replace(f"{ALICE.key_id:08x}", "00000000"), "note.key_id_mismatch", id="wrong-id"
    ),
    pytest.param(ALICE.skey[:-4] + "!!!!", "note.skey", id="bad-base64"),
    pytest.param(
        "PRIVATE+KEY+example.com/alice+00000000+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
        "note.skey",
        id="short-seed",
    ),
    pytest.param(
        "PRIVATE+KEY+example.com/alice+00000000+" + base64.b64encode(b"\x04" + bytes(32)).decode(),
        "note.key_type",
        id="wrong-type",
    ),
]


@pytest.mark.parametrize(("skey", "code"), BAD_SKEYS)
def test_bad_skey_is_refused(skey: str, code: str) -> None:
    with pytest.raises(InputError) as caught:
        Signer.from_skey(skey)
    assert caught.value.code == code


def test_generated_signer_round_trips_through_skey_and_vkey_and_hides_its_seed() -> None:
    signer = Signer.generate("example.com/fresh")
    assert Signer.from_skey(signer.skey) == signer
    assert Verifier.from_vkey(signer.verifier.vkey) == signer.verifier
    assert repr(signer.seed) not in repr(signer)


def test_opened_note_values_are_plain_data() -> None:
    opened = open_note(SIGNED, [ALICE.verifier])
    assert opened == Note(TEXT, (NoteSignature(ALICE.name, ALICE.key_id, ALICE.sign(TEXT.encode())),))
    assert opened.signatures[0].to_line().encode() == GOOD_LINE
