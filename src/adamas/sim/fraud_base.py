"""What every fraud scenario builds on: the market, honest trade, the truth being written, and helpers.

See :mod:`adamas.sim.fraud` for how scenarios run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from adamas.crypto import KeyPair
from adamas.sim.countries import AREAS, Mine, Producer, slug
from adamas.sim.flows import Market
from adamas.sim.participants import Member, register_authority, register_member, register_mine
from adamas.sim.trade import Trade
from adamas.sim.truth import Attempt, Case, Truth

__all__ = ["HUB_AE", "FraudBase"]

HUB_AE: Final = "dmcc-almas-trading"
NEW_MINE_CAPACITY: Final = 50_000  # carats a year: a small alluvial licence


@dataclass
class FraudBase:
    """What scenarios work with: the market, honest trade, the truth being written, the producers."""

    market: Market
    trade: Trade
    truth: Truth
    producers: dict[str, Producer]
    rng: random.Random

    # --- helpers ------------------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The world's time."""
        return self.market.scribe.now_ns

    def when(self, event: str) -> int:
        """The declared time of a recent event."""
        return self.market.scribe.time_of(event)

    def mine(self, *wanted: str, country: str | None = None) -> Mine | None:
        """The first mine of the world among ``wanted`` ids (or the largest in ``country``)."""
        mines = self.market.mines
        for mine_id in wanted:
            for mine in mines:
                if mine.id == mine_id:
                    return mine
        if country is not None:
            found = sorted((x for x in mines if x.country == country), key=lambda x: -x.carats)
            return found[0] if found else None
        return None

    def scaled(self, real_carats: float, floor: int) -> int:
        """``real_carats`` at the world's scale, in hundredths, at least ``floor``."""
        return max(int(real_carats * self.trade.scale * 100), floor)

    def produce(self, mine: Mine, carats: int, case: Case | None, usd_per_ct: float | None = None) -> str:
        """Register a parcel (reserved for the scenario) and record it in ``case``."""
        lot, event = self.market.register(mine, carats, usd_per_ct=usd_per_ct)
        self.market.reserved.add(lot)
        if case is not None:
            case.add(
                self.when,
                events=[event],
                lots=[lot],
                participants=[mine.operator],
                countries=[mine.country],
                sites=[mine.id],
            )
        return lot

    def ship(
        self,
        case: Case,
        sender: str,
        to: str,
        lots: list[str],
        *,
        value_factor: float = 1.0,
        skim: float = 0.0,
        keep: bool = False,
        key: KeyPair | None = None,
    ) -> None:
        """Send lots as part of ``case``."""
        m = self.market
        events = m.send(sender, to, lots, case=case, value_factor=value_factor, skim=skim, keep=keep, key=key)
        case.add(
            self.when,
            events=events,
            lots=lots,
            participants=[sender, to],
            countries=[m.country_of(sender), m.country_of(to)],
        )

    def held_rough(self, holder: str, n: int = 1) -> list[str]:
        """Up to ``n`` rough lots ``holder`` holds, reserved for the scenario."""
        lots = [p.id for p in self.market.holding(holder)][:n]
        self.market.reserved.update(lots)
        return lots

    def attempt(self, scenario: str, event: str, code: str, participants: list[str], lots: list[str]) -> None:
        """Record an envelope the ledger must refuse."""
        self.truth.attempts.append(Attempt(scenario, event, code, participants, lots, self.now))

    def release(self, lots: list[str]) -> None:
        """Hand lots back to honest trade."""
        for lot in lots:
            self.market.reserved.discard(lot)

    def new_mine(self, country: str) -> Mine | None:
        """Open a mine in one of ``country``'s real diamond areas (its authority and operator too, where the
        world has none), for a scenario that needs one where the year's figures list no production."""
        areas = AREAS.get(country)
        if not areas:
            return None
        name, zone, lat, lon = areas[0]
        m = self.market
        if country not in m.cast.authorities:
            register_authority(m.scribe, m.cast, country)
        operator = Member(
            f"{slug(name)}-mining-{country.lower()}",
            f"{name} Mining Company",
            country,
            ("mine_operator", "exporter"),
        )
        if operator.id not in m.members:
            register_member(m.scribe, m.cast, operator)
            m.cast.operators[operator.id] = operator
            m.members[operator.id] = operator
        mine = Mine(
            f"{slug(name)}-{country.lower()}",
            name,
            country,
            operator.id,
            operator.name,
            0.0,
            NEW_MINE_CAPACITY,
            lat,
            lon,
            zone,
        )
        register_mine(m.scribe, mine, self.trade.scale)
        m.mines.append(mine)
        m.site_country[mine.id] = country
        return mine
