"""The producers and mines of a simulated year, from the KP data pack shipped in the package."""

from __future__ import annotations

import random

import pytest

from adamas.errors import InputError
from adamas.sim.countries import mines_of, producers


def test_2023_production_adds_up_to_the_kp_world_total() -> None:
    world = sum(p.carats for p in producers(2023))
    assert world == pytest.approx(111_523_000)  # kp_production_world_totals.csv, 2023 (source S01)
    botswana = next(p for p in producers(2023) if p.country == "BW")
    assert (botswana.carats, round(botswana.usd_per_ct, 2)) == (25_095_000, 130.82)


def test_stand_ins_make_up_the_others_row_exactly() -> None:
    stand_ins = [p for p in producers(2023) if p.data_year != 2023]
    assert {p.country for p in stand_ins} >= {"CF", "CM", "GN", "VE"}
    assert sum(p.carats for p in stand_ins) == pytest.approx(650_000)  # the 2023 "Others" row
    assert all(p.usd_per_ct == pytest.approx(130.77) for p in stand_ins)


def test_a_country_that_mined_nothing_is_no_producer() -> None:
    assert "AU" not in {p.country for p in producers(2023)}  # Argyle closed in 2020
    assert "AU" in {p.country for p in producers(2016)}


def test_every_producer_has_mines_whose_capacity_covers_their_plan() -> None:
    countries = producers(2023)
    mines = mines_of(countries, random.Random(1))
    assert {m.country for m in mines} == {p.country for p in countries}
    for country in countries:
        planned = sum(m.carats for m in mines if m.country == country.country)
        assert planned == pytest.approx(country.carats)
    assert all(m.capacity >= m.carats * 1.15 for m in mines)
    zones = {m.name: m.zone for m in mines if m.country == "CF"}
    assert zones["Bria"] == "Bria" and set(zones) >= {"Berberati", "Boda", "Carnot", "Nola"}


@pytest.mark.parametrize("year", [1990, 2005, 2030])
def test_a_year_without_figures_is_refused(year: int) -> None:
    with pytest.raises(InputError) as caught:
        producers(year)
    assert (caught.value.code, caught.value.field) == ("sim.no_data", "year")
