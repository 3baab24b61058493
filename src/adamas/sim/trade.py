"""Honest trade, week by week: production at the mine gate, sorting and export under KP certificates,
mixing and re-assortment in the hubs, manufacturing, grading and retail.

A week runs in fixed stages (:data:`STAGES`, each at its hour of the week); shipments sent in one stage
arrive at the next delivery stage, so every lot moves forward in time. Honest trade keeps goods with any
Russian-mined content out of the G7 markets (the US banned them in 2022, the G7 from 2024), so that every
such lot reaching a G7 buyer is a labelled ``sanctioned_relabel`` case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from adamas.sim.countries import Mine
from adamas.sim.flows import Market, Parcel
from adamas.sim.participants import Member, authority_id

__all__ = ["STAGES", "Standing", "Trade"]

HOUR: Final = 3_600_000_000_000
#: The stages of a week and their hour from the week's start.
STAGES: Final = (
    ("production", 6),
    ("export", 30),
    ("deliver", 54),
    ("hubs", 78),
    ("deliver", 102),
    ("makers", 108),
    ("deliver", 126),
    ("labs", 132),
    ("deliver", 150),
    ("shops", 156),
)
PARCEL_MIN: Final = 500  # 5 ct: a mine registers its run once it has this much
EXPORT_PARCEL: Final = 2500
MAX_LOTS: Final = 200  # lots per shipment, which keeps every envelope far below the 64 KiB leaf limit
GRADED_MIN: Final = 30  # stones of 0.30 ct and more go to a lab
PLAN_MAX: Final = 5000  # rough above 50 ct is split before cutting, so that yields stay in their band
PLAN_SIZE: Final = 3000
#: Where each producer's rough goes first (country, weight); the rest goes to the default.
EXPORTS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "BW": (("BE", 0.35), ("IN", 0.3), ("AE", 0.15), ("IL", 0.1), ("BW", 0.1)),
    "RU": (("AE", 0.35), ("IN", 0.45), ("CN", 0.1), ("HK", 0.1)),
    "CA": (("BE", 0.6), ("IN", 0.2), ("AE", 0.1), ("US", 0.1)),
    "AO": (("AE", 0.5), ("BE", 0.3), ("IN", 0.2)),
    "CD": (("AE", 0.6), ("BE", 0.2), ("IN", 0.2)),
    "ZA": (("BE", 0.4), ("AE", 0.2), ("IN", 0.3), ("IL", 0.1)),
    "ZW": (("AE", 0.7), ("IN", 0.3)),
    "NA": (("BE", 0.5), ("BW", 0.2), ("IN", 0.3)),
}
DEFAULT_EXPORTS: Final = (("AE", 0.5), ("BE", 0.4), ("IN", 0.1))


@dataclass(frozen=True)
class Standing:
    """A country's KP status from a time on, as the policy events record it."""

    effective_ns: int
    status: str
    zones: tuple[str, ...] = ()


