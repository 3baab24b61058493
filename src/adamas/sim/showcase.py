"""The demo world (``adamas demo``) and the three lots it points a newcomer to.

The demo world is the simulation of :data:`DEMO` (2024, the year the G7 measures on Russian diamonds took
effect, with every fraud scenario). Its truth is deterministic, so a demo database built earlier is
explained again by generating the same world without writing it (:func:`replay_truth`).

The three lots: a clean stone (graded, sold in New York, no Russian content, no lot of a fraud case
anywhere in its lineage), a stone
cut from laundered rough (a descendant of the ``neighbour_laundering`` case), and a stone of the
``sanctioned_relabel`` case sold in New York.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sqlalchemy import select

from adamas.errors import NotFoundError
from adamas.ledger import Ledger
from adamas.ledger.views import LotView
from adamas.sim.fraud import SCENARIOS
from adamas.sim.scribe import Scribe
from adamas.sim.simulate import Options, World, generate
from adamas.sim.truth import Case, Truth
from adamas.store import schema

__all__ = ["DEMO", "Showcase", "replay_truth", "showcase"]

DEMO: Final = Options(year=2024, scale=7e-5, seed=2024, fraud=SCENARIOS)
CLEAN_SHOP: Final = "fifth-avenue-jewels"


@dataclass(frozen=True)
class Showcase:
    """A lot worth opening, with its story in a line."""

    title: str
    lot: str
    story: str


def replay_truth(options: Options) -> Truth:
    """The truth of the world of ``options``, generated again without writing anything."""
    truth = Truth(options.seed, options.year, options.scale, list(options.fraud))
    for _ in generate(World(options, truth, Scribe(options.seed))):
        pass
    return truth


def _case(truth: Truth, scenario: str) -> Case:
    for case in truth.cases:
        if case.scenario == scenario and case.events:
            return case
    raise NotFoundError(f"this world has no {scenario} case", code="demo.not_demo_world", field="db")


def _origin_text(view: LotView, ledger: Ledger) -> str:
    shares = ledger.trace(view.id).origin
    return ", ".join(f"{s.carats} ct from {s.site_name or s.site} ({s.country})" for s in shares)


def _countries(ledger: Ledger, lot_id: str) -> set[str]:
    return {s.country or "??" for s in ledger.trace(lot_id).origin}


def showcase(ledger: Ledger, truth: Truth) -> list[Showcase]:
    """A clean stone, a laundered one and a sanctioned one, from the demo world in ``ledger``."""
    case_lots = {lot for case in truth.cases for lot in case.lots}
    return [_clean(ledger, case_lots), _laundered(ledger, truth), _sanctioned(ledger, truth)]


def _clean(ledger: Ledger, case_lots: set[str]) -> Showcase:
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(schema.lots.c.id)
            .where(schema.lots.c.kind == "polished", schema.lots.c.state == "sold")
            .where(schema.lots.c.holder == CLEAN_SHOP)
            .order_by(schema.lots.c.carats.desc(), schema.lots.c.id)
            .limit(200)
        ).all()
    for (lot_id,) in rows:
        if lot_id in case_lots:
            continue
        view = ledger.lot(lot_id)
        grading = view.details.get("grading")
        if not grading or "RU" in _countries(ledger, lot_id):
            continue
        lineage = ledger.trace(lot_id).nodes
        if any(n.compromised or n.lot.id in case_lots for n in lineage):
            continue  # clean means no fraud anywhere upstream, not only in the stone itself
        return Showcase(
            "a clean stone",
            lot_id,
            f"{view.carats} ct, graded {grading.get('color', '?')} {grading.get('clarity', '?')} "
            f"(report {grading['number']}), sold in New York: {_origin_text(view, ledger)}.",
        )
    raise NotFoundError("no clean graded stone sold in New York", code="demo.not_demo_world", field="db")


def _laundered(ledger: Ledger, truth: Truth) -> Showcase:
    case = _case(truth, "neighbour_laundering")
    details = case.details
    registered = case.lots[0]
    best: LotView | None = None
    for node in ledger.trace(registered, direction="forward").nodes:
        if node.lot.kind in ("polished", "jewel") and (best is None or node.lot.carats > best.carats):
            best = node.lot
    view = best or ledger.lot(registered)
    share = sum((s.carats for s in ledger.trace(view.id).origin if s.site == details["via_mine"]), Decimal(0))
    return Showcase(
        "a laundered stone" if best else "a laundered parcel",
        view.id,
        f"{view.carats} ct {view.kind}, now {view.state} with {view.holder}: {share} ct of it traces to "
        f"rough registered at {details['via_mine_name']} ({details['via_country']}) but came from "
        f"{details['source_area']} ({details['source_country']}), outside the KP compliant zones.",
    )


def _sanctioned(ledger: Ledger, truth: Truth) -> Showcase:
    case = _case(truth, "sanctioned_relabel")
    stones = [ledger.lot(lot) for lot in case.lots if lot.startswith("PS-")]
    if not stones:
        raise NotFoundError("the sanctioned case cut no stones", code="demo.not_demo_world", field="db")
    view = max(stones, key=lambda v: (v.carats, v.id))
    russian = sum((s.carats for s in ledger.trace(view.id).origin if s.country == "RU"), Decimal(0))
    return Showcase(
        "a sanctioned stone",
        view.id,
        f"{view.carats} ct sold in New York: {russian} ct of it was mined in Russia, its rough mixed with "
        "Angolan rough in Dubai and re-exported as mixed origin, then cut in Surat under the G7's 0.5 ct "
        "threshold.",
    )
