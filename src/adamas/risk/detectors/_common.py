"""Small helpers the detectors share: formatting figures, kind classes, severity by distance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adamas.model.values import format_hundredths
from adamas.risk.config import Thresholds
from adamas.risk.facts import Facts
from adamas.risk.flags import Severity

__all__ = ["ct", "kind_class", "per_carat", "severity", "threshold", "usd"]


def ct(hundredths: int) -> str:
    """Carats as a decimal string."""
    return format_hundredths(hundredths)


def usd(cents: int) -> dict[str, str]:
    """Money as EVENTS.md writes it."""
    return {"amount": format_hundredths(cents), "currency": "USD"}


def per_carat(cents: int, hundredths: int) -> float:
    """US dollars per carat (cents over centicarats is the same ratio)."""
    return cents / hundredths if hundredths else 0.0


def kind_class(facts: Facts, lots: Iterable[str]) -> str:
    """``rough``, ``polished`` or ``jewel``: the class of the lots (the first lot's, as lots travel alike)."""
    for lot_id in lots:
        info = facts.lots.get(lot_id)
        if info is not None:
            return "rough" if info.kind.startswith("rough") else info.kind
    return "unknown"


def severity(past: float, cfg: Thresholds) -> Severity:
    """``high`` when a figure is ``cfg.high_ratio`` times its threshold or more, else ``medium``."""
    return "high" if past >= cfg.high_ratio else "medium"


def threshold(name: str, value: Any) -> dict[str, Any]:
    """The threshold a flag crossed, as its evidence names it."""
    return {"name": name, "value": value}