@dataclass
class Trade:
    """The honest flows of one world."""

    market: Market
    scale: float
    standings: dict[str, list[Standing]]
    accrued: dict[str, float] = field(default_factory=dict)
    held_back: dict[str, float] = field(default_factory=dict)

    def standing(self, country: str, at_ns: int) -> Standing | None:
        """The KP status of ``country`` in force at ``at_ns`` (None: never recorded, a participant)."""
        current: Standing | None = None
        for entry in self.standings.get(country, []):
            if entry.effective_ns <= at_ns:
                current = entry
        return current

    def may_produce(self, mine: Mine, at_ns: int) -> bool:
        """True when the rules let ``mine`` register production at ``at_ns`` (see ``check_production``)."""
        current = self.standing(mine.country, at_ns)
        if current is None or current.status == "participant":
            return True
        return current.status == "suspended" and mine.zone is not None and mine.zone in current.zones

    # --- stages -------------------------------------------------------------------------------------------

    def production(self) -> None:
        """Each mine registers its run once a parcel's worth has accrued; suspended areas hold theirs back."""
        m = self.market
        for mine in m.mines:
            weekly = mine.carats * self.scale * 100 / 52 * m.rng.uniform(0.7, 1.3)
            if not self.may_produce(mine, m.scribe.now_ns):
                self.held_back[mine.country] = self.held_back.get(mine.country, 0.0) + weekly
                continue
            self.accrued[mine.id] = self.accrued.get(mine.id, 0.0) + weekly
            if self.accrued[mine.id] >= PARCEL_MIN:
                carats = int(self.accrued[mine.id])
                self.accrued[mine.id] -= carats
                m.register(mine, carats)

    def export(self) -> None:
        """Mine operators sort each run into parcels and export them (domestic buyers need no certificate)."""
        m = self.market
        for operator in sorted(m.cast.operators):
            if operator in m.paused:
                continue
            by_buyer: dict[str, list[str]] = {}
            for lot in m.holding(operator):
                n = max(1, min(4, round(lot.carats / EXPORT_PARCEL)))
                ids = [lot.id]
                if n > 1:
                    ids, _ = m.split(operator, lot.id, _parts(m, lot.carats, n), f"EXP-{m.year}-")
                for lot_id in ids:
                    buyer = self.buyer(operator, m.lots[lot_id], EXPORTS.get(m.country_of(operator)))
                    by_buyer.setdefault(buyer.id, []).append(lot_id)
            for buyer_id, ids in sorted(by_buyer.items()):
                for chunk in _chunks(ids, MAX_LOTS):
                    m.send(operator, buyer_id, chunk)

    def hubs(self) -> None:
        """Traders mix what they bought, re-assort it and sell the assortments on, mostly to cutters."""
        m = self.market
        for hub in m.cast.hubs:
            if hub.id in m.paused:
                continue
            for whole in _by_taint(m, m.holding(hub.id)):
                for group in [whole[i : i + 500] for i in range(0, len(whole), 500)]:
                    self._assort(hub, group)

    def _assort(self, hub: Member, group: list[Parcel]) -> None:
        """Mix ``group`` into one lot, split it into assortments and sell them on."""
        m = self.market
        lot = group[0]
        if len(group) > 1:
            mixed, _ = m.merge(hub.id, [p.id for p in group], f"MIX-{hub.country}-{m.year}-")
            lot = m.lots[mixed]
        size = m.rng.uniform(500, 2500)
        n = max(1, min(300, int(lot.carats / size)))
        ids = [lot.id]
        if n > 1:
            ids, _ = m.split(hub.id, lot.id, _parts(m, lot.carats, n), f"ASR-{hub.country}-{m.year}-")
        by_buyer: dict[str, list[str]] = {}
        for lot_id in ids:
            parcel = m.lots[lot_id]
            if m.rng.random() < 0.1:
                others = [h for h in m.cast.hubs if h.country != hub.country]
                buyer = self.pick(others, parcel)
            else:
                buyer = self.pick(m.cast.makers, parcel)
            by_buyer.setdefault(buyer.id, []).append(lot_id)
        for buyer_id, chosen in sorted(by_buyer.items()):
            for chunk in _chunks(chosen, MAX_LOTS):
                m.send(hub.id, buyer_id, chunk)

    def makers(self) -> None:
        """Cutters polish their rough (25-50% yield by weight), send the larger stones to a lab and make
        parcels of the small ones (melee) for jewellers."""
        m = self.market
        for maker in m.cast.makers:
            if maker.id in m.paused:
                continue
            for lot in m.holding(maker.id):
                ids = [lot.id]
                if lot.carats > PLAN_MAX:  # large parcels are planned into batches a cutter can work
                    n = min(300, -(-lot.carats // PLAN_SIZE))
                    ids, _ = m.split(maker.id, lot.id, _parts(m, lot.carats, n), f"PLN-{m.year}-")
                for lot_id in ids:
                    m.manufacture(maker.id, lot_id, m.rng.uniform(0.28, 0.48))
            stones = [p for p in m.holding(maker.id, kinds=("polished",)) if p.stones == 1 and not p.graded]
            large = [p for p in stones if p.carats >= GRADED_MIN]
            by_lab: dict[str, list[str]] = {}
            for stone in large:
                lab = self.lab_for(maker, stone)
                by_lab.setdefault(lab.id, []).append(stone.id)
            for lab_id, ids in sorted(by_lab.items()):
                for chunk in _chunks(ids, MAX_LOTS):
                    m.send(maker.id, lab_id, chunk)
            small = [p for p in stones if p.carats < GRADED_MIN]
            for group in _by_taint(m, small):
                for chunk in _chunks([p.id for p in group], 40):
                    if len(chunk) < 2:
                        continue
                    melee, _ = m.merge(maker.id, chunk, f"MEL-{m.year}-")
                    m.send(maker.id, self.pick(m.cast.shops, m.lots[melee]).id, [melee])

    def labs(self) -> None:
        """Labs grade what they received and send the stones on to retailers."""
        m = self.market
        for lab in m.cast.labs:
            if lab.id in m.paused:
                continue
            by_shop: dict[str, list[str]] = {}
            for stone in m.holding(lab.id, kinds=("polished",)):
                if not stone.graded:
                    m.grade(lab.id, stone.id)
                by_shop.setdefault(self.pick(m.cast.shops, stone).id, []).append(stone.id)
            for shop_id, ids in sorted(by_shop.items()):
                for chunk in _chunks(ids, MAX_LOTS):
                    m.send(lab.id, shop_id, chunk)

    def shops(self) -> None:
        """Retailers set stones into jewels and sell."""
        m = self.market
        for shop in m.cast.shops:
            if shop.id in m.paused:
                continue
            items = m.holding(shop.id, kinds=("polished", "jewel"))
            singles = [p for p in items if p.kind == "polished" and p.stones == 1]
            for melee in [p for p in items if p.kind == "polished" and (p.stones or 1) > 1]:
                if singles and m.rng.random() < 0.5:
                    m.assemble(shop.id, [singles.pop().id, melee.id], "ring: a graded centre stone and pavé")
                else:
                    m.assemble(shop.id, [melee.id], "pavé band")
            for item in m.holding(shop.id, kinds=("polished", "jewel")):
                if m.rng.random() < 0.6:
                    m.sell(shop.id, item.id)

    def oversight(self, week: int) -> None:
        """Monitors visit the six largest mines, and authorities verify production, four times a year."""
        m = self.market
        if week % 13 != 5:
            return
        mines = sorted(m.mines, key=lambda x: -x.carats)[:6]
        monitor = m.cast.monitors[(week // 13) % len(m.cast.monitors)]
        for mine in mines:
            m.scribe.emit(
                monitor.id,
                "attest",
                subject={"kind": "site", "id": mine.id},
                claim="site_visited",
                statement=f"Field visit to {mine.name} in week {week} of {m.year}.",
                evidence=[{"sha256": _digest(f"{monitor.id}:{mine.id}:{week}")}],
            )
            m.scribe.emit(
                authority_id(mine.country),
                "attest",
                subject={"kind": "site", "id": mine.id},
                claim="production_verified",
                statement=f"Production returns of {mine.name} checked against the mine's records.",
                evidence=[{"sha256": _digest(f"returns:{mine.id}:{week}")}],
            )

    # --- choices ------------------------------------------------------------------------------------------

    def allowed(self, members: Iterable[Member], lot: Parcel) -> list[Member]:
        """Who may receive ``lot`` in honest trade: no Russian content into the G7."""
        m = self.market
        tainted = m.tainted(lot)
        return [x for x in members if not (tainted and m.barred(x))]

    def pick(self, members: Iterable[Member], lot: Parcel) -> Member:
        """A buyer among ``members`` for ``lot``, by their weight."""
        options = self.allowed(members, lot)
        return self.market.rng.choices(options, weights=[x.weight for x in options])[0]

    def buyer(self, seller: str, lot: Parcel, table: tuple[tuple[str, float], ...] | None) -> Member:
        """A first buyer for a producer's parcel: a hub trader or a cutter in a partner country."""
        m = self.market
        rows = [(c, w) for c, w in (table or DEFAULT_EXPORTS) if not (m.tainted(lot) and c in _G7_TRADE)]
        country = m.rng.choices([c for c, _ in rows], weights=[w for _, w in rows])[0]
        candidates = [x for x in [*m.cast.hubs, *m.cast.makers] if x.country == country and x.id != seller]
        return self.pick(candidates, lot)

    def lab_for(self, maker: Member, stone: Parcel) -> Member:
        """The lab a cutter sends a stone to: one in its own country if there is one."""
        m = self.market
        labs = self.allowed(m.cast.labs, stone)
        local = [x for x in labs if x.country == maker.country]
        return m.rng.choice(local or labs)


_G7_TRADE: Final = frozenset({"BE", "US", "CA", "JP", "GB", "FR", "DE", "IT"})


def _parts(m: Market, total: int, n: int) -> list[int]:
    """``total`` hundredths in ``n`` random positive parts."""
    n = max(1, min(n, total))
    weights = [m.rng.uniform(0.5, 1.5) for _ in range(n)]
    scale = sum(weights)
    parts = [max(1, int(total * w / scale)) for w in weights[:-1]]
    while sum(parts) >= total:
        parts[parts.index(max(parts))] -= 1
    return [*parts, total - sum(parts)]


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _by_taint(m: Market, lots: list[Parcel]) -> list[list[Parcel]]:
    groups = [[p for p in lots if not m.tainted(p)], [p for p in lots if m.tainted(p)]]
    return [g for g in groups if g]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
