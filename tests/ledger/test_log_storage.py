"""The log inside the ledger database, on SQLite and PostgreSQL: the stored tree, the schema 1 -> 2 migration
that backfills it, the checkpoints signed per batch (and the refusal to sign over a corrupted tree), the
log key and origin, and the tiles export.

The stored tree is held to ``adamas.log``'s pure ``MemoryHashStore`` for every batching of the leaves, and to
one query per proof.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, event, func, inspect, select, text, update

from adamas import ConflictError, InputError, KeyPair, Ledger, StorageError, VerificationError, audit
from adamas.ledger.export import checkpoint_path
from adamas.log import (
    Checkpoint,
    MemoryHashStore,
    Signer,
    TileHashReader,
    Verifier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    open_checkpoint,
    root_from_leaf_hashes,
    sign_checkpoint,
    tiles_for_size,
    tree_root,
    verify_consistency,
)
from adamas.model.values import format_time_ns
from adamas.sim import World
from adamas.store import schema as tables
from adamas.store.database import begin_write, open_engine, read_meta
from adamas.store.rows import history_seqs
from adamas.store.tree import (
    StoredHashReader,
    append_leaves,
    decode_tile,
    encode_tile,
    stored_size,
    tile_parts,
)
from conftest import basic_world, fixed_clock
from log_helpers import (
    LOT_EVENTS_V6,
    ORIGIN,
    DirectoryFetcher,
    as_schema_five,
    as_schema_six,
    build_ledger,
    signed_events,
)


def _leaves(count: int, seed: int = 0) -> list[bytes]:
    return [leaf_hash(f"leaf {seed} {i}".encode()) for i in range(count)]


def _grow(
    engine: Engine, batches: list[int], *, check_proofs: bool = True
) -> tuple[MemoryHashStore, list[bytes]]:
    """Append leaves in the given batch sizes to an empty stored tree; check every batch against the pure
    tree (root and, unless told not to, each new leaf's proof); return the pure tree and the leaves."""
    memory = MemoryHashStore()
    leaves = _leaves(sum(batches))
    size = 0
    with begin_write(engine) as conn:
        for count in batches:
            growth = append_leaves(conn, size, leaves[size : size + count])
            memory.extend(leaves[size : size + count])
            size += count
            assert growth.root == tree_root(size, memory)
            if check_proofs:
                assert [list(growth.proof(i)) for i in range(size - count, size)] == [
                    inclusion_proof(i, size, memory) for i in range(size - count, size)
                ]
    return memory, leaves


# --- the stored tree ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_tree_equals_the_pure_tree_for_any_batching(db_url: str, seed: int) -> None:
    rnd = random.Random(seed)
    batches = [rnd.choice([1, 1, 2, 3, 5, 64, 255, 256, 257, 600]) for _ in range(40)]
    Ledger.open(db_url, create=True, clock=fixed_clock).close()
    engine = open_engine(db_url)
    try:
        memory, _ = _grow(engine, batches)
        size = sum(batches)
        with engine.connect() as conn:
            assert stored_size(conn) == size
            reader = StoredHashReader(conn, cache=False)
            for _ in range(200):
                n = rnd.randint(1, size)
                i, m = rnd.randrange(n), rnd.randint(0, n)
                assert inclusion_proof(i, n, reader) == inclusion_proof(i, n, memory)
                assert consistency_proof(m, n, reader) == consistency_proof(m, n, memory)
            stored_rows = conn.execute(select(func.count()).select_from(tables.log_tiles)).scalar_one()
        assert stored_rows == len(tiles_for_size(size))
    finally:
        engine.dispose()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=12))
def test_any_sequence_of_appends_gives_the_rfc9162_tree(batches: list[int]) -> None:
    engine = create_engine("sqlite://")
    tables.metadata.create_all(engine)
    try:
        memory, leaves = _grow(engine, batches)
        assert tree_root(len(leaves), memory) == root_from_leaf_hashes(leaves)
    finally:
        engine.dispose()


