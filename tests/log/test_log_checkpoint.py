"""Checkpoints (tlog-checkpoint) and witness cosignatures (tlog-cosignature): round-trips and rejections."""

from __future__ import annotations

import base64
import json

import pytest

from adamas.errors import InputError, VerificationError
from adamas.log import (
    EMPTY_ROOT,
    Checkpoint,
    Cosignature,
    CosignatureVerifier,
    Cosigner,
    MemoryHashStore,
    NoteSignature,
    Signer,
    Verifier,
    consistency_proof,
    cosignature_message,
    leaf_hash,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    tree_root,
    verify_cosignature,
    verify_witness_consistency,
)
from adamas.log.cosignature import MAX_TIMESTAMP
from adamas.log.note import format_signature_line, key_id
from conftest import VECTORS

TREE_NOTE = next(
    v
    for v in json.loads((VECTORS / "tlog" / "signed_note_vectors.json").read_text(encoding="utf-8"))
    if "tree_note_text" in v
)

ORIGIN = "example.com/behind-the-sofa"
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
SPEC_TEXT = f"{ORIGIN}\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
LOG = Signer(ORIGIN, bytes(range(32)))
WITNESS = Cosigner("witness.example.com/w1", bytes(range(100, 132)))


def test_spec_checkpoint_text_round_trips() -> None:
    checkpoint = Checkpoint.from_text(SPEC_TEXT)
    assert checkpoint == Checkpoint(ORIGIN, 20852163, ROOT)
    assert checkpoint.to_text() == SPEC_TEXT


def test_go_sumdb_tree_note_parses_to_its_documented_root() -> None:
    checkpoint = Checkpoint.from_text(TREE_NOTE["tree_note_text"])
    assert (checkpoint.origin, checkpoint.size) == ("go.sum database tree", 123456789012)
    assert checkpoint.root_hash == leaf_hash(b"hello world")
    assert checkpoint.to_text() == TREE_NOTE["tree_note_text"]


def test_extension_lines_round_trip() -> None:
    checkpoint = Checkpoint(ORIGIN, 5, ROOT, ("ext one", "ext two"))
    assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint


def test_empty_tree_checkpoint_uses_size_zero() -> None:
    text = Checkpoint(ORIGIN, 0, EMPTY_ROOT).to_text()
    assert text.split("\n")[1] == "0"
    assert Checkpoint.from_text(text).size == 0


ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="

BAD_CHECKPOINT_TEXTS = [
    pytest.param(SPEC_TEXT[:-1], "log.checkpoint_text", id="no-final-newline"),
    pytest.param(f"{ORIGIN}\n5\n", "log.checkpoint_text", id="two-lines"),
    pytest.param(f"\n5\n{ROOT_B64}\n", "log.checkpoint_origin", id="empty-origin"),
    pytest.param(f"{ORIGIN}\n05\n{ROOT_B64}\n", "log.checkpoint_size", id="leading-zero"),
    pytest.param(f"{ORIGIN}\n00\n{ROOT_B64}\n", "log.checkpoint_size", id="double-zero"),
    pytest.param(f"{ORIGIN}\n+5\n{ROOT_B64}\n", "log.checkpoint_size", id="plus-sign"),
    pytest.param(f"{ORIGIN}\n-5\n{ROOT_B64}\n", "log.checkpoint_size", id="negative"),
    pytest.param(f"{ORIGIN}\n 5\n{ROOT_B64}\n", "log.checkpoint_size", id="space"),
    pytest.param(f"{ORIGIN}\n1_000\n{ROOT_B64}\n", "log.checkpoint_size", id="underscore"),
    pytest.param(f"{ORIGIN}\n\u0665\n{ROOT_B64}\n", "log.checkpoint_size", id="arabic-indic-digit"),
    pytest.param(f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", "log.checkpoint_size", id="beyond-uint64"),
    pytest.param(f"{ORIGIN}\n\n{ROOT_B64}\n", "log.checkpoint_size", id="empty-size"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64[:-1]}\n", "log.checkpoint_root", id="unpadded-root"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64[:-2]}J=\n", "log.checkpoint_root", id="non-canonical-root"),
    pytest.param(
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n", "log.checkpoint_root", id="short-root"
    ),
    pytest.param(f"{ORIGIN}\n5\n\n", "log.checkpoint_root", id="empty-root"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\n\n", "log.checkpoint_extension", id="empty-extension"),
    pytest.param(f"{ORIGIN}\n5\n{ROOT_B64}\nok\r\n", "log.checkpoint_extension", id="control-in-extension"),
]


@pytest.mark.parametrize(("text", "code"), BAD_CHECKPOINT_TEXTS)
def test_malformed_checkpoint_text_is_refused(text: str, code: str) -> None:
    with pytest.raises(InputError) as caught:
        Checkpoint.from_text(text)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"size": -1}, "log.checkpoint_size", id="negative-size"),
        pytest.param({"size": 2**64}, "log.checkpoint_size", id="oversize"),
        pytest.param({"root_hash": ROOT[:16]}, "log.checkpoint_root", id="short-root"),
        pytest.param({"origin": "two\nlines"}, "log.checkpoint_origin", id="newline-origin"),
        pytest.param({"extensions": ("",)}, "log.checkpoint_extension", id="empty-extension"),
    ],
)
def test_invalid_checkpoint_value_cannot_be_built(kwargs: dict[str, object], code: str) -> None:
    fields: dict[str, object] = {"origin": ORIGIN, "size": 5, "root_hash": ROOT, **kwargs}
    with pytest.raises(InputError) as caught:
        Checkpoint(**fields)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_signed_checkpoint_opens_under_the_log_key() -> None:
    checkpoint = Checkpoint(ORIGIN, 20852163, ROOT)
    opened, note = open_checkpoint(
        sign_checkpoint(checkpoint, [LOG]), origin=ORIGIN, verifiers=[LOG.verifier]
    )
    assert opened == checkpoint
    assert [s.name for s in note.signatures] == [ORIGIN]


