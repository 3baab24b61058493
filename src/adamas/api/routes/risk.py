"""Risk over HTTP: the flags (same filters as ``adamas flags``, cursor paging) and a lot's risk.

Thin over ``adamas.risk``: errors are ``AdamasError`` subclasses that the app maps to problem+json
(``risk.bad_detector`` and ``risk.bad_limit`` are input errors, ``lot.not_found`` a not-found).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from adamas.api.routes._common import problems
from adamas.errors import InputError
from adamas.ledger import Ledger
from adamas.risk import flags, lot_risk

__all__ = ["router"]

router = APIRouter(tags=["risk"])
DEFAULT_LIMIT = 100


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


@router.get("/v1/flags", responses=problems(400), summary="Risk flags")
def get_flags(
    request: Request,
    *,
    open_: Annotated[bool, Query(alias="open", description="Only flags nobody reviewed.")] = False,
    detector: Annotated[str | None, Query(max_length=32)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    lot: Annotated[str | None, Query(max_length=128)] = None,
    cursor: Annotated[str | None, Query(max_length=128, description="`next` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The flag objects of issue 11 in id order, filtered; ``next`` continues after the last one."""
    if cursor is not None and not cursor:
        raise InputError("an empty cursor", code="risk.bad_cursor", field="cursor")
    page = flags(
        _ledger(request),
        open_only=open_,
        detector=detector,
        country=country,
        lot=lot,
        after=cursor,
        limit=limit,
    )
    return {"items": [f.to_json() for f in page], "next": page.next_cursor}


@router.get("/v1/lots/{lot_id}/risk", responses=problems(400, 404), summary="A lot's risk")
def get_lot_risk(request: Request, lot_id: Annotated[str, Path(max_length=128)]) -> dict[str, Any]:
    """Score (0-1), taint (share of carats from flagged lots, per flag) and the flags behind it."""
    return lot_risk(_ledger(request), lot_id)
