"""Lots: the current state, the history (paged), the lineage (paged forward)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query

from adamas.api import links
from adamas.api.deps import LedgerDep
from adamas.api.models import EventPage, Lot, TracePage
from adamas.api.routes._common import DEFAULT_LIMIT, Cursor, Limit, problems

router = APIRouter(prefix="/v1/lots", tags=["lots"])
LotId = Path(max_length=256, description="The lot's id.")


@router.get(
    "/{lot_id}",
    response_model=Lot,
    responses={**problems(400, 404), **links.LOT_STATE},
    summary="A lot",
)
def get_lot(ledger: LedgerDep, lot_id: str = LotId) -> dict[str, Any]:
    """Kind, carats, holder, state and origin composition of a lot."""
    return ledger.lot(lot_id).to_json()


@router.get(
    "/{lot_id}/history",
    response_model=EventPage,
    responses={**problems(400, 404), **links.LOT_HISTORY},
    summary="A lot's history",
)
def get_history(
    ledger: LedgerDep, lot_id: str = LotId, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Every event that touched the lot, in log order, a page at a time."""
    page = ledger.history_page(lot_id, cursor=cursor, limit=limit)
    return {"items": [e.to_json() for e in page.items], "next": page.next_cursor}


@router.get(
    "/{lot_id}/trace",
    response_model=TracePage,
    responses={**problems(400, 404), **links.LOT_TRACE},
    summary="A lot's lineage",
)
def get_trace(
    ledger: LedgerDep,
    lot_id: str = LotId,
    direction: Literal["backward", "forward"] = Query("backward"),
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Back to every mine the lot came from (by depth), or forward to every descendant (in log order)."""
    return ledger.trace_page(lot_id, direction=direction, cursor=cursor, limit=limit).to_json()
