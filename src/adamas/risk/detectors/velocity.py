"""``velocity``: goods crossing many borders in a short time (layering through transit hubs).

Counts the cross-border shipments of a lot and of every lot it was made from within ``velocity_days`` before
each crossing; ``velocity_borders`` or more raise a flag at the crossing that reached the count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import threshold
from adamas.risk.facts import Facts, Movement
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]

DAY_NS = 86_400 * 1_000_000_000


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every crossing that completes too many borders in the window."""
    crossings: dict[str, list[Movement]] = defaultdict(list)
    window = int(cfg.velocity_days * DAY_NS)
    flagged: set[str] = set()
    for m in facts.movements:
        if not m.cross_border:
            continue
        for lot in m.lots:
            crossings[lot].append(m)
        lineage = {lot for own in m.lots for lot in facts.ancestors(own)}
        recent = sorted(
            {
                c.seq: c for lot in lineage for c in crossings.get(lot, []) if m.time_ns - c.time_ns <= window
            }.values(),
            key=lambda c: c.seq,
        )
        if len(recent) < cfg.velocity_borders or recent[0].event in flagged:
            continue
        flagged.add(recent[0].event)
        days = (m.time_ns - recent[0].time_ns) / DAY_NS
        route = [recent[0].sender_country or "?", *(c.to_country or "?" for c in recent)]
        yield RiskFlag.make(
            "velocity",
            "medium",
            ("lot", m.lots[0]),
            f"lot {m.lots[0]} and the lots it came from crossed {len(recent)} borders in {days:.1f} days "
            f"({' → '.join(route)})",
            key=recent[0].event,
            period=period_of(m.time_ns, "quarter"),
            lots=[lot for c in recent for lot in c.lots],
            participants=[p for c in recent for p in (c.sender, c.to)],
            countries=[c for c in route if c != "?"],
            events=[c.event for c in recent],
            evidence={
                "figures": {"borders": len(recent), "days": round(days, 2), "route": route},
                "threshold": threshold("velocity_borders", cfg.velocity_borders)
                | {"days": cfg.velocity_days},
                "norm": {"borders_in_window_at_most": cfg.velocity_borders - 1},
            },
        )
