"""The producing countries and mines of a simulated year, read from the KP data pack shipped in the package.

Production (carats, USD, hence $/ct) is the data pack's row for the year and country. Where the year has no
row for a country that produced within three years of it, the nearest year's row stands in (earlier first);
if the year has an ``Others`` row, those stand-ins are scaled so that together they make up exactly the
``Others`` carats, at the ``Others`` $/ct where their own is missing. A country with zero carats produced
nothing (Argyle closed in 2020).

Mines: the 13 mines of ``diamond_mines.csv`` (closed ones left out), each with the largest annual figure the
sources give, plus generated mines for producers with none listed (named after their real diamond areas
where this module knows them, with the KP compliant zones of the Central African Republic). A country's
production is shared among its mines in proportion to their figures; a mine's licensed capacity is its
planned production times a margin between 1.15 and 1.45 (or its largest published figure if higher).
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from dataclasses import dataclass
from typing import Final

from adamas.data import kp_data
from adamas.errors import InputError

__all__ = ["AREAS", "NEIGHBOURS", "Mine", "Producer", "mines_of", "producers", "slug"]

FILL_YEARS: Final = 3
#: Where goods of a suspended producer can be carried across a land border to a participant's mine.
NEIGHBOURS: Final = {"CF": ("CM", "CD", "CG"), "VE": ("GY", "BR"), "CI": ("LR", "GH", "GN"), "ZW": ("ZA",)}
#: Real diamond areas for producers that diamond_mines.csv does not list: (name, zone, lat, lon).
AREAS: Final[dict[str, tuple[tuple[str, str | None, str, str], ...]]] = {
    "AO": (("Lulo", None, "-8.95", "18.00"), ("Cuango", None, "-9.10", "18.05")),
    "CD": (("Mbuji-Mayi", None, "-6.13", "23.60"), ("Tshikapa", None, "-6.42", "20.80")),
    "NA": (
        ("Namdeb Elizabeth Bay", None, "-26.92", "15.22"),
        ("Debmarine Atlantic 1", None, "-28.40", "16.10"),
    ),
    "ZW": (("Murowa", None, "-20.20", "30.30"), ("Marange", "Marange", "-19.98", "32.50")),
    "LS": (("Letseng", None, "-29.00", "28.87"), ("Liqhobong", None, "-29.00", "28.60")),
    "SL": (("Koidu", None, "8.64", "-10.97"), ("Tongo", None, "8.23", "-11.06")),
    "TZ": (("Williamson (Mwadui)", None, "-3.55", "33.60"),),
    "CF": (
        ("Berberati", "Berberati", "4.26", "15.79"),
        ("Carnot", "Carnot", "4.94", "15.87"),
        ("Nola", "Nola", "3.53", "16.07"),
        ("Boda", "Boda", "4.32", "17.47"),
        ("Bria", "Bria", "6.54", "21.99"),
    ),
    "CM": (("Mobilong", None, "3.42", "14.95"),),
    "GN": (("Banankoro", None, "9.20", "-9.30"),),
    "GH": (("Akwatia", None, "6.05", "-0.80"),),
    "GY": (("Mazaruni", None, "6.20", "-59.30"),),
    "LR": (("Lofa", None, "7.80", "-10.00"),),
    "BR": (("Brauna", None, "-11.00", "-39.50"),),
    "CG": (("Sangha", None, "1.60", "16.00"),),
    "CI": (("Seguela", None, "7.96", "-6.67"),),
    "ML": (("Kenieba", None, "12.84", "-11.24"),),
    "VE": (("Guaniamo", None, "6.40", "-66.20"),),
    "IN": (("Panna", None, "24.72", "80.19"),),
}


@dataclass(frozen=True)
class Producer:
    """A country's production in the simulated year: real carats, USD, $/ct, and the year they are from."""

    country: str
    name: str
    carats: float
    usd: float
    usd_per_ct: float
    data_year: int


@dataclass(frozen=True)
class Mine:
    """A mine: its planned real production for the year, its licensed capacity and its place."""

    id: str
    name: str
    country: str
    operator: str
    operator_name: str
    carats: float
    capacity: float
    lat: str | None
    lon: str | None
    zone: str | None


