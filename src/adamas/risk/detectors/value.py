"""``value``: a transfer's $/ct far from what comparable goods fetch, in either direction.

Undervaluation moves profit out of reach of tax; overvaluation launders money through stones. Comparable
goods: rough transfers (``lot.ship`` with a declared value, or the value of the KP certificate they travel
under) of the same main origin country; production registrations compare with the same mine's. Polished
and jewels are left out: their $/ct rises steeply with the size and quality of each stone, which a norm by
origin cannot see. The norm is robust: the median of log $/ct and 1.4826 x its median absolute deviation,
so the outliers being looked for cannot drag the norm toward themselves. A flag needs both a large ratio to
the median (``value_ratio``) and a large robust deviation (``value_z``). While a group has fewer than
``value_min_sample`` transfers, a rough transfer is compared with the KP-published $/ct of its origin's
production that year (data pack), by the ratio alone.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import ct, kind_class, per_carat, threshold, usd
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


@dataclass(frozen=True, slots=True)
class _Priced:
    event: str
    time_ns: int
    what: str
    price: float
    value: int
    carats: int
    lots: tuple[str, ...]
    participants: tuple[str, ...]
    countries: tuple[str | None, ...]
    subject: tuple[str, str]


def _priced(facts: Facts) -> dict[tuple[str, str], list[_Priced]]:
    groups: dict[tuple[str, str], list[_Priced]] = defaultdict(list)
    for m in facts.movements:
        if m.value is None or m.value <= 0 or m.total <= 0 or kind_class(facts, m.lots) != "rough":
            continue
        origin = facts.main_origin(m.lots)
        subject = ("certificate", m.certificate) if m.certificate else ("participant", m.sender)
        groups[(kind_class(facts, m.lots), origin)].append(
            _Priced(
                m.event,
                m.time_ns,
                f"shipment {m.shipment}",
                per_carat(m.value, m.total),
                m.value,
                m.total,
                m.lots,
                (m.sender, m.to),
                (m.sender_country, m.to_country, origin),
                subject,
            )
        )
    for p in facts.productions:
        if p.value is None or p.value <= 0 or p.carats <= 0:
            continue
        groups[("production", p.site)].append(
            _Priced(
                p.event,
                p.time_ns,
                f"production of lot {p.lot}",
                per_carat(p.value, p.carats),
                p.value,
                p.carats,
                (p.lot,),
                (p.actor,),
                (p.country,),
                ("site", p.site),
            )
        )
    return groups


def _kp_price(ctx: Context, origin: str, time_ns: int) -> float | None:
    """The KP-published $/ct of ``origin``'s production in the year of ``time_ns`` (data pack), if any."""
    published = ctx.kp_production.get((origin, int(period_of(time_ns, "year"))))
    if published is None or not published[0] or not published[1]:
        return None
    return per_carat(published[1], published[0])


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every priced transfer or production far from its group's robust norm (or, while the
    group is too small for one, a rough transfer far from its origin's KP-published $/ct)."""
    for (kind, origin), items in sorted(_priced(facts).items()):
        if len(items) < cfg.value_min_sample:
            if kind != "rough":
                continue
            for item in items:
                kp_price = _kp_price(ctx, origin, item.time_ns)
                if kp_price is None:
                    continue
                ratio = item.price / kp_price
                if cfg.value_ratio > ratio > 1 / cfg.value_ratio:
                    continue
                yield _flag(
                    item,
                    ratio=ratio,
                    z=None,
                    cfg=cfg,
                    against=f"the KP-published ${kp_price:,.2f}/ct of {origin}'s production",
                    norm={
                        "group": {"kind": kind, "origin": origin},
                        "kp_usd_per_carat": round(kp_price, 2),
                        "source": "KP data pack (kp_production_by_country.csv)",
                        "sample": len(items),
                        "sample_needed_for_a_robust_norm": cfg.value_min_sample,
                    },
                )
            continue
        logs = [math.log(i.price) for i in items]
        centre = statistics.median(logs)
        spread = 1.4826 * statistics.median(abs(x - centre) for x in logs)
        norm_price = math.exp(centre)
        for item, x in zip(items, logs, strict=True):
            ratio = item.price / norm_price
            z = abs(x - centre) / spread if spread > 0 else (math.inf if ratio != 1 else 0.0)
            if z < cfg.value_z or cfg.value_ratio > ratio > 1 / cfg.value_ratio:
                continue
            yield _flag(
                item,
                ratio=ratio,
                z=z,
                cfg=cfg,
                against=f"the median ${norm_price:,.2f}/ct of {len(items)} comparable {kind} transfers of "
                f"{origin} origin",
                norm={
                    "group": {"kind": kind, "origin": origin},
                    "median_usd_per_carat": round(norm_price, 2),
                    "mad_log": round(spread / 1.4826, 4),
                    "sample": len(items),
                },
            )


def _flag(
    item: _Priced, *, ratio: float, z: float | None, cfg: Thresholds, against: str, norm: dict[str, Any]
) -> RiskFlag:
    direction = "over" if ratio > 1 else "under"
    far = ratio if ratio > 1 else 1 / ratio
    return RiskFlag.make(
        "value",
        "high" if far >= cfg.value_ratio * cfg.high_ratio else "medium",
        item.subject,
        f"{item.what} is valued at ${item.price:,.2f}/ct, {far:.1f} times "
        f"{'above' if ratio > 1 else 'below'} {against} ({direction}valuation)",
        key=item.event,
        period=period_of(item.time_ns, "quarter"),
        lots=item.lots,
        participants=item.participants,
        countries=[c for c in item.countries if c and c not in ("mixed", "unknown", "??")],
        events=[item.event],
        evidence={
            "figures": {
                "value": usd(item.value),
                "carats": ct(item.carats),
                "usd_per_carat": round(item.price, 2),
                "ratio_to_norm": round(ratio, 3),
                "robust_z": None if z is None or math.isinf(z) else round(z, 2),
                "direction": direction,
            },
            "threshold": threshold("value_ratio", cfg.value_ratio)
            | ({} if z is None else {"z": cfg.value_z}),
            "norm": norm,
        },
    )
