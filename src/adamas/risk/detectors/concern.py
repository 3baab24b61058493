"""``concern``: a monitor's, authority's or lab's attested concern about a lot, site, participant or country.

Review attestations (``adamas flags ack|dismiss``, which carry the evidence URI ``adamas:flag:<id>``) are
not concerns of their own and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.facts import Attest, Facts
from adamas.risk.flags import REVIEW_URI, RiskFlag
from adamas.risk.periods import period_of

__all__ = ["REVIEW_URI", "detect", "is_review"]


def is_review(a: Attest) -> bool:
    """True for an attestation that reviews a risk flag."""
    return any(str(e.get("uri", "")).startswith(REVIEW_URI) for e in a.evidence)


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """One flag per concern attested."""
    for a in facts.attests:
        if a.claim != "concern" or is_review(a):
            continue
        lots: list[str] = []
        participants = {a.actor}
        countries: set[str] = set()
        kind, subject_id = a.subject_kind, a.subject_id
        if kind == "lot":
            lots = facts.ancestors(subject_id)
        elif kind == "site":
            site = facts.sites.get(subject_id, {})
            participants.update(p for p in (site.get("operator"),) if p)
            countries.update(c for c in (site.get("country"),) if c)
        elif kind == "participant":
            participants.add(subject_id)
        elif kind == "country":
            countries.add(subject_id)
        else:  # an event: the concern is about its signer
            kind, subject_id = "participant", facts.event_actor.get(subject_id, a.actor)
            participants.add(subject_id)
        country = facts.country_of(subject_id) if kind == "participant" else None
        yield RiskFlag.make(
            "concern",
            "medium",
            (kind, subject_id),
            f"{a.actor} raises a concern about {a.subject_kind} {a.subject_id}: {a.statement}",
            key=a.event,
            period=period_of(a.time_ns, "quarter"),
            lots=lots,
            participants=participants,
            countries=countries | ({country} if country else set()),
            events=[a.event] + ([a.subject_id] if a.subject_kind == "event" else []),
            evidence={
                "figures": {"statement": a.statement, "evidence": list(a.evidence)},
                "threshold": {"name": "any concern attested", "value": 1},
                "norm": {"expected": "no concern"},
            },
        )
