"""The HTTP service: capture and query API over a ledger, and its log as C2SP tlog-tiles.

``create_app(db)`` builds the FastAPI app; ``serve(db, host=..., port=...)`` runs it with uvicorn (what
``adamas serve`` does).
"""

from __future__ import annotations

from adamas.api.app import ROUTERS, create_app
from adamas.api.hooks import AfterBatch, AfterBatchCallback, BatchCommitted
from adamas.api.server import serve

__all__ = ["ROUTERS", "AfterBatch", "AfterBatchCallback", "BatchCommitted", "create_app", "serve"]
