"""``footprint``: a country exporting more rough than it could have had, or more than its record shows.

Per country and calendar year (the KP's statistics year): exports of rough against opening stock (what the
ledger shows the country produced and imported, less what it exported, before the year) + production +
imports; registered production against the KP's published production of that year (data pack); and exports
against the country's own export history in the ledger (``spike_factor`` over the median of earlier years).
Inside Adamas carats are conserved, so goods smuggled in must enter as declared production: the last two
comparisons are what finds them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import ct, kind_class, severity, threshold
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every country-year whose exports or production do not add up."""
    prod: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    imp: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    exp: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    exp_events: dict[tuple[str, str], list[str]] = defaultdict(list)
    exp_lots: dict[tuple[str, str], list[str]] = defaultdict(list)
    partners: dict[tuple[str, str], set[str]] = defaultdict(set)
    lots: dict[tuple[str, str], int] = defaultdict(int)
    world_made: dict[str, int] = defaultdict(int)
    for p in facts.productions:
        year = period_of(p.time_ns, "year")
        prod[p.country][year] += p.carats
        lots[(p.country, year)] += 1
        world_made[year] += p.carats
    for m in facts.movements:
        if not m.cross_border or kind_class(facts, m.lots) != "rough":
            continue
        year = period_of(m.time_ns, "year")
        if m.sender_country:
            exp[m.sender_country][year] += m.total
            exp_events[(m.sender_country, year)].append(m.event)
            exp_lots[(m.sender_country, year)].extend(m.lots)
            partners[(m.sender_country, year)].update(p for p in (m.sender, m.to))
        if m.to_country and m.arrival is not None:
            imp[m.to_country][period_of(m.arrival.time_ns, "year")] += sum(m.arrival.carats.values())
    for country in sorted(set(prod) | set(exp)):
        years = sorted(set(prod[country]) | set(exp[country]) | set(imp[country]))
        opening = 0
        history: list[int] = []
        for year in years:
            made, came, left = prod[country][year], imp[country][year], exp[country][year]
            supply = opening + made + came
            key = (country, year)
            common: dict[str, Any] = {
                "period": year,
                "lots": exp_lots[key],
                "participants": partners[key],
                "countries": [country],
                "events": exp_events[key],
            }
            figures = {
                "opening_stock": ct(opening),
                "production": ct(made),
                "imports": ct(came),
                "exports": ct(left),
            }
            if left > supply * (1 + cfg.footprint_tolerance):
                yield RiskFlag.make(
                    "footprint",
                    "high",
                    ("country", country),
                    f"{country} exported {ct(left)} ct of rough in {year} but had at most {ct(supply)} ct "
                    "(opening stock + production + imports)",
                    key="supply",
                    evidence={
                        "figures": figures,
                        "threshold": threshold("footprint_tolerance", cfg.footprint_tolerance),
                        "norm": {"supply": ct(supply)},
                    },
                    **common,
                )
            kp = _kp_share(country, year, made=made, lots=lots[key], world=world_made[year], ctx=ctx, cfg=cfg)
            if kp is not None:
                expected, share, kp_share = kp
                yield RiskFlag.make(
                    "footprint",
                    severity(made / expected / cfg.footprint_kp_ratio, cfg),
                    ("country", country),
                    f"{country} registered {share:.1%} of the production logged in {year}; the KP published "
                    f"{kp_share:.1%} for it, so {ct(made)} ct where {ct(int(expected))} ct would match",
                    key="kp",
                    evidence={
                        "figures": {**figures, "share_of_logged_production": round(share, 5)},
                        "threshold": threshold("footprint_kp_ratio", cfg.footprint_kp_ratio),
                        "norm": {
                            "kp_share_of_world_production": round(kp_share, 5),
                            "expected_production": ct(int(expected)),
                            "source": "KP data pack (kp_production_by_country.csv)",
                        },
                    },
                    **common,
                )
            earlier = [h for h in history[-8:] if h > 0]
            if len(earlier) >= cfg.spike_min_history and left >= cfg.spike_min_carats * 100:
                median = statistics.median(earlier)
                if left > cfg.spike_factor * median:
                    yield RiskFlag.make(
                        "footprint",
                        severity(left / median / cfg.spike_factor, cfg),
                        ("country", country),
                        f"{country} exported {ct(left)} ct of rough in {year}, "
                        f"{left / median:.1f} times the median of its earlier years ({ct(int(median))} ct)",
                        key="history",
                        evidence={
                            "figures": figures,
                            "threshold": threshold("spike_factor", cfg.spike_factor),
                            "norm": {
                                "median_earlier_exports": ct(int(median)),
                                "earlier_years": len(earlier),
                            },
                        },
                        **common,
                    )
            history.append(left)
            opening = max(supply - left, 0)


def _kp_share(
    country: str, year: str, *, made: int, lots: int, world: int, ctx: Context, cfg: Thresholds
) -> tuple[float, float, float] | None:
    """(expected carats, logged share, KP share) when the country's share of the logged production is far
    above its share of the KP-published world production; None otherwise."""
    published = ctx.kp_production.get((country, int(year)))
    world_published = sum(v[0] for (c, y), v in ctx.kp_production.items() if y == int(year))
    if published is None or not published[0] or not world_published or not world:
        return None
    kp_share = published[0] / world_published
    expected = kp_share * world
    if (
        made > cfg.footprint_kp_ratio * expected
        and made - expected >= cfg.footprint_kp_min_share * world
        and lots >= cfg.footprint_kp_min_lots
    ):
        return expected, made / world, kp_share
    return None