def test_a_proof_costs_one_query_on_the_tree(db_url: str) -> None:
    Ledger.open(db_url, create=True, clock=fixed_clock).close()
    engine = open_engine(db_url)
    statements: list[str] = []
    try:
        memory, _ = _grow(engine, [70_000, 1_234], check_proofs=False)
        size = 71_234
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        rnd = random.Random(3)
        with engine.connect() as conn:
            for _ in range(20):
                index = rnd.randrange(size - 1)
                reader = StoredHashReader(conn, cache=False)
                statements.clear()
                assert inclusion_proof(index, size, reader) == inclusion_proof(index, size, memory)
                assert consistency_proof(index + 1, size, reader) == consistency_proof(
                    index + 1, size, memory
                )
                # One SELECT per proof, whatever the size (BEGIN is not a query on the tree).
                assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
    finally:
        engine.dispose()


# --- checkpoints --------------------------------------------------------------------------------------------


def _checkpoints(ledger: Ledger) -> list[tuple[int, str]]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(tables.log_checkpoints.c.size, tables.log_checkpoints.c.note).order_by("size")
        )
        return [(int(r.size), str(r.note)) for r in rows]


def test_every_accepting_batch_signs_one_checkpoint_consistent_with_the_last(db_url: str) -> None:
    with build_ledger(db_url, 260, batch=50) as ledger:
        stored = _checkpoints(ledger)
        assert [size for size, _ in stored] == [50, 100, 150, 200, 250, 260]
        verifier = Verifier.from_vkey(ledger.vkey)
        opened = [
            open_checkpoint(note.encode(), origin=ORIGIN, verifiers=[verifier])[0] for _, note in stored
        ]
        leaves = [leaf_hash(_canonical(e)) for e in signed_events(260)]
        for old, new in itertools.pairwise(opened):
            assert old.root_hash == root_from_leaf_hashes(leaves[: old.size])
            proof = ledger.consistency(old.size, new.size)
            verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)
        assert ledger.checkpoint() == stored[-1][1]
        assert ledger.checkpoint(size=100) == stored[1][1]


def _canonical(envelope: dict[str, Any]) -> bytes:
    from adamas.crypto import canonicalize

    return canonicalize(envelope)


def test_batches_that_accept_nothing_sign_nothing(db_url: str) -> None:
    with build_ledger(db_url, 30) as ledger:
        before = _checkpoints(ledger)
        duplicates = ledger.submit(list(signed_events(30)[10:20]))
        assert {o.status for o in duplicates} == {"duplicate"}
        bad = dict(signed_events(31)[30])
        bad["sig"] = signed_events(30)[29]["sig"]
        refused = ledger.submit([bad])
        assert refused[0].status == "refused"
        assert _checkpoints(ledger) == before


def test_the_log_refuses_to_sign_a_tree_inconsistent_with_its_last_checkpoint(db_url: str) -> None:
    with build_ledger(db_url, 40) as ledger:
        # Leaf 1 replaced in the stored tree, every stored hash above it recomputed to match.
        with ledger.engine.begin() as conn:
            data = conn.execute(
                select(tables.log_tiles.c.hashes).where(tables.log_tiles.c.level == 0)
            ).scalar_one()
            hashes = decode_tile(40, bytes(data))[0]
            hashes[1] = leaf_hash(b"another leaf 1")
            forged = encode_tile(tile_parts(hashes))
            conn.execute(update(tables.log_tiles).where(tables.log_tiles.c.level == 0).values(hashes=forged))
        with pytest.raises(VerificationError) as caught:
            ledger.submit([signed_events(41)[40]])
        assert caught.value.code == "log.root_mismatch"
        assert ledger.size == 40
        assert [size for size, _ in _checkpoints(ledger)] == [40]


