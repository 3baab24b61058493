"""``dilution``: a high-risk origin mixed into a lot below a visible share.

High-risk origins: countries suspended or outside the KP (``country.status``), sanctioned origins
(``sanction.set``) and those the configuration lists. Mixing a little of them into a large clean parcel is how
they are hidden; a share below ``dilution_share`` in a merged lot raises a flag.
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
    """Flags for every merge that hides a high-risk origin below the visible share."""
    if not ctx.high_risk:
        return
    for _seq, event, time_ns, actor, lot in facts.merges:
        info = facts.lots.get(lot)
        if info is None:
            continue
        whole = sum(info.countries.values())
        for country, amount in sorted(info.countries.items()):
            share = amount / whole if whole else 0.0
            if country not in ctx.high_risk or not 0 < share < cfg.dilution_share:
                continue
            yield RiskFlag.make(
                "dilution",
                "high",
                ("lot", lot),
                f"{actor} mixed {ct(amount)} ct of {country} origin ({ctx.high_risk[country]}) into lot "
                f"{lot}: {share:.1%} of {ct(whole)} ct",
                key=f"{event}:{country}",
                period=period_of(time_ns, "quarter"),
                lots=facts.ancestors(lot),
                participants=[actor],
                countries=[country, *(c for c in (facts.country_of(actor),) if c)],
                events=[event],
                evidence={
                    "figures": {
                        "origin": country,
                        "carats": ct(amount),
                        "lot_carats": ct(whole),
                        "share": round(share, 5),
                    },
                    "threshold": threshold("dilution_share", cfg.dilution_share),
                    "norm": {"high_risk_because": ctx.high_risk[country]},
                },
            )
