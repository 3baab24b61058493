"""Liveness and metrics: ``/healthz`` and ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from adamas.api import links
from adamas.api.deps import LedgerDep, MetricsDep
from adamas.api.metrics import CONTENT_TYPE_LATEST
from adamas.api.models import Health
from adamas.api.routes._common import problems

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=Health, responses={**problems(), **links.LOG_HEAD}, summary="Health")
def healthz(ledger: LedgerDep) -> dict[str, Any]:
    """The database is reachable (503 problem otherwise), and the head of the log."""
    return {"status": "ok", "database": "reachable", "log": {"origin": ledger.origin, "size": ledger.size}}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, "description": "Metrics."}
    },
    summary="Prometheus metrics",
)
def metrics(metrics: MetricsDep) -> Response:
    """Events accepted and refused by code, batch latency, tree size, witness cosignatures."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
