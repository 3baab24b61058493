"""``key``: events that rest on a compromised key.

A registrar who revokes a stolen key with an ``effective`` time in the past leaves what the key signed since
in the log (EVENTS.md): one flag per key names those events, the lots they touched and the key's owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import CompromisedEvent, Context
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """One flag per compromised key with events after its compromise."""
    by_key: dict[str, list[CompromisedEvent]] = defaultdict(list)
    for item in ctx.compromised:
        by_key[item.key].append(item)
    for key, items in sorted(by_key.items()):
        owner = items[0].participant
        first = min(i.time_ns for i in items)
        yield RiskFlag.make(
            "key",
            "high",
            ("key", key),
            f"{len(items)} event(s) signed with key {key} of {owner} after it was compromised",
            period=period_of(first, "quarter"),
            lots=[lot for i in items for lot in i.lots],
            participants=[owner],
            countries=[c for c in (facts.country_of(owner),) if c],
            events=[i.event for i in items],
            evidence={
                "figures": {"events": len(items), "first_event_time_ns": first},
                "threshold": {"name": "any event after the compromise", "value": 1},
                "norm": {"expected": "no event signed by a key after its compromise"},
            },
        )
