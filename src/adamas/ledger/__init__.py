"""The ledger service: the ingest pipeline over the store, and the queries built on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adamas._lazy import lazy_exports

if TYPE_CHECKING:
    from adamas.ledger.ledger import Ledger, Mode
    from adamas.ledger.outcome import Outcome
    from adamas.ledger.views import EventRef, HistoryEntry, LotView, OriginShare, Trace, TraceNode

# Imported on first use (PEP 562): a module of the read path (`adamas.ledger.views`, `queries`, ...) must not
# import the whole write path through this package, and `Ledger` imports it only where it writes (CLI
# start-up, issue 14).
_LAZY = {
    "EventRef": "adamas.ledger.views",
    "HistoryEntry": "adamas.ledger.views",
    "Ledger": "adamas.ledger.ledger",
    "LotView": "adamas.ledger.views",
    "Mode": "adamas.ledger.ledger",
    "OriginShare": "adamas.ledger.views",
    "Outcome": "adamas.ledger.outcome",
    "Trace": "adamas.ledger.views",
    "TraceNode": "adamas.ledger.views",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


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
