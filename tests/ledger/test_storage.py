"""The storage suite: one set of tests, run on SQLite and on PostgreSQL through the ``db_url`` parameter.

It defends what the store promises: the genesis is leaf 0 and comes once, the schema version is recorded
and a newer one refused, accepted events survive a reopen, ``rebuild`` derives every state table from the
events alone (and notices an altered event), resubmission is idempotent, and batches are atomic or not as
asked, whatever their size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from adamas import ConflictError, InputError, KeyPair, Ledger, NotFoundError, StorageError
from adamas.crypto import canonicalize
from adamas.ledger import ledger as ledger_module
from adamas.sim import World, demo_world
from adamas.store import SCHEMA_VERSION
from adamas.store import schema as tables
from adamas.store.database import open_engine, read_meta
from conftest import basic_world, fixed_clock

OpenLedger = Callable[[str], Ledger]
Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine, *, with_events: bool = False) -> Snapshot:
    """Every row of every state table (and of ``events`` if asked), ordered by primary key."""
    wanted = [*tables.STATE_TABLES, *([tables.events] if with_events else [])]
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in wanted
        }


def leaf_hash(envelope: dict[str, Any]) -> bytes:
    return hashlib.sha256(b"\x00" + canonicalize(envelope)).digest()


def flagged_world() -> World:
    """The basic world, then one rough lot cut and graded so that every kind of flag is raised once:
    a receipt with a broken seal, a polished yield above 55%, a weight mismatch on arrival, a grading report
    whose carats differ from the lot's, and a report saying ``natural: false``."""
    w = basic_world()
    w.produce("miner", "FL-1", "mine-a", "10.00", stones=3, value="900.00")
    w.ship("miner", "shp-fl-1", ["FL-1"], "cutter", seal="BW-SEAL-1")
    w.receive("cutter", "shp-fl-1", {"FL-1": "10.00"}, seal_intact=False)
    w.manufacture("cutter", "FL-1", {"FL-1-P": "6.00"}, remainder={"FL-1-R": "2.00"})
    w.ship("cutter", "shp-fl-2", ["FL-1-P"], "lab")
    w.receive("lab", "shp-fl-2", {"FL-1-P": "5.98"})
    w.grade("lab", "FL-1-P", "LAB-0001", "6.10", natural=False, color="D")
    return w


def submit_all(ledger: Ledger, envelopes: list[dict[str, Any]]) -> None:
    outcomes = ledger.submit(envelopes)
    refused = [o.to_json() for o in outcomes if o.status != "accepted"]
    assert not refused


# --- genesis and opening ------------------------------------------------------------------------------------


def test_init_writes_genesis_as_leaf_zero_and_refuses_a_second_init(db_url: str) -> None:
    admin = KeyPair.from_seed(hashlib.sha256(b"storage-admin").digest())
    with Ledger.init(db_url, admin_key=admin, clock=fixed_clock) as ledger:
        assert ledger.size == 1
        with ledger.engine.connect() as conn:
            rows = conn.execute(select(tables.events)).all()
        assert [(r.seq, r.type, r.actor, r.key_id) for r in rows] == [(0, "genesis", "admin", admin.id)]
        with ledger.engine.connect() as conn:
            admins = conn.execute(select(tables.participants.c.id, tables.participants.c.roles)).all()
        assert [tuple(a) for a in admins] == [("admin", "administrator")]

    other = KeyPair.from_seed(hashlib.sha256(b"another-admin").digest())
    for key in (admin, other):
        with pytest.raises(ConflictError) as caught:
            Ledger.init(db_url, admin_key=key, clock=fixed_clock)
        assert caught.value.code == "ledger.exists"
    with Ledger.open(db_url, clock=fixed_clock) as ledger:
        assert ledger.size == 1


def test_open_refuses_an_empty_database(db_url: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        Ledger.open(db_url, clock=fixed_clock)
    assert caught.value.code == "ledger.not_found"
    assert caught.value.field == "db"


def test_open_with_create_makes_an_empty_ledger_awaiting_genesis(
    db_url: str, open_ledger: OpenLedger
) -> None:
    ledger = open_ledger(db_url)
    assert ledger.size == 0
    with Ledger.open(db_url, clock=fixed_clock) as again:
        assert again.size == 0


def test_schema_version_is_recorded(db_url: str, open_ledger: OpenLedger) -> None:
    ledger = open_ledger(db_url)
    meta = read_meta(ledger.engine)
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["head"] == "0"


def _set_schema_version(engine: Engine, version: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(tables.meta).where(tables.meta.c.name == "schema_version").values(value=str(version))
        )


@pytest.fixture
def opened_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Engine]]:
    """Every engine ``Ledger.open`` creates during the test; all disposed at teardown, so that a connection
    a refused open leaves behind cannot surface later as another test's ``ResourceWarning``."""
    engines: list[Engine] = []

    def recording_open_engine(url: str) -> Engine:
        engine = open_engine(url)
        engines.append(engine)
        return engine

    monkeypatch.setattr(ledger_module, "open_engine", recording_open_engine)
    yield engines
    for engine in engines:
        engine.dispose()


