"""Oversight: attestations by monitors, authorities and labs (EVENTS.md, "Oversight").

An attestation attaches evidence (hashes, optional URIs) to a subject and supports an evidence level:
self-declared < document-backed < lab-verified < independently audited. A ``concern`` or a ``not_natural``
finding supports no level; it opens a flag for people to review.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from adamas.model.checks import actor_of, flag, refuse
from adamas.model.events import Event
from adamas.model.records import Attestation, Participant
from adamas.model.state import State

__all__ = ["OVERSIGHT_HANDLERS", "evidence_level"]

ATTESTERS: Final = frozenset({"monitor", "authority", "grading_lab"})


# Claims that support no evidence level but open a flag: a monitor's concern, and a lab's finding that a
# stone is laboratory-grown or treated.
FLAGGING_CLAIMS: Final = frozenset({"concern", "not_natural"})


def evidence_level(claim: str, attester: Participant) -> int:
    """The evidence level (index into ``EVIDENCE_LEVELS``) a claim by ``attester`` supports."""
    if claim in FLAGGING_CLAIMS:
        return 0
    if claim == "lab_verified":
        return 2
    if claim in ("site_visited", "production_verified") and "monitor" in attester.roles:
        return 3  # an independent monitor saw it
    return 1


def _subject_exists(state: State, kind: str, subject_id: str) -> bool:
    if kind == "event":
        return state.event_logged(subject_id)
    if kind == "lot":
        return state.lot(subject_id) is not None
    if kind == "site":
        return state.site(subject_id) is not None
    if kind == "participant":
        return state.participant(subject_id) is not None
    return True  # a country code was checked by the schema


def _attest(event: Event, state: State) -> None:
    actor = actor_of(event, state)
    if not actor.roles & ATTESTERS:
        raise refuse("actor.not_authorized", "only monitors, authorities and grading labs attest", "actor")
    f = event.fields
    if not _subject_exists(state, f["subject_kind"], f["subject_id"]):
        raise refuse(
            "attest.unknown_subject", f"there is no {f['subject_kind']} {f['subject_id']}", "subject.id"
        )
    if f["claim"] == "lab_verified" and "grading_lab" not in actor.roles:
        raise refuse("actor.not_authorized", "only a grading lab attests lab_verified", "claim")
    state.put_attestation(
        Attestation(
            event=event.id,
            actor=actor.id,
            subject_kind=f["subject_kind"],
            subject_id=f["subject_id"],
            claim=f["claim"],
            statement=f["statement"],
            evidence=f["evidence"],
            time_ns=event.time_ns,
            level=evidence_level(f["claim"], actor),
        )
    )
    if f["claim"] in FLAGGING_CLAIMS:
        what = "raises a concern about" if f["claim"] == "concern" else "finds not natural"
        flag(
            state,
            event,
            f"attest.{f['claim']}",
            f"{actor.id} {what} {f['subject_kind']} {f['subject_id']}: {f['statement']}",
            lot=f["subject_id"] if f["subject_kind"] == "lot" else None,
            subject_kind=f["subject_kind"],
            subject_id=f["subject_id"],
        )


OVERSIGHT_HANDLERS: Final[dict[str, Callable[[Event, State], None]]] = {"attest": _attest}
