"""The simulator's pen: deterministic keys, ids and times, and signed envelopes cut into batches.

Everything a simulated world signs goes through one :class:`Scribe`. Keys derive from the seed and the
participant id, event ids count up, and the declared time moves forward one second per event (never back),
so the same seed and options give the same envelopes byte for byte. Envelopes are handed out in
:class:`Batch` es of bounded size, each with the ledger clock it must be submitted under (its latest declared
time) and the refusals it is expected to draw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from adamas.crypto import KeyPair
from adamas.crypto.canonical import canonicalize_plain
from adamas.model.values import format_time_ns

__all__ = ["SECOND", "Batch", "Scribe"]

SECOND: Final = 1_000_000_000
DAY: Final = 86_400 * SECOND
RECENT: Final = 100_000


@dataclass
class Batch:
    """Envelopes to submit together with the ledger's clock at ``clock_ns``; ``expected`` maps the id of each
    envelope meant to be refused to its refusal code."""

    envelopes: list[dict[str, Any]]
    clock_ns: int
    expected: dict[str, str] = field(default_factory=dict)


class Scribe:
    """Signs the events of a simulated world in time order and cuts them into batches."""

    def __init__(self, seed: int, *, batch_size: int = 1000) -> None:
        self.seed = seed
        self.batch_size = batch_size
        self.now_ns = 0
        self.counter = 0
        self.keys: dict[str, KeyPair] = {}
        self.accepted_types: dict[str, int] = {}
        self._pending: list[dict[str, Any]] = []
        self._expected: dict[str, str] = {}
        self._latest = 0
        self._ready: list[Batch] = []
        self._ids: dict[str, int] = {}
        self._recent: dict[str, int] = {}

    # --- identity -----------------------------------------------------------------------------------------

    def key(self, participant: str, generation: int = 0) -> KeyPair:
        """The deterministic key of ``participant`` (a later ``generation`` for a replacement key)."""
        if generation == 0 and participant in self.keys:
            return self.keys[participant]
        seed = hashlib.sha256(f"adamas-sim:{self.seed}:{participant}:{generation}".encode()).digest()
        key = KeyPair.from_seed(seed)
        if generation == 0:
            self.keys[participant] = key
        return key

    def new_id(self, prefix: str, width: int = 6) -> str:
        """The next id with ``prefix`` (``RGH-2023-000001``, ...)."""
        n = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = n
        return f"{prefix}{n:0{width}d}"

    # --- time ---------------------------------------------------------------------------------------------

    def at(self, time_ns: int) -> None:
        """Move the world's clock to ``time_ns`` (never back)."""
        self.now_ns = max(self.now_ns, time_ns)

    @property
    def time(self) -> str:
        """The world's current time, RFC 3339."""
        return format_time_ns(self.now_ns)

    # --- signing ------------------------------------------------------------------------------------------

    def emit(
        self,
        actor: str,
        type_: str,
        *,
        key: KeyPair | None = None,
        expect: str | None = None,
        **fields: Any,
    ) -> str:
        """Sign an event of ``type_`` by ``actor`` one second after the last; return its id.

        ``expect`` names the refusal code the event is meant to draw (an attempt the rules must stop).
        """
        self.now_ns += SECOND
        self.counter += 1
        signer = key or self.key(actor)
        body = {
            "v": 1,
            "type": type_,
            "id": f"sim-{self.seed}-{self.counter:09d}",
            "actor": actor,
            "key": signer.id,
            "time": format_time_ns(self.now_ns),
            **fields,
        }
        return self._add(_signed(body, signer), self.now_ns, expect)

    def emit_body(self, body: dict[str, Any], key: KeyPair, actor: str, time_ns: int) -> str:
        """Sign a prepared body (fixed id and time, as the KP policy has) and queue it."""
        self.now_ns = max(self.now_ns, time_ns)
        return self._add(_signed({"v": 1, **body, "actor": actor, "key": key.id}, key), time_ns, None)

    def _add(self, envelope: dict[str, Any], time_ns: int, expect: str | None) -> str:
        event_id: str = envelope["body"]["id"]
        self._recent[event_id] = time_ns
        if len(self._recent) > RECENT:
            # Only recent events are ever looked up (by the fraud cases being written): keep memory bounded.
            for old in list(self._recent)[: RECENT // 2]:
                del self._recent[old]
        self._pending.append(envelope)
        self._latest = max(self._latest, time_ns)
        if expect is not None:
            self._expected[event_id] = expect
        if len(self._pending) >= self.batch_size:
            self.cut()
        return event_id

    def time_of(self, event_id: str) -> int:
        """The declared time of a recent event."""
        return self._recent[event_id]

    def cut(self) -> None:
        """Close the current batch (if any) so that it can be submitted."""
        if self._pending:
            self._ready.append(Batch(self._pending, self._latest, self._expected))
            self._pending, self._expected = [], {}

    def drain(self) -> Iterator[Batch]:
        """The batches closed so far, oldest first."""
        ready, self._ready = self._ready, []
        yield from ready


def _signed(body: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """The envelope of ``body``. The simulator's bodies are plain JSON (strings, small integers, booleans,
    ASCII keys), for which the standard library's encoder writes the RFC 8785 bytes, several times faster
    than the general canonicalizer (see ``canonicalize_plain``)."""
    return {"body": body, "sig": key.sign(canonicalize_plain(body))}
