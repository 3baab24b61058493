"""``spike``: a country's or a mine's production far above its own history (Zimbabwe 2010: +775%).

Production per period (``spike_period``) is compared as a daily rate with the median daily rate of the same
subject's earlier periods in the ledger. The subject's first period counts from its first production (at
least 30 days), since a ledger rarely starts on a period boundary; the period being judged counts in full,
so a period still under way can only be under-, never over-estimated.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import ct, severity, threshold
from adamas.risk.facts import Facts, Production
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_bounds, period_of

__all__ = ["detect"]

DAY_NS = 86_400 * 1_000_000_000


def _series(items: list[Production], granularity: str) -> dict[str, list[Production]]:
    out: dict[str, list[Production]] = defaultdict(list)
    for p in items:
        out[period_of(p.time_ns, granularity)].append(p)
    return out


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every country or mine period far above the subject's earlier periods."""
    subjects: dict[tuple[str, str], list[Production]] = defaultdict(list)
    for p in facts.productions:
        subjects[("country", p.country)].append(p)
        subjects[("site", p.site)].append(p)
    for subject, items in sorted(subjects.items()):
        series = _series(items, cfg.spike_period)
        first = min(p.time_ns for p in items)
        rates: list[tuple[str, float]] = []
        for period in sorted(series, key=lambda s: period_bounds(s)[0]):
            start, end = period_bounds(period)
            carats = sum(p.carats for p in series[period])
            earlier = [rate for _, rate in rates[-8:]]
            rate = carats / (end - start)
            if len(earlier) >= cfg.spike_min_history and carats >= cfg.spike_min_carats * 100:
                median = statistics.median(earlier)
                if median > 0 and rate > cfg.spike_factor * median:
                    yield _flag(
                        subject=subject,
                        period=period,
                        items=series[period],
                        carats=carats,
                        rate=rate,
                        median=median,
                        history=len(earlier),
                        cfg=cfg,
                    )
            if rates:
                rates.append((period, rate))
            else:
                rates.append((period, carats / max(end - max(start, first), 30 * DAY_NS)))


def _flag(
    *,
    subject: tuple[str, str],
    period: str,
    items: list[Production],
    carats: int,
    rate: float,
    median: float,
    history: int,
    cfg: Thresholds,
) -> RiskFlag:
    start, end = period_bounds(period)
    expected = int(median * (end - start))
    kind, subject_id = subject
    what = f"country {subject_id}" if kind == "country" else f"mine {subject_id}"
    return RiskFlag.make(
        "spike",
        severity(rate / median / cfg.spike_factor, cfg),
        subject,
        f"{what} registered {ct(carats)} ct in {period}, {rate / median:.1f} times its usual "
        f"production for such a period ({ct(expected)} ct, the median of {history} earlier periods)",
        period=period,
        lots=[p.lot for p in items],
        participants=[p.actor for p in items],
        countries=[p.country for p in items],
        events=[p.event for p in items],
        evidence={
            "figures": {"production": ct(carats), "increase_percent": round((rate / median - 1) * 100, 1)},
            "threshold": threshold("spike_factor", cfg.spike_factor),
            "norm": {"median_earlier_production": ct(expected), "earlier_periods": history},
        },
    )
