"""Labelled fraud: each scenario is a small script over the market's custody steps, run at the stages of
the weeks it chooses, recording its case in the ground truth as it goes.

A scenario is a generator: it does the work of one stage, then yields the name of the next stage it waits
for (``"production"``, ``"export"``, ``"hubs"``, ``"makers"``, ``"labs"``, ``"shops"``). Scenarios run before
honest trade at each stage, and reserve the lots they need so that honest trade leaves them alone. The
last two, ``forged_certificate`` and ``reused_certificate``, are attempts the ledger must refuse: they are
counted as refusals and listed as ``attempts`` in the truth, never as cases.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from adamas.crypto import KeyPair
from adamas.sim.countries import NEIGHBOURS, Mine, Producer
from adamas.sim.flows import Market
from adamas.sim.participants import authority_id
from adamas.sim.trade import PARCEL_MIN, Trade
from adamas.sim.truth import Attempt, Case, Truth

__all__ = ["SCENARIOS", "Fraud", "Script"]

Script = Iterator[str]

SCENARIOS: Final = (
    "neighbour_laundering",
    "export_exceeds_supply",
    "undervaluation",
    "overvaluation",
    "round_trip",
    "lab_grown_substitution",
    "weight_skim",
    "sanctioned_relabel",
    "compromised_key",
    "production_spike",
    "forged_certificate",
    "reused_certificate",
)
ATTEMPTS: Final = frozenset({"forged_certificate", "reused_certificate"})
ACCOMPLICE: Final = ("shree-hari-gems", "Shree Hari Gems", "IN", "Surat")
_HUB_AE: Final = "dmcc-almas-trading"


@dataclass
class Fraud:
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

    # --- scenarios ----------------------------------------------------------------------------------------

    def neighbour_laundering(self) -> Script:
        """Rough from a suspended country's non-compliant area registered at a neighbour's mine."""
        source, mine = None, None
        for country in sorted(NEIGHBOURS):
            blocked = [
                x
                for x in self.market.mines
                if x.country == country and not self.trade.may_produce(x, self.now)
            ]
            if not blocked:
                continue
            for neighbour in NEIGHBOURS[country]:
                candidate = self.mine(country=neighbour)
                if candidate is not None and self.trade.may_produce(candidate, self.now):
                    source, mine = blocked[0], candidate
                    break
            if mine is not None:
                break
        if source is None or mine is None:
            return
        origin = self.producers[source.country]
        case = self.truth.new_case(
            "neighbour_laundering",
            f"Rough from {source.name} ({source.country}, outside the KP compliant zones) registered as "
            f"production of {mine.name} in {mine.country} and exported to Dubai.",
        )
        case.add(self.when, countries=[source.country], sites=[source.id])
        total = self.scaled(origin.carats * 0.5, 3000)
        case.details = {
            "source_country": source.country,
            "source_area": source.name,
            "via_mine": mine.id,
            "via_mine_name": mine.name,
            "via_country": mine.country,
            "carats": f"{total / 100:.2f}",
            "source_usd_per_ct": round(origin.usd_per_ct, 2),
        }
        for share in (total // 3, total // 3, total - 2 * (total // 3)):
            lot = self.produce(mine, share, case, usd_per_ct=origin.usd_per_ct)
            yield "export"
            self.ship(case, mine.operator, "jumeirah-diamonds-dmcc", [lot])
            yield "production"

    def export_exceeds_supply(self) -> Script:
        """A small producer exports several times what it mined (by the KP figures) and imported."""
        taken = {n for ns in NEIGHBOURS.values() for n in ns}
        country = next(
            (c for c in ("SL", "GN", "TZ", "LS", "GH") if c in self.producers and c not in taken), None
        )
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
            self.ship(case, mine.operator, "antwerp-rough-diamonds" if share % 2 else _HUB_AE, [lot])
            yield "production"

    def _valuation(self, scenario: str, factor: float) -> Script:
        m = self.market
        if scenario == "undervaluation":
            mine = self.mine("catoca-ao", country="NA") or self.mine(country="BW")
            if mine is None:
                return
            seller, buyer = mine.operator, _HUB_AE
            stage = "export"
        else:
            mine, seller, buyer, stage = None, _HUB_AE, "surat-diamond-works", "hubs"
        case = self.truth.new_case(scenario, "")
        norm = self.producers[mine.country].usd_per_ct if mine else None
        for _ in range(2):
            if mine is not None:
                self.produce(mine, self.scaled(mine.carats / 52, PARCEL_MIN), None)
            yield stage
            lots = self.held_rough(seller, 2)
            while not lots:
                yield stage
                lots = self.held_rough(seller, 2)
            worth = sum(m.lots[x].value for x in lots)
            carats = sum(m.lots[x].carats for x in lots)
            self.ship(case, seller, buyer, lots, value_factor=factor)
            case.details.setdefault("shipments", []).append(
                {
                    "carats": f"{carats / 100:.2f}",
                    "worth_usd": f"{worth / 100:.2f}",
                    "declared_factor": factor,
                }
            )
            yield "production"
        origin = f"{norm:.0f} $/ct" if norm else "the origins' prices"
        case.story = (
            f"{seller} declares its rough at {factor:g} times its worth ({origin}) when shipping it "
            f"to {buyer}."
        )

    def undervaluation(self) -> Script:
        """An exporter declares parcels at a fifth of the origin's $/ct."""
        return self._valuation("undervaluation", 0.2)

    def overvaluation(self) -> Script:
        """A hub re-exports parcels declared at five times their worth."""
        return self._valuation("overvaluation", 5.0)

    def round_trip(self) -> Script:
        """A parcel leaves Dubai for Mumbai and comes back, declared at a higher value each time."""
        there = "opera-house-rough"
        case = self.truth.new_case(
            "round_trip",
            f"A parcel goes from Dubai ({_HUB_AE}) to Mumbai ({there}) and back, its declared "
            "value inflated at each crossing.",
        )
        yield "hubs"
        lots = self.held_rough(_HUB_AE)
        while not lots:
            yield "hubs"
            lots = self.held_rough(_HUB_AE)
        self.ship(case, _HUB_AE, there, lots, keep=True)
        yield "hubs"
        self.ship(case, there, _HUB_AE, lots, value_factor=1.8, keep=True)
        yield "hubs"
        self.ship(case, _HUB_AE, there, lots, value_factor=2.9)
        case.details = {"declared_factors": [1.0, 1.8, 2.9]}

    def lab_grown_substitution(self) -> Script:
        """A cutter's output that its rough cannot explain; the lab finds one stone laboratory-grown."""
        maker, lab = "kiran-gems-surat", "igi-mumbai"
        case = self.truth.new_case(
            "lab_grown_substitution",
            f"{maker} declares a 62% polished yield, padding its output with "
            f"laboratory-grown stones; {lab} finds one of them not natural.",
        )
        yield "makers"
        lots = self.held_rough(maker)
        while not lots:
            yield "makers"
            lots = self.held_rough(maker)
        stones, event = self.market.manufacture(maker, lots[0], 0.62, median=0.35)
        case.add(self.when, events=[event], lots=[lots[0], *stones], participants=[maker], countries=["IN"])
        largest = max(stones, key=lambda s: self.market.lots[s].carats)
        self.market.reserved.add(largest)
        self.ship(case, maker, lab, [largest], keep=True)
        yield "labs"
        grade = self.market.grade(lab, largest, natural=False)
        attest = self.market.scribe.emit(
            lab,
            "attest",
            subject={"kind": "lot", "id": largest},
            claim="not_natural",
            statement=f"Lot {largest} is a laboratory-grown (CVD) diamond, not natural.",
            evidence=[{"sha256": _digest(f"lab-report:{largest}")}],
        )
        case.add(self.when, events=[grade, attest], lots=[largest], participants=[lab])
        self.market.take(largest)

    def weight_skim(self) -> Script:
        """Carats go missing between Antwerp and Surat, shipment after shipment."""
        sender, receiver = "antwerp-rough-diamonds", "surat-diamond-works"
        case = self.truth.new_case(
            "weight_skim", f"Shipments from {sender} to {receiver} arrive 2-3% light, three times running."
        )
        done = 0
        while done < 3:
            yield "hubs"
            lots = self.held_rough(sender)
            if lots:
                self.ship(case, sender, receiver, lots, skim=self.rng.uniform(0.02, 0.03))
                done += 1

    def sanctioned_relabel(self) -> Script:
        """Russian rough mixed in Dubai, re-exported as mixed origin, cut small in Surat, sold in New York."""
        ru, ao = self.mine("udachny", country="RU"), self.mine("catoca-ao", country="AO")
        if ru is None or ao is None:
            return
        maker, shop = "varachha-polishing", "fifth-avenue-jewels"
        case = self.truth.new_case(
            "sanctioned_relabel",
            f"Russian rough from {ru.name} mixed with Angolan rough in Dubai, re-exported "
            "as mixed origin to Surat, cut into stones under the G7 thresholds and sold in New York.",
        )
        yield "production"
        carats = self.scaled(ru.carats / 52, 2000)
        lots = [self.produce(ru, carats, case), self.produce(ao, carats // 2, case)]
        yield "export"
        self.ship(case, ru.operator, _HUB_AE, lots[:1], keep=True)
        self.ship(case, ao.operator, _HUB_AE, lots[1:], keep=True)
        yield "hubs"
        mixed, merge = self.market.merge(_HUB_AE, lots, f"MIX-AE-{self.market.year}-")
        half = self.market.lots[mixed].carats // 2
        parts, split = self.market.split(
            _HUB_AE, mixed, [half, self.market.lots[mixed].carats - half], f"ASR-AE-{self.market.year}-"
        )
        self.market.reserved.update(parts)
        case.add(
            self.when, events=[merge, split], lots=[mixed, *parts], participants=[_HUB_AE], countries=["AE"]
        )
        self.ship(case, _HUB_AE, maker, parts, keep=True)
        yield "makers"
        stones: list[str] = []
        for part in parts:
            out, event = self.market.manufacture(maker, part, 0.4, max_stone=45, median=0.12)
            stones += out
            case.add(self.when, events=[event], lots=[part, *out])
        self.market.reserved.update(stones)
        for i in range(0, len(stones), 200):
            self.ship(case, maker, shop, stones[i : i + 200], keep=True)
        yield "shops"
        for stone in stones:
            case.add(self.when, events=[self.market.sell(shop, stone)], lots=[stone])
        case.details = {"stones": len(stones), "largest_stone_carats": "0.45"}

    def compromised_key(self) -> Script:
        """A cutter's branch-office key is stolen; the thief ships its rough to an accomplice until the
        authority revokes the key as compromised from the day of the theft."""
        m = self.market
        victim, accomplice = "katargam-cutters", ACCOMPLICE[0]
        branch = m.scribe.key(victim, 1)
        m.scribe.emit(
            victim,
            "key.add",
            participant=victim,
            new_key={"id": branch.id, "public_key": branch.public_key_b64},
        )
        case = self.truth.new_case(
            "compromised_key",
            f"The branch-office key of {victim} is stolen; its rough is shipped with it to "
            f"{accomplice} until the Indian authority revokes the key from the day of the theft.",
        )
        compromised_at = None
        for _ in range(2):
            yield "makers"
            lots = self.held_rough(victim)
            while not lots:
                yield "makers"
                lots = self.held_rough(victim)
            compromised_at = compromised_at or self.now
            self.ship(case, victim, accomplice, lots, key=branch, keep=True)
        assert compromised_at is not None
        yield "makers"
        revoke = m.scribe.emit(
            authority_id("IN"),
            "key.revoke",
            participant=victim,
            key_id=branch.id,
            reason="branch-office key stolen; revoked from the time of the theft",
            effective=_format(compromised_at),
        )
        # The ledger flags the compromise on the revocation, naming each event signed since the theft.
        case.add(self.when, events=[revoke])
        case.details = {"key": branch.id, "compromised_at": _format(compromised_at), "revocation": revoke}
        yield "makers"
        spare = self.held_rough(victim)
        if spare:
            event = m.scribe.emit(
                victim,
                "lot.ship",
                key=branch,
                expect="envelope.key_revoked",
                shipment=m.scribe.new_id(f"shp-{m.year}-", 7),
                lots=spare,
                to=accomplice,
            )
            self.attempt("compromised_key", event, "envelope.key_revoked", [victim, accomplice], spare)
            self.release(spare)

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

    def forged_certificate(self) -> Script:
        """An exporter ships under a certificate number nobody issued, then tries to issue one itself."""
        m = self.market
        mine = self.mine("mbuji-mayi-cd", country="CD") or m.mines[0]
        yield "production"
        lot = self.produce(mine, PARCEL_MIN * 2, None)
        yield "export"
        fake = f"{mine.country}-{m.year}-F{self.rng.randrange(10**6):06d}"
        event = m.scribe.emit(
            mine.operator,
            "lot.ship",
            expect="certificate.required",
            shipment=m.scribe.new_id(f"shp-{m.year}-", 7),
            lots=[lot],
            to=_HUB_AE,
            certificate=fake,
        )
        self.attempt("forged_certificate", event, "certificate.required", [mine.operator, _HUB_AE], [lot])
        event = m.scribe.emit(
            mine.operator,
            "certificate.issue",
            expect="actor.not_authorized",
            certificate={
                "number": fake,
                "exporter": mine.operator,
                "importer": _HUB_AE,
                "exporting_country": mine.country,
                "importing_country": "AE",
                "origin": {mine.country: f"{m.lots[lot].carats / 100:.2f}"},
                "carats": f"{m.lots[lot].carats / 100:.2f}",
                "value": {"amount": "100.00", "currency": "USD"},
                "parcels": 1,
                "hs_code": "7102.10",
                "issued": m.scribe.time,
                "expires": _format(self.now + 30 * 86_400 * 10**9),
                "shipment": "shp-forged",
                "lots": [lot],
            },
        )
        self.attempt("forged_certificate", event, "actor.not_authorized", [mine.operator], [lot])
        self.release([lot])

    def reused_certificate(self) -> Script:
        """An exporter ships a second parcel under the certificate of its previous shipment."""
        m = self.market
        mine = self.mine("jwaneng", country="BW") or m.mines[0]
        yield "production"
        first, second = self.produce(mine, PARCEL_MIN, None), self.produce(mine, PARCEL_MIN, None)
        yield "export"
        m.send(mine.operator, "antwerp-rough-diamonds", [first])
        number = m.transit[-1].certificate
        event = m.scribe.emit(
            mine.operator,
            "lot.ship",
            expect="certificate.used",
            shipment=m.scribe.new_id(f"shp-{m.year}-", 7),
            lots=[second],
            to="antwerp-rough-diamonds",
            certificate=number,
        )
        self.attempt("reused_certificate", event, "certificate.used", [mine.operator], [second])
        self.release([second])

    def script(self, name: str) -> Script:
        """The script of scenario ``name``."""
        method: Callable[[], Script] = getattr(self, name)
        return method()


def _format(ns: int) -> str:
    from adamas.model.values import format_time_ns

    return format_time_ns(ns)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
