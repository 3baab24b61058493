"""``capacity``: a mine producing more in a calendar year than its licensed ``annual_capacity``.

The capacity is read from the site's signed ``site.register`` body (EVENTS.md). The flag names the lots
registered at the mine that year (which of them the mine could not have produced, the log cannot tell), and
its evidence counts those registered after the capacity was crossed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import ct, severity, threshold
from adamas.risk.facts import Facts, Production
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every mine-year above capacity."""
    by_site: dict[tuple[str, str], list[Production]] = defaultdict(list)
    for p in facts.productions:
        if facts.sites.get(p.site, {}).get("annual_capacity"):
            by_site[(p.site, period_of(p.time_ns, "year"))].append(p)
    for (site, year), items in sorted(by_site.items()):
        capacity = facts.sites[site]["annual_capacity"]
        limit = capacity * (1 + cfg.capacity_tolerance)
        total, over = 0, []
        for p in items:
            total += p.carats
            if total > limit:
                over.append(p)
        if not over:
            continue
        info = facts.sites[site]
        yield RiskFlag.make(
            "capacity",
            severity(total / limit, cfg),
            ("site", site),
            f"mine {site} registered {ct(total)} ct in {year}, above its licensed capacity of "
            f"{ct(capacity)} ct a year",
            period=year,
            lots=[p.lot for p in items],
            participants=[info["operator"], *(p.actor for p in items)],
            countries=[info["country"]],
            events=[p.event for p in items],
            evidence={
                "figures": {"production": ct(total), "lots_over_capacity": len(over)},
                "threshold": threshold("capacity_tolerance", cfg.capacity_tolerance),
                "norm": {"annual_capacity": ct(capacity), "site_event": info["event"]},
            },
        )
