"""The verification worker answers each job of a frame exactly as ``verify_raw`` does, in order, whatever
the messages hold (frame-like bytes included), and stops cleanly at the end of its input."""

from __future__ import annotations

import io

import nacl.signing

from adamas.crypto.keys import verify_raw
from adamas.ledger.verify import VerifyWorker
from adamas.ledger.verify_worker import serve


class _Framer(VerifyWorker):
    """A worker whose pipe is a buffer: what ``send`` writes is the frame the subprocess would read."""

    def __init__(self, sink: io.BytesIO) -> None:
        self._in = sink


def _jobs() -> list[tuple[bytes, bytes, bytes]]:
    alice, bob = nacl.signing.SigningKey(b"\x01" * 32), nacl.signing.SigningKey(b"\x02" * 32)
    a, b = bytes(alice.verify_key), bytes(bob.verify_key)
    messages = [b"", b"x", b'{"v":1}' * 50, b"\x00\x00\x00\x05" + b"\xff" * 100]
    jobs = []
    for message in messages:
        signature = alice.sign(message).signature
        jobs += [
            (a, message, signature),  # valid
            (b, message, signature),  # another key
            (a, message + b"!", signature),  # another message
            (a, message, bytes([signature[0] ^ 1]) + signature[1:]),  # a flipped bit
        ]
    return jobs


def test_worker_answers_each_job_like_verify_raw() -> None:
    jobs = _jobs()
    frames = io.BytesIO()
    _Framer(frames).send(jobs[:5])
    _Framer(frames).send(jobs[5:])
    _Framer(frames).send([])
    answers = io.BytesIO()
    serve(io.BufferedReader(io.BytesIO(frames.getvalue())), answers)
    expected = bytes(verify_raw(*job) for job in jobs)
    assert answers.getvalue() == expected
    assert expected.count(1) == 4  # one valid job per message


def test_worker_stops_at_a_truncated_frame() -> None:
    frames = io.BytesIO()
    _Framer(frames).send(_jobs()[:3])
    answers = io.BytesIO()
    serve(io.BufferedReader(io.BytesIO(frames.getvalue()[:-1])), answers)
    assert answers.getvalue() == b""