def test_the_log_refuses_to_sign_after_a_forged_checkpoint(db_url: str) -> None:
    with build_ledger(db_url, 40) as ledger:
        size, _ = _checkpoints(ledger)[-1]
        forged = sign_checkpoint(Checkpoint(ORIGIN, size, b"\x01" * 32), [Signer.generate(ORIGIN)])
        with ledger.engine.begin() as conn:
            conn.execute(update(tables.log_checkpoints).values(note=forged.decode()))
        with pytest.raises(VerificationError) as caught:
            ledger.submit([signed_events(41)[40]])
        assert caught.value.code in {"note.unverified", "note.bad_signature"}
        assert ledger.size == 40


def test_origin_is_chosen_once(db_url: str) -> None:
    admin = KeyPair.from_seed(hashlib.sha256(b"origin-admin").digest())
    with Ledger.init(db_url, admin_key=admin, clock=fixed_clock, origin=ORIGIN) as ledger:
        assert ledger.origin == ORIGIN
        assert ledger.vkey.startswith(ORIGIN + "+")
        assert Checkpoint.from_text(ledger.checkpoint().split("\n\n")[0] + "\n").origin == ORIGIN
        vkey = ledger.vkey
    with Ledger.open(db_url, clock=fixed_clock) as again:
        assert again.vkey == vkey
    with pytest.raises(ConflictError) as caught:
        Ledger.open(db_url, clock=fixed_clock, origin="elsewhere.example/log")
    assert caught.value.code == "log.origin_mismatch"


@pytest.mark.parametrize("origin", ["", "two words", "a+b", "line\nbreak"])
def test_an_origin_that_cannot_be_a_key_name_is_refused(sqlite_url: str, origin: str) -> None:
    with pytest.raises(InputError) as caught:
        Ledger.open(sqlite_url, create=True, clock=fixed_clock, origin=origin)
    assert caught.value.code == "log.origin"


def test_default_origin_is_unique_per_ledger(tmp_path: Path) -> None:
    origins = set()
    for name in ("a", "b"):
        with Ledger.open(f"sqlite:///{tmp_path / name}.db", create=True, clock=fixed_clock) as ledger:
            origins.add(ledger.origin)
    assert len(origins) == 2
    assert all(o.startswith("adamas.local/") for o in origins)


# --- the schema 1 -> 2 migration ----------------------------------------------------------------------------


def _as_schema_two(engine: Engine) -> None:
    """Turn a current ledger into what schema version 2 stored: no logged times, compromise marks, stone
    bounds or backfill windows."""
    as_schema_five(engine)
    with engine.begin() as conn:
        for table, column in (
            ("events", "logged_ns"),
            ("events", "backfill"),
            ("keys", "compromised"),
            ("lots", "largest"),
        ):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        tables.backfills.drop(conn)
        conn.execute(update(tables.meta).where(tables.meta.c.name == "schema_version").values(value="2"))


def _as_schema_one(engine: Engine) -> None:
    """Turn a current ledger into what schema version 1 stored: no tree, no checkpoints, no log key."""
    _as_schema_two(engine)
    with engine.begin() as conn:
        for table in tables.LOG_TABLES:
            table.drop(conn)
        conn.execute(delete(tables.meta).where(tables.meta.c.name.in_(["log_origin", "log_skey"])))
        conn.execute(update(tables.meta).where(tables.meta.c.name == "schema_version").values(value="1"))


def test_migration_from_schema_one_backfills_the_tree_and_signs_it(db_url: str) -> None:
    with build_ledger(db_url, 300) as ledger:
        root = tree_root(300, _memory(ledger.engine))
        _as_schema_one(ledger.engine)
    with Ledger.open(db_url, clock=fixed_clock) as migrated:
        meta = read_meta(migrated.engine)
        assert meta["schema_version"] == str(tables.SCHEMA_VERSION)
        note = migrated.checkpoint()
        checkpoint, _ = open_checkpoint(
            note.encode(), origin=migrated.origin, verifiers=[Verifier.from_vkey(migrated.vkey)]
        )
        assert (checkpoint.size, checkpoint.root_hash) == (300, root)
        assert _checkpoints(migrated) == [(300, note)]
        vkey = migrated.vkey
        # The migrated log keeps growing like any other.
        outcomes = migrated.submit(list(signed_events(310)[300:]))
        assert all(o.status == "accepted" for o in outcomes)
        assert outcomes[-1].receipt is not None
        outcomes[-1].receipt.verify(vkey)
    report = audit(db=db_url, vkey=vkey)
    assert report.ok, report.faults
    assert report.size == 310


