"""The witness against C2SP tlog-witness v1.0.0: every status code of add-checkpoint, a split view and a
rollback refused, the state never rolled back by racing requests, and cosignatures checked with an
independent Ed25519 implementation from the tlog-cosignature v1.0.1 message layout."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from witness_helpers import ORIGIN, MemoryLog, fork_of, independent_verify, serving

from adamas.errors import AdamasError
from adamas.log import Cosigner, Signer, Verifier, parse_vkey
from adamas.witness import Witness, WitnessState, format_add_checkpoint, parse_add_checkpoint
from adamas.witness.http import create_app

NOW = 1_780_000_000
Request = Callable[[MemoryLog], bytes]


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog(Signer.generate(ORIGIN), size=10)


@pytest.fixture
def cosigner() -> Cosigner:
    return Cosigner.generate("witness.example/w1")


@pytest.fixture
def witness(tmp_path: Path, log: MemoryLog, cosigner: Cosigner) -> Iterator[Witness]:
    state = WitnessState.open(str(tmp_path / "witness.db"))
    yield Witness(cosigner, {ORIGIN: [log.signer.verifier]}, state, clock=lambda: NOW * 1_000_000_000)
    state.close()


@pytest.fixture
def client(witness: Witness) -> Iterator[httpx.Client]:
    """An HTTP client of the witness served by a real uvicorn on loopback."""
    with serving(create_app(witness)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def post(client: httpx.Client, body: bytes) -> tuple[int, str, str]:
    response = client.post("/add-checkpoint", content=body)
    return response.status_code, response.headers.get("content-type", ""), response.text


def add(log: MemoryLog, old: int, *, size: int | None = None) -> bytes:
    size = log.size if size is None else size
    return format_add_checkpoint(old, log.proof(old, size) if old else [], log.note(size))


def test_first_checkpoint_is_cosigned_and_verifies_independently(
    client: httpx.Client, log: MemoryLog, cosigner: Cosigner
) -> None:
    status, content_type, body = post(client, add(log, 0))
    assert (status, content_type) == (200, "text/plain; charset=utf-8")
    text = log.note().decode().split("\n\n")[0] + "\n"
    assert independent_verify(body, cosigner.verifier.vkey, text) == NOW
    assert body.count("\n") == 1


def test_the_log_grows_with_a_consistency_proof(
    client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    assert post(client, add(log, 0))[0] == 200
    log.grow(27)
    status, _, _ = post(client, add(log, 10))
    assert status == 200
    state = witness.state.get(ORIGIN)
    assert (state.size, state.root) == (37, log.root())
    # The same checkpoint again is cosigned again (same size, same root, empty proof).
    assert post(client, add(log, 37))[0] == 200


def test_witness_vkey_is_a_type_4_key(cosigner: Cosigner) -> None:
    parsed = parse_vkey(cosigner.verifier.vkey)
    assert (parsed.name, parsed.key_type, parsed.public_key) == (cosigner.name, 4, cosigner.public_key)


# --- every refusal, each leaving the witness's state as it was --------------------------------------------


def _held_at_ten(client: httpx.Client, log: MemoryLog) -> None:
    assert post(client, add(log, 0))[0] == 200
    log.grow(6)


REFUSALS: list[tuple[str, Request, int]] = [
    ("no_empty_line", lambda log: b"old 10\n" + log.note(), 400),
    ("no_old_line", lambda log: b"\n" + log.note(), 400),
    ("old_with_leading_zero", lambda log: b"old 010\n\n" + log.note(), 400),
    ("old_not_a_number", lambda log: b"old ten\n\n" + log.note(), 400),
    ("proof_line_not_base64", lambda log: b"old 10\nnot-base64!\n\n" + log.note(), 400),
    ("proof_line_short_hash", lambda log: b"old 10\nAAAA\n\n" + log.note(), 400),
    ("sixty_four_proof_lines", lambda log: b"old 10\n" + b"A" * 43 + b"=\n" * 64 + b"\n" + log.note(), 400),
    ("no_checkpoint", lambda log: b"old 10\n\n", 400),
    ("checkpoint_not_a_note", lambda log: b"old 10\n\n" + log.note().split(b"\n\n")[0] + b"\n", 400),
    ("old_size_beyond_checkpoint", lambda log: format_add_checkpoint(17, [], log.note()), 400),
    (
        "unknown_origin",
        lambda log: add(MemoryLog(Signer.generate("other.example/log"), size=16), 0),
        404,
    ),
    (
        "signed_by_another_key",
        lambda log: format_add_checkpoint(10, log.proof(10), log.note(signers=[Signer.generate(ORIGIN)])),
        403,
    ),
    (
        "trusted_signature_tampered",
        lambda log: format_add_checkpoint(10, log.proof(10), _tampered(log.note())),
        403,
    ),
    ("old_size_behind_the_witness", lambda log: add(log, 0), 409),
    ("old_size_ahead_of_the_witness", lambda log: add(log, 12), 409),
    (
        "proof_with_a_flipped_bit",
        lambda log: format_add_checkpoint(10, _flipped(log.proof(10)), log.note()),
        422,
    ),
    ("proof_too_short", lambda log: format_add_checkpoint(10, log.proof(10)[:-1], log.note()), 422),
    ("proof_of_other_sizes", lambda log: format_add_checkpoint(10, log.proof(9), log.note()), 422),
]


def _tampered(note: bytes) -> bytes:
    text, signature = note.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(signature))
    raw[-1] ^= 1
    return text + b" " + base64.b64encode(bytes(raw)) + b"\n"


def _flipped(proof: list[bytes]) -> list[bytes]:
    return [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]


@pytest.mark.parametrize(("build", "status"), [pytest.param(b, s, id=n) for n, b, s in REFUSALS])
def test_refused_requests_get_the_spec_status_and_change_nothing(
    client: httpx.Client, witness: Witness, log: MemoryLog, build: Request, status: int
) -> None:
    _held_at_ten(client, log)
    before = witness.state.get(ORIGIN)
    got, content_type, body = post(client, build(log))
    assert got == status, body
    if status == 409:
        # The body MUST be the witness's size in decimal and a newline, as text/x.tlog.size.
        assert (content_type, body) == ("text/x.tlog.size", "10\n")
    else:
        assert "—" not in body
    assert witness.state.get(ORIGIN) == before


def test_split_view_is_refused_with_the_witness_size_and_kept_as_evidence(
    client: httpx.Client, witness: Witness, log: MemoryLog
) -> None:
    # The log shows the witness one tree of size 10, then another tree of the same size (same key).
    assert post(client, add(log, 0))[0] == 200
    other = fork_of(log, 6)
    other.grow(4)
    assert other.size == 10 and other.root() != log.root()
    status, content_type, body = post(client, add(other, 10, size=10))
    assert (status, content_type, body) == (409, "text/x.tlog.size", "10\n")
    # Growing the other tree from size 10 cannot be proven consistent with the tree the witness holds.
    other.grow(30)
    status, _, _ = post(client, format_add_checkpoint(10, other.proof(10), other.note()))
    assert status == 422
    assert [code for _, code, _, _ in witness.state.evidence(ORIGIN)] == [
        "witness.root_mismatch",
        "witness.bad_proof",
    ]
    assert witness.state.get(ORIGIN).root == log.root(10)


def test_rollback_is_refused(client: httpx.Client, witness: Witness, log: MemoryLog) -> None:
    log.grow(20)
    assert post(client, add(log, 0))[0] == 200  # the witness holds 30
    # An older checkpoint, presented as new (old size 0): the witness answers with its size.
    assert post(client, add(log, 0, size=12))[:3] == (409, "text/x.tlog.size", "30\n")
    # An older checkpoint with the witness's own size as the old size: beyond the checkpoint.
    assert post(client, format_add_checkpoint(30, [], log.note(12)))[0] == 400
    assert witness.state.get(ORIGIN).size == 30


def test_racing_requests_cannot_roll_the_state_back(witness: Witness, log: MemoryLog) -> None:
    witness.add_checkpoint(add(log, 0))
    log.grow(90)
    # Both requests are checked against size 10; whichever persists first wins, the other is refused.
    bodies = [add(log, 10, size=size) for size in (100, 15, 60, 40)]
    barrier = threading.Barrier(len(bodies))
    results: dict[int, str] = {}

    def send(number: int) -> None:
        barrier.wait()
        try:
            witness.add_checkpoint(bodies[number])
            results[number] = "cosigned"
        except AdamasError as exc:
            results[number] = exc.code

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, result in results.items() if result == "cosigned"]
    assert len(winners) == 1
    assert all(r == "witness.size_mismatch" for n, r in results.items() if n not in winners)
    assert witness.state.get(ORIGIN).size == (100, 15, 60, 40)[winners[0]]


def test_compare_and_swap_refuses_a_stale_old_state(witness: Witness, log: MemoryLog) -> None:
    witness.add_checkpoint(add(log, 0))
    held = witness.state.get(ORIGIN)
    log.grow(5)
    newer = held.__class__(ORIGIN, 15, log.root(15), "")
    assert witness.state.advance(held, newer, now_ns=1) is None
    # A second update from the same (now stale) state changes nothing and reports what it found.
    assert witness.state.advance(held, held.__class__(ORIGIN, 12, log.root(12), ""), now_ns=2) == newer
    # Sizes never go down, whatever the caller checked.
    assert witness.state.advance(newer, held, now_ns=3) == newer


def test_unknown_keys_are_ignored_when_a_trusted_one_signs(client: httpx.Client, log: MemoryLog) -> None:
    stranger = Signer(ORIGIN, b"\x07" * 32)
    note = log.note(signers=[stranger, log.signer])
    assert post(client, format_add_checkpoint(0, [], note))[0] == 200


def test_a_witness_needs_a_log(tmp_path: Path, cosigner: Cosigner) -> None:
    state = WitnessState.open(str(tmp_path / "w.db"))
    try:
        with pytest.raises(AdamasError) as caught:
            Witness(cosigner, {}, state)
        assert caught.value.code == "witness.no_logs"
    finally:
        state.close()


def test_several_trusted_keys_for_one_log(tmp_path: Path, cosigner: Cosigner, log: MemoryLog) -> None:
    rotated = Signer.generate(ORIGIN)
    state = WitnessState.open(str(tmp_path / "w.db"))
    try:
        witness = Witness(cosigner, {ORIGIN: [rotated.verifier, log.signer.verifier]}, state)
        assert witness.add_checkpoint(add(log, 0)).startswith("— witness.example/w1 ")
        assert isinstance(Verifier.from_vkey(log.signer.verifier.vkey), Verifier)
    finally:
        state.close()


def test_a_body_over_the_limit_is_refused_unread(client: httpx.Client, witness: Witness) -> None:
    from adamas.witness.http import MAX_BODY

    status, _, body = post(client, b"old 0\n\n" + b"x" * MAX_BODY)
    assert status == 413 and "witness.too_large" in body
    assert witness.state.get(ORIGIN).size == 0


@given(
    st.integers(min_value=0, max_value=2**64 - 1),
    st.lists(st.binary(min_size=32, max_size=32), max_size=63),
    st.binary(min_size=1, max_size=200),
)
def test_add_checkpoint_requests_round_trip(old: int, proof: list[bytes], note: bytes) -> None:
    parsed = parse_add_checkpoint(format_add_checkpoint(old, proof, note))
    assert (parsed.old_size, list(parsed.proof), parsed.note) == (old, proof, note)


def test_the_empty_tree_can_be_cosigned_twice_then_extended(tmp_path: Path, cosigner: Cosigner) -> None:
    log = MemoryLog(Signer.generate(ORIGIN))
    state = WitnessState.open(str(tmp_path / "empty.db"))
    try:
        witness = Witness(cosigner, {ORIGIN: [log.signer.verifier]}, state)
        witness.add_checkpoint(add(log, 0))
        witness.add_checkpoint(add(log, 0))
        log.grow(5)
        witness.add_checkpoint(add(log, 0))
        assert state.get(ORIGIN).size == 5
    finally:
        state.close()
