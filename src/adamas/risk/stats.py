"""Kimberley Process statistics from the log, computed the way the KP's Annex III asks for them.

Per country and period (year, half or quarter, by the declared time of the event):

- production: rough registered at a mine gate (``lot.register``) in the country: carats, US$ value, $/ct;
- exports: rough shipped by a participant of the country to one of another country (``lot.ship``): carats
  as they left, value (the KP certificate's, else the shipment's declared value), $/ct, certificates
  counted once each, partner countries;
- imports: the same shipments counted where and when they arrived (``lot.receive``): carats as weighed.

$/ct is value over carats, rounded half-up to cents, over the shipments that declare a value. Amounts are
exact decimals (hundredths), never floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from adamas.errors import InputError
from adamas.ledger import Ledger
from adamas.model.values import format_hundredths
from adamas.risk.detectors._common import kind_class
from adamas.risk.facts import Facts
from adamas.risk.periods import period_of
from adamas.risk.scan import load_facts
from adamas.store import schema
from adamas.store.database import HEAD

__all__ = ["Flow", "Statistics", "StatsRow", "statistics"]


@dataclass
class Flow:
    """Carats and value of one flow (production, exports or imports)."""

    carats: int = 0
    value: int = 0
    valued_carats: int = 0
    certificates: set[str] = field(default_factory=set)
    partners: set[str] = field(default_factory=set)
    count: int = 0

    def add(
        self, carats: int, value: int | None, *, certificate: str | None = None, partner: str | None = None
    ) -> None:
        """Count one lot, shipment or arrival."""
        self.carats += carats
        self.count += 1
        if value is not None:
            self.value += value
            self.valued_carats += carats
        if certificate:
            self.certificates.add(certificate)
        if partner:
            self.partners.add(partner)

    @property
    def usd_per_carat(self) -> Decimal | None:
        """Value over the carats that carry a value, to the cent."""
        if not self.valued_carats:
            return None
        return (Decimal(self.value) / Decimal(self.valued_carats)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def to_json(self, *, trade: bool) -> dict[str, Any]:
        """JSON-ready form; ``trade`` adds certificate count and partners."""
        ppc = self.usd_per_carat
        out: dict[str, Any] = {
            "carats": format_hundredths(self.carats),
            "value_usd": format_hundredths(self.value),
            "usd_per_carat": None if ppc is None else f"{ppc:.2f}",
        }
        if trade:
            out["certificates"] = len(self.certificates)
            out["partners"] = sorted(self.partners)
        return out


@dataclass
class StatsRow:
    """One country in one period."""

    country: str
    period: str
    production: Flow = field(default_factory=Flow)
    exports: Flow = field(default_factory=Flow)
    imports: Flow = field(default_factory=Flow)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "country": self.country,
            "period": self.period,
            "production": self.production.to_json(trade=False),
            "exports": self.exports.to_json(trade=True),
            "imports": self.imports.to_json(trade=True),
        }


@dataclass
class Statistics:
    """The statistics of a year: rows per country and period, and world totals per period."""

    year: int
    granularity: str
    rows: list[StatsRow]
    world: list[StatsRow]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "year": self.year,
            "granularity": self.granularity,
            "countries": [r.to_json() for r in self.rows],
            "world": [r.to_json() for r in self.world],
        }

    def csv_rows(self) -> list[list[str]]:
        """A header and one line per country and period (then the world), flat, for spreadsheets."""
        head = ["country", "period"]
        for flow in ("production", "exports", "imports"):
            head += [f"{flow}_carats", f"{flow}_value_usd", f"{flow}_usd_per_carat"]
        head += ["export_certificates", "export_partners", "import_certificates", "import_partners"]
        lines = [head]
        for row in [*self.rows, *self.world]:
            line = [row.country, row.period]
            for part in (row.production, row.exports, row.imports):
                data = part.to_json(trade=False)
                line += [data["carats"], data["value_usd"], data["usd_per_carat"] or ""]
            line += [
                str(len(row.exports.certificates)),
                " ".join(sorted(row.exports.partners)),
                str(len(row.imports.certificates)),
                " ".join(sorted(row.imports.partners)),
            ]
            lines.append(line)
        return lines


def compute(facts: Facts, year: int, granularity: str, country: str | None = None) -> Statistics:
    """The statistics of ``year`` from ``facts``."""
    rows: dict[tuple[str, str], StatsRow] = {}

    def row(c: str, t: int) -> StatsRow | None:
        period = period_of(t, granularity)
        if not period.startswith(str(year)) or (country is not None and c != country):
            return None
        return rows.setdefault((c, period), StatsRow(c, period))

    for p in facts.productions:
        if (r := row(p.country, p.time_ns)) is not None:
            r.production.add(p.carats, p.value)
    for m in facts.movements:
        if not m.cross_border or kind_class(facts, m.lots) != "rough":
            continue
        if m.sender_country and (r := row(m.sender_country, m.time_ns)) is not None:
            r.exports.add(m.total, m.value, certificate=m.certificate, partner=m.to_country)
        if m.to_country and m.arrival is not None and (r := row(m.to_country, m.arrival.time_ns)) is not None:
            arrived = sum(m.arrival.carats.values())
            r.imports.add(arrived, m.value, certificate=m.certificate, partner=m.sender_country)
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k[1], k[0]))]
    world: dict[str, StatsRow] = {}
    for r in ordered:
        w = world.setdefault(r.period, StatsRow("WORLD", r.period))
        for mine, total in ((r.production, w.production), (r.exports, w.exports), (r.imports, w.imports)):
            total.carats += mine.carats
            total.value += mine.value
            total.valued_carats += mine.valued_carats
            total.count += mine.count
            total.certificates |= mine.certificates
            total.partners |= mine.partners
    return Statistics(year, granularity, ordered, [world[k] for k in sorted(world)])


def statistics(
    ledger: Ledger, year: int, *, granularity: str = "year", country: str | None = None
) -> Statistics:
    """The KP statistics of ``year`` per country and period (``granularity``: year, half or quarter)."""
    if granularity not in ("year", "half", "quarter"):
        raise InputError("granularity is year, half or quarter", code="stats.bad_period", field="granularity")
    if not 1970 <= year <= 2199:
        raise InputError(f"no statistics for the year {year}", code="stats.bad_year", field="year")
    with ledger.engine.connect() as conn:
        head = int(conn.execute(schema.meta.select().where(schema.meta.c.name == HEAD)).one().value)
        facts = load_facts(ledger, conn, head)
    return compute(facts, year, granularity, country)