def test_migration_refuses_an_event_that_does_not_match_its_leaf_hash(db_url: str) -> None:
    with build_ledger(db_url, 20) as ledger:
        _as_schema_one(ledger.engine)
        with ledger.engine.begin() as conn:
            conn.execute(
                text("UPDATE events SET leaf_hash = :digest WHERE seq = 7"), {"digest": b"\x00" * 32}
            )
    with pytest.raises(StorageError) as caught:
        Ledger.open(db_url, clock=fixed_clock)
    assert caught.value.code == "storage.corrupt_event"
    assert caught.value.context["index"] == 7


def _memory(engine: Engine) -> MemoryHashStore:
    with engine.connect() as conn:
        digests = conn.execute(select(tables.events.c.envelope).order_by(tables.events.c.seq)).scalars()
        return MemoryHashStore.from_leaf_hashes(leaf_hash(bytes(d)) for d in digests)


# --- receipts -----------------------------------------------------------------------------------------------


def test_accepted_and_duplicate_outcomes_carry_receipts_that_verify_offline(db_url: str) -> None:
    with build_ledger(db_url, 50) as ledger:
        vkey = ledger.vkey
        outcomes = ledger.submit(list(signed_events(60)[45:]))
    assert [o.status for o in outcomes] == ["duplicate"] * 5 + ["accepted"] * 10
    for number, outcome in enumerate(outcomes):
        receipt = outcome.receipt
        assert receipt is not None
        assert receipt.index == 45 + number
        checkpoint = receipt.verify(vkey, envelope=_canonical(signed_events(60)[45 + number]))
        assert checkpoint.size == 60
        line = outcome.to_json()
        assert {"index", "leaf_hash", "checkpoint", "inclusion_proof"} <= set(line)
        assert type(receipt).from_json(line) == receipt


def test_ledger_receipt_and_prove_agree(db_url: str) -> None:
    with build_ledger(db_url, 70) as ledger:
        receipt = ledger.receipt(12)
        assert list(receipt.inclusion_proof) == ledger.prove(12) == ledger.prove(12, size=70)
        receipt.verify(ledger.vkey)
        with pytest.raises(InputError) as caught:
            ledger.prove(1, size=71)
        assert caught.value.code == "log.size_order"


# --- tiles export -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [255, 256, 300, 512, 700])
def test_exported_tiles_reproduce_the_database_root(db_url: str, tmp_path: Path, size: int) -> None:
    with build_ledger(db_url, size, batch=97) as ledger:
        with ledger.engine.connect() as conn:
            root = tree_root(size, StoredHashReader(conn))
        summary = ledger.export_tiles(tmp_path / "tiles")
        vkey = ledger.vkey
        sizes = [s for s, _ in _checkpoints(ledger)]
    assert summary.size == size
    assert tree_root(size, TileHashReader(size, DirectoryFetcher(tmp_path / "tiles"))) == root
    note = (tmp_path / "tiles" / "checkpoint").read_bytes()
    checkpoint, _ = open_checkpoint(note, origin=ORIGIN, verifiers=[Verifier.from_vkey(vkey)])
    assert (checkpoint.size, checkpoint.root_hash) == (size, root)
    for old in sizes:
        assert (tmp_path / "tiles" / checkpoint_path(old)).is_file()
    report = audit(tiles=tmp_path / "tiles", vkey=vkey)
    assert report.ok, report.faults
    assert report.checkpoints == len(sizes) + 1


