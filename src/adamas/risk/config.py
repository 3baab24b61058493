"""Every threshold the detectors use, in one place (documented in docs/risk.md).

Each flag's evidence names the threshold it crossed (``threshold``: name and value) and the norm it was
compared with (``norm``), so a reader can re-check the flag against these figures and the log. The defaults
are conservative hand-set values, chosen so that ordinary trade (small weighing differences, normal cutting
yields, prices within a factor of two of their group's median) raises nothing; docs/risk.md says how to
re-tune them on the simulator's training seeds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

__all__ = ["DEFAULTS", "PERIODS", "Thresholds"]

Period = Literal["year", "half", "quarter"]
PERIODS: Final = ("year", "half", "quarter")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The detectors' thresholds. Ratios are plain numbers (0.001 is 0.1%)."""

    # footprint: a country's exports against what it could have had (opening stock + production + imports)
    footprint_tolerance: float = 0.0
    """Exports may exceed the supply by this share before a flag (0: any excess)."""
    footprint_kp_ratio: float = 2.0
    """A country's share of the production registered in a year above this multiple of its share of the
    KP-published world production of that year (scale-free: a ledger that covers part of the world's trade
    is compared by shares)."""
    footprint_kp_min_share: float = 0.005
    """And the excess at least this share of the year's registered world production."""
    footprint_kp_min_lots: int = 3
    """And at least this many lots registered by the country in the year (a lone parcel is no pattern)."""

    # value: $/ct against the robust norm (median, MAD of log $/ct) of comparable transfers
    value_min_sample: int = 8
    """Fewest comparable transfers (same kind class, main origin country) for a norm."""
    value_ratio: float = 2.5
    """$/ct at least this many times above, or below 1/this of, the median."""
    value_z: float = 3.5
    """And at least this many robust deviations (1.4826 x MAD of log $/ct) from the median."""

    # capacity: a mine's production in a calendar year against its licensed annual capacity
    capacity_tolerance: float = 0.0
    """Production may exceed ``annual_capacity`` by this share before a flag."""

    # spike: production of a country or mine in a period against its own history in the ledger
    spike_period: Period = "quarter"
    spike_factor: float = 3.0
    """Production above this multiple of the median of the earlier periods."""
    spike_min_history: int = 2
    """Earlier periods with production needed before a spike can be judged."""
    spike_min_carats: float = 100.0
    """Periods smaller than this (carats) are never spikes."""

    # weight: carats lost between ship and receive, or in a split
    weight_tolerance: float = 0.001
    """Share of a shipped lot's carats that may go missing on arrival (EVENTS.md records above 0.1%)."""
    split_loss_tolerance: float = 0.005
    """Share of a parent's carats that a split may declare lost (the rules refuse above 1%)."""

    # yield: polished carats out of rough carats
    yield_max: float = 0.55
    """Polished yield above this share of the rough (EVENTS.md flags above 55%, refuses above 70%)."""

    # round_trip: goods coming back to a country they left
    round_trip_value_ratio: float = 1.5
    """$/ct on return at least this multiple of $/ct on departure makes the return high severity."""

    # velocity: borders crossed by a lot and its ancestors in a short time
    velocity_borders: int = 5
    """Cross-border shipments of a lineage within ``velocity_days``: rough to a hub, a cutter, a lab and a
    retailer is four quick crossings in honest trade, so five or more is layering."""
    velocity_days: float = 30.0

    # dilution: a high-risk origin mixed in below a visible share
    dilution_share: float = 0.10
    high_risk_countries: tuple[str, ...] = field(default=("RU",))
    """Origins always treated as high risk, besides suspended, non-participant and sanctioned ones. Russia:
    the G7 and EU measures on Russian diamonds announced in December 2023 (data pack,
    kp_suspensions_embargoes.csv), so that goods mixed before they take effect are seen too."""

    # certificate_sequence: gaps in an issuer's numbering
    certificate_max_gap: int = 100

    # severities
    high_ratio: float = 2.0
    """Where a detector grades severity by how far a figure is past its threshold: this far is high."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (for reports and the benchmark's record of what it ran with)."""
        out = asdict(self)
        out["high_risk_countries"] = list(self.high_risk_countries)
        return out


DEFAULTS: Final = Thresholds()
