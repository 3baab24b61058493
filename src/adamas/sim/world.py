"""A scripted world: participants with deterministic keys, and builders for every event type.

Keys derive from a seed and the participant id, times advance by a fixed step and event ids count up, so the
same script always yields the same envelopes byte for byte: the demo, the test fixtures and the benchmarks
all build on this.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from adamas.crypto import KeyPair
from adamas.model.signing import sign_body
from adamas.model.values import format_time_ns, parse_time

__all__ = ["Actor", "World", "demo_world"]

Envelope = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """A participant of the world and its signing key."""

    id: str
    key: KeyPair
    country: str | None = None

    def key_spec(self) -> dict[str, str]:
        """The key as a registration lists it."""
        return {"id": self.key.id, "public_key": self.key.public_key_b64}


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


class World:
    """Builds signed envelopes for a scripted world; ``events`` collects them in order."""

    def __init__(
        self,
        *,
        seed: str = "adamas-demo",
        start: str = "2026-03-01T08:00:00Z",
        step_seconds: int = 60,
        admin_id: str = "admin",
        id_prefix: str = "evt",
    ) -> None:
        self.seed = seed
        self.now_ns = parse_time(start, "start")
        self.step_ns = step_seconds * 1_000_000_000
        self.id_prefix = id_prefix
        self.counter = 0
        self.actors: dict[str, Actor] = {}
        self.admin = self.actor(admin_id)
        self.events: list[Envelope] = []

    # --- plumbing -----------------------------------------------------------------------------------------

    def key_for(self, participant_id: str, generation: int = 0) -> KeyPair:
        """The deterministic key of a participant (a later ``generation`` for rotations)."""
        seed = hashlib.sha256(f"{self.seed}:{participant_id}:{generation}".encode()).digest()
        return KeyPair.from_seed(seed)

    def actor(self, participant_id: str, country: str | None = None) -> Actor:
        """The actor with this id, created on first use."""
        if participant_id not in self.actors:
            self.actors[participant_id] = Actor(participant_id, self.key_for(participant_id), country)
        return self.actors[participant_id]

    def clock(self) -> int:
        """The world's time now, as a ledger clock: a ledger opened with ``clock=world.clock`` logs each
        event as the world signs it (the time of the last signed event)."""
        return self.now_ns

    @property
    def time(self) -> str:
        """The current time of the world."""
        return format_time_ns(self.now_ns)

    def sign(
        self,
        actor: Actor | str,
        type_: str,
        *,
        key: KeyPair | None = None,
        record: bool = True,
        **fields: Any,
    ) -> Envelope:
        """A signed envelope of ``type_`` by ``actor``; the clock advances one step."""
        who = self.actor(actor) if isinstance(actor, str) else actor
        self.counter += 1
        self.now_ns += self.step_ns
        body = {
            "v": 1,
            "type": type_,
            "id": f"{self.id_prefix}-{self.counter:07d}",
            "actor": who.id,
            "time": self.time,
            **fields,
        }
        envelope = sign_body(body, key or who.key)
        if record:
            self.events.append(envelope)
        return envelope

    def genesis(self) -> Envelope:
        """The genesis event naming this world's administrator."""
        return self.sign(
            self.admin,
            "genesis",
            administrator={
                "id": self.admin.id,
                "name": "Scheme administrator",
                "keys": [self.admin.key_spec()],
            },
        )

    # --- participants and sites -----------------------------------------------------------------------------

    def register(
        self,
        registrar: Actor | str,
        participant_id: str,
        country: str,
        roles: list[str],
        name: str | None = None,
    ) -> Actor:
        """Register a participant (signed by ``registrar``) and return it."""
        new = self.actor(participant_id, country)
        self.sign(
            registrar,
            "participant.register",
            participant={
                "id": participant_id,
                "name": name or participant_id,
                "country": country,
                "roles": roles,
                "keys": [new.key_spec()],
            },
        )
        return new

    def authority(self, country: str, participant_id: str | None = None) -> Actor:
        """Register the KP authority of ``country`` (by the administrator)."""
        return self.register(
            self.admin,
            participant_id or f"{country.lower()}-authority",
            country,
            ["authority"],
            name=f"KP authority of {country}",
        )

    def site(
        self, authority: Actor | str, site_id: str, kind: str, country: str, operator: str, **extra: Any
    ) -> str:
        """Register a site and return its id."""
        self.sign(
            authority,
            "site.register",
            site={
                "id": site_id,
                "name": extra.pop("name", site_id),
                "kind": kind,
                "country": country,
                "operator": operator,
                **extra,
            },
        )
        return site_id

    # --- custody ------------------------------------------------------------------------------------------

    def produce(
        self,
        operator: Actor | str,
        lot_id: str,
        site: str,
        carats: str,
        *,
        stones: int = 100,
        value: str = "10000.00",
        kind: str = "rough_parcel",
    ) -> str:
        """Register production at the mine gate."""
        self.sign(
            operator,
            "lot.register",
            lot={
                "id": lot_id,
                "kind": kind,
                "carats": carats,
                "stones": stones,
                "value": _money(value),
                "site": site,
            },
        )
        return lot_id

    def split(
        self,
        holder: Actor | str,
        lot_id: str,
        parts: dict[str, str],
        loss: str | None = None,
        *,
        stones: dict[str, int] | None = None,
    ) -> list[str]:
        """Split a lot into parts ``{id: carats}`` (with stone counts ``{id: n}`` where known)."""
        counts = stones or {}
        fields: dict[str, Any] = {
            "lot": lot_id,
            "into": [
                {"id": i, "carats": c, **({"stones": counts[i]} if i in counts else {})}
                for i, c in parts.items()
            ],
        }
        if loss is not None:
            fields["loss"] = loss
        self.sign(holder, "lot.split", **fields)
        return list(parts)

    def merge(self, holder: Actor | str, lots: list[str], into: str) -> str:
        """Merge lots into one."""
        self.sign(holder, "lot.merge", lots=lots, into={"id": into})
        return into

    def ship(self, sender: Actor | str, shipment: str, lots: list[str], to: str, **extra: Any) -> str:
        """Ship lots to another participant."""
        self.sign(sender, "lot.ship", shipment=shipment, lots=lots, to=to, **extra)
        return shipment

    def receive(
        self, receiver: Actor | str, shipment: str, weighed: dict[str, str], *, seal_intact: bool = True
    ) -> None:
        """Receive a shipment, with the carats weighed on arrival."""
        self.sign(
            receiver,
            "lot.receive",
            shipment=shipment,
            lots=[{"id": i, "carats": c} for i, c in weighed.items()],
            seal_intact=seal_intact,
        )

    def manufacture(
        self,
        maker: Actor | str,
        rough: str,
        polished: dict[str, str],
        remainder: dict[str, str] | None = None,
    ) -> list[str]:
        """Cut and polish a rough lot into stones ``{id: carats}``."""
        fields: dict[str, Any] = {
            "lot": rough,
            "into": [{"id": i, "kind": "polished", "carats": c, "stones": 1} for i, c in polished.items()],
        }
        if remainder:
            fields["remainder"] = [
                {"id": i, "kind": "rough_parcel", "carats": c} for i, c in remainder.items()
            ]
        self.sign(maker, "lot.manufacture", **fields)
        return list(polished)

    def grade(
        self, lab: Actor | str, lot_id: str, number: str, carats: str, *, natural: bool = True, **extra: Any
    ) -> None:
        """Attach a grading report."""
        self.sign(
            lab,
            "lot.grade",
            lot=lot_id,
            report={"number": number, "carats": carats, "natural": natural, **extra},
        )

    def assemble(self, maker: Actor | str, lots: list[str], into: str, description: str) -> str:
        """Set stones into a jewel."""
        self.sign(
            maker, "lot.assemble", lots=lots, into={"id": into, "kind": "jewel", "description": description}
        )
        return into

    def sell(self, retailer: Actor | str, lot_id: str, price: str | None = None) -> None:
        """Sell to a consumer."""
        fields: dict[str, Any] = {"lot": lot_id}
        if price is not None:
            fields["price"] = _money(price)
        self.sign(retailer, "lot.sell", **fields)

    def attest(
        self,
        attester: Actor | str,
        kind: str,
        subject: str,
        claim: str,
        *,
        statement: str,
        evidence: str | None = None,
    ) -> None:
        """A signed attestation; ``evidence`` is any text whose SHA-256 is attached."""
        items = [{"sha256": hashlib.sha256(evidence.encode()).hexdigest()}] if evidence else []
        self.sign(
            attester,
            "attest",
            subject={"kind": kind, "id": subject},
            claim=claim,
            statement=statement,
            evidence=items,
        )

    def correct(self, actor: Actor | str, original: dict[str, Any], reason: str, **changes: Any) -> None:
        """Correct an earlier event: its body with ``changes`` becomes the replacement (none: withdrawn)."""
        fields: dict[str, Any] = {"event": original["id"], "reason": reason}
        if changes:
            fields["replacement"] = {**original, **changes}
        self.sign(actor, "correct", **fields)

    # --- Kimberley Process ----------------------------------------------------------------------------------

    def country_status(
        self, country: str, status: str, effective: str, reason: str, compliant_zones: list[str] | None = None
    ) -> None:
        """Record a country's KP standing (signed by the administrator)."""
        fields: dict[str, Any] = {
            "country": country,
            "status": status,
            "effective": effective,
            "reason": reason,
        }
        if compliant_zones:
            fields["compliant_zones"] = compliant_zones
        self.sign(self.admin, "country.status", **fields)

    def sanction(
        self,
        sanction_id: str,
        origins: list[str],
        importers: list[str],
        effective: str,
        reason: str,
        *,
        min_stone_carats: str | None = None,
        single_origin_required: bool = False,
    ) -> None:
        """Set a sanction (signed by the administrator)."""
        spec: dict[str, Any] = {
            "id": sanction_id,
            "origin_countries": origins,
            "importing_countries": importers,
            "effective": effective,
            "reason": reason,
        }
        if min_stone_carats is not None:
            spec["min_stone_carats"] = min_stone_carats
        if single_origin_required:
            spec["single_origin_required"] = True
        self.sign(self.admin, "sanction.set", sanction=spec)

    def issue_certificate(
        self,
        authority: Actor | str,
        number: str,
        *,
        exporter: str,
        importer: str,
        exporting: str,
        importing: str,
        lots: list[str],
        carats: str,
        origin: dict[str, str],
        value: str,
        shipment: str,
        valid_days: int = 90,
        hs_code: str = "7102.10",
    ) -> str:
        """Issue a KP certificate for lots about to be exported."""
        self.sign(
            authority,
            "certificate.issue",
            certificate={
                "number": number,
                "exporter": exporter,
                "importer": importer,
                "exporting_country": exporting,
                "importing_country": importing,
                "origin": origin,
                "carats": carats,
                "value": _money(value),
                "parcels": len(lots),
                "hs_code": hs_code,
                "issued": self.time,
                "expires": format_time_ns(self.now_ns + valid_days * 86_400 * 1_000_000_000),
                "shipment": shipment,
                "lots": lots,
            },
        )
        return number

    def confirm_certificate(
        self, authority: Actor | str, number: str, carats: str, parcels: int, *, seal_intact: bool = True
    ) -> None:
        """The importing authority's confirmation of a certificate's shipment."""
        self.sign(
            authority,
            "certificate.confirm",
            number=number,
            received_carats=carats,
            parcels=parcels,
            seal_intact=seal_intact,
        )


