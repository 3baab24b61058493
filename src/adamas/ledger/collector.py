"""A background collector of witness cosignatures, for a long-running service (``adamas serve``).

``WitnessCollector`` runs ``Ledger.request_cosignatures`` in its own thread: at once when ``poke`` is called
(after a batch was accepted; never inside the batch's transaction, since it runs on another thread after the
commit) and every ``interval`` seconds otherwise, so a witness that was down catches up. Pokes that arrive
during a round coalesce into one more round. A round's failure (the database unreachable) is kept in
``error`` and never ends the thread; a witness's failure is recorded by the round itself.

Invariants: one round at a time per collector; ``stop`` waits for the round in flight (bounded by the HTTP
timeouts) and closes the HTTP client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from adamas.errors import AdamasError
from adamas.ledger.witnesses import DEFAULT_TIMEOUT, Collection

if TYPE_CHECKING:
    import httpx

    from adamas.ledger.ledger import Ledger

__all__ = ["WitnessCollector"]


class WitnessCollector:
    """Collects cosignatures for ``ledger`` in a background thread (see the module docstring).

    ``on_round(results)`` is called on the collector's thread after each round (for metrics); it must not
    raise."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        interval: float = 30.0,
        timeout: float = DEFAULT_TIMEOUT,
        on_round: Callable[[list[Collection]], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._interval = interval
        self._timeout = timeout
        self._on_round = on_round
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self.rounds = 0
        """Rounds completed."""
        self.cosignatures = 0
        """Cosignatures stored by this collector's rounds."""
        self.last: list[Collection] = []
        """The outcome of the last round, one per witness."""
        self.error: AdamasError | None = None
        """Why the last round failed as a whole (None if it did not)."""

    def start(self) -> WitnessCollector:
        """Start the thread (a first round runs at once)."""
        import httpx

        if self._thread is not None:
            return self
        self._client = httpx.Client(timeout=httpx.Timeout(self._timeout))
        self._thread = threading.Thread(target=self._run, name="adamas-witness-collector", daemon=True)
        self._wake.set()
        self._thread.start()
        return self

    def poke(self) -> None:
        """Ask for a round soon (call after each accepted batch); never blocks."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread after the round in flight, and close the HTTP client."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> WitnessCollector:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                results = self._ledger.request_cosignatures(client=self._client, timeout=self._timeout)
            except AdamasError as exc:
                self.error = exc
                continue
            self.error = None
            self.last = results
            self.rounds += 1
            self.cosignatures += sum(1 for r in results if r.new)
            if self._on_round is not None:
                self._on_round(results)
