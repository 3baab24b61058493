"""The ledger service: the ingest pipeline over the store, and the queries built on it."""

from __future__ import annotations

from adamas.ledger.ledger import Ledger, Mode
from adamas.ledger.outcome import Outcome
from adamas.ledger.views import EventRef, HistoryEntry, LotView, OriginShare, Trace, TraceNode

__all__ = [
    "EventRef",
    "HistoryEntry",
    "Ledger",
    "LotView",
    "Mode",
    "OriginShare",
    "Outcome",
    "Trace",
    "TraceNode",
]
