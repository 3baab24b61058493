"""OpenAPI links: where an answer leads (a receipt to its event, a lot to its history, a log head to its
proofs), so that clients and stateful testers (schemathesis) can follow one response into the next request.

The targets are FastAPI's generated operation ids; tests/api/test_api_schemathesis.py checks every link names
an operation of the document and follows them.
"""

from __future__ import annotations

from typing import Any, Final

EVENT: Final = "get_event_v1_events__event_id__get"
LOT: Final = "get_lot_v1_lots__lot_id__get"
HISTORY: Final = "get_history_v1_lots__lot_id__history_get"
TRACE: Final = "get_trace_v1_lots__lot_id__trace_get"
RISK: Final = "get_lot_risk_v1_lots__lot_id__risk_get"
PASSPORT: Final = "get_passport_v1_lots__lot_id__passport_get"
LOT_BUNDLE: Final = "get_lot_bundle_v1_lots__lot_id__verification_get"
PARTICIPANT: Final = "get_participant_v1_participants__participant_id__get"
PARTICIPANT_EVENTS: Final = "get_participant_events_v1_participants__participant_id__events_get"
EVIDENCE: Final = "get_evidence_v1_evidence__kind___subject_id__get"
CERTIFICATE: Final = "get_certificate_v1_certificates__number__get"
CERTIFICATE_VERDICT: Final = "get_verdict_v1_certificates__number__verify_get"
CERTIFICATE_BUNDLE: Final = "get_certificate_bundle_v1_certificates__number__verification_get"
INCLUSION: Final = "get_inclusion_v1_log_proof_inclusion_get"
CONSISTENCY: Final = "get_consistency_v1_log_proof_consistency_get"

Link = dict[str, Any]


def to(operation: str, **parameters: str) -> Link:
    """A link to ``operation``, its parameters taken from runtime expressions (or constants)."""
    return {"operationId": operation, "parameters": parameters}


def ok_links(**links: Link) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry adding ``links`` to the 200 answer (merged with its generated schema)."""
    return {200: {"links": links}}


def lot_links(lot: str) -> dict[str, Link]:
    """Everything a lot id leads to; ``lot`` is the runtime expression of the id."""
    return {
        "Lot": to(LOT, lot_id=lot),
        "History": to(HISTORY, lot_id=lot),
        "Trace": to(TRACE, lot_id=lot),
        "Risk": to(RISK, lot_id=lot),
        "Passport": to(PASSPORT, lot_id=lot),
        "Verification": to(LOT_BUNDLE, lot_id=lot),
        "Evidence": to(EVIDENCE, kind="lot", subject_id=lot),
    }


SUBMITTED: Final = ok_links(
    Event=to(EVENT, event_id="$response.body#/results/0/id"),
    InclusionProof=to(INCLUSION, index="$response.body#/results/0/index"),
)
STORED_EVENT: Final = ok_links(
    Actor=to(PARTICIPANT, participant_id="$response.body#/actor"),
    ActorEvents=to(PARTICIPANT_EVENTS, participant_id="$response.body#/actor"),
    InclusionProof=to(INCLUSION, index="$response.body#/index"),
    Evidence=to(EVIDENCE, kind="event", subject_id="$response.body#/id"),
    # Where the event's lots and certificate sit in its body, by type (an expression that does not resolve
    # for this event's type is simply not followed).
    RegisteredLot=to(LOT, lot_id="$response.body#/envelope/body/lot/id"),
    LotActedOn=to(LOT, lot_id="$response.body#/envelope/body/lot"),
    FirstLotMoved=to(LOT, lot_id="$response.body#/envelope/body/lots/0"),
    FirstLotMade=to(LOT, lot_id="$response.body#/envelope/body/into/0/id"),
    ShippedUnder=to(CERTIFICATE, number="$response.body#/envelope/body/certificate"),
    CertificateIssued=to(CERTIFICATE, number="$response.body#/envelope/body/certificate/number"),
)
CERTIFICATE_STATE: Final = ok_links(
    Verdict=to(CERTIFICATE_VERDICT, number="$response.body#/number"),
    Verification=to(CERTIFICATE_BUNDLE, number="$response.body#/number"),
)
LOT_STATE: Final = ok_links(
    **{k: v for k, v in lot_links("$response.body#/id").items() if k != "Lot"},
    MadeBy=to(EVENT, event_id="$response.body#/made_by/id"),
    Holder=to(PARTICIPANT, participant_id="$response.body#/holder"),
)
LOT_HISTORY: Final = ok_links(
    NextPage=to(HISTORY, lot_id="$request.path.lot_id", cursor="$response.body#/next"),
    FirstEvent=to(EVENT, event_id="$response.body#/items/0/id"),
)
LOT_TRACE: Final = ok_links(
    NextPage=to(
        TRACE,
        lot_id="$request.path.lot_id",
        direction="$request.query.direction",
        cursor="$response.body#/next",
    ),
    FirstNode=to(LOT, lot_id="$response.body#/nodes/0/id"),
)
PARTICIPANT_STATE: Final = ok_links(
    Events=to(PARTICIPANT_EVENTS, participant_id="$response.body#/id"),
    Evidence=to(EVIDENCE, kind="participant", subject_id="$response.body#/id"),
)
PARTICIPANT_PAGE: Final = ok_links(
    NextPage=to(
        PARTICIPANT_EVENTS, participant_id="$request.path.participant_id", cursor="$response.body#/next"
    ),
    FirstEvent=to(EVENT, event_id="$response.body#/items/0/id"),
)
LOG_HEAD: Final = ok_links(
    InclusionProof=to(INCLUSION, size="$response.body#/log/size"),
    ConsistencyProof=to(CONSISTENCY, new="$response.body#/log/size"),
)
