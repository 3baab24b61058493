"""The real Kimberley Process data pack loaded as signed policy, then its dates replayed against the rules.

The pack is the one shipped inside the package (``adamas.data.kp_data()``), so these tests always run,
from a checkout, an installed wheel or a zip alike. The CAR's 2013 suspension and 2016 compliant zones, its
2024 readmission, a never-participant, and the G7 measures on Russian origin (direct from 2024-01-01, 1 ct
from 2024-03-01, 0.5 ct from 2024-09-01) are each checked through the refusal code of a real submission, on
both backends; loading twice writes nothing; a bad pack is refused before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import iso3166
import pytest

from adamas import AdamasError, Ledger
from adamas.data import KP_FILES, kp_data, kp_rows
from adamas.ledger.backfill import open_backfill
from adamas.ledger.policy import (
    KP_DATA_FILES,
    count_outcomes,
    kp_policy_bodies,
    load_kp,
    signed_kp_policy,
)
from adamas.model.records import EU_MEMBERS, EU_TERRITORIES
from adamas.model.values import parse_time
from adamas.sim import World
from conftest import basic_world
from refusal_tables import assert_human, case_table, snapshot

KP_DATA = kp_data()
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
G7 = ["CA", "EU", "GB", "JP", "US"]

OpenLedger = Callable[[str], Ledger]


def _statuses(bodies: list[dict[str, Any]], country: str) -> list[tuple[str, str, list[str] | None]]:
    return [
        (b["effective"][:10], b["status"], b.get("compliant_zones"))
        for b in bodies
        if b["type"] == "country.status" and b["country"] == country
    ]


# --- the bodies ---------------------------------------------------------------------------------------------


def test_car_suspension_zones_and_readmission() -> None:
    bodies = kp_policy_bodies(KP_DATA)
    assert _statuses(bodies, "CF") == [
        ("2003-01-01", "participant", None),
        ("2013-05-23", "suspended", []),
        ("2015-07-17", "suspended", []),
        ("2016-05-01", "suspended", ["Berberati"]),
        ("2016-09-19", "suspended", ["Berberati", "Boda", "Carnot", "Nola"]),
        ("2024-11-15", "participant", None),
    ]


def test_other_standing_changes() -> None:
    bodies = kp_policy_bodies(KP_DATA)
    assert _statuses(bodies, "UZ") == [
        ("2003-01-01", "non_participant", None),
        ("2024-11-15", "participant", None),
    ]
    assert _statuses(bodies, "VE") == [("2003-01-01", "participant", None), ("2008-01-01", "suspended", [])]
    assert _statuses(bodies, "CI") == [
        ("2003-01-01", "participant", None),
        ("2005-01-01", "suspended", []),
        ("2014-04-29", "participant", None),
    ]
    assert _statuses(bodies, "SO") == [("2003-01-01", "non_participant", None)]
    assert _statuses(bodies, "EU") == [("2003-01-01", "participant", None)]
    assert _statuses(bodies, "BW") == [("2003-01-01", "participant", None)]
    assert _statuses(bodies, "CM") == [("2022-01-01", "participant", None)]


def test_every_country_has_a_standing_and_eu_members_take_the_eus() -> None:
    bodies = kp_policy_bodies(KP_DATA)
    countries = {b["country"] for b in bodies if b["type"] == "country.status"}
    assert countries == (set(iso3166.countries_by_alpha2) - EU_MEMBERS - EU_TERRITORIES) | {"EU"}
    # The CSV lists six later EU members separately (2003); a member state has no status of its own.
    text = (KP_DATA / "kp_participants.csv").read_text(encoding="utf-8")
    later = {row["iso2"] for row in csv.DictReader(io.StringIO(text)) if "covered by the EU" in row["notes"]}
    assert later == {"BG", "HR", "HU", "PL", "RO", "SI"}
    assert not countries & (EU_MEMBERS | EU_TERRITORIES)


def test_g7_sanctions_on_russian_origin() -> None:
    sanctions = [b["sanction"] for b in kp_policy_bodies(KP_DATA) if b["type"] == "sanction.set"]
    assert [(s["id"], s["effective"], s.get("min_stone_carats"), s.get("lot_kinds")) for s in sanctions] == [
        ("g7-ru-direct-2024-01-01", "2024-01-01T00:00:00Z", None, ["rough_parcel", "rough_stone", "jewel"]),
        ("g7-ru-1ct-2024-03-01", "2024-03-01T00:00:00Z", "1.00", None),
        ("g7-ru-0.5ct-2024-09-01", "2024-09-01T00:00:00Z", "0.50", None),
    ]
    for s in sanctions:
        assert s["origin_countries"] == ["RU"]
        assert s["importing_countries"] == G7
        assert "kp_suspensions_embargoes.csv" in s["reason"]


def test_bodies_are_well_formed_and_deterministic() -> None:
    bodies = kp_policy_bodies(KP_DATA)
    ids = [b["id"] for b in bodies]
    assert len(ids) == len(set(ids))
    for body in bodies:
        assert EVENT_ID.fullmatch(body["id"]) and body["id"].startswith("kp-policy-")
        assert not {"v", "key", "actor"} & body.keys()
        fields = body.get("sanction", body)
        assert body["time"] == fields["effective"]
        assert fields["effective"].endswith("T00:00:00Z")
        assert 0 < len(fields["reason"]) <= 2000
        assert ".csv" in fields["reason"]
    key = World(seed="tests").admin.key
    assert signed_kp_policy(KP_DATA, key) == signed_kp_policy(KP_DATA, key)


def _copy_pack(folder: Path) -> Path:
    """A copy of the packaged KP data pack in ``folder``."""
    folder.mkdir(exist_ok=True)
    for name in KP_FILES:
        (folder / name).write_bytes((KP_DATA / name).read_bytes())
    return folder


def test_the_packaged_pack_holds_every_file_with_its_sources() -> None:
    assert KP_DATA.is_dir()
    names = {item.name for item in KP_DATA.iterdir()}
    assert names >= {*KP_FILES, *KP_DATA_FILES, "SOURCES.txt", "README.md"}
    for name in KP_FILES:
        rows = kp_rows(name)
        assert rows, name
        assert all(isinstance(value, str) for row in rows for value in row.values())
    mines = kp_rows("diamond_mines.csv", required=["mine", "iso3", "lat", "lon"])
    assert "Jwaneng" in {row["mine"] for row in mines}


def test_another_folder_gives_the_same_bodies(tmp_path: Path) -> None:
    folder = _copy_pack(tmp_path / "pack")
    packaged = kp_policy_bodies()
    assert packaged == kp_policy_bodies(KP_DATA) == kp_policy_bodies(folder) == kp_policy_bodies(str(folder))


def test_a_zipped_pack_reads_like_a_folder(tmp_path: Path) -> None:
    """What an installation from a zip (a zipped wheel, a zipapp) hands ``importlib.resources``."""
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in KP_FILES:
            zipped.writestr(f"adamas/data/kp/{name}", (KP_DATA / name).read_bytes())
    with zipfile.ZipFile(archive) as zipped:
        inside = zipfile.Path(zipped, "adamas/data/kp/")
        assert kp_policy_bodies(inside) == kp_policy_bodies()
        assert kp_rows("diamond_mines.csv", data=inside) == kp_rows("diamond_mines.csv")


BAD_PACKS, bad_pack = case_table()


@bad_pack("no such folder", "kp.no_data", "data")
def _no_folder(folder: Path) -> Path:
    return folder / "missing"


@bad_pack("empty folder", "kp.no_data", "data")
def _empty(folder: Path) -> Path:
    empty = folder / "empty"
    empty.mkdir()
    return empty


@bad_pack("a file, not a folder", "kp.no_data", "data")
def _a_file(folder: Path) -> Path:
    file = folder / "kp.csv"
    file.write_text("participant\n", encoding="utf-8")
    return file


@bad_pack("measures file missing", "kp.no_data", "data")
def _no_measures(folder: Path) -> Path:
    (folder / "kp_suspensions_embargoes.csv").unlink()
    return folder


@bad_pack("participants not UTF-8", "kp.bad_data", "kp_participants.csv")
def _latin1(folder: Path) -> Path:
    path = folder / "kp_participants.csv"
    path.write_bytes(path.read_bytes().replace(b"Angola,", "Angolá,".encode("latin-1"), 1))
    return folder


@bad_pack("participants column missing", "kp.bad_data", "kp_participants.csv")
def _no_column(folder: Path) -> Path:
    path = folder / "kp_participants.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("other_evidence", "evidence", 1), encoding="utf-8"
    )
    return folder


@bad_pack("not an ISO 3166 code", "kp.bad_data", "kp_participants.csv line 2")
def _bad_iso(folder: Path) -> Path:
    path = folder / "kp_participants.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",AGO,AO,", ",AGO,QQ,", 1), encoding="utf-8")
    return folder


@bad_pack("unknown measure", "kp.unmapped_row", None)
def _unknown_measure(folder: Path) -> Path:
    with (folder / "kp_suspensions_embargoes.csv").open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(
            [
                "Angola",
                "AGO",
                "something new",
                "2030-01-01",
                "",
                "all",
                "an unmapped measure",
                "https://x.test",
            ]
        )
    return folder


@pytest.mark.parametrize(("build", "code", "field"), BAD_PACKS)
def test_a_bad_pack_is_refused_and_nothing_written(
    build: Callable[[Path], Path],
    code: str,
    field: str | None,
    tmp_path: Path,
    open_ledger: OpenLedger,
) -> None:
    data = build(_copy_pack(tmp_path / "pack"))
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    w = basic_world()
    assert {o.status for o in ledger.submit(w.events)} == {"accepted"}
    before = snapshot(ledger)
    with pytest.raises(AdamasError) as caught:
        load_kp(ledger, w.admin.key, actor=w.admin.id, data_dir=data)
    assert caught.value.code == code
    if field is not None:
        assert caught.value.field == field
    assert_human(caught.value.message)
    assert snapshot(ledger) == before


# --- replaying the dates ------------------------------------------------------------------------------------


class Script:
    """A world whose new events are submitted one at a time at chosen times."""

    def __init__(self, world: World, ledger: Ledger) -> None:
        self.w = world
        self.ledger = ledger
        self.sent = 0

    def at(self, when: str) -> Script:
        """The next event happens at ``when``."""
        self.w.now_ns = parse_time(when, "when") - self.w.step_ns
        return self

    def flush(self) -> list[str]:
        """Submit every event not yet sent, one by one; the status or refusal code of each."""
        out = []
        for envelope in self.w.events[self.sent :]:
            (outcome,) = self.ledger.submit([envelope])
            out.append(outcome.status if outcome.error is None else outcome.error.code)
        self.sent = len(self.w.events)
        return out

    def ok(self) -> None:
        """Submit the pending events and require them all accepted."""
        assert set(self.flush()) <= {"accepted"}

    def one(self) -> str:
        """Submit the one pending event; its status or refusal code."""
        (result,) = self.flush()
        return result


@pytest.fixture
def kp(db_url: str, open_ledger: OpenLedger) -> tuple[Script, list[Any]]:
    """A ledger with the basic world and the KP data pack loaded; the script and the load's outcomes."""
    ledger = open_ledger(db_url)
    script = Script(basic_world(), ledger)
    script.ok()
    seen: list[tuple[int, int]] = []
    outcomes = load_kp(
        ledger,
        script.w.admin.key,
        actor=script.w.admin.id,
        data_dir=KP_DATA,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (len(outcomes), len(outcomes))
    return script, outcomes


def test_replaying_the_kp_dates(kp: tuple[Script, list[Any]]) -> None:
    s, outcomes = kp
    w = s.w
    assert count_outcomes(outcomes) == {"accepted": len(kp_policy_bodies(KP_DATA))}
    assert [o.position for o in outcomes] == list(range(len(outcomes)))
    # The script signs events at their historical dates: the administrator opens a backfill window for
    # them, under which every validity window is judged at the declared time (docs/time.md).
    open_backfill(
        s.ledger,
        w.admin.key,
        actor=w.admin.id,
        start_ns=parse_time("2003-01-01T00:00:00Z", "from"),
        until_ns=parse_time("2026-03-01T00:00:00Z", "until"),
        reason="replaying the Kimberley Process's history",
    )

    # The Central African Republic: suspended 2013, Berberati compliant from May 2016, the three more
    # zones from September 2016, readmitted November 2024.
    s.at("2012-01-01T00:00:00Z")
    cf = w.authority("CF")
    w.register(cf, "cf-miner", "CF", ["mine_operator", "exporter"])
    w.site(cf, "cf-berberati", "mine", "CF", "cf-miner", zone="Berberati")
    w.site(cf, "cf-carnot", "mine", "CF", "cf-miner", zone="Carnot")
    w.site(cf, "cf-bria", "mine", "CF", "cf-miner")
    s.ok()
    production = [
        ("2012-06-01T00:00:00Z", "cf-bria", "accepted"),  # before the suspension
        ("2014-06-01T00:00:00Z", "cf-berberati", "country.suspended"),
        ("2014-06-01T00:00:00Z", "cf-bria", "country.suspended"),
        ("2015-08-01T00:00:00Z", "cf-berberati", "country.suspended"),  # framework, no zone yet
        ("2016-06-15T00:00:00Z", "cf-berberati", "accepted"),
        ("2016-06-15T00:00:00Z", "cf-carnot", "country.suspended"),
        ("2016-10-01T00:00:00Z", "cf-carnot", "accepted"),
        ("2016-10-01T00:00:00Z", "cf-bria", "country.suspended"),
        ("2024-11-14T00:00:00Z", "cf-bria", "country.suspended"),
        ("2025-01-15T00:00:00Z", "cf-bria", "accepted"),
        ("2025-01-15T00:00:00Z", "cf-berberati", "accepted"),
    ]
    for i, (when, site, expected) in enumerate(production):
        s.at(when)
        w.produce("cf-miner", f"CF-LOT-{i:03d}", site, "12.50", stones=9)
        assert s.one() == expected, (when, site)

    # Somalia was never a participant: nothing is shipped to it.
    s.at("2026-03-02T00:00:00Z")
    so = w.authority("SO")
    w.register(so, "so-importer", "SO", ["importer"])
    w.produce("miner", "BW-LOT-SO", "mine-a", "40.00")
    s.ok()
    w.ship("miner", "shp-bw-so", ["BW-LOT-SO"], "so-importer")
    assert s.one() == "country.not_participant"

    # Russian origin into the United States.
    s.at("2023-12-01T00:00:00Z")
    ru, us = w.authority("RU"), w.authority("US")
    w.register(ru, "ru-miner", "RU", ["mine_operator", "manufacturer", "exporter"])
    w.site(ru, "ru-mir", "mine", "RU", "ru-miner")
    w.register(us, "us-importer", "US", ["importer", "retailer"])
    s.ok()
    s.at("2024-01-10T00:00:00Z")
    w.produce("ru-miner", "RU-ROUGH", "ru-mir", "10.00", stones=10)
    parts = {"RU-R06": "1.10", "RU-R04": "0.80", "RU-R12": "2.20", "RU-R12B": "2.20", "RU-REST": "3.70"}
    w.split("ru-miner", "RU-ROUGH", parts, stones={p: 6 if p == "RU-REST" else 1 for p in parts})
    w.manufacture("ru-miner", "RU-R06", {"RU-P06": "0.60"})
    w.manufacture("ru-miner", "RU-R04", {"RU-P04": "0.40"})
    w.manufacture("ru-miner", "RU-R12", {"RU-P12": "1.20"})
    w.manufacture("ru-miner", "RU-R12B", {"RU-P12B": "1.20"})
    s.ok()

    # Rough is barred from 2024-01-01 (the direct measure), even under a confirmed KP certificate.
    s.at("2024-02-01T00:00:00Z")
    w.issue_certificate(
        ru,
        "RU-2024-0001",
        exporter="ru-miner",
        importer="us-importer",
        exporting="RU",
        importing="US",
        lots=["RU-REST"],
        carats="3.70",
        origin={"RU": "3.70"},
        value="900.00",
        shipment="shp-ru-rough",
    )
    w.ship("ru-miner", "shp-ru-rough", ["RU-REST"], "us-importer", certificate="RU-2024-0001")
    w.confirm_certificate(us, "RU-2024-0001", "3.70", 1)
    # A 1.20 ct polished stone is not covered by the direct measure (cut outside Russia as far as the
    # ledger can tell) ...
    w.ship("ru-miner", "shp-ru-12", ["RU-P12"], "us-importer")
    s.ok()
    s.at("2024-02-10T00:00:00Z")
    w.receive("us-importer", "shp-ru-rough", {"RU-REST": "3.70"})
    assert s.one() == "sanction.origin"
    w.receive("us-importer", "shp-ru-12", {"RU-P12": "1.20"})
    assert s.one() == "accepted"
    # ... but is from 2024-03-01 (1 ct and above).
    s.at("2024-03-02T00:00:00Z")
    w.ship("ru-miner", "shp-ru-12b", ["RU-P12B"], "us-importer")
    s.ok()
    w.receive("us-importer", "shp-ru-12b", {"RU-P12B": "1.20"})
    assert s.one() == "sanction.origin"

    # From 2024-09-01 the threshold is 0.5 ct: the 0.6 ct stone is refused, the 0.4 ct one received.
    s.at("2024-09-20T00:00:00Z")
    w.ship("ru-miner", "shp-ru-06", ["RU-P06"], "us-importer")
    w.ship("ru-miner", "shp-ru-04", ["RU-P04"], "us-importer")
    s.ok()
    s.at("2024-10-01T00:00:00Z")
    w.receive("us-importer", "shp-ru-06", {"RU-P06": "0.60"})
    (refused,) = s.ledger.submit([w.events[-1]])
    assert refused.error is not None and refused.error.code == "sanction.origin"
    assert refused.error.context["sanction"] == "g7-ru-0.5ct-2024-09-01"
    s.sent = len(w.events)
    w.receive("us-importer", "shp-ru-04", {"RU-P04": "0.40"})
    assert s.one() == "accepted"
    assert s.ledger.lot("RU-P04").holder == "us-importer"
    assert s.ledger.lot("RU-P06").state == "in_transit"


def test_loading_twice_writes_nothing(kp: tuple[Script, list[Any]]) -> None:
    s, first = kp
    size = s.ledger.size
    again = load_kp(s.ledger, s.w.admin.key, actor=s.w.admin.id, data_dir=KP_DATA)
    assert count_outcomes(again) == {"duplicate": len(first)}
    assert [o.index for o in again] == [o.index for o in first]
    assert s.ledger.size == size


def test_only_the_administrator_may_load(sqlite_url: str, open_ledger: OpenLedger) -> None:
    ledger = open_ledger(sqlite_url)
    w = basic_world()
    assert {o.status for o in ledger.submit(w.events)} == {"accepted"}
    # A window for the policy's dates, so that what refuses the load is who signs it.
    start, until = parse_time("2003-01-01T00:00:00Z", "from"), parse_time("2026-01-01T00:00:00Z", "until")
    open_backfill(ledger, w.admin.key, actor=w.admin.id, start_ns=start, until_ns=until, reason="history")
    size = ledger.size
    bw = w.actors["bw-authority"]
    outcomes = load_kp(ledger, bw.key, actor=bw.id, data_dir=KP_DATA)
    assert {o.error.code for o in outcomes if o.error is not None} == {"actor.not_authorized"}
    assert count_outcomes(outcomes) == {"refused": len(outcomes)}
    assert ledger.size == size
