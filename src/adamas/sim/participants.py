"""The cast of a simulated world: authorities, mine operators, traders in the real hubs, manufacturers,
grading labs, retailers and civil-society monitors, and the events that register them and their sites.

The administrator registers each country's KP authority and the monitors; each authority registers the
participants and sites of its own country (EVENTS.md). Hubs follow the real trade: Antwerp (BE), Dubai (AE),
Mumbai and Surat (IN), Ramat Gan (IL), Hong Kong (HK), Shanghai (CN) and New York (US); manufacturers are
mostly in India; retailers in the US, the EU, China, Japan and India.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from adamas.sim.countries import Mine
from adamas.sim.scribe import Scribe

__all__ = [
    "G7",
    "Cast",
    "Member",
    "authority_id",
    "build_cast",
    "register_authority",
    "register_cast",
    "register_member",
    "register_mine",
]

#: Importing countries of the G7 measures on Russian diamonds (EU members count through the EU).
G7: Final = frozenset({"US", "GB", "CA", "JP", "EU", "BE", "FR", "DE", "IT"})

TRADE: Final = ("trader", "importer", "exporter")
MAKER: Final = ("manufacturer", "importer", "exporter")
LAB: Final = ("grading_lab", "importer", "exporter")
SHOP: Final = ("retailer", "importer")

_HUBS: Final = (
    ("antwerp-rough-diamonds", "Antwerp Rough Diamonds", "BE", "Antwerp"),
    ("diamant-handel-antwerpen", "Diamant Handel Antwerpen", "BE", "Antwerp"),
    ("kempen-rough-trading", "Kempen Rough Trading", "BE", "Antwerp"),
    ("dmcc-almas-trading", "Almas Rough Trading DMCC", "AE", "Dubai"),
    ("gulf-rough-fze", "Gulf Rough FZE", "AE", "Dubai"),
    ("jumeirah-diamonds-dmcc", "Jumeirah Diamonds DMCC", "AE", "Dubai"),
    ("bharat-diamond-bourse-traders", "Bharat Bourse Rough Traders", "IN", "Mumbai"),
    ("opera-house-rough", "Opera House Rough", "IN", "Mumbai"),
    ("ramat-gan-rough", "Ramat Gan Rough Exchange", "IL", "Ramat Gan"),
    ("hatton-rough-trading", "Hatton Rough Trading", "IL", "Ramat Gan"),
    ("kowloon-rough-trading", "Kowloon Rough Trading", "HK", "Hong Kong"),
    ("shanghai-diamond-exchange-traders", "Shanghai Diamond Exchange Traders", "CN", "Shanghai"),
    ("47th-street-rough", "47th Street Rough", "US", "New York"),
)
_MAKERS: Final = (
    ("surat-diamond-works", "Surat Diamond Works", "IN", "Surat", 5),
    ("varachha-polishing", "Varachha Polishing", "IN", "Surat", 5),
    ("katargam-cutters", "Katargam Cutters", "IN", "Surat", 4),
    ("kiran-gems-surat", "Kiran Gems Surat", "IN", "Surat", 4),
    ("mumbai-polished", "Mumbai Polished", "IN", "Mumbai", 3),
    ("gaborone-cutting-works", "Gaborone Cutting Works", "BW", "Gaborone", 1),
    ("antwerp-cutting-house", "Antwerp Cutting House", "BE", "Antwerp", 1),
    ("ramat-gan-polishers", "Ramat Gan Polishers", "IL", "Ramat Gan", 1),
    ("shenzhen-diamond-factory", "Shenzhen Diamond Factory", "CN", "Shenzhen", 1),
    ("new-york-cutting", "New York Cutting", "US", "New York", 1),
)
_LABS: Final = (
    ("gia-mumbai", "GIA India, Mumbai", "IN", "Mumbai"),
    ("igi-mumbai", "IGI Mumbai", "IN", "Mumbai"),
    ("hrd-antwerp", "HRD Antwerp", "BE", "Antwerp"),
    ("gia-new-york", "GIA New York", "US", "New York"),
)
_SHOPS: Final = (
    ("fifth-avenue-jewels", "Fifth Avenue Jewels", "US", "New York", 5),
    ("rodeo-drive-diamonds", "Rodeo Drive Diamonds", "US", "Los Angeles", 4),
    ("chicago-loop-jewelers", "Chicago Loop Jewelers", "US", "Chicago", 3),
    ("place-vendome-joaillerie", "Place Vendome Joaillerie", "FR", "Paris", 2),
    ("maximilian-juwelier", "Maximilian Juwelier", "DE", "Munich", 1),
    ("via-montenapoleone-gioielli", "Via Montenapoleone Gioielli", "IT", "Milan", 1),
    ("nanjing-road-jewellery", "Nanjing Road Jewellery", "CN", "Shanghai", 3),
    ("wangfujing-diamonds", "Wangfujing Diamonds", "CN", "Beijing", 2),
    ("ginza-diamond", "Ginza Diamond", "JP", "Tokyo", 2),
    ("zaveri-bazaar-jewellers", "Zaveri Bazaar Jewellers", "IN", "Mumbai", 2),
    ("karol-bagh-jewellers", "Karol Bagh Jewellers", "IN", "Delhi", 1),
    ("gold-souk-diamonds", "Gold Souk Diamonds", "AE", "Dubai", 1),
)
_MONITORS: Final = (
    ("kp-civil-society-coalition", "KP Civil Society Coalition", "ZA"),
    ("partnership-africa-canada", "IMPACT (formerly Partnership Africa Canada)", "CA"),
)


@dataclass(frozen=True)
class Member:
    """A participant of the simulated world."""

    id: str
    name: str
    country: str
    roles: tuple[str, ...]
    city: str = ""
    weight: int = 1


@dataclass
class Cast:
    """Everyone in the world, by role."""

    admin: str = "admin"
    authorities: dict[str, str] = field(default_factory=dict)
    operators: dict[str, Member] = field(default_factory=dict)
    hubs: list[Member] = field(default_factory=list)
    makers: list[Member] = field(default_factory=list)
    labs: list[Member] = field(default_factory=list)
    shops: list[Member] = field(default_factory=list)
    monitors: list[Member] = field(default_factory=list)
    extra: list[Member] = field(default_factory=list)

    def members(self) -> list[Member]:
        """Every participant but the administrator and the authorities."""
        return [
            *self.operators.values(),
            *self.hubs,
            *self.makers,
            *self.labs,
            *self.shops,
            *self.monitors,
            *self.extra,
        ]

    def countries(self) -> list[str]:
        """Every country some participant is in, sorted."""
        return sorted({m.country for m in self.members()})


def build_cast(mines: list[Mine]) -> Cast:
    """The participants of a world with these ``mines``."""
    cast = Cast()
    for mine in mines:
        if mine.operator not in cast.operators:
            cast.operators[mine.operator] = Member(
                mine.operator, mine.operator_name, mine.country, ("mine_operator", "exporter")
            )
    cast.hubs = [Member(i, n, c, TRADE, city) for i, n, c, city in _HUBS]
    cast.makers = [Member(i, n, c, MAKER, city, w) for i, n, c, city, w in _MAKERS]
    cast.labs = [Member(i, n, c, LAB, city) for i, n, c, city in _LABS]
    cast.shops = [Member(i, n, c, SHOP, city, w) for i, n, c, city, w in _SHOPS]
    cast.monitors = [Member(i, n, c, ("monitor",)) for i, n, c in _MONITORS]
    return cast


def authority_id(country: str) -> str:
    """The participant id of a country's KP authority."""
    return f"{country.lower()}-authority"


