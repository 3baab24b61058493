"""Typed dependencies of the routes, and the one place where a read policy plugs in."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request

from adamas.api.hooks import AfterBatch
from adamas.api.metrics import Metrics
from adamas.api.settings import Settings
from adamas.errors import InputError
from adamas.ledger import Ledger

__all__ = [
    "MIN_INDEX_HEADER",
    "MIN_INDEX_WAIT",
    "AfterBatchDep",
    "LedgerDep",
    "MetricsDep",
    "SettingsDep",
    "access_policy",
    "get_after_batch",
    "get_ledger",
    "get_metrics",
    "get_settings",
]


MIN_INDEX_HEADER: Final = "X-Adamas-Min-Index"
"""Read-your-writes: a read carrying this header (or ``?min_index=``) waits until the database it is read
from holds that leaf (a receipt's index), then is answered; past ``MIN_INDEX_WAIT`` seconds, a 503."""
MIN_INDEX_WAIT: Final = 3.0


def get_ledger(request: Request) -> Ledger:
    """The app's open ledger."""
    ledger: Ledger = request.app.state.ledger
    return ledger


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_after_batch(request: Request) -> AfterBatch:
    """The app's after-batch callbacks."""
    after_batch: AfterBatch = request.app.state.after_batch
    return after_batch


def access_policy(request: Request) -> None:
    """Every route of every router passes here first (``create_app`` includes each with it).

    Reads are public in this version, and writes are authenticated by their envelope signatures alone, so
    nothing is refused. A read policy (an API key, a per-client quota, private lots) plugs in here: refuse
    by raising an ``AdamasError`` for ``request`` (for example a ``NotFoundError`` that hides what exists).

    A read asking for a minimum leaf index (``MIN_INDEX_HEADER``) waits here for the replica to catch up.
    """
    raw = request.headers.get(MIN_INDEX_HEADER) or request.query_params.get("min_index")
    if raw is None or request.method not in ("GET", "HEAD"):
        return
    try:
        index = int(raw)
    except ValueError:
        raise InputError(
            f"min_index must be a leaf index, not {raw!r}", code="replica.bad_index", field="min_index"
        ) from None
    get_ledger(request).wait_for_index(index, timeout=MIN_INDEX_WAIT)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
AfterBatchDep = Annotated[AfterBatch, Depends(get_after_batch)]
