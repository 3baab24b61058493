"""``non_natural``: a lab finding that a stone is laboratory-grown or treated, anywhere in a lineage.

Either a grading report with ``natural: false`` or an ``attest`` with claim ``not_natural``. The flag names
the stone and every lot it was made from, and the participants who held them: the substitution happened
somewhere along that line, and taint carries the flag to every lot made from the stone.
"""

from __future__ import annotations

from collections.abc import Iterator

from adamas.risk.config import Thresholds
from adamas.risk.context import Context
from adamas.risk.facts import Facts
from adamas.risk.flags import RiskFlag
from adamas.risk.periods import period_of

__all__ = ["detect"]

CLAIMS = ("not_natural", "grade.not_natural")


def detect(facts: Facts, cfg: Thresholds, ctx: Context) -> Iterator[RiskFlag]:
    """Flags for every not-natural finding."""
    makers = {m.rough: m.actor for m in facts.manufactures}
    for a in facts.attests:
        if a.claim not in CLAIMS:
            continue
        lineage = facts.ancestors(a.subject_id) if a.subject_kind == "lot" else []
        participants = {a.actor, *(makers[lot] for lot in lineage if lot in makers)}
        subject_kind = a.subject_kind if a.subject_kind != "event" else "participant"
        subject_id = (
            a.subject_id if a.subject_kind != "event" else facts.event_actor.get(a.subject_id, a.actor)
        )
        info = facts.lots.get(a.subject_id) if a.subject_kind == "lot" else None
        countries = {c for c in (info.countries if info else {}) if c != "??"}
        holder = facts.country_of(a.actor)
        yield RiskFlag.make(
            "non_natural",
            "high",
            (subject_kind, subject_id),
            f"{a.actor} finds {a.subject_kind} {a.subject_id} not natural: {a.statement}",
            key=a.event,
            period=period_of(a.time_ns, "quarter"),
            lots=lineage,
            participants=participants,
            countries=[
                *countries,
                *([holder] if holder else []),
                *([a.subject_id] if a.subject_kind == "country" else []),
            ],
            events=[a.event],
            evidence={
                "figures": {"claim": a.claim, "statement": a.statement, "evidence": list(a.evidence)},
                "threshold": {"name": "any finding", "value": 1},
                "norm": {"expected": "every stone natural"},
            },
        )
