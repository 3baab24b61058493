"""``round_trip``: goods coming back into a country they (or the lots they were made from) left.

A return at a higher $/ct than the departure (``round_trip_value_ratio``) is the classic laundering loop:
value is inflated abroad and brought home as a legitimate import. A return whose values are unknown is
flagged low; one at the same or a lower value is not flagged. Only goods of the same kind class count
(rough back as rough, polished back as polished): cutting abroad raises $/ct honestly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import kind_class, per_carat, threshold
from adamas.risk.facts import Facts, Movement
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every cross-border arrival of goods that left the same country earlier."""
    departures: dict[str, list[Movement]] = defaultdict(list)
    for m in facts.movements:
        if not m.cross_border:
            continue
        lineage = {lot for own in m.lots for lot in facts.ancestors(own)}
        kind = kind_class(facts, m.lots)
        earlier = sorted(
            {
                d.seq: d
                for lot in lineage
                for d in departures.get(lot, [])
                if d.sender_country == m.to_country and kind_class(facts, d.lots) == kind
            }.values(),
            key=lambda d: d.seq,
        )
        if earlier:
            out = earlier[0]
            ratio = None
            if out.value and m.value and out.total and m.total:
                ratio = per_carat(m.value, m.total) / per_carat(out.value, out.total)
            if ratio is None or ratio >= cfg.round_trip_value_ratio:
                yield RiskFlag.make(
                    "round_trip",
                    "low" if ratio is None else "high",
                    ("lot", m.lots[0]),
                    f"goods that left {m.to_country} in shipment {out.shipment} came back in shipment "
                    f"{m.shipment}"
                    + ("" if ratio is None else f" at {ratio:.2f} times their $/ct on departure"),
                    key=m.event,
                    period=period_of(m.time_ns, "quarter"),
                    lots=[*m.lots, *(lot for lot in out.lots)],
                    participants=[out.sender, out.to, m.sender, m.to],
                    countries=[c for c in (out.sender_country, out.to_country, m.sender_country) if c],
                    events=[out.event, m.event],
                    evidence={
                        "figures": {
                            "departure": {"shipment": out.shipment, "usd_per_carat": _price(out)},
                            "return": {"shipment": m.shipment, "usd_per_carat": _price(m)},
                            "value_ratio": None if ratio is None else round(ratio, 3),
                        },
                        "threshold": threshold("round_trip_value_ratio", cfg.round_trip_value_ratio),
                        "norm": {"departure_usd_per_carat": _price(out)},
                    },
                )
        for lot in m.lots:
            departures[lot].append(m)


def _price(m: Movement) -> float | None:
    return round(per_carat(m.value, m.total), 2) if m.value and m.total else None