def test_database_with_newer_schema_is_refused(db_url: str, opened_engines: list[Engine]) -> None:
    with Ledger.open(db_url, create=True, clock=fixed_clock) as ledger:
        _set_schema_version(ledger.engine, SCHEMA_VERSION + 1)
    for create in (False, True):
        with pytest.raises(StorageError) as caught:
            Ledger.open(db_url, create=create, clock=fixed_clock)
        assert caught.value.code == "storage.schema_too_new"
        assert str(SCHEMA_VERSION + 1) in caught.value.message


def test_refused_open_releases_its_connections(db_url: str, opened_engines: list[Engine]) -> None:
    with Ledger.open(db_url, create=True, clock=fixed_clock) as ledger:
        _set_schema_version(ledger.engine, SCHEMA_VERSION + 1)
    with pytest.raises(StorageError):
        Ledger.open(db_url, clock=fixed_clock)
    refused = opened_engines[-1]
    assert refused.pool.checkedin() == 0, "the refused open left an idle connection in its pool"


def test_database_with_current_schema_opens(db_url: str) -> None:
    with Ledger.open(db_url, create=True, clock=fixed_clock) as ledger:
        _set_schema_version(ledger.engine, SCHEMA_VERSION)
    with Ledger.open(db_url, clock=fixed_clock) as ledger:
        assert ledger.size == 0
        assert read_meta(ledger.engine)["schema_version"] == str(SCHEMA_VERSION)


# --- the demo world, durability, rebuild --------------------------------------------------------------------


def test_demo_world_is_accepted_whole_in_order(db_url: str, open_ledger: OpenLedger) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    outcomes = ledger.submit(world.events)
    assert [(o.position, o.status, o.index) for o in outcomes] == [
        (i, "accepted", i) for i in range(len(world.events))
    ]
    assert [o.event_id for o in outcomes] == [e["body"]["id"] for e in world.events]
    assert [o.leaf_hash for o in outcomes] == [leaf_hash(e) for e in world.events]
    assert ledger.size == len(world.events)
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(tables.events.c.seq, tables.events.c.envelope).order_by("seq")).all()
    # The leaf is the canonical bytes of the whole envelope, exactly as signed.
    assert [bytes(row.envelope) for row in stored] == [canonicalize(e) for e in world.events]


def _all_lot_ids(ledger: Ledger) -> list[str]:
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(tables.lots.c.id).order_by(tables.lots.c.id)).scalars())


def test_demo_world_survives_close_and_reopen(db_url: str) -> None:
    world, star = demo_world()
    with Ledger.open(db_url, create=True, clock=fixed_clock) as ledger:
        submit_all(ledger, world.events)
        size = ledger.size
        lot_ids = _all_lot_ids(ledger)
        views = {lot_id: ledger.lot(lot_id) for lot_id in lot_ids}
        histories = {lot_id: ledger.history(lot_id) for lot_id in lot_ids}
        trace = ledger.trace(star)
        before = snapshot(ledger.engine, with_events=True)

    with Ledger.open(db_url, clock=fixed_clock) as reopened:
        assert reopened.size == size == len(world.events)
        assert _all_lot_ids(reopened) == lot_ids
        assert {lot_id: reopened.lot(lot_id) for lot_id in lot_ids} == views
        assert {lot_id: reopened.history(lot_id) for lot_id in lot_ids} == histories
        assert reopened.trace(star) == trace
        assert snapshot(reopened.engine, with_events=True) == before


def test_rebuild_reproduces_every_state_table_of_the_demo_world(db_url: str, open_ledger: OpenLedger) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    submit_all(ledger, world.events)
    before = snapshot(ledger.engine, with_events=True)
    assert all(before[t.name] for t in tables.STATE_TABLES if t not in (tables.flags, tables.backfills))

    progress: list[tuple[int, int]] = []
    assert ledger.rebuild(progress=lambda done, total: progress.append((done, total))) == len(world.events)
    assert progress[-1] == (len(world.events), len(world.events))
    assert snapshot(ledger.engine, with_events=True) == before


