"""``weight``: carats that go missing (or appear) between ship and receive, or vanish in a split.

A skim takes a little from many lots; the rules record arrivals off by more than 0.1%, this detector raises
a flag per shipment with every lot off by more than ``weight_tolerance``, and per split declaring a loss
above ``split_loss_tolerance`` of its parent.
"""

from __future__ import annotations

from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors._common import ct, severity, threshold
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for shipments that arrived lighter or heavier, and splits that lost too much."""
    for m in facts.movements:
        if m.arrival is None:
            continue
        off = {
            lot: (sent, m.arrival.carats[lot])
            for lot, sent in m.carats.items()
            if lot in m.arrival.carats
            and sent
            and abs(sent - m.arrival.carats[lot]) > sent * cfg.weight_tolerance
        }
        if not off and m.arrival.seal_intact:
            continue
        sent = sum(s for s, _ in off.values())
        arrived = sum(a for _, a in off.values())
        share = abs(sent - arrived) / sent if sent else 0.0
        lots = sorted(off) or list(m.lots)
        explanation = (
            f"shipment {m.shipment} left with {ct(sent)} ct in {len(off)} lot(s) and arrived with "
            f"{ct(arrived)} ct "
            f"({share:.2%} {'less' if arrived < sent else 'more'})"
            if off
            else f"shipment {m.shipment} arrived with a broken seal"
        )
        yield RiskFlag.make(
            "weight",
            severity(share / cfg.weight_tolerance / 5, cfg) if off else "medium",
            ("lot", lots[0]),
            explanation,
            key=m.arrival.event,
            period=period_of(m.arrival.time_ns, "quarter"),
            lots=lots,
            participants=[m.sender, m.to],
            countries=[c for c in (m.sender_country, m.to_country) if c],
            events=[m.event, m.arrival.event],
            evidence={
                "figures": {
                    "lots": {
                        lot: {"shipped": ct(s), "received": ct(a)} for lot, (s, a) in sorted(off.items())
                    },
                    "difference_share": round(share, 5),
                    "seal_intact": m.arrival.seal_intact,
                },
                "threshold": threshold("weight_tolerance", cfg.weight_tolerance),
                "norm": {"expected": "the carats that left"},
            },
        )
    for _seq, event, time_ns, actor, lot, parent, loss in facts.splits:
        if not parent or loss <= parent * cfg.split_loss_tolerance:
            continue
        yield RiskFlag.make(
            "weight",
            "medium",
            ("lot", lot),
            f"split of lot {lot} declared {ct(loss)} ct lost, {loss / parent:.2%} of {ct(parent)} ct",
            key=event,
            period=period_of(time_ns, "quarter"),
            lots=[lot],
            participants=[actor],
            countries=[c for c in (facts.country_of(actor),) if c],
            events=[event],
            evidence={
                "figures": {"parent": ct(parent), "loss": ct(loss), "loss_share": round(loss / parent, 5)},
                "threshold": threshold("split_loss_tolerance", cfg.split_loss_tolerance),
                "norm": {"expected_loss_at_most": ct(int(parent * cfg.split_loss_tolerance))},
            },
        )
