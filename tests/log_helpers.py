"""Shared builders for the log tests: real ledgers of signed events, and a tlog-tiles directory fetcher."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from adamas import Ledger
from conftest import basic_world, fixed_clock

ORIGIN = "kp.example.org/log"


@cache
def signed_events(count: int) -> tuple[dict[str, Any], ...]:
    """``count`` valid signed envelopes: the basic world (genesis first), then lots registered at a mine."""
    world = basic_world()
    number = 0
    while len(world.events) < count:
        world.produce("miner", f"LOT-{number:05d}", "mine-a", "1.00", stones=1, value="100.00")
        number += 1
    return tuple(world.events[:count])


def build_ledger(url: str, count: int, *, batch: int = 100) -> Ledger:
    """A ledger at ``url`` holding ``count`` events, submitted in batches of ``batch`` (one checkpoint
    each). The caller closes it."""
    ledger = Ledger.open(url, create=True, clock=fixed_clock, origin=ORIGIN)
    events = signed_events(count)
    for start in range(0, count, batch):
        outcomes = ledger.submit(list(events[start : start + batch]))
        assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok][:2]
    return ledger


class DirectoryFetcher:
    """The ``TileFetcher`` port over an exported directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def fetch(self, path: str) -> bytes:
        return (self.root / path).read_bytes()