def test_exporting_again_writes_only_what_is_new_and_never_changes_a_tile(
    db_url: str, tmp_path: Path
) -> None:
    with build_ledger(db_url, 300) as ledger:
        first = ledger.export_tiles(tmp_path)
        again = ledger.export_tiles(tmp_path)
        assert (again.tiles, again.bundles, again.checkpoints) == (0, 0, 0)
        assert again.unchanged == first.tiles + first.bundles + first.checkpoints
        ledger.submit(list(signed_events(320)[300:]))
        grown = ledger.export_tiles(tmp_path)
        assert grown.size == 320 and grown.checkpoints == 1
        full = tmp_path / "tile" / "0" / "000"
        full.write_bytes(b"\x00" + full.read_bytes()[1:])
        with pytest.raises(ConflictError) as caught:
            ledger.export_tiles(tmp_path)
        assert caught.value.code == "log.tile_changed"


# --- the schema 5 -> 6 migration ----------------------------------------------------------------------------


def _stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables versions 6 and 7 laid out anew, in key order, and every (lot, leaf) pair of
    the lots' histories."""
    with engine.connect() as conn:
        stored = {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))]
            for table in (tables.events, tables.lot_edges)
        }
        lots = conn.execute(select(tables.lots.c.id, tables.lots.c.history).order_by(tables.lots.c.id))
        stored["lot events"] = [(row.id, seq) for row in lots for seq in history_seqs(row.history)]
    return stored


def _shipped_world() -> World:
    """A lot produced, split in two, and one half shipped (not yet received): histories and edges to keep."""
    w = basic_world()
    w.produce("miner", "LOT-1", "mine-a", "10.00", stones=4)
    w.split("miner", "LOT-1", {"LOT-1a": "6.00", "LOT-1b": "4.00"}, stones={"LOT-1a": 2, "LOT-1b": 2})
    w.ship("miner", "s-1", ["LOT-1a"], "trader")
    return w


def test_migration_from_schema_five_keeps_every_event_lot_event_and_edge(db_url: str) -> None:
    """Version 6 drops the leaf-hash column and the (key, time) index, and (SQLite) lays the events and
    lot edges out anew; version 7 folds the lot events into the lots' histories: every row survives byte
    for byte, the audit still passes, and the ledger reads and grows as before."""
    w = _shipped_world()
    with Ledger.open(db_url, create=True, clock=fixed_clock, origin=ORIGIN) as ledger:
        assert all(o.ok for o in ledger.submit(w.events))
        before = _stored(ledger.engine)
        history = ledger.history("LOT-1a")
        trace = ledger.trace("LOT-1a")
        vkey = ledger.vkey
        as_schema_five(ledger.engine)
        columns = {c["name"] for c in inspect(ledger.engine).get_columns("events")}
        assert "leaf_hash" in columns  # really the version 5 layout
    with Ledger.open(db_url, clock=fixed_clock) as migrated:
        assert read_meta(migrated.engine)["schema_version"] == str(tables.SCHEMA_VERSION) == "7"
        assert _stored(migrated.engine) == before
        assert before["lot events"]  # the histories were not empty to begin with
        assert "lot_events" not in inspect(migrated.engine).get_table_names()
        inspector = inspect(migrated.engine)
        assert "leaf_hash" not in {c["name"] for c in inspector.get_columns("events")}
        indexes = {index["name"] for index in inspector.get_indexes("events")}
        assert "ix_events_key" in indexes and "ix_events_key_time" not in indexes
        assert "ix_lots_holder" not in {index["name"] for index in inspector.get_indexes("lots")}
        if migrated.engine.dialect.name == "sqlite":
            with migrated.engine.connect() as conn:
                layout = dict(
                    conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all()
                )
            assert "seq INTEGER NOT NULL" in layout["events"]  # the rowid itself
            assert layout["lot_edges"].rstrip().endswith("WITHOUT ROWID")
            assert not any(name.endswith("_v5") for name in layout)
        assert migrated.history("LOT-1a") == history
        assert migrated.trace("LOT-1a") == trace
        w.receive("trader", "s-1", {"LOT-1a": "6.00"})
        outcome = migrated.submit(w.events[-1:])[0]
        assert outcome.ok
        assert migrated.event(w.events[-1]["body"]["id"]).leaf_hash == outcome.leaf_hash
    report = audit(db=db_url, vkey=vkey)
    assert report.ok, report.faults
    assert report.size == len(w.events)


