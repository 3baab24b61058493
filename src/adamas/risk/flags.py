"""The risk flag: what a detector found, about what, and the evidence to re-check it.

A flag's ``id`` is derived from what the flag is about, never from its figures: the detector, the subject,
the period and a detector-chosen ``key`` (usually the event that crossed the threshold). Recomputing the
flags from the same log therefore yields the same ids, and a flag found again is the same flag, not a new
one. ``status`` is not stored with the flag: it follows from the review attestations in the log
(``adamas.risk.review``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

__all__ = ["DETECTORS", "REVIEW_URI", "SEVERITIES", "STATUSES", "SUBJECT_KINDS", "RiskFlag", "flag_id"]

DETECTORS: Final = (
    "footprint",
    "value",
    "capacity",
    "spike",
    "weight",
    "yield",
    "non_natural",
    "round_trip",
    "velocity",
    "dilution",
    "key",
    "concern",
    "certificate_sequence",
)
SEVERITIES: Final = ("low", "medium", "high")
REVIEW_URI: Final = "adamas:flag:"
"""The evidence URI prefix of an attestation reviewing a flag (``REVIEW_URI + flag id``)."""
STATUSES: Final = ("open", "acknowledged", "dismissed")
SUBJECT_KINDS: Final = ("lot", "country", "participant", "site", "key", "certificate")

Severity = Literal["low", "medium", "high"]


def flag_id(detector: str, subject_kind: str, subject_id: str, period: str | None, key: str) -> str:
    """The deterministic id of a flag: its detector and 16 hex digits of SHA-256 of what it is about."""
    text = "\x1f".join((detector, subject_kind, subject_id, period or "", key))
    return f"{detector}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class RiskFlag:
    """A pattern that looks wrong, with the figures, thresholds and norms that make it so."""

    id: str
    detector: str
    severity: Severity
    subject_kind: str
    subject_id: str
    explanation: str
    period: str | None = None
    lots: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)
    status: str = "open"
    review: dict[str, Any] | None = None
    """The review attestation that set ``status`` (event, actor, reason), when there is one."""

    @classmethod
    def make(
        cls,
        detector: str,
        severity: Severity,
        subject: tuple[str, str],
        explanation: str,
        *,
        key: str = "",
        period: str | None = None,
        lots: Any = (),
        participants: Any = (),
        countries: Any = (),
        events: Any = (),
        evidence: dict[str, Any] | None = None,
    ) -> RiskFlag:
        """A new open flag, its id derived from ``detector``, ``subject``, ``period`` and ``key``."""
        kind, subject_id = subject
        return cls(
            id=flag_id(detector, kind, subject_id, period, key),
            detector=detector,
            severity=severity,
            subject_kind=kind,
            subject_id=subject_id,
            explanation=explanation,
            period=period,
            lots=tuple(sorted(set(lots))),
            participants=tuple(sorted(set(participants))),
            countries=tuple(sorted(set(countries))),
            events=tuple(dict.fromkeys(events)),
            evidence=evidence or {},
        )

    def with_status(self, status: str, review: dict[str, Any] | None) -> RiskFlag:
        """The same flag with the status its latest review gives it."""
        return replace(self, status=status, review=review)

    def to_json(self) -> dict[str, Any]:
        """The flag object of issue 11 (and of ``adamas flags --json``)."""
        out: dict[str, Any] = {
            "id": self.id,
            "detector": self.detector,
            "severity": self.severity,
            "status": self.status,
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
        }
        if self.period is not None:
            out["period"] = self.period
        out.update(
            lots=list(self.lots),
            participants=list(self.participants),
            countries=list(self.countries),
            events=list(self.events),
            evidence=self.evidence,
            explanation=self.explanation,
        )
        if self.review is not None:
            out["review"] = self.review
        return out

    def stored(self) -> str:
        """The stored body: the flag without its status (which the log's reviews decide)."""
        body = self.to_json()
        body.pop("status")
        body.pop("review", None)
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_stored(cls, text: str) -> RiskFlag:
        """A flag from its stored body (status ``open`` until its reviews are applied)."""
        body = json.loads(text)
        return cls(
            id=body["id"],
            detector=body["detector"],
            severity=body["severity"],
            subject_kind=body["subject"]["kind"],
            subject_id=body["subject"]["id"],
            explanation=body["explanation"],
            period=body.get("period"),
            lots=tuple(body["lots"]),
            participants=tuple(body["participants"]),
            countries=tuple(body["countries"]),
            events=tuple(body["events"]),
            evidence=body["evidence"],
        )
