"""``yield``: more polished out of a rough than cutting allows (a substitution signal).

Natural rough yields well under half its weight in polished; a yield above ``yield_max`` suggests stones
that did not come from this rough (lab-grown or from elsewhere) were declared as its output.
"""

from __future__ import annotations

from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import ct, threshold
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every manufacture above the plausible yield."""
    for m in facts.manufactures:
        if not m.rough_carats or m.polished_carats <= m.rough_carats * cfg.yield_max:
            continue
        share = m.polished_carats / m.rough_carats
        yield RiskFlag.make(
            "yield",
            "high",
            ("lot", m.rough),
            f"{m.actor} cut {ct(m.polished_carats)} ct of polished out of {ct(m.rough_carats)} ct of rough "
            f"(lot {m.rough}): a {share:.0%} yield, above the plausible {cfg.yield_max:.0%}",
            key=m.event,
            period=period_of(m.time_ns, "quarter"),
            lots=[m.rough, *m.polished],
            participants=[m.actor],
            countries=[c for c in (facts.country_of(m.actor),) if c],
            events=[m.event],
            evidence={
                "figures": {
                    "rough": ct(m.rough_carats),
                    "polished": ct(m.polished_carats),
                    "yield": round(share, 4),
                },
                "threshold": threshold("yield_max", cfg.yield_max),
                "norm": {"plausible_yield_at_most": cfg.yield_max},
            },
        )