def register_authority(scribe: Scribe, cast: Cast, country: str) -> str:
    """Register the KP authority of ``country`` (by the administrator)."""
    key = scribe.key(authority_id(country))
    cast.authorities[country] = authority_id(country)
    return scribe.emit(
        cast.admin,
        "participant.register",
        participant={
            "id": authority_id(country),
            "name": f"Kimberley Process authority of {country}",
            "country": country,
            "roles": ["authority"],
            "keys": [{"id": key.id, "public_key": key.public_key_b64}],
        },
    )


def register_mine(scribe: Scribe, mine: Mine, scale: float) -> str:
    """Register a mine (by its country's authority) with its licensed capacity at the world's scale."""
    site: dict[str, object] = {
        "id": mine.id,
        "name": mine.name,
        "kind": "mine",
        "country": mine.country,
        "operator": mine.operator,
        "annual_capacity": f"{max(mine.capacity * scale, 0.01):.2f}",
    }
    if mine.lat and mine.lon:
        site["lat"], site["lon"] = mine.lat, mine.lon
    if mine.zone:
        site["zone"] = mine.zone
    return scribe.emit(authority_id(mine.country), "site.register", site=site)


def register_member(scribe: Scribe, cast: Cast, member: Member) -> str:
    """Register ``member`` (by its country's authority, or by the administrator for monitors)."""
    registrar = cast.admin if "monitor" in member.roles else authority_id(member.country)
    key = scribe.key(member.id)
    return scribe.emit(
        registrar,
        "participant.register",
        participant={
            "id": member.id,
            "name": member.name,
            "country": member.country,
            "roles": list(member.roles),
            "keys": [{"id": key.id, "public_key": key.public_key_b64}],
        },
    )


def register_cast(scribe: Scribe, cast: Cast, mines: list[Mine], scale: float) -> None:
    """The registrations of the whole cast and its sites, in an order the rules accept."""
    for country in sorted({*cast.countries(), *(m.country for m in mines)}):
        register_authority(scribe, cast, country)
    # KP's participant list names China only; Hong Kong trades under China's participation.
    scribe.emit(
        cast.admin,
        "country.status",
        country="HK",
        status="participant",
        effective="2003-01-01T00:00:00Z",
        reason="Hong Kong SAR takes part in the Kimberley Process within China's participation",
    )
    for member in cast.members():
        register_member(scribe, cast, member)
    for mine in mines:
        register_mine(scribe, mine, scale)
    for member in [*cast.makers, *cast.labs, *cast.shops]:
        kind = {"manufacturer": "factory", "grading_lab": "lab", "retailer": "store"}[member.roles[0]]
        scribe.emit(
            authority_id(member.country),
            "site.register",
            site={
                "id": f"{member.id}-{kind}",
                "name": f"{member.name}, {member.city}",
                "kind": kind,
                "country": member.country,
                "operator": member.id,
            },
        )
