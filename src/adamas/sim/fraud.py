"""Labelled fraud: each scenario is a small script over the market's custody steps, run at the stages of
the weeks it chooses, recording its case in the ground truth as it goes.

A scenario is a generator: it does the work of one stage, then yields the name of the next stage it waits
for (``"production"``, ``"export"``, ``"hubs"``, ``"makers"``, ``"labs"``, ``"shops"``). Scenarios run before
honest trade at each stage, and reserve the lots they need so that honest trade leaves them alone. The
last two, ``forged_certificate`` and ``reused_certificate``, are attempts the ledger must refuse: they are
counted as refusals and listed as ``attempts`` in the truth, never as cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from adamas.model.values import format_time_ns
from adamas.sim.fraud_base import HUB_AE
from adamas.sim.fraud_supply import SupplyScenarios
from adamas.sim.participants import authority_id
from adamas.sim.trade import PARCEL_MIN

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
_HUB_AE: Final = HUB_AE


@dataclass
class Fraud(SupplyScenarios):
    """Every scenario, by name (:meth:`script`)."""

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
    return format_time_ns(ns)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
