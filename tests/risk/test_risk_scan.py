"""Scanning: flags are deterministic, never duplicated, found the same batch by batch as all at once, and
kept in the risk tables on both backends (added to older databases by the schema migration)."""

from __future__ import annotations

from pathlib import Path

from live import LiveLedger
from sqlalchemy import func, select, update

from adamas import Ledger
from adamas.risk import flags, scan
from adamas.store import schema
from adamas.store.database import read_meta
from conftest import basic_world


def _suspicious(live: LiveLedger) -> None:
    """A few phases of trade with a weight skim, a high yield and a concern, flushed one by one."""
    w = live.world
    w.produce("miner", "A1", "mine-a", "100.00")
    w.ship("miner", "s1", ["A1"], "trader")
    live.flush()
    w.receive("trader", "s1", {"A1": "99.00"})
    w.ship("trader", "s2", ["A1"], "cutter")
    w.receive("cutter", "s2", {"A1": "100.00"})
    live.flush()
    w.manufacture("cutter", "A1", {"P1": "60.00"})
    w.register(w.admin, "monitor", "ZA", ["monitor"])
    w.attest("monitor", "participant", "cutter", "concern", statement="unexplained yields")
    live.flush()


def test_incremental_scans_find_what_one_full_scan_finds(db_url: str) -> None:
    live = LiveLedger(db_url, basic_world())
    try:
        w = live.world
        w.produce("miner", "A1", "mine-a", "100.00")
        w.ship("miner", "s1", ["A1"], "trader")
        live.flush()
        first = scan(live.ledger)
        w.receive("trader", "s1", {"A1": "99.00"})
        w.ship("trader", "s2", ["A1"], "cutter")
        w.receive("cutter", "s2", {"A1": "100.00"})
        live.flush()
        second = scan(live.ledger)
        w.manufacture("cutter", "A1", {"P1": "60.00"})
        w.register(w.admin, "monitor", "ZA", ["monitor"])
        w.attest("monitor", "participant", "cutter", "concern", statement="unexplained yields")
        live.flush()
        third = scan(live.ledger)
        assert (first.from_leaf, first.to_leaf) == (0, second.from_leaf)
        assert third.to_leaf == live.ledger.size
        incremental = [f.to_json() for f in flags(live.ledger)]
        assert {f["detector"] for f in incremental} == {"weight", "yield", "concern"}
        assert scan(live.ledger).new == ()  # nothing logged since: nothing new
        full = scan(live.ledger, full=True)
        assert [f.to_json() for f in flags(live.ledger)] == incremental
        assert set(full.new) == {f["id"] for f in incremental}
    finally:
        live.close()


def test_flags_are_never_stored_twice_and_ids_depend_only_on_the_log(db_url: str, tmp_path: Path) -> None:
    one, two = (
        LiveLedger(db_url, basic_world()),
        LiveLedger(f"sqlite:///{tmp_path / 'two.db'}", basic_world()),
    )
    try:
        _suspicious(one)
        _suspicious(two)
        for _ in range(3):
            scan(one.ledger)
        scan(two.ledger, full=True)
        with one.ledger.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(schema.risk_flags)).scalar_one()
        ids = [f.id for f in flags(one.ledger)]
        assert stored == len(ids) == len(set(ids)) == 3
        assert ids == [f.id for f in flags(two.ledger)]
        assert [f.to_json() for f in flags(one.ledger)] == [f.to_json() for f in flags(two.ledger)]
    finally:
        one.close()
        two.close()


def test_filters_and_cursor_paging(db_url: str) -> None:
    live = LiveLedger(db_url, basic_world())
    try:
        _suspicious(live)
        scan(live.ledger)
        everything = list(flags(live.ledger))
        assert [f.detector for f in flags(live.ledger, lot="P1")] == ["yield"]
        assert [f.detector for f in flags(live.ledger, detector="weight")] == ["weight"]
        assert {f.detector for f in flags(live.ledger, country="BW")} == {"weight", "yield", "concern"}
        assert list(flags(live.ledger, country="ZW")) == []
        page = flags(live.ledger, limit=2)
        rest = flags(live.ledger, after=page.next_cursor, limit=2)
        assert [f.id for f in [*page, *rest]] == [f.id for f in everything]
        assert rest.next_cursor is None
    finally:
        live.close()


def test_migration_from_schema_two_adds_the_risk_tables(db_url: str) -> None:
    live = LiveLedger(db_url, basic_world())
    try:
        _suspicious(live)
        engine = live.ledger.engine
        with engine.begin() as conn:
            for table in schema.RISK_TABLES:
                table.drop(conn)
            conn.execute(update(schema.meta).where(schema.meta.c.name == "schema_version").values(value="2"))
    finally:
        live.close()
    with Ledger.open(db_url) as ledger:
        assert read_meta(ledger.engine)["schema_version"] == str(schema.SCHEMA_VERSION)
        assert len(scan(ledger).new) == 3


def test_a_correction_is_read_in_place_of_the_event_it_corrects(db_url: str) -> None:
    live = LiveLedger(db_url, basic_world())
    try:
        w = live.world
        w.produce("miner", "A1", "mine-a", "100.00")
        w.ship("miner", "s1", ["A1"], "trader")
        w.receive("trader", "s1", {"A1": "99.00"})
        received = w.events[-1]["body"]
        (skim,) = live.flags("weight")
        w.correct("trader", received, "misread the scale", lots=[{"id": "A1", "carats": "100.00"}])
        live.flush()
        scan(live.ledger)
        assert [f.id for f in flags(live.ledger)] == [skim.id]  # raised at that size of the log, it stays
        scan(live.ledger, full=True)
        assert list(flags(live.ledger)) == []  # the log, read whole, no longer shows a skim
    finally:
        live.close()
