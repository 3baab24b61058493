"""Signature verification that runs beside the rest of ingest.

A worker process (``python -m adamas.ledger.verify_worker``) verifies one chunk of a batch while this process
parses the next and then checks rules: Ed25519 verification is the largest single cost of ingest, and a
thread would fight the parser for the GIL (measured: slower than no worker at all). The worker is a plain
subprocess fed through a pipe, so that using a ``Ledger`` never imposes ``if __name__ == "__main__"`` on a
caller's script the way ``multiprocessing`` would. Small batches are verified inline and never start it.

Public keys are looked up in a cache filled only from committed database rows: a key id names one public key
for good (ids derive from the key, and a registered id is never reused), so a cached public key is never
wrong; whether the key may still sign at the event's time is the rules' business.

Wire format, parent to worker: one frame per chunk, ``!II`` job count and byte length of the jobs, then per
job 32 bytes of public key, 64 bytes of signature, ``!I`` message length and the message. Worker to parent:
one byte per job, 1 valid, 0 not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Final

from adamas.crypto.keys import verify_raw
from adamas.ledger.piped import Piped
from adamas.ledger.verify_wire import HEADER, JOB_HEAD
from adamas.model.events import Envelope

__all__ = ["SignatureVerifier", "VerifyWorker"]

CHUNK: Final = 100
INLINE_MAX: Final = 200

KeyLookup = Callable[[Iterable[str]], dict[str, bytes]]


class VerifyWorker:
    """A verification subprocess and the two pipes to it."""

    def __init__(self) -> None:
        self._piped = Piped("adamas.ledger.verify_worker")
        self._proc = self._piped.process
        self._in: IO[bytes] = self._piped.stdin
        self._out: IO[bytes] = self._piped.stdout

    def send(self, jobs: list[tuple[bytes, bytes, bytes]]) -> None:
        """Queue ``(public key, message, raw signature)`` jobs for verification."""
        parts = [b""]
        pack = JOB_HEAD.pack
        for public_key, message, signature in jobs:
            parts += [pack(public_key, signature, len(message)), message]
        size = sum(map(len, parts))
        parts[0] = HEADER.pack(len(jobs), size)
        self._in.write(b"".join(parts))
        self._in.flush()

    def receive(self, count: int) -> bytes:
        """The next ``count`` results, in the order the jobs were sent."""
        data = self._out.read(count)
        if len(data) != count:
            raise RuntimeError("the signature verification worker stopped")
        return data

    def kill(self) -> None:
        """Stop the worker at once (after a failure)."""
        self._proc.kill()
        self._proc.wait(timeout=10)

    def close(self) -> None:
        """Stop the worker."""
        self._in.close()
        self._proc.wait(timeout=10)
        self._out.close()


class SignatureVerifier:
    """Verifies the signatures of one batch, in the background when it is large, in submission order."""

    def __init__(
        self, worker: Callable[[], VerifyWorker], cache: dict[str, bytes], lookup: KeyLookup
    ) -> None:
        self._worker = worker
        self._cache = cache
        self._lookup = lookup
        self._waiting: list[Envelope] = []
        self._sent: list[list[tuple[int, bytes]]] = []
        self._done: dict[int, tuple[bytes, bool]] = {}
        self._started = False

    def add(self, envelope: Envelope) -> None:
        """Queue an envelope; once the batch is large, each full chunk goes to the worker at once."""
        self._waiting.append(envelope)
        if len(self._waiting) >= (CHUNK if self._started else INLINE_MAX):
            self._started = True
            self.flush()

    def flush(self, *, last: bool = False) -> None:
        """Verify the queued envelopes whose keys are known (``last``: the batch is complete)."""
        if not self._waiting:
            return
        missing = {env.event.key for env in self._waiting if env.event.key not in self._cache}
        if missing:
            self._cache.update(self._lookup(missing))
        refs: list[tuple[int, bytes]] = []
        jobs: list[tuple[bytes, bytes, bytes]] = []
        for env in self._waiting:
            public_key = self._cache.get(env.event.key)
            if public_key is None:
                continue
            signature = env.signature if len(env.signature) == 64 else None
            if signature is None:
                self._done[id(env)] = (public_key, False)
                continue
            refs.append((id(env), public_key))
            jobs.append((public_key, env.body_bytes, signature))
        self._waiting = []
        if not jobs:
            return
        if last and not self._started:
            for (ref, public_key), job in zip(refs, jobs, strict=True):
                self._done[ref] = (public_key, verify_raw(*job))
            return
        self._worker().send(jobs)
        self._sent.append(refs)

    def result(self, envelope: Envelope, public_key: bytes) -> bool | None:
        """Whether the signature verified under ``public_key``; None if it was not checked with that key."""
        ref = id(envelope)
        while ref not in self._done and self._sent:
            refs = self._sent.pop(0)
            answers = self._worker().receive(len(refs))
            self._done.update((r, (pub, ok == 1)) for (r, pub), ok in zip(refs, answers, strict=True))
        found = self._done.get(ref)
        if found is None or found[0] != public_key:
            return None
        return found[1]

    def drain(self) -> None:
        """Collect every outstanding answer, so that the worker's pipe is empty for the next batch."""
        while self._sent:
            refs = self._sent.pop(0)
            self._worker().receive(len(refs))
