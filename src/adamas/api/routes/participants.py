"""Participants: the registration, and the events a participant signed (paged)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from adamas.api import links
from adamas.api.deps import LedgerDep
from adamas.api.models import EventPage, Participant
from adamas.api.routes._common import DEFAULT_LIMIT, Cursor, Limit, problems

router = APIRouter(prefix="/v1/participants", tags=["participants"])
ParticipantId = Path(max_length=256, description="The participant's id.")


@router.get(
    "/{participant_id}",
    response_model=Participant,
    responses={**problems(400, 404), **links.PARTICIPANT_STATE},
    summary="A participant",
)
def get_participant(ledger: LedgerDep, participant_id: str = ParticipantId) -> dict[str, Any]:
    """Name, country, roles, status and keys of a participant."""
    return ledger.participant(participant_id).to_json()


@router.get(
    "/{participant_id}/events",
    response_model=EventPage,
    responses={**problems(400, 404), **links.PARTICIPANT_PAGE},
    summary="Events a participant signed",
)
def get_participant_events(
    ledger: LedgerDep,
    participant_id: str = ParticipantId,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The events the participant signed, in log order, a page at a time."""
    page = ledger.participant_events(participant_id, cursor=cursor, limit=limit)
    return {"items": [e.to_json() for e in page.items], "next": page.next_cursor}