def demo_world() -> tuple[World, str]:
    """A small world from two Botswana mines to a jewel sold in New York; returns it and its star stone.

    Rough from Jwaneng and Orapa is sorted and mixed in Gaborone, cut there, graded, shipped as polished to
    Antwerp and New York (polished needs no KP certificate) and sold; the rest of the rough is exported to
    Antwerp under a KP certificate that Belgium's authority confirms. The administrator has recorded the
    Central African Republic's 2013 suspension and the G7 measures on Russian diamonds.
    """
    w = World()
    w.genesis()
    bw = w.authority("BW")
    be = w.authority("BE")
    us = w.authority("US")
    debswana = w.register(
        bw, "debswana", "BW", ["mine_operator", "exporter"], name="Debswana Diamond Company"
    )
    sorter = w.register(
        bw,
        "dtc-botswana",
        "BW",
        ["trader", "exporter", "importer"],
        name="De Beers Global Sightholder Sales, Gaborone",
    )
    cutter = w.register(
        bw, "gaborone-cutting", "BW", ["manufacturer", "exporter"], name="Gaborone Cutting Works"
    )
    lab = w.register(be, "hrd-antwerp", "BE", ["grading_lab", "importer", "exporter"], name="HRD Antwerp")
    retailer = w.register(
        us, "fifth-avenue-jewels", "US", ["retailer", "importer"], name="Fifth Avenue Jewels"
    )
    w.country_status(
        "CF", "suspended", "2013-05-23T00:00:00Z", "KP administrative decision after the Seleka coup"
    )
    w.sanction(
        "g7-russia-2024",
        ["RU"],
        ["US", "GB", "CA", "JP", "EU"],
        "2024-01-01T00:00:00Z",
        "G7 import restrictions on Russian diamonds",
    )
    w.site(bw, "jwaneng", "mine", "BW", debswana.id, name="Jwaneng", lat="-24.52", lon="24.70")
    w.site(bw, "orapa", "mine", "BW", debswana.id, name="Orapa", lat="-21.30", lon="25.37")
    w.produce(debswana, "JW-2026-0001", "jwaneng", "1200.00", stones=410, value="186000.00")
    w.produce(debswana, "OR-2026-0001", "orapa", "800.00", stones=390, value="72000.00")
    w.ship(debswana, "shp-bw-0001", ["JW-2026-0001", "OR-2026-0001"], sorter.id, seal="BW-SEAL-77120")
    w.receive(sorter, "shp-bw-0001", {"JW-2026-0001": "1200.00", "OR-2026-0001": "800.00"})
    # Stone counts are conserved: the parts of a split share the parent's stones exactly.
    w.split(
        sorter,
        "JW-2026-0001",
        {"JW-2026-0001-A": "300.00", "JW-2026-0001-B": "898.80"},
        loss="1.20",
        stones={"JW-2026-0001-A": 100, "JW-2026-0001-B": 310},
    )
    w.split(
        sorter,
        "OR-2026-0001",
        {"OR-2026-0001-A": "200.00", "OR-2026-0001-B": "600.00"},
        stones={"OR-2026-0001-A": 100, "OR-2026-0001-B": 290},
    )
    w.merge(sorter, ["JW-2026-0001-A", "OR-2026-0001-A"], "DTC-ASSORT-0042")
    w.ship(sorter, "shp-bw-0002", ["DTC-ASSORT-0042"], cutter.id)
    w.receive(cutter, "shp-bw-0002", {"DTC-ASSORT-0042": "500.00"})
    w.split(
        cutter,
        "DTC-ASSORT-0042",
        {"RS-0042-001": "3.10", "DTC-ASSORT-0042-R": "496.90"},
        stones={"RS-0042-001": 1, "DTC-ASSORT-0042-R": 199},
    )
    w.manufacture(cutter, "RS-0042-001", {"PS-0042-001": "1.52"}, remainder={"RS-0042-001-R": "0.40"})
    w.ship(cutter, "shp-bw-be-0001", ["PS-0042-001"], lab.id)
    w.receive(lab, "shp-bw-be-0001", {"PS-0042-001": "1.52"})
    w.grade(lab, "PS-0042-001", "HRD-260301-7781", "1.52", color="F", clarity="VS1", cut="Excellent")
    grading = w.events[-1]["body"]
    w.ship(lab, "shp-be-us-0001", ["PS-0042-001"], retailer.id)
    w.receive(retailer, "shp-be-us-0001", {"PS-0042-001": "1.52"})
    w.sell(retailer, "PS-0042-001", price="14800.00")
    # The rest of the Jwaneng parcel leaves Botswana for Antwerp under a Kimberley Process certificate.
    antwerp = w.register(be, "antwerp-rough", "BE", ["importer", "trader"], name="Antwerp Rough Trading")
    w.issue_certificate(
        bw,
        "BW-2026-000042",
        exporter=sorter.id,
        importer=antwerp.id,
        exporting="BW",
        importing="BE",
        lots=["JW-2026-0001-B"],
        carats="898.80",
        origin={"BW": "898.80"},
        value="139000.00",
        shipment="shp-bw-be-0002",
    )
    w.ship(
        sorter,
        "shp-bw-be-0002",
        ["JW-2026-0001-B"],
        antwerp.id,
        certificate="BW-2026-000042",
        seal="BW-SEAL-77188",
    )
    w.confirm_certificate(be, "BW-2026-000042", "898.80", 1)
    w.receive(antwerp, "shp-bw-be-0002", {"JW-2026-0001-B": "898.80"})
    # An independent monitor has been to the mine; the lab vouches for the stone.
    monitor = w.register(w.admin, "kp-civil-society", "ZA", ["monitor"], name="KP Civil Society Coalition")
    w.attest(
        monitor,
        "site",
        "jwaneng",
        "site_visited",
        statement="Visited the Jwaneng pit and sorting house.",
        evidence="mission report 2026-02",
    )
    w.attest(
        lab,
        "lot",
        "PS-0042-001",
        "lab_verified",
        statement="Natural diamond, 1.52 ct, report HRD-260301-7781.",
        evidence="HRD-260301-7781.pdf",
    )
    # The lab finds a typo in its report: the grading stays in the log, corrected.
    report = {**grading["report"], "clarity": "VVS2"}
    w.correct(lab, grading, "clarity misprinted on report HRD-260301-7781", report=report)
    return w, "PS-0042-001"