def test_checkpoint_for_another_origin_is_refused() -> None:
    other = Signer("example.com/other-log", bytes(range(32)))
    note = sign_checkpoint(Checkpoint("example.com/other-log", 1, ROOT), [other])
    with pytest.raises(VerificationError) as caught:
        open_checkpoint(note, origin=ORIGIN, verifiers=[other.verifier])
    assert caught.value.code == "log.checkpoint_origin_mismatch"
    assert caught.value.context == {"expected": ORIGIN, "actual": "example.com/other-log"}


def test_checkpoint_signed_by_the_wrong_key_is_refused() -> None:
    impostor = Signer(ORIGIN, bytes(32))
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), [impostor])
    with pytest.raises(VerificationError) as caught:
        open_checkpoint(note, origin=ORIGIN, verifiers=[LOG.verifier])
    assert caught.value.code == "note.unverified"


def test_tampered_checkpoint_is_refused() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 20852163, ROOT), [LOG])
    with pytest.raises(VerificationError) as caught:
        open_checkpoint(note.replace(b"20852163", b"20852164"), origin=ORIGIN, verifiers=[LOG.verifier])
    assert caught.value.code == "note.bad_signature"


def test_cosignature_message_is_the_spec_example() -> None:
    expected = f"cosignature/v1\ntime 1679315147\n{SPEC_TEXT}".encode()
    assert cosignature_message(SPEC_TEXT, 1679315147) == expected


def test_cosigner_key_id_uses_signature_type_4() -> None:
    assert WITNESS.key_id == key_id(WITNESS.name, 0x04, WITNESS.public_key)
    assert WITNESS.key_id != key_id(WITNESS.name, 0x01, WITNESS.public_key)


def test_cosigned_checkpoint_verifies_with_its_timestamp() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 20852163, ROOT), [LOG])
    cosigned = note + WITNESS.cosign(SPEC_TEXT, timestamp=1679315147).encode()
    cosignature = verify_cosignature(cosigned, WITNESS.verifier)
    assert cosignature == Cosignature(WITNESS.name, WITNESS.key_id, 1679315147, cosignature.signature)
    # The log signature still verifies, and the cosignature is set aside as an unknown key.
    checkpoint, opened = open_checkpoint(cosigned, origin=ORIGIN, verifiers=[LOG.verifier])
    assert checkpoint.size == 20852163
    assert [s.name for s in opened.unverified] == [WITNESS.name]
    # Both verify when both keys are trusted.
    both = open_note(cosigned, [LOG.verifier, WITNESS.verifier])
    assert [s.name for s in both.signatures] == [ORIGIN, WITNESS.name]


def test_cosignature_signature_is_72_bytes_with_big_endian_timestamp() -> None:
    payload = WITNESS.sign(SPEC_TEXT, timestamp=0x0102030405060708)
    assert len(payload) == 72
    assert payload[:8] == bytes([1, 2, 3, 4, 5, 6, 7, 8])


def test_latest_cosignature_counts_when_a_witness_signed_twice() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 20852163, ROOT), [LOG])
    lines = WITNESS.cosign(SPEC_TEXT, timestamp=10) + WITNESS.cosign(SPEC_TEXT, timestamp=20)
    assert verify_cosignature(note + lines.encode(), WITNESS.verifier).timestamp == 20


