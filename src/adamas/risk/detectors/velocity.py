"""``velocity``: goods crossing many borders in a short time (layering through transit hubs).

Counts the cross-border shipments along one line of descent (a lot, one of its parents, one of theirs...)
within ``velocity_days`` before each crossing, taking the line with the most; ``velocity_borders`` or more
raise a flag at the crossing that reached the count. Honest goods cross quickly too (rough to a hub, a
cutter, a lab, a retailer), hence a default of five. Lines, not whole lineages: a merge of many parcels
that each crossed once is not one parcel crossing many times.
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


def _line(facts: Facts, lot: str, crossings: dict[str, list[Movement]], since: int) -> list[Movement]:
    """The crossings since ``since`` along the line of descent into ``lot`` with the most of them."""
    best: list[Movement] = []
    stack: list[tuple[str, list[Movement], frozenset[str]]] = [(lot, [], frozenset({lot}))]
    while stack:
        current, path, seen = stack.pop()
        path = [*(c for c in crossings.get(current, []) if c.time_ns >= since), *path]
        info = facts.lots.get(current)
        parents = [p for p in (info.parents if info else ()) if p not in seen]
        if not parents and len(path) > len(best):
            best = path
        for parent in parents:
            stack.append((parent, path, seen | {parent}))
    return sorted({c.seq: c for c in best}.values(), key=lambda c: c.seq)


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every crossing that completes too many borders in the window along one line."""
    crossings: dict[str, list[Movement]] = defaultdict(list)
    window = int(cfg.velocity_days * DAY_NS)
    flagged: set[str] = set()
    for m in facts.movements:
        if not m.cross_border:
            continue
        for lot in m.lots:
            crossings[lot].append(m)
        recent = max((_line(facts, lot, crossings, m.time_ns - window) for lot in m.lots), key=len)
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
