"""The audit's envelope checks on every core: worker processes parse and verify slices of each chunk, the
auditing process decides, leaf by leaf in order, with the one true key map.

Each worker (``adamas.audit_sign_worker``) checks its slice with the keys it knows: those the
auditing process told it were registered, and those its own earlier entries registered. That guess is
right for nearly every entry. The auditing process then walks the chunk in leaf order exactly as
``EnvelopeCheck`` does on one core, and keeps a worker's verdict only where the worker used the owner and
public key that the true map gives; anywhere else (a key registered in another worker's slice of the same
chunk, or by an entry whose own signature failed) it checks the entry itself. So the faults, their order
and the keys registered are those of the one-core check, for any number of workers.

Chunks are pipelined: the workers verify one chunk while the auditing process reads and hashes the next.
"""

from __future__ import annotations

import marshal
import struct
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, Final

from adamas.audit_sign_worker import READY, check
from adamas.errors import StorageError
from adamas.ledger.audit_envelopes import EnvelopeCheck
from adamas.ledger.audit_faults import Faults
from adamas.ledger.piped import Piped

__all__ = ["SIGN_MIN", "ParallelEnvelopeCheck", "Pending"]

SIGN_MIN: Final = 16 * 1024
"""Database audits of at least this many leaves check envelopes in worker processes (below, starting the
workers costs more than they save)."""
_LENGTH = struct.Struct("!I")
Result = tuple[Any, ...]


class _Worker:
    """One signature worker process, with a thread that talks to it (one message in flight at a time)."""

    def __init__(self) -> None:
        self._piped = Piped("adamas.audit_sign_worker")
        self._stdin: IO[bytes] = self._piped.stdin
        self._stdout: IO[bytes] = self._piped.stdout
        self._started = False
        # One thread per worker: messages to one worker are answered in the order they were sent.
        self.thread = ThreadPoolExecutor(max_workers=1)

    def roundtrip(self, payload: bytes) -> list[Result]:
        """Send one message and wait for its answer (in this worker's thread; pipes release the GIL)."""
        if not self._started:
            if self._stdout.read(1) != READY:
                raise StorageError("an audit signature worker did not start", code="audit.worker")
            self._started = True
        self._stdin.write(_LENGTH.pack(len(payload)) + payload)
        self._stdin.flush()
        head = self._stdout.read(_LENGTH.size)
        data = self._stdout.read(_LENGTH.unpack(head)[0]) if len(head) == _LENGTH.size else b""
        if not data:
            raise StorageError("an audit signature worker stopped", code="audit.worker")
        results: list[Result] = marshal.loads(data)
        return results

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self._piped.stop(_LENGTH.pack(0))


class Pending:
    """One chunk's entries in the workers: their offsets in the chunk and each worker's answer to come."""

    def __init__(self, offsets: list[int], parts: list[Future[list[Result]]]) -> None:
        self.offsets = offsets
        self.parts = parts

    def results(self) -> list[Result]:
        """The workers' results, in the order of ``offsets`` (waits for them)."""
        out: list[Result] = []
        for part in self.parts:
            out.extend(part.result())
        return out


class ParallelEnvelopeCheck(EnvelopeCheck):
    """``EnvelopeCheck`` whose parsing and Ed25519 verification run in ``jobs`` worker processes."""

    def __init__(self, faults: Faults, jobs: int) -> None:
        super().__init__(faults)
        self._workers = [_Worker() for _ in range(jobs)]
        self._news: list[tuple[str, str, bytes]] = []

    def submit(self, entries: Sequence[bytes | None]) -> Pending:
        """Hand a chunk's entries (None: a missing leaf) to the workers, in equal contiguous slices."""
        offsets = [i for i, entry in enumerate(entries) if entry is not None]
        present = [entries[i] for i in offsets]
        updates, self._news = self._news, []
        step = -(-len(present) // len(self._workers)) if present else 0
        parts = []
        for n, worker in enumerate(self._workers):
            piece = present[n * step : (n + 1) * step]
            if piece or n == 0:
                payload = marshal.dumps((updates, piece))
                parts.append(worker.thread.submit(worker.roundtrip, payload))
        return Pending(offsets, parts)

    def check_chunk(self, start: int, entries: Sequence[bytes | None], pending: Pending) -> None:
        """Decide every entry of the chunk at leaf ``start``, in leaf order, from the workers' results."""
        for offset, result in zip(pending.offsets, pending.results(), strict=True):
            index = start + offset
            entry = entries[offset]
            assert entry is not None
            kind = result[0]
            if kind == 0:
                self.faults.add(
                    "audit.envelope",
                    f"leaf {index} is not an Adamas envelope: {result[1]}: {result[2]}",
                    leaf=index,
                )
                continue
            if kind == 1:
                self.faults.add(
                    "audit.envelope", f"leaf {index} is not its envelope's canonical form", leaf=index
                )
                continue
            self._decide(index, entry, result)

    def _decide(self, index: int, entry: bytes, result: Result) -> None:
        """``EnvelopeCheck._signed`` for one entry, taking the worker's verdict where its key was right."""
        _, kind, actor, key, used_owner, used_public, verified, registered = result
        keys = self.keys
        if kind == "genesis":
            keys = {key_id: (owner, public) for key_id, owner, public in registered}
            if index != 0:
                self.faults.add("audit.envelope", f"leaf {index} is a second genesis event", leaf=index)
                return
        elif index == 0:
            self.faults.add("audit.envelope", "leaf 0 is not the genesis event", leaf=index)
        owner = self._owner(index, keys, actor, key)
        if owner is None:
            return
        if (used_owner, used_public) != owner:
            # The worker guessed another key (or none): this entry is checked here, with the true one.
            verified = check(entry, {key: owner})[6]
        if not self._counted(index, key, verified):
            return
        for key_id, key_owner, public in registered:
            self.keys[key_id] = (key_owner, public)
        self._news.extend(registered)

    def close(self) -> None:
        """Stop the workers."""
        for worker in self._workers:
            worker.close()
