"""Supply-side fraud: goods that enter the ledger at a mine gate they never passed.

``neighbour_laundering`` registers a suspended country's rough at a neighbour's mine,
``export_exceeds_supply`` has a small producer export several times its KP production, and
``production_spike`` has a mine register three times its licensed capacity in a month.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

from adamas.sim.countries import AREAS, NEIGHBOURS, Mine
from adamas.sim.fraud_base import HUB_AE, FraudBase
from adamas.sim.trade import PARCEL_MIN

__all__ = ["SupplyScenarios"]

Script = Iterator[str]


class SupplyScenarios(FraudBase):
    """The supply-side scenarios."""

    def _suspended_source(self) -> tuple[str, str, str | None] | None:
        """A suspended country with a neighbour: (country, its non-compliant diamond area, that area's
        site id if the world has one)."""
        for country in sorted(NEIGHBOURS):
            standing = self.trade.standing(country, self.now)
            if standing is None or standing.status != "suspended":
                continue
            blocked = [
                x
                for x in self.market.mines
                if x.country == country and not self.trade.may_produce(x, self.now)
            ]
            if blocked:
                return country, blocked[0].name, blocked[0].id
            for name, zone, _, _ in AREAS.get(country, ()):
                if zone is None or zone not in standing.zones:
                    return country, name, None
        return None

    def _neighbour_mine(self, country: str) -> Mine | None:
        for neighbour in NEIGHBOURS[country]:
            candidate = self.mine(country=neighbour)
            if candidate is not None and self.trade.may_produce(candidate, self.now):
                return candidate
        for neighbour in NEIGHBOURS[country]:
            standing = self.trade.standing(neighbour, self.now)
            if standing is None or standing.status == "participant":
                return self.new_mine(neighbour)
        return None

    def neighbour_laundering(self) -> Script:
        """Rough from a suspended country's non-compliant area registered at a neighbour's mine."""
        found = self._suspended_source()
        while found is None:  # no country is suspended yet this year: wait for one
            yield "production"
            found = self._suspended_source()
        country, area, site = found
        mine = self._neighbour_mine(country)
        if mine is None:
            return
        origin = self.producers.get(country)
        usd_per_ct = (
            origin.usd_per_ct if origin else statistics.median(p.usd_per_ct for p in self.producers.values())
        )
        case = self.truth.new_case(
            "neighbour_laundering",
            f"Rough from {area} ({country}, outside the KP compliant zones) registered as "
            f"production of {mine.name} in {mine.country} and exported to Dubai.",
        )
        case.add(self.when, countries=[country], sites=[site] if site else [])
        total = self.scaled(origin.carats * 0.5 if origin else 0.0, 3000)
        case.details = {
            "source_country": country,
            "source_area": area,
            "via_mine": mine.id,
            "via_mine_name": mine.name,
            "via_country": mine.country,
            "carats": f"{total / 100:.2f}",
            "source_usd_per_ct": round(usd_per_ct, 2),
        }
        for share in (total // 3, total // 3, total - 2 * (total // 3)):
            lot = self.produce(mine, share, case, usd_per_ct=usd_per_ct)
            yield "export"
            self.ship(case, mine.operator, "jumeirah-diamonds-dmcc", [lot])
            yield "production"

    def export_exceeds_supply(self) -> Script:
        """A small producer exports several times what it mined (by the KP figures) and imported."""
        # A small producer, and not one that neighbour_laundering might pass goods through.
        small = sorted(
            (p for p in self.producers.values() if 100_000 <= p.carats <= 1_000_000),
            key=lambda p: (p.country in {n for ns in NEIGHBOURS.values() for n in ns}, -p.carats),
        )
        country = small[0].country if small else None
        mine = self.mine(country=country) if country else None
        if country is None or mine is None:
            return
        supply = self.scaled(self.producers[country].carats, 1)
        extra = max(3 * supply, 4000)
        case = self.truth.new_case(
            "export_exceeds_supply",
            f"{country} exports {extra / 100:.2f} ct beyond the {supply / 100:.2f} ct it produced by the KP "
            "figures, with no imports to explain it.",
        )
        case.details = {
            "country": country,
            "kp_production_carats": f"{supply / 100:.2f}",
            "excess_carats": f"{extra / 100:.2f}",
        }
        for share in (extra // 4, extra // 4, extra // 4, extra - 3 * (extra // 4)):
            lot = self.produce(mine, share, case)
            yield "export"
            self.ship(case, mine.operator, "antwerp-rough-diamonds" if share % 2 else HUB_AE, [lot])
            yield "production"

    def production_spike(self) -> Script:
        """A mine registers three times its licensed annual capacity in a month."""
        mine = self.mine("karowe", country="ZW") or self.mine(country="ZA")
        if mine is None:
            return
        capacity = self.scaled(mine.capacity, PARCEL_MIN)
        case = self.truth.new_case(
            "production_spike",
            f"{mine.name} ({mine.country}) registers three times its licensed annual "
            "capacity within four weeks.",
        )
        case.details = {
            "site": mine.id,
            "annual_capacity": f"{capacity / 100:.2f}",
            "registered_carats": f"{3 * capacity / 100:.2f}",
        }
        for _ in range(4):
            yield "production"
            lot = self.produce(mine, 3 * capacity // 4, case)
            self.release([lot])
