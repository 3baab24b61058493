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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adamas.model.values import format_time_ns

__all__ = ["Attempt", "Case", "Truth"]


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
        now_ns: int,
        *,
        events: list[str] | tuple[str, ...] = (),
        lots: list[str] | tuple[str, ...] = (),
        participants: list[str] | tuple[str, ...] = (),
        countries: list[str] | tuple[str, ...] = (),
        sites: list[str] | tuple[str, ...] = (),
    ) -> None:
        """Record more of the case, as of the world's time ``now_ns``."""
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
        if events:
            self.start_ns = now_ns if self.start_ns is None else min(self.start_ns, now_ns)
            self.end_ns = now_ns if self.end_ns is None else max(self.end_ns, now_ns)

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
