"""What the pages read that the ``Ledger`` API does not answer yet: site coordinates, the log's activity over
time, and the lots and participants a search term may name.

Read-only SQLAlchemy Core selects on the ledger's read engine; each is small and would move into
``adamas.ledger.queries`` unchanged once another face needs it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from adamas.ledger import Ledger
from adamas.store import schema

__all__ = ["Site", "activity", "find", "first_and_last_year", "sites"]


@dataclass(frozen=True, slots=True)
class Site:
    """A registered site with its coordinates, when given."""

    id: str
    name: str
    kind: str
    country: str
    lat: float | None
    lon: float | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (coordinates as numbers of degrees, or null)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
        }


def _degrees(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def sites(ledger: Ledger, ids: Iterable[str] = (), *, country: str | None = None) -> list[Site]:
    """The sites named by ``ids``, or every site of ``country``."""
    table = schema.sites
    stmt = select(table).order_by(table.c.id)
    stmt = stmt.where(table.c.country == country) if country else stmt.where(table.c.id.in_(list(ids)))
    with ledger.read_engine.connect() as conn:
        return [
            Site(r.id, r.name, r.kind, r.country, _degrees(r.lat), _degrees(r.lon))
            for r in conn.execute(stmt)
        ]


def activity(ledger: Ledger) -> dict[str, Counter[str]]:
    """Events per day (``YYYY-MM-DD``) and type over the whole log."""
    table = schema.events
    out: dict[str, Counter[str]] = {}
    with ledger.read_engine.connect() as conn:
        rows = conn.execute(
            select(table.c.type, (table.c.time_ns // 1_000_000_000).label("s"), func.count()).group_by(
                table.c.type, "s"
            )
        )
        for kind, seconds, count in rows:
            month = datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d")
            out.setdefault(month, Counter())[kind] += int(count)
    return dict(sorted(out.items()))


def first_and_last_year(ledger: Ledger) -> tuple[int, int] | None:
    """The years of the first and the last event's time, or None for an empty log."""
    table = schema.events
    with ledger.read_engine.connect() as conn:
        low, high = conn.execute(select(func.min(table.c.time_ns), func.max(table.c.time_ns))).one()
    if low is None:
        return None
    return (
        datetime.fromtimestamp(int(low) // 1_000_000_000, UTC).year,
        datetime.fromtimestamp(int(high) // 1_000_000_000, UTC).year,
    )


def find(ledger: Ledger, term: str, *, limit: int = 20) -> dict[str, list[dict[str, str]]]:
    """Lots, certificates and participants whose id (or participant name) contains ``term``."""
    like = f"%{term.replace('%', '').replace('_', '')}%"
    lots, certs, parts = schema.lots, schema.certificates, schema.participants
    with ledger.read_engine.connect() as conn:
        found_lots = conn.execute(
            select(lots.c.id, lots.c.kind).where(lots.c.id.ilike(like)).order_by(lots.c.id).limit(limit)
        ).all()
        found_certs = conn.execute(
            select(certs.c.id).where(certs.c.id.ilike(like)).order_by(certs.c.id).limit(limit)
        ).all()
        found_parts = conn.execute(
            select(parts.c.id, parts.c.name)
            .where(parts.c.id.ilike(like) | parts.c.name.ilike(like))
            .order_by(parts.c.id)
            .limit(limit)
        ).all()
    return {
        "lots": [{"id": r.id, "kind": r.kind} for r in found_lots],
        "certificates": [{"number": r.id} for r in found_certs],
        "participants": [{"id": r.id, "name": r.name} for r in found_parts],
    }
