"""The HTTP service as a FastAPI app: ``create_app(db)``.

The app holds one open ``Ledger`` (``app.state.ledger``) and answers with the routers of ``ROUTERS``, each
included behind ``deps.access_policy``. Writes go to ``db``; with ``read_db`` every query, proof and tile is
read from that database instead (a replica), through the same ledger. Around the routes: a request body
limit (413 problem), CORS only when ``cors_origin`` is given, and every error as a problem
(``adamas.api.errors``). After each batch that accepted events, ``app.state.after_batch`` runs its
callbacks off the request path (``adamas.api.hooks``).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from adamas import __version__
from adamas.api.deps import access_policy
from adamas.api.errors import install_error_handlers
from adamas.api.hooks import AfterBatch
from adamas.api.limits import BodyLimitMiddleware
from adamas.api.metrics import Metrics
from adamas.api.routes import certificates, epcis, events, evidence, health, lots, participants, risk
from adamas.api.routes import log as log_routes
from adamas.api.settings import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY_BYTES, Settings
from adamas.ledger import Ledger
from adamas.ledger.collector import WitnessCollector
from adamas.ledger.witnesses import Collection
from adamas.risk import scan as risk_scan
from adamas.web import mount as mount_pages

__all__ = ["ROUTERS", "create_app"]

# Every router the service answers with, in this order. A new group is a module of adamas.api.routes
# exposing `router`, added here.
ROUTERS: Final[list[APIRouter]] = [
    events.router,
    lots.router,
    certificates.router,
    participants.router,
    evidence.router,
    risk.router,
    epcis.router,
    log_routes.router,
    health.router,
]

DESCRIPTION: Final = """\
Capture and query API of an Adamas ledger, and its transparency log as C2SP tlog-tiles.

Writes are authenticated by the Ed25519 signatures of the envelopes alone; reads are public. Every error is
an RFC 9457 problem (`application/problem+json`) carrying the Adamas error `code` and the `field` at fault.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.witness_collector.start()
    yield
    app.state.after_batch.close()
    app.state.witness_collector.stop()
    app.state.ledger.close()


def _witness_failure_reason(error: str) -> str:
    """A short label for a witness's failure (bounded, for the metric's ``reason`` label)."""
    for reason in ("unreachable", "invalid cosignature", "split view", "fork", "HTTP 409", "no answer"):
        if reason in error:
            return reason.replace(" ", "_").lower()
    return "refused"


def _count_round(metrics: Metrics, results: list[Collection]) -> None:
    for result in results:
        if result.error is not None:
            metrics.witness_failed(result.witness, _witness_failure_reason(result.error))
        elif result.new:
            metrics.witness_cosigned(result.witness)


def create_app(
    db: str,
    *,
    read_db: str | None = None,
    cors_origin: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> FastAPI:
    """The service over the ledger at ``db`` (opened now; closed when the app shuts down)."""
    settings = Settings(db, read_db, cors_origin, max_body_bytes, max_batch)
    ledger = Ledger.open(db, read_url=read_db)
    app = FastAPI(
        title="Adamas",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.ingest_lock = threading.Lock()
    app.state.metrics = metrics = Metrics(lambda: ledger.size)
    app.state.after_batch = AfterBatch(on_error=metrics.after_batch_failures.inc)
    app.state.full_tiles = log_routes.FullTiles()
    # Witnesses are asked after each accepted batch, on the collector's own thread (never inside ingest),
    # and every half minute, so that a witness that was down catches up.
    collector = WitnessCollector(ledger, on_round=lambda results: _count_round(metrics, results))
    app.state.witness_collector = collector
    app.state.after_batch.register(lambda _batch: collector.poke())
    # Flags follow the log: the detectors scan what each batch added (incrementally; off the request path).
    app.state.after_batch.register(lambda _batch: risk_scan(ledger))
    install_error_handlers(app)
    if cors_origin is not None:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[cors_origin],
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(access_policy)])
    mount_pages(app)  # the web pages (adamas.web), their JSON twins and /static
    return app
