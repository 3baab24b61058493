"""Reviews of flags, and freezing a tainted lineage: signed events built here, submitted by the ledger.

A review is an ``attest`` (EVENTS.md "Oversight") by a monitor or an authority, so the review itself is on
the log and anyone can see who acknowledged or dismissed what, and why:

- acknowledge: claim ``concern`` (the reviewer shares the concern), dismiss: claim ``documents_verified``
  (the reviewer checked the records and finds them in order);
- subject: the flag's own subject where ``attest`` can name it (lot, site, participant, country), else the
  first event the flag names (a key's or a certificate's flag);
- statement: ``flag <id> acknowledged: <reason>`` or ``flag <id> dismissed: <reason>``;
- evidence: ``{"sha256": SHA-256 of the flag's canonical JSON as reviewed, "uri": "adamas:flag:<id>"}``.

A flag's status follows from the latest such attestation in log order by an actor holding the ``monitor``
or ``authority`` role; others' are ignored. ``freeze`` signs one ``lot.freeze`` per live tainted lot that
the actor may freeze, with the flag named in the reason.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Final, Literal

from sqlalchemy import Connection, select

from adamas.crypto.canonical import canonicalize
from adamas.errors import InputError
from adamas.model.values import format_time_ns
from adamas.risk.flags import REVIEW_URI, RiskFlag
from adamas.store import schema

if TYPE_CHECKING:
    from adamas.crypto import KeyPair

__all__ = ["ATTEST_SUBJECTS", "freeze_bodies", "review_body", "review_statuses", "sign"]

ATTEST_SUBJECTS: Final = frozenset({"lot", "site", "participant", "country"})
REVIEWERS: Final = frozenset({"monitor", "authority"})
CLAIMS: Final = {"acknowledged": "concern", "dismissed": "documents_verified"}


def review_body(flag: RiskFlag, verdict: Literal["acknowledged", "dismissed"], reason: str) -> dict[str, Any]:
    """The unsigned ``attest`` body that acknowledges or dismisses ``flag``."""
    if not reason.strip():
        raise InputError("a review needs a reason", code="risk.review_reason", field="reason")
    if verdict not in CLAIMS:
        raise InputError("a review acknowledges or dismisses", code="risk.bad_verdict", field="verdict")
    if flag.subject_kind in ATTEST_SUBJECTS:
        subject = {"kind": flag.subject_kind, "id": flag.subject_id}
    elif flag.events:
        subject = {"kind": "event", "id": flag.events[0]}
    else:
        raise InputError(
            f"flag {flag.id} names nothing an attestation can be about", code="risk.unreviewable"
        )
    flag_json = flag.to_json()
    flag_json.pop("status")
    flag_json.pop("review", None)
    return {
        "type": "attest",
        "subject": subject,
        "claim": CLAIMS[verdict],
        "statement": f"flag {flag.id} {verdict}: {reason.strip()}",
        "evidence": [
            {"sha256": hashlib.sha256(canonicalize(flag_json)).hexdigest(), "uri": REVIEW_URI + flag.id}
        ],
    }


def sign(body: dict[str, Any], key: KeyPair, actor: str, *, now_ns: int) -> dict[str, Any]:
    """An envelope of ``body`` by ``actor`` at the second of ``now_ns`` (``v``, ``id``, ``key`` filled in)."""
    from adamas.model.signing import sign_body  # here: reading a lot's risk signs nothing (CLI start-up)

    return sign_body(body, key, actor=actor, time_ns=now_ns)


def freeze_bodies(flag: RiskFlag, lots: list[str]) -> list[dict[str, Any]]:
    """Unsigned ``lot.freeze`` bodies for ``lots``, each naming the flag in its reason."""
    reason = f"risk flag {flag.id} ({flag.detector}): {flag.explanation}"[:1000]
    return [{"type": "lot.freeze", "lot": lot, "reason": reason} for lot in lots]


def review_statuses(conn: Connection) -> dict[str, tuple[str, dict[str, Any]]]:
    """flag id -> (status, review) from the review attestations in the log, the latest in log order."""
    at, ev, parts = schema.attestations, schema.events, schema.participants
    stmt = (
        select(
            at.c.id,
            at.c.actor,
            at.c.claim,
            at.c.statement,
            at.c.evidence,
            at.c.time_ns,
            ev.c.seq,
            parts.c.roles,
        )
        .join(ev, ev.c.event_id == at.c.id)
        .join(parts, parts.c.id == at.c.actor)
        .where(at.c.evidence.like(f"%{REVIEW_URI}%"))
        .order_by(ev.c.seq)
    )
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for row in conn.execute(stmt):
        if not set(row.roles.split(",")) & REVIEWERS:
            continue
        verdict = next((v for v, claim in CLAIMS.items() if claim == row.claim), None)
        if verdict is None:
            continue
        for item in json.loads(row.evidence):
            uri = str(item.get("uri", ""))
            if uri.startswith(REVIEW_URI):
                reason = row.statement.split(": ", 1)[1] if ": " in row.statement else row.statement
                out[uri[len(REVIEW_URI) :]] = (
                    verdict,
                    {
                        "event": row.id,
                        "actor": row.actor,
                        "time": format_time_ns(row.time_ns),
                        "reason": reason,
                    },
                )
    return out
