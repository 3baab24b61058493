"""Taint: the share of a lot's carats that came from flagged lots.

A lot named by a flag that is not dismissed is tainted in full; any other lot carries the carat-weighted
taint of the lots it was made from (a split child its parent's, a merge the weighted mean of its inputs, a
polished stone its rough's). Taint is computed per flag and in total (the share from any flagged lot, not the
sum), from the lineage tables and the stored flags; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, select

from adamas.risk.flags import RiskFlag
from adamas.store import schema
from adamas.store.rows import chunks

__all__ = ["SEVERITY_WEIGHT", "Taint", "lineage", "taint"]

SEVERITY_WEIGHT: Final = {"low": 0.3, "medium": 0.6, "high": 1.0}


@dataclass(frozen=True, slots=True)
class Taint:
    """A lot's taint: the total share of tainted carats and each flag's share."""

    lot: str
    share: float
    by_flag: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (shares rounded to 4 places)."""
        return {
            "lot": self.lot,
            "share": round(self.share, 4),
            "by_flag": {k: round(v, 4) for k, v in sorted(self.by_flag.items())},
        }


def lineage(conn: Connection, lot_ids: list[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Parents of every lot in the lineages of ``lot_ids``, and the carats of every lot seen (by id)."""
    edges = schema.lot_edges
    parents: dict[str, list[str]] = {}
    seen = set(lot_ids)
    frontier = list(lot_ids)
    while frontier:
        found: list[str] = []
        for batch in chunks(frontier):
            for row in conn.execute(select(edges.c.child, edges.c.parent).where(edges.c.child.in_(batch))):
                parents.setdefault(row.child, []).append(row.parent)
                if row.parent not in seen:
                    seen.add(row.parent)
                    found.append(row.parent)
        frontier = found
    carats: dict[str, int] = {}
    for batch in chunks(sorted(seen)):
        for row in conn.execute(
            select(schema.lots.c.id, schema.lots.c.carats).where(schema.lots.c.id.in_(batch))
        ):
            carats[row.id] = row.carats
    return parents, carats


def taint(conn: Connection, lot_ids: list[str], flags: dict[str, RiskFlag]) -> dict[str, Taint]:
    """The taint of each of ``lot_ids`` from ``flags`` (those in force: not dismissed)."""
    parents, carats = lineage(conn, lot_ids)
    direct: dict[str, set[str]] = {}
    for flag in flags.values():
        if flag.status == "dismissed":
            continue
        for lot in flag.lots:
            if lot in carats:
                direct.setdefault(lot, set()).add(flag.id)
    memo: dict[str, tuple[float, dict[str, float]]] = {}

    def of(lot: str) -> tuple[float, dict[str, float]]:
        if lot in memo:
            return memo[lot]
        memo[lot] = (0.0, {})  # a cycle cannot happen in a lineage; this guards against a corrupt one
        own = direct.get(lot, set())
        ups = [p for p in parents.get(lot, []) if carats.get(p)]
        weight = sum(carats[p] for p in ups)
        share = 1.0 if own else 0.0
        by_flag = dict.fromkeys(own, 1.0)
        if ups and weight:
            inherited = 0.0
            for parent in ups:
                p_share, p_flags = of(parent)
                part = carats[parent] / weight
                inherited += p_share * part
                for fid, value in p_flags.items():
                    if fid not in own:
                        by_flag[fid] = by_flag.get(fid, 0.0) + value * part
            share = max(share, inherited)
        memo[lot] = (share, by_flag)
        return memo[lot]

    return {lot: Taint(lot, *of(lot)) for lot in lot_ids if lot in carats}
