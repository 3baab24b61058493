"""KP statistics from the log: the real 2023 production of every country comes out as the KP published it,
and a small world's exports and imports add up per half and quarter with certificates and partners."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from live import LiveLedger
from typer.testing import CliRunner

from adamas.cli import app
from adamas.data import kp_data
from adamas.errors import InputError
from adamas.risk.stats import statistics
from adamas.sim import World
from conftest import basic_world

# The source gives the small producers as one "Others" row; the test registers it as Guinea's production
# (a small producer the KP counts among them), so that the world total can be checked whole.
OTHERS_STAND_IN = "GN"


def published_2023() -> list[dict[str, str]]:
    """The 2023 rows of the data pack with a non-zero production, each with its ISO2 code."""
    pack = kp_data()
    iso2 = {
        r["iso3"]: r["iso2"]
        for r in csv.DictReader(io.StringIO(pack.joinpath("kp_participants.csv").read_text(encoding="utf-8")))
    }
    text = pack.joinpath("kp_production_by_country.csv").read_text(encoding="utf-8")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["year"] == "2023" and r["volume_carats"] != "0"]
    for row in rows:
        row["iso2"] = iso2[row["iso3"]] if row["iso3"] else OTHERS_STAND_IN
    return rows


@pytest.fixture
def real_2023(db_url: str) -> Iterator[LiveLedger]:
    """One mine and one lot per producing country at its published 2023 carats and value."""
    w = World(seed="kp-2023", start="2023-12-01T00:00:00Z")
    w.genesis()
    for row in published_2023():
        code = row["iso2"].lower()
        authority = w.authority(row["iso2"])
        w.register(authority, f"{code}-miner", row["iso2"], ["mine_operator"])
        w.site(authority, f"{code}-mine", "mine", row["iso2"], f"{code}-miner")
        w.produce(
            f"{code}-miner",
            f"{row['iso3'] or 'OTH'}-2023",
            f"{code}-mine",
            f"{row['volume_carats']}.00",
            value=f"{row['value_usd']}.00",
        )
    live = LiveLedger(db_url, w)
    live.flush()
    yield live
    live.close()


def test_the_real_2023_production_comes_out_as_the_kp_published_it(real_2023: LiveLedger) -> None:
    result = CliRunner().invoke(app, ["stats", "--year", "2023", "--format", "json", "--db", real_2023.url])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    rows = {r["country"]: r["production"] for r in stats["countries"]}
    published = published_2023()
    assert len(rows) == len(published) == 12
    for row in published:
        mine = rows[row["iso2"]]
        assert Decimal(mine["carats"]) == Decimal(row["volume_carats"]), row["country"]
        assert Decimal(mine["value_usd"]) == Decimal(row["value_usd"]), row["country"]
        assert Decimal(mine["usd_per_carat"]) == Decimal(row["usd_per_carat"]), row["country"]
    (world,) = stats["world"]
    totals = next(
        r
        for r in csv.DictReader(
            io.StringIO(kp_data().joinpath("kp_production_world_totals.csv").read_text(encoding="utf-8"))
        )
        if r["year"] == "2023"
    )
    # Carats: exactly the published world total (111,523 kct).
    assert Decimal(world["production"]["carats"]) == Decimal(totals["volume_carats"])
    # Value: the published countries add up to $12,724m; the source rounded its total independently to
    # $12,725m, so each figure agrees within the source's precision ($1m per row, 12 rows).
    value = Decimal(world["production"]["value_usd"])
    assert value == sum(Decimal(r["value_usd"]) for r in published) == Decimal("12724000000")
    assert abs(value - Decimal(totals["value_usd"])) <= Decimal("500000") * len(published)
    assert abs(Decimal(world["production"]["usd_per_carat"]) - Decimal(totals["usd_per_carat"])) <= Decimal(
        "0.01"
    )


def test_a_country_filter_and_the_table_and_csv_formats(real_2023: LiveLedger) -> None:
    runner = CliRunner()
    table = runner.invoke(app, ["stats", "--year", "2023", "--country", "NA", "--db", real_2023.url])
    assert table.exit_code == 0 and "517.40" in table.stdout and "RU" not in table.stdout
    lines = list(
        csv.reader(
            io.StringIO(
                runner.invoke(
                    app, ["stats", "--year", "2023", "--format", "csv", "--db", real_2023.url]
                ).stdout
            )
        )
    )
    assert lines[0][:5] == [
        "country",
        "period",
        "production_carats",
        "production_value_usd",
        "production_usd_per_carat",
    ]
    assert ["RU", "2023", "37317000.00", "3606000000.00", "96.63"] in [line[:5] for line in lines]


def test_exports_and_imports_by_quarter_with_certificates_and_partners(db_url: str) -> None:
    live = LiveLedger(db_url, basic_world())
    try:
        w = live.world
        w.produce("miner", "E1", "mine-a", "100.00", value="15000.00")
        w.issue_certificate(
            "bw-authority",
            "BW-2026-000001",
            exporter="miner",
            importer="be-importer",
            exporting="BW",
            importing="BE",
            lots=["E1"],
            carats="100.00",
            origin={"BW": "100.00"},
            value="16000.00",
            shipment="x1",
        )
        w.ship("miner", "x1", ["E1"], "be-importer", certificate="BW-2026-000001")
        w.confirm_certificate("be-authority", "BW-2026-000001", "100.00", 1)
        w.receive("be-importer", "x1", {"E1": "100.00"})
        live.flush()
        quarters = statistics(live.ledger, 2026, granularity="quarter").to_json()
        rows = {r["country"]: r for r in quarters["countries"]}
        assert rows["BW"]["period"] == "2026-Q1"
        assert rows["BW"]["exports"] == {
            "carats": "100.00",
            "value_usd": "16000.00",
            "usd_per_carat": "160.00",
            "certificates": 1,
            "partners": ["BE"],
        }
        assert rows["BE"]["imports"]["partners"] == ["BW"] and rows["BE"]["imports"]["certificates"] == 1
        assert rows["BW"]["production"]["usd_per_carat"] == "150.00"
        assert statistics(live.ledger, 2026, granularity="half").to_json()["world"][0]["period"] == "2026-H1"
        assert statistics(live.ledger, 2025).to_json()["countries"] == []
    finally:
        live.close()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["stats"], "stats.year_required", id="no-year"),
        pytest.param(
            ["stats", "--year", "2026", "--half", "--quarter"], "stats.bad_period", id="half-and-quarter"
        ),
        pytest.param(["stats", "--year", "2026", "--format", "xml"], "stats.bad_format", id="bad-format"),
        pytest.param(["stats", "--year", "1200"], "stats.bad_year", id="bad-year"),
    ],
)
def test_bad_stats_options_are_usage_errors(real_2023: LiveLedger, args: list[str], code: str) -> None:
    result = CliRunner().invoke(app, [*args, "--db", real_2023.url])
    assert result.exit_code == 2
    assert f"error: {code}:" in result.stderr


def test_statistics_refuses_an_unknown_granularity(real_2023: LiveLedger) -> None:
    with pytest.raises(InputError) as caught:
        statistics(real_2023.ledger, 2023, granularity="month")
    assert caught.value.code == "stats.bad_period"
