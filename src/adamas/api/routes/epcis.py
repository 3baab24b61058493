"""The EPCIS 2.0 REST query subset: ``GET /epcis/events`` and ``GET /epcis/epcs/{epc}/events``.

Thin over ``adamas.epcis.query``: the query parameters go to the service as they came, the answer is an
EPCISQueryDocument (``application/ld+json``) with the GS1 version headers, and a ``Link: <...>; rel="next"``
header while more pages remain (EPCIS 2.0 REST bindings). Errors are ``AdamasError``s (``epcis.query.*``),
which the application maps to problem+json.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adamas.api.routes._common import problems
from adamas.epcis.query import (
    CBV_VERSION,
    EPCIS_VERSION,
    EventQuery,
    QueryError,
    query_document,
    query_events,
)
from adamas.ledger import Ledger

__all__ = ["router"]

router = APIRouter(prefix="/epcis", tags=["EPCIS"])
MEDIA_TYPE: Final = "application/ld+json"
HEADERS: Final = {
    "GS1-EPCIS-Version": EPCIS_VERSION,
    "GS1-EPCIS-Min": EPCIS_VERSION,
    "GS1-EPCIS-Max": EPCIS_VERSION,
    "GS1-CBV-Version": CBV_VERSION,
    "GS1-CBV-Min": CBV_VERSION,
    "GS1-CBV-Max": CBV_VERSION,
}


def _params(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        out.setdefault(name, []).append(value)
    return out


class JSONLDResponse(JSONResponse):
    """JSON-LD, as the EPCIS REST bindings answer (and as the OpenAPI document says)."""

    media_type = MEDIA_TYPE


def _answer(request: Request, params: dict[str, list[str]]) -> JSONResponse:
    ledger: Ledger = request.app.state.ledger
    page = query_events(ledger, EventQuery.from_params(params))
    headers = dict(HEADERS)
    if page.next_page_token is not None:
        url = request.url.include_query_params(nextPageToken=page.next_page_token)
        headers["Link"] = f'<{url}>; rel="next"'
    content: dict[str, Any] = query_document(page)
    return JSONLDResponse(content, headers=headers)


@router.get(
    "/events",
    response_class=JSONLDResponse,
    responses=problems(400),
    summary="EPCIS events matching a SimpleEventQuery",
)
def events(request: Request) -> JSONResponse:
    """Every EPCIS event of the ledger that the query parameters select, one page at a time."""
    return _answer(request, _params(request))


@router.get(
    "/epcs/{epc:path}/events",
    response_class=JSONLDResponse,
    responses=problems(400, 404),
    summary="EPCIS events of one EPC",
)
def epc_events(epc: str, request: Request) -> JSONResponse:
    """The events naming ``epc`` anywhere (``MATCH_anyEPC``), with any further query parameters."""
    params = _params(request)
    if "MATCH_anyEPC" in params:
        raise QueryError("MATCH_anyEPC is the path's EPC here", field="MATCH_anyEPC")
    params["MATCH_anyEPC"] = [epc]
    return _answer(request, params)