def test_cosignature_over_tampered_checkpoint_is_refused() -> None:
    line = WITNESS.cosign(SPEC_TEXT, timestamp=1).encode()
    tampered = SPEC_TEXT.replace("20852163", "20852164")
    forged = tampered.encode() + b"\n" + line
    with pytest.raises(VerificationError) as caught:
        verify_cosignature(forged, WITNESS.verifier)
    assert caught.value.code == "log.cosignature_invalid"


def test_missing_cosignature_is_reported() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 20852163, ROOT), [LOG])
    with pytest.raises(VerificationError) as caught:
        verify_cosignature(note, WITNESS.verifier)
    assert caught.value.code == "log.cosignature_missing"


def test_cosignature_from_the_wrong_witness_key_is_not_accepted() -> None:
    impostor = Cosigner(WITNESS.name, bytes(32))
    note = sign_checkpoint(Checkpoint(ORIGIN, 20852163, ROOT), [LOG])
    cosigned = note + impostor.cosign(SPEC_TEXT, timestamp=1).encode()
    with pytest.raises(VerificationError) as caught:
        verify_cosignature(cosigned, WITNESS.verifier)
    assert caught.value.code == "log.cosignature_missing"


def test_cosignature_is_not_a_plain_note_signature_by_the_same_key() -> None:
    # Same name and key bytes as a type-0x01 note key: the 0x04 key ID differs, so the line is unknown to it,
    # and even forced through that key the signature covers the cosignature/v1 message, not the bare text.
    plain = Verifier(WITNESS.name, WITNESS.public_key)
    payload = WITNESS.sign(SPEC_TEXT, timestamp=1)
    forced = format_signature_line(WITNESS.name, plain.key_id, payload[8:]).encode()
    with pytest.raises(VerificationError) as caught:
        open_note(SPEC_TEXT.encode() + b"\n" + forced, [plain])
    assert caught.value.code == "note.bad_signature"


@pytest.mark.parametrize("timestamp", [-1, MAX_TIMESTAMP + 1])
def test_out_of_range_timestamp_cannot_be_signed(timestamp: int) -> None:
    with pytest.raises(InputError) as caught:
        WITNESS.sign(SPEC_TEXT, timestamp=timestamp)
    assert caught.value.code == "log.cosignature_timestamp"


def test_timestamp_beyond_2_pow_63_does_not_verify() -> None:
    payload = WITNESS.sign(SPEC_TEXT, timestamp=5)
    forged = (MAX_TIMESTAMP + 1).to_bytes(8, "big") + payload[8:]
    assert not WITNESS.verifier.verify(SPEC_TEXT.encode(), forged)
    with pytest.raises(InputError) as caught:
        Cosignature.from_note_signature(NoteSignature(WITNESS.name, WITNESS.key_id, forged))
    assert caught.value.code == "log.cosignature_timestamp"


@pytest.mark.parametrize("size", [0, 71, 73])
def test_cosignature_of_the_wrong_size_is_refused(size: int) -> None:
    assert not WITNESS.verifier.verify(SPEC_TEXT.encode(), bytes(size))
    with pytest.raises(InputError) as caught:
        Cosignature.from_note_signature(NoteSignature(WITNESS.name, WITNESS.key_id, bytes(size)))
    assert caught.value.code == "log.cosignature_size"


def test_cosigner_vkey_round_trips_and_type_is_checked() -> None:
    vkey = WITNESS.verifier.vkey
    assert CosignatureVerifier.from_vkey(vkey) == WITNESS.verifier
    with pytest.raises(InputError) as caught:
        CosignatureVerifier.from_vkey(LOG.verifier.vkey)
    assert caught.value.code == "note.key_type"
    with pytest.raises(InputError) as caught:
        Verifier.from_vkey(vkey)
    assert caught.value.code == "note.key_type"


def test_witness_flow_from_first_contact_to_growth() -> None:
    # A log grows; a witness first cosigns from "old 0", then checks consistency for each new checkpoint.
    store = MemoryHashStore.from_leaf_hashes(leaf_hash(bytes([i])) for i in range(20))
    witness = Cosigner.generate("witness.example.com/w2")
    seen_size, seen_root = 0, EMPTY_ROOT
    for size in (7, 7, 20):
        checkpoint = Checkpoint(ORIGIN, size, tree_root(size, store))
        note = sign_checkpoint(checkpoint, [LOG])
        proof = consistency_proof(seen_size, size, store)
        opened, _ = open_checkpoint(note, origin=ORIGIN, verifiers=[LOG.verifier])
        verify_witness_consistency(seen_size, opened.size, proof, seen_root, opened.root_hash)
        line = witness.cosign(opened.to_text(), timestamp=1_700_000_000 + size)
        assert verify_cosignature(note + line.encode(), witness.verifier).timestamp == 1_700_000_000 + size
        seen_size, seen_root = opened.size, opened.root_hash
