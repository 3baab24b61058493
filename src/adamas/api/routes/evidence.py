"""Evidence: what monitors, authorities and labs attested about a subject."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path

from adamas.api.deps import LedgerDep
from adamas.api.models import Evidence
from adamas.api.routes._common import problems

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])


@router.get(
    "/{kind}/{subject_id}",
    response_model=Evidence,
    responses=problems(400, 404),
    summary="Evidence about a subject",
)
def get_evidence(
    ledger: LedgerDep,
    kind: Literal["event", "lot", "site", "participant", "country"],
    subject_id: str = Path(max_length=256),
) -> dict[str, Any]:
    """Every attestation about the subject, oldest first, and the evidence level they reach."""
    return ledger.evidence(kind, subject_id).to_json()
