"""The market of a simulated world: lots, their holders, and the custody steps every flow is made of.

:class:`Market` keeps what the generator must know to sign valid events: each live lot's carats, value and
origin composition by mine (computed with the ledger's own :func:`adamas.model.origin.apportion` and
:func:`~adamas.model.origin.mix`, so certificates state exactly the origin the ledger derives), who holds
it, and the shipments in transit. Consumed and sold lots are forgotten, so memory stays bounded by the
goods in the pipeline, not by the length of the year.

Each step signs its events through the :class:`~adamas.sim.scribe.Scribe` and returns their ids, so fraud
scenarios (:mod:`adamas.sim.fraud`) build on the same steps as honest trade (:mod:`adamas.sim.trade`).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Final

from adamas.crypto import KeyPair
from adamas.model.kp import kp_participant
from adamas.model.origin import apportion, mix
from adamas.model.values import format_hundredths, format_time_ns
from adamas.sim.countries import Mine
from adamas.sim.participants import G7, Cast, Member, authority_id
from adamas.sim.scribe import Scribe
from adamas.sim.truth import Case

__all__ = ["Market", "Parcel", "Transit", "money"]

ROUGH: Final = ("rough_parcel", "rough_stone")
SANCTIONED_ORIGIN: Final = "RU"
_COLOURS: Final = ("D", "E", "F", "G", "H", "I", "J", "K")
_CLARITY: Final = ("IF", "VVS1", "VVS2", "VS1", "VS2", "SI1", "SI2", "I1")
_CUTS: Final = ("Excellent", "Very Good", "Good")


def money(cents: int) -> dict[str, str]:
    """A money value in USD."""
    return {"amount": format_hundredths(max(cents, 1)), "currency": "USD"}


@dataclass
class Parcel:
    """A live lot as the generator tracks it (carats and value in hundredths)."""

    id: str
    kind: str
    carats: int
    origin: dict[str, int]
    value: int
    holder: str
    stones: int | None = None
    graded: bool = False


@dataclass
class Transit:
    """A shipment on its way, received at the next delivery."""

    shipment: str
    sender: str
    to: str
    lots: list[str]
    certificate: str | None
    weighed: dict[str, int]
    case: Case | None = None
    keep: bool = False


@dataclass
class Market:
    """Lots, holders and shipments of the world, and the custody steps on them."""

    scribe: Scribe
    cast: Cast
    mines: list[Mine]
    rng: random.Random
    year: int
    usd_per_ct: dict[str, float]
    lots: dict[str, Parcel] = field(default_factory=dict)
    held: dict[str, dict[str, None]] = field(default_factory=dict)
    transit: list[Transit] = field(default_factory=list)
    reserved: set[str] = field(default_factory=set)
    paused: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.site_country = {m.id: m.country for m in self.mines}
        self.members: dict[str, Member] = {m.id: m for m in self.cast.members()}

    # --- bookkeeping --------------------------------------------------------------------------------------

    def count(self, what: str, n: int = 1) -> None:
        """Add to a summary counter."""
        self.counts[what] = self.counts.get(what, 0) + n

    def country_of(self, participant: str) -> str:
        """The country of a participant of the world."""
        return self.members[participant].country

    def holding(self, holder: str, *, kinds: tuple[str, ...] = ROUGH) -> list[Parcel]:
        """The lots ``holder`` holds of ``kinds`` that no scenario has reserved, oldest first."""
        out = []
        for lot_id in self.held.get(holder, {}):
            lot = self.lots[lot_id]
            if lot.kind in kinds and lot_id not in self.reserved:
                out.append(lot)
        return out

    def _put(self, lot: Parcel) -> None:
        self.lots[lot.id] = lot
        self.held.setdefault(lot.holder, {})[lot.id] = None

    def _drop(self, lot_id: str) -> Parcel:
        lot = self.lots.pop(lot_id)
        self.held.get(lot.holder, {}).pop(lot_id, None)
        self.reserved.discard(lot_id)
        return lot

    def _move(self, lot_id: str, to: str) -> None:
        lot = self.lots[lot_id]
        self.held.get(lot.holder, {}).pop(lot_id, None)
        lot.holder = to
        self.held.setdefault(to, {})[lot_id] = None

    def countries_of(self, lots: list[Parcel]) -> dict[str, int]:
        """Carats by country of origin over ``lots``, as the ledger computes it."""
        out: dict[str, int] = {}
        for lot in lots:
            for site, carats in lot.origin.items():
                country = self.site_country[site]
                out[country] = out.get(country, 0) + carats
        return dict(sorted(out.items()))

    def tainted(self, lot: Parcel) -> bool:
        """True when part of ``lot`` was mined in Russia (honest trade keeps it out of the G7)."""
        return any(self.site_country[site] == SANCTIONED_ORIGIN for site in lot.origin)

    @staticmethod
    def barred(member: Member) -> bool:
        """True for participants in countries of the G7 measures on Russian diamonds."""
        return member.country in G7

    def crosses(self, sender: str, to: str) -> bool:
        """True when goods from ``sender`` to ``to`` cross a KP border (EU members are one)."""
        return kp_participant(self.country_of(sender)) != kp_participant(self.country_of(to))

    # --- custody steps ------------------------------------------------------------------------------------

    def register(self, mine: Mine, carats: int, *, usd_per_ct: float | None = None) -> tuple[str, str]:
        """Production at the mine gate; returns the lot id and the event id."""
        per_ct = (usd_per_ct or self.usd_per_ct[mine.country]) * self.rng.lognormvariate(0, 0.2)
        lot_id = self.scribe.new_id(f"RGH-{mine.country}-{self.year}-")
        value = max(int(carats * per_ct), 1)
        stones = max(1, int(carats / 100 / self.rng.uniform(0.4, 1.6)))
        event = self.scribe.emit(
            mine.operator,
            "lot.register",
            lot={
                "id": lot_id,
                "kind": "rough_parcel",
                "carats": format_hundredths(carats),
                "stones": stones,
                "value": money(value),
                "site": mine.id,
            },
        )
        self._put(Parcel(lot_id, "rough_parcel", carats, {mine.id: carats}, value, mine.operator, stones))
        self.count("lots")
        return lot_id, event

    def split(self, holder: str, lot_id: str, parts: list[int], prefix: str) -> tuple[list[str], str]:
        """Split a rough lot into ``parts`` (hundredths summing to its carats)."""
        parent = self._drop(lot_id)
        assert sum(parts) == parent.carats and all(p > 0 for p in parts), (parts, parent.carats)
        ids = [self.scribe.new_id(prefix) for _ in parts]
        values = [parent.value * p // parent.carats for p in parts]
        event = self.scribe.emit(
            holder,
            "lot.split",
            lot=lot_id,
            into=[
                {"id": i, "carats": format_hundredths(c), "value": money(v)}
                for i, c, v in zip(ids, parts, values, strict=True)
            ],
        )
        for i, c, v, origin in zip(ids, parts, values, apportion(parent.origin, parts), strict=True):
            self._put(Parcel(i, "rough_parcel", c, origin, max(v, 1), holder))
        self.count("lots", len(ids))
        return ids, event

    def merge(self, holder: str, lot_ids: list[str], prefix: str) -> tuple[str, str]:
        """Merge lots of one kind class into a new lot."""
        inputs = [self._drop(i) for i in lot_ids]
        new_id = self.scribe.new_id(prefix)
        value = sum(lot.value for lot in inputs)
        kind = "rough_parcel" if inputs[0].kind in ROUGH else inputs[0].kind
        event = self.scribe.emit(
            holder, "lot.merge", lots=lot_ids, into={"id": new_id, "value": money(value)}
        )
        stones = sum(lot.stones or 0 for lot in inputs) if kind not in ROUGH else None
        self._put(
            Parcel(
                new_id,
                kind,
                sum(lot.carats for lot in inputs),
                mix(lot.origin for lot in inputs),
                value,
                holder,
                stones,
                graded=False,
            )
        )
        self.count("lots")
        return new_id, event

    def send(
        self,
        sender: str,
        to: str,
        lot_ids: list[str],
        *,
        value_factor: float = 1.0,
        skim: float = 0.0,
        case: Case | None = None,
        keep: bool = False,
        key: KeyPair | None = None,
    ) -> list[str]:
        """Ship lots; rough across a KP border goes under a certificate that the sender's authority issues.

        ``value_factor`` scales the declared value against the lots' worth; ``skim`` is the fraction of
        carats that will be missing on arrival. Returns the ids of the certificate and shipment events.
        """
        lots = [self.lots[i] for i in lot_ids]
        declared = int(sum(lot.value for lot in lots) * value_factor * self.rng.uniform(0.97, 1.06))
        shipment = self.scribe.new_id(f"shp-{self.year}-", 7)
        events: list[str] = []
        number = None
        origin_country = self.country_of(sender)
        if self.crosses(sender, to) and any(lot.kind in ROUGH for lot in lots):
            number = self.scribe.new_id(f"{origin_country}-{self.year}-")
            origin = self.countries_of(lots)
            carats = sum(lot.carats for lot in lots)
            issued = self.scribe.now_ns + 1_000_000_000
            events.append(
                self.scribe.emit(
                    authority_id(origin_country),
                    "certificate.issue",
                    certificate={
                        "number": number,
                        "exporter": sender,
                        "importer": to,
                        "exporting_country": origin_country,
                        "importing_country": self.country_of(to),
                        "origin": {c: format_hundredths(v) for c, v in origin.items()},
                        "carats": format_hundredths(carats),
                        "value": money(declared),
                        "parcels": len(lots),
                        "hs_code": "7102.21" if declared < carats * 20 else "7102.10",
                        "issued": _time(issued),
                        "expires": _time(issued + 60 * 86_400 * 1_000_000_000),
                        "shipment": shipment,
                        "lots": lot_ids,
                    },
                )
            )
            self.count("certificates")
        seal = hashlib.sha256(f"{self.scribe.seed}:{shipment}".encode()).hexdigest()[:12].upper()
        fields: dict[str, Any] = {"shipment": shipment, "lots": lot_ids, "to": to, "seal": f"SEAL-{seal}"}
        if number is not None:
            fields["certificate"] = number
        fields["value"] = money(declared)
        events.append(self.scribe.emit(sender, "lot.ship", key=key, **fields))
        weighed = {lot.id: lot.carats - int(lot.carats * skim) for lot in lots}
        self.transit.append(Transit(shipment, sender, to, lot_ids, number, weighed, case, keep))
        for lot_id in lot_ids:
            self.reserved.add(lot_id)
        self.count("shipments")
        return events

    def deliver(self) -> None:
        """Confirm (for certificates) and receive every shipment in transit."""
        transit, self.transit = self.transit, []
        for t in transit:
            events = []
            if t.certificate is not None:
                events.append(
                    self.scribe.emit(
                        authority_id(self.country_of(t.to)),
                        "certificate.confirm",
                        number=t.certificate,
                        received_carats=format_hundredths(sum(t.weighed.values())),
                        parcels=len(t.lots),
                        seal_intact=True,
                    )
                )
            events.append(
                self.scribe.emit(
                    t.to,
                    "lot.receive",
                    shipment=t.shipment,
                    lots=[{"id": i, "carats": format_hundredths(t.weighed[i])} for i in t.lots],
                    seal_intact=True,
                )
            )
            for lot_id in t.lots:
                self._move(lot_id, t.to)
                self.reserved.discard(lot_id)
            if t.case is not None:
                t.case.add(self.scribe.time_of, events=events, lots=t.lots, participants=[t.to])
            if t.keep:
                self.reserved.update(t.lots)

    def manufacture(
        self, maker: str, lot_id: str, yield_: float, *, max_stone: int = 300, median: float = 0.2
    ) -> tuple[list[str], str]:
        """Cut a rough lot into polished stones weighing ``yield_`` of it; returns their ids and the event."""
        rough = self._drop(lot_id)
        budget = int(rough.carats * yield_)
        sizes: list[int] = []
        while budget > 0 and len(sizes) < 400:
            size = min(max(int(self.rng.lognormvariate(0, 0.8) * median * 100), 1), max_stone, budget)
            if budget - size < 3:
                size = budget if budget <= max_stone else size
            sizes.append(size)
            budget -= size
        if not sizes:
            sizes = [1]
        ids = [self.scribe.new_id(f"PS-{self.year}-", 7) for _ in sizes]
        event = self.scribe.emit(
            maker,
            "lot.manufacture",
            lot=lot_id,
            into=[
                {"id": i, "kind": "polished", "carats": format_hundredths(c), "stones": 1}
                for i, c in zip(ids, sizes, strict=True)
            ],
        )
        loss = rough.carats - sum(sizes)
        origins = apportion(rough.origin, [*sizes, loss])[: len(sizes)]
        polished_value = rough.value * self.rng.uniform(1.5, 2.0)
        for i, c, origin in zip(ids, sizes, origins, strict=True):
            premium = 1.0 + c / 100
            self._put(
                Parcel(i, "polished", c, origin, int(polished_value * c / sum(sizes) * premium), maker, 1)
            )
        self.count("lots", len(ids))
        self.count("stones", len(ids))
        return ids, event

    def grade(self, lab: str, lot_id: str, *, natural: bool = True) -> str:
        """A grading report on a polished stone the lab holds."""
        lot = self.lots[lot_id]
        lot.graded = True
        report = {
            "number": self.scribe.new_id(f"{lab.split('-', maxsplit=1)[0].upper()}-{self.year % 100}", 8),
            "carats": format_hundredths(lot.carats),
            "color": self.rng.choice(_COLOURS),
            "clarity": self.rng.choice(_CLARITY),
            "cut": self.rng.choice(_CUTS),
            "natural": natural,
        }
        return self.scribe.emit(lab, "lot.grade", lot=lot_id, report=report)

    def assemble(self, shop: str, lot_ids: list[str], description: str) -> tuple[str, str]:
        """Set polished stones into a jewel."""
        inputs = [self._drop(i) for i in lot_ids]
        jewel = self.scribe.new_id(f"JWL-{self.year}-", 6)
        event = self.scribe.emit(
            shop,
            "lot.assemble",
            lots=lot_ids,
            into={"id": jewel, "kind": "jewel", "description": description},
        )
        self._put(
            Parcel(
                jewel,
                "jewel",
                sum(p.carats for p in inputs),
                mix(p.origin for p in inputs),
                int(sum(p.value for p in inputs) * 1.3),
                shop,
                sum(p.stones or 1 for p in inputs),
            )
        )
        self.count("lots")
        return jewel, event

    def sell(self, shop: str, lot_id: str) -> str:
        """A retail sale; the lot leaves the world."""
        lot = self._drop(lot_id)
        price = int(lot.value * self.rng.uniform(1.8, 2.6))
        buyer = hashlib.sha256(f"{self.scribe.seed}:buyer:{lot_id}".encode()).hexdigest()
        self.count("sales")
        return self.scribe.emit(shop, "lot.sell", lot=lot_id, price=money(price), buyer_ref=buyer)

    def take(self, lot_id: str) -> Parcel:
        """Remove a lot from the market's view for good (it stays where it is in the ledger)."""
        return self._drop(lot_id)


def _time(ns: int) -> str:
    return format_time_ns(ns)
