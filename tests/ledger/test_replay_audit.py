"""``adamas audit --replay``: the rules checked again from the log alone, and the state tables compared.

Issue 8's attacks, on both backends: a state row edited behind the ledger's back (the lot's "new holder"
then ships it), a deleted leaf, a voided certificate revived in its table. Each is named by the replay,
where the plain audit (which checks only that the log is append-only) passes or names less.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from typer.testing import CliRunner

from adamas import Ledger, StorageError, audit
from adamas.cli import app
from adamas.ledger.replay import declared_time
from adamas.model.events import parse_envelope
from adamas.sim import World, demo_world
from adamas.store import schema
from conftest import basic_world, fixed_clock
from log_helpers import log_behind_the_rules


def _submit(ledger: Ledger, events: list[Any]) -> None:
    outcomes = ledger.submit(events)
    assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok]


def _faults(report: Any) -> list[tuple[str, Any, Any, Any, Any]]:
    return [(f.code, f.leaf, f.rule, f.table, f.row) for f in report.faults]


def test_an_honest_ledger_replays_clean_from_the_database_and_from_its_tiles(
    db_url: str, open_ledger: Callable[[str], Ledger], tmp_path: Path
) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    ledger.export_tiles(tmp_path / "tiles")
    report = audit(db=db_url, replay=True)
    assert report.ok, report.to_json()
    assert report.replayed == len(world.events)
    mirror = audit(tiles=tmp_path / "tiles", vkey=ledger.vkey, replay=True)
    assert mirror.ok, mirror.to_json()
    assert mirror.replayed == len(world.events)


def _held_lot_world() -> World:
    world = basic_world()
    world.produce("miner", "LOT-EDITED", "mine-a", "10.00", stones=5, value="1000.00")
    return world


def test_an_edited_holder_who_ships_is_named_by_the_replay(
    db_url: str, open_ledger: Callable[[str], Ledger], tmp_path: Path
) -> None:
    world = _held_lot_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.lots).where(schema.lots.c.id == "LOT-EDITED").values(holder="trader"))
    # The ledger trusts its tables: the "new holder" ships the lot, and the plain audit sees nothing wrong.
    world.ship("trader", "shp-stolen", ["LOT-EDITED"], "cutter")
    _submit(ledger, world.events[-1:])
    shipped_at = ledger.size - 1
    assert audit(db=db_url).ok
    report = audit(db=db_url, replay=True)
    faults = _faults(report)
    assert faults[0] == ("audit.replay_refused", shipped_at, "custody.not_holder", None, None)
    assert ("audit.state_differs", None, None, "lots", "LOT-EDITED") in faults
    assert ("audit.state_extra", None, None, "shipments", "shp-stolen") in faults
    assert report.replayed == shipped_at
    # A monitor with nothing but the mirror and the vkey names the same leaf.
    ledger.export_tiles(tmp_path / "tiles")
    mirror = audit(tiles=tmp_path / "tiles", vkey=ledger.vkey, replay=True)
    assert _faults(mirror) == [("audit.replay_refused", shipped_at, "custody.not_holder", None, None)]
    # And the command line says so, exit status 1.
    result = CliRunner().invoke(app, ["audit", "--db", db_url, "--replay", "--json"])
    assert result.exit_code == 1, result.output
    printed = json.loads(result.stdout)
    assert printed["faults"][0]["leaf"] == shipped_at
    assert printed["faults"][0]["rule"] == "custody.not_holder"
    result = CliRunner().invoke(app, ["audit", "--db", db_url, "--replay"])
    assert result.exit_code == 1
    assert f"leaf {shipped_at}: the rules refuse this logged event: custody.not_holder" in result.output
    assert "lots row LOT-EDITED: holder is 'trader' in the stored state, 'miner' in the replayed" in (
        result.output.replace("\n", "")
    )


def test_a_deleted_leaf_is_named_by_the_replay(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world = _held_lot_world()
    world.ship("miner", "shp-1", ["LOT-EDITED"], "trader")
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    registered = len(world.events) - 2
    with ledger.engine.begin() as conn:
        conn.execute(delete(schema.events).where(schema.events.c.seq == registered))
    report = audit(db=db_url, replay=True)
    faults = _faults(report)
    assert faults[0][:2] == ("audit.leaf_missing", registered)
    # Without the lot's registration its shipment breaks the rules, and the stored lot has no event.
    assert ("audit.replay_refused", registered + 1, "custody.unknown_lot", None, None) in faults
    assert ("audit.state_extra", None, None, "lots", "LOT-EDITED") in faults


def _voided_certificate_world() -> tuple[World, str]:
    world = basic_world()
    world.produce("miner", "LOT-CERT", "mine-a", "10.00", stones=5, value="1000.00")
    number = world.issue_certificate(
        "bw-authority",
        "BW-2026-000777",
        exporter="miner",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["LOT-CERT"],
        carats="10.00",
        origin={"BW": "10.00"},
        value="1000.00",
        shipment="shp-cert",
    )
    world.sign("bw-authority", "certificate.void", number=number, reason="issued in error")
    return world, number


def test_a_voided_certificate_revived_in_its_table_is_named_by_the_replay(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world, number = _voided_certificate_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    with ledger.engine.begin() as conn:
        conn.execute(
            update(schema.certificates).where(schema.certificates.c.id == number).values(void_event=None)
        )
    report = audit(db=db_url, replay=True)
    assert [(f.code, f.table, f.row) for f in report.faults] == [
        ("audit.state_differs", "certificates", number)
    ]
    assert "void_event is None in the stored state" in report.faults[0].message


# --- rebuild ---------------------------------------------------------------------------------------------


def _rows(ledger: Ledger) -> dict[str, list[Any]]:
    with ledger.engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(select(t)).all())) for t in schema.metadata.sorted_tables
        }


@pytest.mark.parametrize("tampering", ["deleted_leaf", "extra_leaf"])
def test_rebuild_refuses_a_log_with_a_missing_or_extra_leaf(
    db_url: str, open_ledger: Callable[[str], Ledger], tampering: str
) -> None:
    world = _held_lot_world()
    world.ship("miner", "shp-1", ["LOT-EDITED"], "trader")
    ledger = open_ledger(db_url)
    _submit(ledger, world.events[:-1])
    size = ledger.size
    with ledger.engine.begin() as conn:
        if tampering == "deleted_leaf":
            conn.execute(delete(schema.events).where(schema.events.c.seq == 3))
        else:
            envelope = parse_envelope(world.events[-1])
            conn.execute(
                insert(schema.events).values(
                    seq=size,
                    event_id=envelope.event.id,
                    type=envelope.event.type,
                    actor=envelope.event.actor,
                    key_id=envelope.event.key,
                    time_ns=envelope.event.time_ns,
                    envelope=envelope.leaf,
                )
            )
    before = _rows(ledger)
    with pytest.raises(StorageError) as caught:
        ledger.rebuild()
    assert caught.value.code == "rebuild.log_mismatch"
    assert caught.value.context["index"] == (3 if tampering == "deleted_leaf" else size)
    assert _rows(ledger) == before
    result = CliRunner().invoke(app, ["rebuild", "--db", db_url])
    assert result.exit_code == 1
    assert "error: rebuild.log_mismatch" in result.output


def test_rebuild_reports_the_differences_it_repairs(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world = _held_lot_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.lots).where(schema.lots.c.id == "LOT-EDITED").values(holder="trader"))
        conn.execute(delete(schema.sites).where(schema.sites.c.id == "vault-1"))
    result = CliRunner().invoke(app, ["rebuild", "--db", db_url])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == {
        "replayed": len(world.events),
        "repaired": [
            "sites row vault-1 is in the rebuilt state but not in the stored",
            "lots row LOT-EDITED: holder is 'trader' in the stored state, 'miner' in the rebuilt",
        ],
    }
    assert audit(db=db_url, replay=True).ok


def test_the_replay_judges_each_event_at_the_time_its_checkpoint_was_signed(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    world = basic_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    # Dated ten minutes after the ledger's clock, logged behind the rules under a checkpoint signed at it.
    world.now_ns = fixed_clock() + 10 * 60 * 1_000_000_000
    world.produce("miner", "LOT-FUTURE", "mine-a", "1.00", stones=1)
    log_behind_the_rules(ledger, world.events[-1:])
    leaf = len(world.events) - 1
    report = audit(db=db_url, replay=True)
    assert (report.faults[0].code, report.faults[0].leaf, report.faults[0].rule) == (
        "audit.replay_refused",
        leaf,
        "envelope.clock_skew",
    )
    # Judged by its declared time instead (what a mirror without logged times allows), it passes.
    assert audit(db=db_url, replay=True, logged_time=declared_time).faults[0].code == "audit.state_missing"


class MemoryTiles:
    """The ``TileSource`` port over files held in memory (as an HTTP mirror's fetches would be)."""

    name = "memory"

    def __init__(self, root: Path) -> None:
        self.files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def checkpoint_paths(self) -> list[str]:
        return sorted(p for p in self.files if p.startswith("checkpoints/"))


def test_any_tile_source_is_audited_and_replayed_like_a_folder(
    sqlite_url: str, open_ledger: Callable[[str], Ledger], tmp_path: Path
) -> None:
    world = _held_lot_world()
    ledger = open_ledger(sqlite_url)
    _submit(ledger, world.events)
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.lots).where(schema.lots.c.id == "LOT-EDITED").values(holder="trader"))
    world.ship("trader", "shp-stolen", ["LOT-EDITED"], "cutter")
    _submit(ledger, world.events[-1:])
    ledger.export_tiles(tmp_path / "tiles")
    source = MemoryTiles(tmp_path / "tiles")
    report = audit(tiles=source, vkey=ledger.vkey, replay=True)
    folder = audit(tiles=tmp_path / "tiles", vkey=ledger.vkey, replay=True)
    assert report.source == "memory"
    assert [f.to_json() for f in report.faults] == [f.to_json() for f in folder.faults]
    assert [(f.code, f.rule) for f in report.faults] == [("audit.replay_refused", "custody.not_holder")]
    del source.files["tile/entries/000.p/" + str(ledger.size)]
    assert "audit.bundle" in {f.code for f in audit(tiles=source, vkey=ledger.vkey).faults}
