"""Ground truth of a simulated world: every injected fraud case and every attempt the rules had to refuse.

The truth file (``adamas simulate --truth FILE``) is one JSON object::

    {"version": 1, "seed": 7, "year": 2023, "scale": 1e-05, "fraud": ["neighbour_laundering", ...],
     "log": {"size": 20811, "root": "<hex>"},
     "cases": [{"id": "case-001", "scenario": "undervaluation", "story": "...",
                "lots": [...], "events": [...], "participants": [...], "countries": [...], "sites": [...],
                "period": {"from": "2023-03-06T06:00:01Z", "until": "2023-03-08T06:00:09Z"},
                "details": {...}}],
     "attempts": [{"scenario": "reused_certificate", "event": "...", "code": "certificate.used",
                   "participants": [...], "lots": [...], "time": "..."}]}

``events`` are the accepted events that make up the case (each is in the log), ``lots`` the lots they
created or moved, ``period`` the declared times of its first and last event. Everything not named in a
case is honest trade. ``attempts`` were refused by the ledger and are not in the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adamas.model.values import format_time_ns

__all__ = ["Attempt", "Case", "Score", "Truth", "score"]


@dataclass
class Case:
    """One injected fraud case and the ledger objects that make it up."""

    id: str
    scenario: str
    story: str = ""
    lots: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    start_ns: int | None = None
    end_ns: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        time_of: Callable[[str], int],
        *,
        events: list[str] | tuple[str, ...] = (),
        lots: list[str] | tuple[str, ...] = (),
        participants: list[str] | tuple[str, ...] = (),
        countries: list[str] | tuple[str, ...] = (),
        sites: list[str] | tuple[str, ...] = (),
    ) -> None:
        """Record more of the case; ``time_of`` gives each event's declared time."""
        for target, items in (
            (self.events, events),
            (self.lots, lots),
            (self.participants, participants),
            (self.countries, countries),
            (self.sites, sites),
        ):
            for item in items:
                if item not in target:
                    target.append(item)
        for event in events:
            at = time_of(event)
            self.start_ns = at if self.start_ns is None else min(self.start_ns, at)
            self.end_ns = at if self.end_ns is None else max(self.end_ns, at)

    def to_json(self) -> dict[str, Any]:
        """The case as the truth file writes it."""
        return {
            "id": self.id,
            "scenario": self.scenario,
            "story": self.story,
            "lots": self.lots,
            "events": self.events,
            "participants": sorted(self.participants),
            "countries": sorted(self.countries),
            "sites": sorted(self.sites),
            "period": {
                "from": format_time_ns(self.start_ns or 0),
                "until": format_time_ns(self.end_ns or 0),
            },
            "details": self.details,
        }


@dataclass
class Attempt:
    """An envelope meant to be refused (a forged or reused certificate, a revoked key)."""

    scenario: str
    event: str
    code: str
    participants: list[str]
    lots: list[str]
    time_ns: int

    def to_json(self) -> dict[str, Any]:
        """The attempt as the truth file writes it."""
        return {
            "scenario": self.scenario,
            "event": self.event,
            "code": self.code,
            "participants": self.participants,
            "lots": self.lots,
            "time": format_time_ns(self.time_ns),
        }


@dataclass
class Truth:
    """All cases and attempts of one simulated world."""

    seed: int
    year: int
    scale: float
    fraud: list[str]
    cases: list[Case] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    log: dict[str, Any] = field(default_factory=dict)

    def new_case(self, scenario: str, story: str = "") -> Case:
        """Open a new case of ``scenario``."""
        case = Case(id=f"case-{len(self.cases) + 1:03d}", scenario=scenario, story=story)
        self.cases.append(case)
        return case

    def to_json(self) -> dict[str, Any]:
        """The whole truth file."""
        return {
            "version": 1,
            "seed": self.seed,
            "year": self.year,
            "scale": self.scale,
            "fraud": self.fraud,
            "log": self.log,
            "cases": [c.to_json() for c in self.cases if c.events],
            "attempts": [a.to_json() for a in self.attempts],
        }

    def write(self, path: Path) -> None:
        """Write the truth file (JSON, sorted keys, one trailing newline)."""
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")


#: The kinds of ledger object an alert may name to hit a case (countries are too coarse to count).
MATCHED_KINDS = {"lot": "lots", "event": "events", "participant": "participants", "site": "sites"}


@dataclass(frozen=True)
class Score:
    """How a detector's alerts compare with the truth, for one scenario (or all: ``scenario`` None)."""

    scenario: str | None
    cases: int
    detected: int
    alerts: int
    true_alerts: int

    @property
    def recall(self) -> float:
        """Share of the cases named by at least one alert."""
        return self.detected / self.cases if self.cases else 1.0

    @property
    def precision(self) -> float:
        """Share of the alerts that name something of a case."""
        return self.true_alerts / self.alerts if self.alerts else 1.0


def score(truth: dict[str, Any], alerts: list[dict[str, str]], scenario: str | None = None) -> Score:
    """Score ``alerts`` (each ``{"kind": lot|event|participant|site, "id": ..., "scenario"?: ...}``) against a
    truth file's JSON, for one ``scenario`` or for all.

    An alert hits a case when it names one of the case's objects of that kind and, if the alert names a
    scenario, it is the case's. A case is detected when some alert hits it.
    """
    cases = [c for c in truth["cases"] if scenario is None or c["scenario"] == scenario]
    chosen = [a for a in alerts if scenario is None or a.get("scenario") in (None, scenario)]
    detected: set[str] = set()
    hits = 0
    for alert in chosen:
        key = MATCHED_KINDS.get(alert["kind"])
        hit = False
        for case in cases:
            if key is None or alert["id"] not in case[key]:
                continue
            if alert.get("scenario") not in (None, case["scenario"]):
                continue
            detected.add(case["id"])
            hit = True
        hits += hit
    return Score(scenario, len(cases), len(detected), len(chosen), hits)
