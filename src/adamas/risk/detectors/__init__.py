"""The detectors: each a small module with a stable name and one function, ``detect(facts, cfg, ctx)``.

A detector reads the facts gathered from the log (``adamas.risk.facts``) and the context the scan loads
(high-risk origins, compromised keys, the KP's published figures) and yields ``RiskFlag`` values; it never
writes. The order here is the order flags are listed in when they tie on everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.detectors import (
    capacity,
    certificate_sequence,
    concern,
    dilution,
    footprint,
    key,
    non_natural,
    round_trip,
    spike,
    value,
    velocity,
    weight,
    yields,
)
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag

__all__ = ["DETECTOR_FUNCTIONS", "Detector"]

Detector = Callable[[Facts, Thresholds, Context], Iterable[RiskFlag]]

DETECTOR_FUNCTIONS: Final[dict[str, Detector]] = {
    "footprint": footprint.detect,
    "value": value.detect,
    "capacity": capacity.detect,
    "spike": spike.detect,
    "weight": weight.detect,
    "yield": yields.detect,
    "non_natural": non_natural.detect,
    "round_trip": round_trip.detect,
    "velocity": velocity.detect,
    "dilution": dilution.detect,
    "key": key.detect,
    "concern": concern.detect,
    "certificate_sequence": certificate_sequence.detect,
}
