"""Risk: detectors, taint and Kimberley Process statistics, computed from the log for anyone to re-check.

``scan(ledger)`` runs every detector over what was logged since the last scan and stores the flags
(deterministic ids, never duplicated); ``flags``, ``lot_risk`` and ``tainted_lineage`` read them back;
``review`` and ``freeze`` sign the events a monitor or an authority submits about a flag; ``statistics``
computes the KP's Annex III figures. This package reads the ledger and writes only its own tables.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from adamas._lazy import lazy_exports

if TYPE_CHECKING:
    from adamas.risk.config import DEFAULTS, Thresholds
    from adamas.risk.flags import DETECTORS, RiskFlag
    from adamas.risk.scan import ScanResult, scan
    from adamas.risk.service import (
        FlagPage,
        flag,
        flags,
        freeze,
        lot_risk,
        lot_taints,
        review,
        tainted_lineage,
    )
    from adamas.risk.taint import Taint

# Imported on first use (PEP 562): reading a lot's risk (`adamas lot show`) must not import every detector
# the scan runs (CLI start-up, issue 14).
_LAZY = {
    "DEFAULTS": "adamas.risk.config",
    "Thresholds": "adamas.risk.config",
    "DETECTORS": "adamas.risk.flags",
    "RiskFlag": "adamas.risk.flags",
    "ScanResult": "adamas.risk.scan",
    "scan": "adamas.risk.scan",
    "FlagPage": "adamas.risk.service",
    "flag": "adamas.risk.service",
    "flags": "adamas.risk.service",
    "freeze": "adamas.risk.service",
    "lot_risk": "adamas.risk.service",
    "lot_taints": "adamas.risk.service",
    "review": "adamas.risk.service",
    "tainted_lineage": "adamas.risk.service",
    "Taint": "adamas.risk.taint",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


class _Package(ModuleType):
    """Keeps ``flags``, ``review`` and ``scan`` the functions: importing the same-named submodules would bind
    the modules over them (the eager package imported the functions last, so they won)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "DEFAULTS",
    "DETECTORS",
    "FlagPage",
    "RiskFlag",
    "ScanResult",
    "Taint",
    "Thresholds",
    "flag",
    "flags",
    "freeze",
    "lot_risk",
    "lot_taints",
    "review",
    "scan",
    "tainted_lineage",
]
