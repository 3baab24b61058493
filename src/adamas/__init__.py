"""Adamas: open, tamper-evident track-and-trace for natural diamonds.

The Python API a user imports: open or create a ``Ledger``, ``submit`` signed envelopes, and query lots,
their history and their lineage; prove events in the ledger's transparency log (``Receipt``,
``verify_receipt``), export it as tiles and ``audit`` it. Every error is an ``AdamasError`` with a stable
``code``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adamas._lazy import lazy_exports
from adamas.errors import (
    AdamasError,
    ConflictError,
    InputError,
    NotFoundError,
    RuleError,
    StorageError,
    VerificationError,
)

if TYPE_CHECKING:
    from adamas.crypto import KeyPair, generate_key, load_private_key, save_private_key
    from adamas.ledger import HistoryEntry, Ledger, LotView, OriginShare, Outcome, Trace, TraceNode
    from adamas.ledger.audit import AuditFault, AuditReport, audit
    from adamas.ledger.export import TilesExport
    from adamas.ledger.receipts import Receipt, verify_receipt
    from adamas.model.signing import sign_body

# The API is imported on first use (PEP 562): `import adamas.cli` must not pay for SQLAlchemy and the
# ledger before a command needs them (CLI start-up, issue 14).
_LAZY = {
    "KeyPair": "adamas.crypto",
    "generate_key": "adamas.crypto",
    "load_private_key": "adamas.crypto",
    "save_private_key": "adamas.crypto",
    "HistoryEntry": "adamas.ledger",
    "Ledger": "adamas.ledger",
    "LotView": "adamas.ledger",
    "OriginShare": "adamas.ledger",
    "Outcome": "adamas.ledger",
    "Trace": "adamas.ledger",
    "TraceNode": "adamas.ledger",
    "AuditFault": "adamas.ledger.audit",
    "AuditReport": "adamas.ledger.audit",
    "audit": "adamas.ledger.audit",
    "TilesExport": "adamas.ledger.export",
    "Receipt": "adamas.ledger.receipts",
    "verify_receipt": "adamas.ledger.receipts",
    "sign_body": "adamas.model.signing",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)


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