def _read(name: str) -> list[dict[str, str]]:
    text = kp_data().joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _iso2() -> dict[str, str]:
    import iso3166

    out = {c.alpha3: c.alpha2 for c in iso3166.countries}
    out.update({r["iso3"]: r["iso2"] for r in _read("kp_participants.csv") if r["iso3"] and r["iso2"]})
    return out


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def producers(year: int) -> list[Producer]:
    """Every country that produced in ``year``, largest first (see the module docstring for stand-ins)."""
    rows = _read("kp_production_by_country.csv")
    iso2 = _iso2()
    by_year: dict[int, dict[str, dict[str, str]]] = {}
    others: dict[int, dict[str, str]] = {}
    for row in rows:
        y = int(row["year"])
        if row["country"] == "Others":
            others[y] = row
        elif row["iso3"] in iso2:
            by_year.setdefault(y, {})[iso2[row["iso3"]]] = row
    if year not in by_year:
        years = sorted(by_year)
        raise InputError(
            f"the KP data pack has no production figures for {year} (it covers {years[0]}-{years[-1]})",
            code="sim.no_data",
            field="year",
        )
    chosen = dict(by_year[year])
    stand_ins: dict[str, dict[str, str]] = {}
    for country in sorted({c for rows_of in by_year.values() for c in rows_of} - set(chosen)):
        for delta in [d for k in range(1, FILL_YEARS + 1) for d in (-k, k)]:
            found = by_year.get(year + delta, {}).get(country)
            if found is not None:
                stand_ins[country] = found
                break
    world_usd_per_ct = _world_usd_per_ct(year, rows)
    out: list[Producer] = []
    for country, row in chosen.items():
        out.append(_producer(country, row, world_usd_per_ct, None))
    rest = others.get(year)
    if stand_ins:
        raw = [_producer(c, r, world_usd_per_ct, None) for c, r in stand_ins.items()]
        total = sum(p.carats for p in raw)
        factor = 1.0
        fallback: float | None = None
        if rest is not None and total > 0:
            factor = float(rest["volume_carats"]) / total
            fallback = _float(rest["usd_per_carat"])
        for p in raw:
            usd_per_ct = p.usd_per_ct
            if fallback is not None and not stand_ins[p.country]["usd_per_carat"].strip():
                usd_per_ct = fallback
            carats = p.carats * factor
            out.append(Producer(p.country, p.name, carats, carats * usd_per_ct, usd_per_ct, p.data_year))
    out = [p for p in out if p.carats >= 1]
    out.sort(key=lambda p: (-p.carats, p.country))
    return out


def _world_usd_per_ct(year: int, rows: list[dict[str, str]]) -> float:
    carats = sum(float(r["volume_carats"] or 0) for r in rows if int(r["year"]) == year)
    usd = sum(float(r["value_usd"] or 0) for r in rows if int(r["year"]) == year)
    return usd / carats if carats and usd else 100.0


def _producer(country: str, row: dict[str, str], world: float, override: float | None) -> Producer:
    carats = _float(row["volume_carats"]) or 0.0
    usd = _float(row["value_usd"])
    per_ct = override or _float(row["usd_per_carat"]) or (usd / carats if usd and carats else world)
    return Producer(country, row["country"], carats, usd or carats * per_ct, per_ct, int(row["year"]))


#: Operators the mines file leaves unstated or out of date.
_OPERATORS: Final = {
    "Cullinan": ("petra-diamonds-za", "Petra Diamonds"),
    "Ekati": ("arctic-canadian-diamond-ca", "Arctic Canadian Diamond Company"),
    "Diavik": ("diavik-diamond-mines-ca", "Diavik Diamond Mines (Rio Tinto)"),
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _operator(name: str, country: str) -> tuple[str, str]:
    """A short participant id and display name for an operator as diamond_mines.csv writes it."""
    short = re.split(r"[(/,;]", name)[0].strip() or f"{country} mining"
    if short.startswith("("):
        short = f"{country} mining"
    return f"{slug(short)}-{country.lower()}", short


def mines_of(countries: list[Producer], rng: random.Random) -> list[Mine]:
    """The mines of the producing ``countries``, each with a planned production and a capacity."""
    listed: dict[str, dict[str, list[dict[str, str]]]] = {}
    iso2 = _iso2()
    for row in _read("diamond_mines.csv"):
        if row["iso3"] not in iso2:
            continue  # a closed mine's country has no production row for a year after it closed
        listed.setdefault(iso2[row["iso3"]], {}).setdefault(row["mine"], []).append(row)
    out: list[Mine] = []
    for producer in countries:
        entries: list[tuple[str, str, str, float | None, str | None, str | None, str | None]] = []
        for name, rows in sorted(listed.get(producer.country, {}).items()):
            figures = [float(r["annual_carats"]) for r in rows if r["annual_carats"].strip()]
            first = rows[0]
            op_id, op_name = _OPERATORS.get(name) or _operator(first["operator"], producer.country)
            entries.append(
                (
                    name,
                    op_id,
                    op_name,
                    max(figures) if figures else None,
                    first["lat"] or None,
                    first["lon"] or None,
                    None,
                )
            )
        if not entries:
            areas = AREAS.get(producer.country) or ((f"{producer.name} alluvial field", None, None, None),)
            for i, (name, zone, lat, lon) in enumerate(areas):
                op_id = f"{slug(name)}-mining-{producer.country.lower()}"
                entries.append((name, op_id, f"{name} Mining Company", None, lat, lon, zone))
                if i == 0 and producer.carats < 50_000 and producer.country != "CF":
                    break
        known = sum(e[3] or 0 for e in entries)
        unknown = [e for e in entries if e[3] is None]
        rest = max(producer.carats - known, producer.carats * 0.2)
        weights = [e[3] if e[3] is not None else rest / len(unknown) for e in entries]
        total = sum(weights)
        for entry, weight in zip(entries, weights, strict=True):
            name, op_id, op_name, figure, lat, lon, zone = entry
            planned = producer.carats * weight / total
            capacity = max(planned * rng.uniform(1.15, 1.45), figure or 0.0)
            out.append(
                Mine(
                    id=slug(name)[:40]
                    + ("" if producer.country in ("BW", "RU") else f"-{producer.country.lower()}"),
                    name=name,
                    country=producer.country,
                    operator=op_id,
                    operator_name=op_name,
                    carats=planned,
                    capacity=math.ceil(capacity),
                    lat=lat,
                    lon=lon,
                    zone=zone,
                )
            )
    return out
