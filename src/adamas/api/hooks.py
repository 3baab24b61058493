"""After-batch callbacks: work that follows ingest (collecting witness cosignatures) run off the request
path, in one background thread, never inside the ingest transaction and never delaying an acknowledgement.

``app.state.after_batch.register(callback)`` adds a callback ``callback(batch: BatchCommitted) -> None``.
After each batch that accepted events has committed and been answered, the service hands the new
checkpoint to the thread, which runs every callback in order. Callbacks coalesce: when batches commit
faster than the callbacks run, the thread skips to the newest checkpoint (each checkpoint extends the
ones before it, so a witness given the newest one has seen them all). A callback that raises is logged and
counted (``adamas_after_batch_failures_total``); the others still run, and ingest never notices.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from adamas.ledger import Ledger

__all__ = ["AfterBatch", "AfterBatchCallback", "BatchCommitted"]

log = logging.getLogger("adamas.api")


@dataclass(frozen=True)
class BatchCommitted:
    """A batch that added ``accepted`` events, committed in the signed ``checkpoint`` of tree ``size``."""

    ledger: Ledger
    size: int
    checkpoint: str
    accepted: int


AfterBatchCallback = Callable[[BatchCommitted], None]


class AfterBatch:
    """The after-batch callbacks of one app and the thread that runs them."""

    def __init__(self, *, on_error: Callable[[], None] | None = None) -> None:
        self.callbacks: list[AfterBatchCallback] = []
        self._on_error = on_error
        self._pending: BatchCommitted | None = None
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def register(self, callback: AfterBatchCallback) -> AfterBatchCallback:
        """Run ``callback`` after every batch that accepts events (usable as a decorator)."""
        self.callbacks.append(callback)
        return callback

    def notify(self, batch: BatchCommitted) -> None:
        """Hand a committed batch to the thread (returns at once; a no-op without callbacks)."""
        if not self.callbacks:
            return
        with self._cond:
            if self._closed:
                return
            if self._pending is None or batch.size > self._pending.size:
                self._pending = batch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="adamas-after-batch", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every batch handed over so far has been through the callbacks; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after the callbacks running now (pending batches are dropped)."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                batch, self._pending, self._busy = self._pending, None, True
            assert batch is not None
            for callback in list(self.callbacks):
                try:
                    callback(batch)
                except Exception:
                    log.exception("after-batch callback %r failed at size %d", callback, batch.size)
                    if self._on_error is not None:
                        self._on_error()
            with self._cond:
                self._busy = False
                self._cond.notify_all()
