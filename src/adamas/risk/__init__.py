"""Risk: detectors, taint and Kimberley Process statistics, computed from the log for anyone to re-check.

``scan(ledger)`` runs every detector over what was logged since the last scan and stores the flags
(deterministic ids, never duplicated); ``flags``, ``lot_risk`` and ``tainted_lineage`` read them back;
``review`` and ``freeze`` sign the events a monitor or an authority submits about a flag; ``statistics``
computes the KP's Annex III figures. This package reads the ledger and writes only its own tables.
"""

from __future__ import annotations

from adamas.risk.config import DEFAULTS, Thresholds
from adamas.risk.flags import DETECTORS, RiskFlag
from adamas.risk.scan import ScanResult, scan
from adamas.risk.service import FlagPage, flag, flags, freeze, lot_risk, lot_taints, review, tainted_lineage
from adamas.risk.taint import Taint

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