def test_rebuild_reproduces_flags_and_repairs_tampered_state(db_url: str, open_ledger: OpenLedger) -> None:
    world = flagged_world()
    ledger = open_ledger(db_url)
    submit_all(ledger, world.events)
    before = snapshot(ledger.engine, with_events=True)
    flags = {(row[3], row[5]) for row in before["flags"]}  # (code, lot)
    assert flags == {
        ("receive.seal_broken", None),
        ("manufacture.high_yield", "FL-1"),
        ("receive.weight_mismatch", "FL-1-P"),
        ("grade.weight_mismatch", "FL-1-P"),
        ("grade.not_natural", "FL-1-P"),
    }
    # Two flags of one event are told apart by their ordinal.
    grade_seq = len(world.events) - 1
    assert [(row[0], row[1]) for row in before["flags"] if row[0] == grade_seq] == [
        (grade_seq, 0),
        (grade_seq, 1),
    ]

    # Derived state altered behind the ledger's back is recomputed from the events.
    with ledger.engine.begin() as conn:
        conn.execute(
            update(tables.lots).where(tables.lots.c.id == "FL-1-P").values(holder="nobody", carats=1)
        )
        conn.execute(tables.flags.delete())
    assert snapshot(ledger.engine, with_events=True) != before

    assert ledger.rebuild() == len(world.events)
    assert snapshot(ledger.engine, with_events=True) == before
    assert ledger.lot("FL-1-P").holder == "lab"


# --- idempotency and batches --------------------------------------------------------------------------------


def test_resubmitting_the_world_returns_duplicates_and_writes_nothing(
    db_url: str, open_ledger: OpenLedger
) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    first = ledger.submit(world.events)
    before = snapshot(ledger.engine, with_events=True)
    meta = read_meta(ledger.engine)

    for mode in ("atomic", "proceed"):
        again = ledger.submit(world.events, mode=mode)
        assert [(o.status, o.index, o.leaf_hash, o.event_id) for o in again] == [
            ("duplicate", o.index, o.leaf_hash, o.event_id) for o in first
        ]
        assert all(o.ok and o.error is None for o in again)
    # As raw canonical bytes too: the same leaf is the same event.
    assert [o.status for o in ledger.submit([canonicalize(e) for e in world.events])] == ["duplicate"] * len(
        first
    )

    assert ledger.size == len(world.events)
    assert read_meta(ledger.engine) == meta
    assert snapshot(ledger.engine, with_events=True) == before


def test_same_event_id_with_other_content_is_refused(db_url: str, open_ledger: OpenLedger) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    submit_all(ledger, world.events)
    before = snapshot(ledger.engine, with_events=True)
    original = next(e for e in world.events if e["body"]["type"] == "lot.ship")
    body = dict(original["body"], seal="OTHER-SEAL")
    signer = world.actors[body["actor"]].key
    altered = {"body": body, "sig": signer.sign(canonicalize(body))}

    (outcome,) = ledger.submit([altered])
    assert outcome.status == "refused"
    assert outcome.error is not None
    assert outcome.error.code == "event.duplicate_id"
    assert snapshot(ledger.engine, with_events=True) == before


def _mixed_batch() -> tuple[World, list[dict[str, Any]], list[dict[str, Any]]]:
    """A base world with one lot, and a batch: a good split, a bad split, a good split of the same lot
    (reusing the ids the bad one tried), then a malformed envelope."""
    w = basic_world()
    w.produce("miner", "L-1", "mine-a", "100.00", stones=20)
    base = list(w.events)
    w.split("miner", "L-1", {"L-1-A": "40.00", "L-1-B": "60.00"})
    w.split("miner", "L-1-B", {"L-1-B1": "30.00", "L-1-B2": "29.00"})  # 59 of 60 ct: not conserved
    w.split("miner", "L-1-B", {"L-1-B1": "30.00", "L-1-B2": "30.00"})
    return w, base, w.events[len(base) :]


def test_atomic_batch_with_a_refusal_writes_nothing(db_url: str, open_ledger: OpenLedger) -> None:
    _, base, batch = _mixed_batch()
    ledger = open_ledger(db_url)
    submit_all(ledger, base)
    before = snapshot(ledger.engine, with_events=True)

    outcomes = ledger.submit([*batch, b"not json"])
    assert [o.status for o in outcomes] == ["not_written", "refused", "not_written", "refused"]
    codes = [o.error.code if o.error else None for o in outcomes]
    assert codes == ["batch.aborted", "mass.not_conserved", "batch.aborted", "envelope.malformed"]
    assert all(o.index is None for o in outcomes)
    assert ledger.size == len(base)
    assert snapshot(ledger.engine, with_events=True) == before
    with pytest.raises(NotFoundError):
        ledger.lot("L-1-A")


