"""Adamas: open, tamper-evident track-and-trace for natural diamonds.

The Python API a user imports: open or create a ``Ledger``, ``submit`` signed envelopes, and query lots,
their history and their lineage; prove events in the ledger's transparency log (``Receipt``,
``verify_receipt``), export it as tiles and ``audit`` it. Every error is an ``AdamasError`` with a stable
``code``.
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
from adamas.ledger.audit import AuditFault, AuditReport, audit
from adamas.ledger.export import TilesExport
from adamas.ledger.receipts import Receipt, verify_receipt
from adamas.model.signing import sign_body

__all__ = [
    "AdamasError",
    "AuditFault",
    "AuditReport",
    "ConflictError",
    "HistoryEntry",
    "InputError",
    "KeyPair",
    "Ledger",
    "LotView",
    "NotFoundError",
    "OriginShare",
    "Outcome",
    "Receipt",
    "RuleError",
    "StorageError",
    "TilesExport",
    "Trace",
    "TraceNode",
    "VerificationError",
    "audit",
    "generate_key",
    "load_private_key",
    "save_private_key",
    "sign_body",
    "verify_receipt",
]

# The one source of the version: the build reads it (pyproject.toml, [tool.setuptools.dynamic]).
__version__ = "0.1.0"
