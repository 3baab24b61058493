"""Submitting envelopes, and reading one logged event back with its receipt."""

from __future__ import annotations

import gc
import json
import time
from typing import Any, Literal, NamedTuple

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from adamas.api import links
from adamas.api.bodies import read_batch
from adamas.api.deps import AfterBatchDep, LedgerDep, MetricsDep, SettingsDep
from adamas.api.errors import BatchRefusedError
from adamas.api.hooks import BatchCommitted
from adamas.api.models import StoredEvent, SubmitResult
from adamas.api.routes._common import problems
from adamas.ledger import Ledger, Outcome
from adamas.log import Checkpoint

router = APIRouter(tags=["events"])

_ENVELOPE_SCHEMA = {
    "type": "object",
    "properties": {"body": {"type": "object"}, "sig": {"type": "string"}},
    "required": ["body", "sig"],
}
_REQUEST_BODY = {
    "required": True,
    "description": "Signed envelopes: a JSON array, or one per line with `Content-Type: application/jsonl`.",
    "content": {
        "application/json": {"schema": {"type": "array", "items": _ENVELOPE_SCHEMA}},
        "application/jsonl": {"schema": {"type": "string"}},
    },
}


class _Ingested(NamedTuple):
    outcomes: list[Outcome]
    payload: bytes | None  # None: an atomic batch that was refused
    accepted: int
    checkpoint: str | None


def _ingest(
    request: Request, ledger: Ledger, body: bytes, mode: Literal["atomic", "proceed"], max_batch: int
) -> _Ingested:
    """Parse, submit and write the answer, in one worker thread (the event loop only moves bytes)."""
    envelopes = read_batch(body, request.headers.get("content-type"), max_batch=max_batch)
    # One batch at a time per process: the ledger's verification worker serves one batch, and the
    # database's sequencer lock would serialize them anyway.
    with request.app.state.ingest_lock:
        outcomes = ledger.submit(envelopes, mode=mode)
    if mode == "atomic" and any(o.status == "refused" for o in outcomes):
        return _Ingested(outcomes, None, 0, None)
    counts = {"accepted": 0, "duplicate": 0, "refused": 0}
    results: list[dict[str, Any]] = []
    note = None
    # As in Ledger.submit: a thousand receipts are short-lived objects that reference counting frees; the
    # cyclic collector would walk the heap for nothing while they are built.
    paused = gc.isenabled()
    gc.disable()
    try:
        for o in outcomes:
            counts[o.status if o.status in ("accepted", "duplicate") else "refused"] += 1
            if o.status == "accepted" and o.receipt is not None:
                note = o.receipt.checkpoint
            results.append(o.to_json())
        payload = json.dumps({**counts, "results": results}, ensure_ascii=False).encode("utf-8")
    finally:
        if paused:
            gc.enable()
    return _Ingested(outcomes, payload, counts["accepted"], note)


@router.post(
    "/v1/events",
    response_model=SubmitResult,
    responses={**problems(400, 413, 415, 422), **links.SUBMITTED},
    openapi_extra={"requestBody": _REQUEST_BODY},
    summary="Submit a batch of signed envelopes",
)
async def submit_events(  # noqa: PLR0917 - FastAPI injects the dependencies by parameter
    request: Request,
    ledger: LedgerDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    after_batch: AfterBatchDep,
    mode: Literal["atomic", "proceed"] = Query(
        "atomic", description="atomic: all or nothing (422 with every refusal); proceed: keep the valid ones."
    ),
) -> Response:
    """Check and record envelopes as `adamas submit` does: one result per envelope, in order (a receipt
    with its inclusion proof, or a refusal). Authenticated by the envelopes' signatures alone."""
    started = time.perf_counter()
    body = await request.body()
    done = await run_in_threadpool(_ingest, request, ledger, body, mode, settings.max_batch)
    metrics.batch(done.outcomes, time.perf_counter() - started)
    if done.payload is None:
        raise BatchRefusedError(done.outcomes)
    if done.accepted and done.checkpoint is not None:
        after_batch.notify(BatchCommitted(ledger, _size(done.checkpoint), done.checkpoint, done.accepted))
    return Response(done.payload, media_type="application/json")


def _size(note: str) -> int:
    return Checkpoint.from_text(note.split("\n\n", 1)[0] + "\n").size


@router.get(
    "/v1/events/{event_id}",
    response_model=StoredEvent,
    responses={**problems(400, 404), **links.STORED_EVENT},
    summary="A logged event",
)
def get_event(ledger: LedgerDep, event_id: str = Path(max_length=256)) -> dict[str, Any]:
    """The stored canonical envelope, its leaf index and hash, and a receipt in the newest checkpoint."""
    stored = ledger.event(event_id)
    return {**stored.to_json(), "receipt": ledger.receipt(stored.index).to_json()}