def test_proceed_batch_keeps_the_valid_envelopes(db_url: str, open_ledger: OpenLedger) -> None:
    _, base, batch = _mixed_batch()
    ledger = open_ledger(db_url)
    submit_all(ledger, base)

    outcomes = ledger.submit([*batch, b"not json"], mode="proceed")
    n = len(base)
    assert [(o.status, o.index) for o in outcomes] == [
        ("accepted", n),
        ("refused", None),
        ("accepted", n + 1),
        ("refused", None),
    ]
    assert [o.error.code for o in outcomes if o.error] == ["mass.not_conserved", "envelope.malformed"]
    assert ledger.size == n + 2
    # The refused split left nothing behind: its ids were free for the next one.
    assert ledger.lot("L-1-B").state == "consumed"
    assert [ledger.lot(i).carats for i in ("L-1-A", "L-1-B1", "L-1-B2")] == [40, 30, 30]
    with ledger.engine.connect() as conn:
        logged = list(
            conn.execute(
                select(tables.events.c.event_id).where(tables.events.c.seq >= n).order_by(tables.events.c.seq)
            ).scalars()
        )
    assert logged == [batch[0]["body"]["id"], batch[2]["body"]["id"]]


def test_unknown_batch_mode_is_refused(db_url: str, open_ledger: OpenLedger) -> None:
    ledger = open_ledger(db_url)
    with pytest.raises(InputError) as caught:
        ledger.submit([b"{}"], mode="sometimes")  # type: ignore[arg-type]
    assert caught.value.code == "submit.bad_mode"
    assert ledger.size == 0


SPLITS = 2000


@pytest.mark.slow
def test_batch_of_two_thousand_splits(db_url: str, open_ledger: OpenLedger) -> None:
    """Thousands of events in one batch, each touching lots made earlier in the same batch: every bulk read
    (known ids, preloaded lots) spans several IN-list chunks, and the replay spans several chunks too."""
    w = basic_world()
    w.produce("miner", "BIG", "mine-a", "5000.00", stones=5000)
    base = list(w.events)
    rest = "BIG"
    for i in range(SPLITS):
        remainder = f"BIG-R{i:04d}"
        w.split("miner", rest, {f"BIG-S{i:04d}": "1.00", remainder: format(5000 - i - 1, ".2f")})
        rest = remainder
    batch = w.events[len(base) :]
    ledger = open_ledger(db_url)
    submit_all(ledger, base)

    outcomes = ledger.submit(batch)
    assert [(o.status, o.index) for o in outcomes] == [("accepted", len(base) + i) for i in range(SPLITS)]
    assert ledger.size == len(base) + SPLITS
    lots = tables.lots
    with ledger.engine.connect() as conn:
        held = conn.execute(select(func.count(), func.sum(lots.c.carats)).where(lots.c.state == "held")).one()
    assert tuple(held) == (SPLITS + 1, 5000_00)
    assert ledger.lot(rest).carats == 5000 - SPLITS
    assert ledger.lot(rest).origin[0].carats == 5000 - SPLITS
    assert len(ledger.history(rest)) == 1

    again = ledger.submit(batch)
    assert {o.status for o in again} == {"duplicate"}
    before = snapshot(ledger.engine, with_events=True)
    assert ledger.rebuild() == len(base) + SPLITS
    assert snapshot(ledger.engine, with_events=True) == before


# --- tampering ----------------------------------------------------------------------------------------------


def _one_carat_more(envelope: bytes) -> bytes:
    assert envelope.count(b'"300.00"') == 1
    return envelope.replace(b'"300.00"', b'"301.00"')


TAMPERINGS = {
    "changed_carat": (_one_carat_more, {"storage.replay_refused", "storage.corrupt_event"}),
    "not_json": (lambda _: b'{"body":', {"storage.corrupt_event"}),
    "unsigned": (
        lambda env: env.replace(b'"sig":"', b'"sig":"A'),
        {"storage.corrupt_event", "storage.replay_refused"},
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_rebuild_refuses_an_altered_event_naming_its_leaf(
    db_url: str, open_ledger: OpenLedger, tampering: str
) -> None:
    alter, codes = TAMPERINGS[tampering]
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    submit_all(ledger, world.events)
    seq = next(
        i
        for i, e in enumerate(world.events)
        if e["body"]["type"] == "lot.split" and e["body"]["lot"] == "JW-2026-0001"
    )
    ev = tables.events
    with ledger.engine.begin() as conn:
        stored = bytes(conn.execute(select(ev.c.envelope).where(ev.c.seq == seq)).scalar_one())
        conn.execute(update(ev).where(ev.c.seq == seq).values(envelope=alter(stored)))
    before = snapshot(ledger.engine, with_events=True)

    with pytest.raises(StorageError) as caught:
        ledger.rebuild()
    assert caught.value.code in codes
    assert caught.value.context["index"] == seq
    assert f"leaf {seq}" in caught.value.message
    # The failed rebuild rolled back: the state is as it was.
    assert snapshot(ledger.engine, with_events=True) == before
