"""What an audit reports: faults, each naming where (a leaf, a checkpoint, a tile, a state row), and the
report of a whole audit.

Faults are collected (the first ``MAX_FAULTS`` kept, all counted) rather than raised, in the order the leaves
are read, so that the first fault names the first bad leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MAX_FAULTS", "AuditFault", "AuditReport", "Faults", "Progress"]

MAX_FAULTS: Final = 100
Progress = Callable[[int, int], None]
"""``progress(done, total)``, called as leaves are checked."""


_LOCATIONS: Final = ("leaf", "checkpoint", "tile", "rule", "table", "row")


@dataclass(frozen=True)
class AuditFault:
    """One thing the audit found wrong, and where: a leaf index, a checkpoint's tree size, a tile path, or
    (replays) the rule's refusal code, and the state table and row that differ."""

    code: str
    message: str
    leaf: int | None = None
    checkpoint: int | None = None
    tile: str | None = None
    rule: str | None = None
    table: str | None = None
    row: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (absent locations left out)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for name in _LOCATIONS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class AuditReport:
    """What an audit checked and found. ``ok`` when it found nothing wrong."""

    source: str
    origin: str | None
    size: int
    leaves: int
    tiles: int
    checkpoints: int
    envelopes: int
    faults: tuple[AuditFault, ...]
    fault_count: int
    trusted_key: str | None = None
    replayed: int | None = None
    """Events the replay accepted (None: no replay)."""

    @property
    def ok(self) -> bool:
        """True when no fault was found."""
        return self.fault_count == 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report."""
        return {
            "ok": self.ok,
            "source": self.source,
            "origin": self.origin,
            "size": self.size,
            "leaves": self.leaves,
            "tiles": self.tiles,
            "checkpoints": self.checkpoints,
            "envelopes_verified": self.envelopes,
            "vkey": self.trusted_key,
            "fault_count": self.fault_count,
            "faults": [f.to_json() for f in self.faults],
            **({} if self.replayed is None else {"replayed": self.replayed}),
        }


class Faults:
    """Faults in the order found; ``defer`` holds back those about the log as a whole (sizes) until
    ``flush``, so that a fault at a leaf is reported first."""

    def __init__(self, limit: int = MAX_FAULTS) -> None:
        self.limit = limit
        self.kept: list[AuditFault] = []
        self.count = 0
        self.deferred: list[AuditFault] = []

    def add(self, code: str, message: str, **where: Any) -> None:
        """Record a fault at ``where`` (the ``AuditFault`` locations)."""
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(AuditFault(code, message, **where))

    def defer(self, code: str, message: str, **where: Any) -> None:
        """Record a fault about the log as a whole, reported after those at leaves."""
        self.deferred.append(AuditFault(code, message, **where))

    def flush(self) -> None:
        """Report the deferred faults."""
        for fault in self.deferred:
            self.add(fault.code, fault.message, **{name: getattr(fault, name) for name in _LOCATIONS})
        self.deferred.clear()
