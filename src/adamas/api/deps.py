"""Typed dependencies of the routes, and the one place where a read policy plugs in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from adamas.api.hooks import AfterBatch
from adamas.api.metrics import Metrics
from adamas.api.settings import Settings
from adamas.ledger import Ledger

__all__ = [
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
    """
    del request


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
AfterBatchDep = Annotated[AfterBatch, Depends(get_after_batch)]
