"""``dilution``: a high-risk origin mixed into a lot, below a visible share or into a mixed origin.

High-risk origins: countries suspended or outside the KP (``country.status``), sanctioned origins
(``sanction.set``, whatever their effective date) and those the configuration lists. Mixing a little of
them into a large clean parcel hides them (a share below ``dilution_share``: high severity); mixing them
with other origins at any share relabels them as "mixed origin" (medium severity). Merges are judged, where
the mixing happens.
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
    """Flags for every merge that mixes a high-risk origin with other origins."""
    if not ctx.high_risk:
        return
    for _seq, event, time_ns, actor, lot in facts.merges:
        info = facts.lots.get(lot)
        if info is None or len(info.countries) < 2:
            continue
        whole = sum(info.countries.values())
        for country, amount in sorted(info.countries.items()):
            share = amount / whole if whole else 0.0
            if country not in ctx.high_risk or not 0 < share < 1:
                continue
            hidden = share < cfg.dilution_share
            others = ", ".join(sorted(c for c in info.countries if c != country))
            yield RiskFlag.make(
                "dilution",
                "high" if hidden else "medium",
                ("lot", lot),
                f"{actor} mixed {ct(amount)} ct of {country} origin ({ctx.high_risk[country]}) with "
                f"{others} origin into lot {lot}: {share:.1%} of {ct(whole)} ct"
                + (", below the visible share" if hidden else ", relabelled as mixed origin"),
                key=f"{event}:{country}",
                period=period_of(time_ns, "quarter"),
                lots=facts.ancestors(lot),
                participants=[actor],
                countries=[
                    *(c for c in info.countries if c != "??"),
                    *(c for c in (facts.country_of(actor),) if c),
                ],
                events=[event],
                evidence={
                    "figures": {
                        "origin": country,
                        "carats": ct(amount),
                        "lot_carats": ct(whole),
                        "share": round(share, 5),
                        "origins": {c: ct(a) for c, a in sorted(info.countries.items())},
                    },
                    "threshold": threshold("dilution_share", cfg.dilution_share),
                    "norm": {"high_risk_because": ctx.high_risk[country]},
                },
            )
