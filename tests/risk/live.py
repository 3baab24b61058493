"""A ledger whose clock follows a scripted world, so that events of any date are recorded as they happen.

``LiveLedger.flush()`` submits the world's events written since the last flush with the ledger's clock set
just after the newest of them, the way a real ledger would have received them: never in the future, never
backdated. Tests of detectors over months of trade build their world in phases and flush after each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adamas import Ledger
from adamas.ledger import Outcome
from adamas.risk import RiskFlag, flags, scan
from adamas.sim import World


@dataclass
class LiveLedger:
    """A ledger on ``url`` fed from ``world`` phase by phase."""

    url: str
    world: World
    done: int = 0
    ledger: Ledger = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = Ledger.open(self.url, create=True, clock=lambda: self.world.now_ns + 1_000_000_000)

    def flush(self) -> list[Outcome]:
        """Submit what the world wrote since the last flush; every envelope must be accepted."""
        outcomes = self.ledger.submit(self.world.events[self.done :])
        refused = [(o.position, o.error.code, o.error.message) for o in outcomes if o.error is not None]
        assert not refused, refused
        self.done = len(self.world.events)
        return outcomes

    def advance(self, days: float) -> None:
        """Move the world's clock on."""
        self.world.now_ns += int(days * 86_400 * 1_000_000_000)

    def flags(self, detector: str | None = None) -> list[RiskFlag]:
        """Flush, scan and return the stored flags (of one detector)."""
        self.flush()
        scan(self.ledger)
        return list(flags(self.ledger, detector=detector))

    def close(self) -> None:
        """Release the ledger."""
        self.ledger.close()
