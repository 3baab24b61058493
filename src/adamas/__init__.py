"""Adamas: open, tamper-evident track-and-trace for natural diamonds.

The Python API a user imports: open or create a ``Ledger``, ``submit`` signed envelopes, and query lots,
their history and their lineage. Every error is an ``AdamasError`` with a stable ``code``.
"""

from __future__ import annotations

from adamas.crypto import KeyPair, generate_key, load_private_key, save_private_key
from adamas.errors import (
    AdamasError,
    ConflictError,
    InputError,
    NotFoundError,
    RuleError,
    StorageError,
    VerificationError,
)
from adamas.ledger import HistoryEntry, Ledger, LotView, OriginShare, Outcome, Trace, TraceNode
from adamas.model.signing import sign_body

__all__ = [
    "AdamasError",
    "ConflictError",
    "HistoryEntry",
    "InputError",
    "KeyPair",
    "Ledger",
    "LotView",
    "NotFoundError",
    "OriginShare",
    "Outcome",
    "RuleError",
    "StorageError",
    "Trace",
    "TraceNode",
    "VerificationError",
    "generate_key",
    "load_private_key",
    "save_private_key",
    "sign_body",
]

__version__ = "0.1.0"