def test_migration_from_schema_six_folds_every_lot_event_into_the_lots_histories(db_url: str) -> None:
    """Version 7 moves each lot's (lot, leaf) rows into its ``lots.history``: every pair is kept, in log
    order, the table goes, the audit passes, and a lot's history reads and grows as before."""
    w = _shipped_world()
    with Ledger.open(db_url, create=True, clock=fixed_clock, origin=ORIGIN) as ledger:
        assert all(o.ok for o in ledger.submit(w.events))
        before = _stored(ledger.engine)
        history = ledger.history("LOT-1a")
        vkey = ledger.vkey
        as_schema_six(ledger.engine)
        with ledger.engine.connect() as conn:
            pairs = conn.execute(select(func.count()).select_from(LOT_EVENTS_V6)).scalar_one()
        assert pairs == len(before["lot events"]) > 0  # really the version 6 layout
        assert "history" not in {c["name"] for c in inspect(ledger.engine).get_columns("lots")}
    with Ledger.open(db_url, clock=fixed_clock) as migrated:
        assert read_meta(migrated.engine)["schema_version"] == str(tables.SCHEMA_VERSION)
        assert _stored(migrated.engine) == before
        assert "lot_events" not in inspect(migrated.engine).get_table_names()
        with migrated.engine.connect() as conn:
            text = conn.execute(select(tables.lots.c.history).where(tables.lots.c.id == "LOT-1a")).scalar()
        assert text == "".join(f"{entry.index}," for entry in history)  # in log order, appendable
        assert migrated.history("LOT-1a") == history
        w.receive("trader", "s-1", {"LOT-1a": "6.00"})
        outcome = migrated.submit(w.events[-1:])[0]
        assert outcome.ok
        assert [e.index for e in migrated.history("LOT-1a")] == [e.index for e in history] + [outcome.index]
    report = audit(db=db_url, vkey=vkey)
    assert report.ok, report.faults


# --- the schema 2 -> 3 migration ----------------------------------------------------------------------------


def test_migration_from_schema_two_keeps_old_events_without_a_logged_time(db_url: str) -> None:
    """Events logged before version 3 get no logged time (judged by their declared time, as then), a key
    revoked into the past is marked compromised, and the log goes on with logged times."""
    w = basic_world()
    w.produce("miner", "LOT-1", "mine-a", "10.00")
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="stolen",
        effective=format_time_ns(w.now_ns - w.step_ns // 2),
    )
    with Ledger.open(db_url, create=True, clock=fixed_clock, origin=ORIGIN) as ledger:
        assert all(o.ok for o in ledger.submit(w.events))
        size = ledger.size
        _as_schema_two(ledger.engine)
    with Ledger.open(db_url, clock=fixed_clock) as migrated:
        assert read_meta(migrated.engine)["schema_version"] == str(tables.SCHEMA_VERSION)
        with migrated.engine.connect() as conn:
            logged = conn.execute(select(tables.events.c.logged_ns)).scalars().all()
            compromised = conn.execute(
                select(tables.keys.c.compromised).where(tables.keys.c.id == w.actor("miner").key.id)
            ).scalar_one()
        assert logged == [None] * size
        assert compromised == 1
        assert migrated.history("LOT-1")[0].logged is None
        # Dated before the compromise took effect: a compromised key signs nothing any more all the same.
        w.now_ns -= 3 * w.step_ns
        w.produce("miner", "LOT-2", "mine-a", "1.00")
        outcome = migrated.submit([w.events[-1]])[0]
        assert outcome.error is not None and outcome.error.code == "envelope.key_revoked"
        assert migrated.rebuild() == size
