"""``adamas audit`` on real ledgers (SQLite files and PostgreSQL) and on their exported tiles, tampered
with in every way issue 3 names: one byte of one stored event, a dropped leaf, two leaves reordered, a
checkpoint replaced by one for a different tree. Each is reported, exit status 1, naming where (leaf,
checkpoint, tile).

One ledger of 300 events in batches of 100 (checkpoints at 100, 200 and 300; two level-0 tiles and a level-1
tile) is built per backend; each test tampers a fresh copy of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from adamas import audit
from adamas.cli import app
from adamas.ledger.export import checkpoint_path
from adamas.log import (
    Checkpoint,
    MemoryHashStore,
    Signer,
    Tile,
    build_tile,
    encode_entry_bundle,
    leaf_hash,
    sign_checkpoint,
    tiles_for_size,
)
from adamas.log.tiles import ENTRIES, decode_entry_bundle
from adamas.store import schema as tables
from adamas.store.database import open_engine
from adamas.store.tree import append_leaves, decode_tile, encode_tile
from log_helpers import ORIGIN, build_ledger

SIZE = 300
ALTERED = 157  # a lot.register in the second level-0 tile, in the checkpoint range 100..199


@pytest.fixture
def ledger_db(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Engine, str]]:
    """A fresh ledger of 300 events: its URL, an engine to tamper with it, and its vkey."""
    with build_ledger(db_url, SIZE) as ledger:
        vkey = ledger.vkey
    engine = open_engine(db_url)
    yield db_url, engine, vkey
    engine.dispose()


def run_audit(*args: str) -> tuple[int, str, dict[str, Any]]:
    """``adamas audit ARGS --json``: exit code, everything printed, and the JSON report (if any)."""
    result = CliRunner().invoke(app, ["audit", *args, "--json"])
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.exit_code, result.output, report


def assert_reported(
    url: str,
    vkey: str,
    code: str,
    *,
    leaf: int | None = None,
    checkpoint: int | None = None,
    tile: str | None = None,
) -> None:
    exit_code, output, _ = run_audit("--db", url, "--vkey", vkey)
    assert exit_code == 1, output
    report = audit(db=url, vkey=vkey)
    assert not report.ok
    first = report.faults[0]
    assert first.code == code, report.faults[:3]
    if leaf is not None:
        assert first.leaf == leaf
        assert f"leaf {leaf}" in output
    if checkpoint is not None:
        assert first.checkpoint == checkpoint
        assert f"checkpoint {checkpoint}" in output
    if tile is not None:
        assert first.tile == tile
        assert tile in output


# --- the ledger database ------------------------------------------------------------------------------------


def test_an_untouched_ledger_passes_the_audit(ledger_db: tuple[str, Engine, str]) -> None:
    url, _, vkey = ledger_db
    exit_code, output, _ = run_audit("--db", url, "--vkey", vkey)
    assert exit_code == 0, output
    report = audit(db=url, vkey=vkey)
    assert report.ok
    assert (report.size, report.checkpoints, report.envelopes, report.tiles) == (SIZE, 3, SIZE, 3)
    assert audit(db=url).ok  # the database's own key


def _envelope(engine: Engine, seq: int) -> bytes:
    with engine.connect() as conn:
        return bytes(
            conn.execute(select(tables.events.c.envelope).where(tables.events.c.seq == seq)).scalar_one()
        )


def _one_byte_changed(envelope: bytes) -> bytes:
    position = envelope.index(b'"1.00"') + 1
    changed = envelope[:position] + b"2" + envelope[position + 1 :]
    assert len(changed) == len(envelope) and changed != envelope
    return changed


def test_one_byte_of_one_stored_event_is_named(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    with engine.begin() as conn:
        conn.execute(
            update(tables.events)
            .where(tables.events.c.seq == ALTERED)
            .values(envelope=_one_byte_changed(_envelope(engine, ALTERED)))
        )
    assert_reported(url, vkey, "audit.leaf_mismatch", leaf=ALTERED, tile="tile/0/000")
    codes = {f.code for f in audit(db=url, vkey=vkey).faults}
    assert {"audit.leaf_mismatch", "audit.signature", "audit.checkpoint_root"} <= codes


def test_a_change_covered_by_a_rebuilt_tree_is_caught_by_the_checkpoints(
    ledger_db: tuple[str, Engine, str],
) -> None:
    url, engine, vkey = ledger_db
    changed = _one_byte_changed(_envelope(engine, ALTERED))
    with engine.begin() as conn:
        conn.execute(update(tables.events).where(tables.events.c.seq == ALTERED).values(envelope=changed))
        # The tree rebuilt from the altered events, as the ledger's own code would build it.
        conn.execute(delete(tables.log_tiles))
        envelopes = conn.execute(select(tables.events.c.envelope).order_by(tables.events.c.seq)).scalars()
        append_leaves(conn, 0, [leaf_hash(bytes(e)) for e in envelopes])
    # The first checkpoint over the change is named, with its range of leaves.
    assert_reported(url, vkey, "audit.checkpoint_root", checkpoint=200)
    assert "leaves 100..199" in audit(db=url, vkey=vkey).faults[0].message


def test_a_dropped_leaf_is_named(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    with engine.begin() as conn:
        conn.execute(delete(tables.events).where(tables.events.c.seq == ALTERED))
    assert_reported(url, vkey, "audit.leaf_missing", leaf=ALTERED)
    assert "audit.size" in {f.code for f in audit(db=url, vkey=vkey).faults}


def test_a_dropped_leaf_with_the_rest_renumbered_is_named(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    with engine.begin() as conn:
        conn.execute(delete(tables.events).where(tables.events.c.seq == ALTERED))
        for seq in range(ALTERED + 1, SIZE):
            conn.execute(update(tables.events).where(tables.events.c.seq == seq).values(seq=seq - 1))
        conn.execute(update(tables.meta).where(tables.meta.c.name == "head").values(value=str(SIZE - 1)))
    assert_reported(url, vkey, "audit.leaf_mismatch", leaf=ALTERED)


def test_two_reordered_leaves_are_named(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    first, second = 120, 121
    with engine.begin() as conn:
        rows = {
            row.seq: row
            for row in conn.execute(
                select(tables.events.c.seq, tables.events.c.envelope).where(
                    tables.events.c.seq.in_([first, second])
                )
            )
        }
        for seq, other in ((first, second), (second, first)):
            conn.execute(
                update(tables.events).where(tables.events.c.seq == seq).values(envelope=rows[other].envelope)
            )
    assert_reported(url, vkey, "audit.leaf_mismatch", leaf=first)
    assert [f.leaf for f in audit(db=url, vkey=vkey).faults[:2]] == [first, second]


def _signer(engine: Engine) -> Signer:
    with engine.connect() as conn:
        skey = conn.execute(select(tables.meta.c.value).where(tables.meta.c.name == "log_skey")).scalar_one()
    return Signer.from_skey(skey)


def test_a_checkpoint_replaced_by_one_for_another_tree_is_named(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    other_root = hashlib.sha256(b"a different tree").digest()
    forged = sign_checkpoint(Checkpoint(ORIGIN, 200, other_root), [_signer(engine)]).decode()
    with engine.begin() as conn:
        conn.execute(
            update(tables.log_checkpoints).where(tables.log_checkpoints.c.size == 200).values(note=forged)
        )
    assert_reported(url, vkey, "audit.checkpoint_root", checkpoint=200)


def test_a_checkpoint_of_another_size_filed_under_a_signed_one_is_named(
    ledger_db: tuple[str, Engine, str],
) -> None:
    url, engine, vkey = ledger_db
    with engine.begin() as conn:
        note = conn.execute(
            select(tables.log_checkpoints.c.note).where(tables.log_checkpoints.c.size == 100)
        ).scalar_one()
        conn.execute(
            update(tables.log_checkpoints).where(tables.log_checkpoints.c.size == 200).values(note=note)
        )
    assert_reported(url, vkey, "audit.checkpoint_size", checkpoint=200)


def test_a_checkpoint_signed_by_another_key_is_named(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    with engine.connect() as conn:
        stored = conn.execute(
            select(tables.log_checkpoints.c.note).where(tables.log_checkpoints.c.size == 100)
        ).scalar_one()
    text = stored.split("\n\n")[0] + "\n"
    forged = sign_checkpoint(Checkpoint.from_text(text), [Signer.generate(ORIGIN)]).decode()
    with engine.begin() as conn:
        conn.execute(
            update(tables.log_checkpoints).where(tables.log_checkpoints.c.size == 100).values(note=forged)
        )
    assert_reported(url, vkey, "audit.checkpoint_signature", checkpoint=100)


def test_a_stored_interior_hash_is_named_by_its_tile(ledger_db: tuple[str, Engine, str]) -> None:
    url, engine, vkey = ledger_db
    with engine.begin() as conn:
        data = conn.execute(
            select(tables.log_tiles.c.hashes).where(
                tables.log_tiles.c.level == 0, tables.log_tiles.c.idx == 0
            )
        ).scalar_one()
        parts = decode_tile(256, bytes(data))
        parts[3][5] = hashlib.sha256(b"not the node").digest()
        conn.execute(
            update(tables.log_tiles)
            .where(tables.log_tiles.c.level == 0, tables.log_tiles.c.idx == 0)
            .values(hashes=encode_tile(parts))
        )
    assert_reported(url, vkey, "audit.tile_mismatch", tile="tile/0/000")


def test_the_audit_refuses_another_logs_key(ledger_db: tuple[str, Engine, str]) -> None:
    url, _, _ = ledger_db
    other = Signer.generate(ORIGIN).verifier.vkey
    exit_code, output, _ = run_audit("--db", url, "--vkey", other)
    assert exit_code == 1
    assert "audit.log_key" in output
    report = audit(db=url, vkey=other)
    assert report.faults[0].code == "audit.log_key"
    assert [f.code for f in report.faults[1:4]] == ["audit.checkpoint_signature"] * 3


# --- exported tiles -----------------------------------------------------------------------------------------


@pytest.fixture
def exported(ledger_db: tuple[str, Engine, str], tmp_path: Path) -> tuple[Path, str]:
    url, _, vkey = ledger_db
    from adamas import Ledger

    with Ledger.open(url) as ledger:
        ledger.export_tiles(tmp_path / "tiles")
    return tmp_path / "tiles", vkey


def assert_tiles_reported(directory: Path, vkey: str, code: str, **where: object) -> None:
    exit_code, output, _ = run_audit("--tiles", str(directory), "--vkey", vkey)
    assert exit_code == 1, output
    first = audit(tiles=directory, vkey=vkey).faults[0]
    assert first.code == code, audit(tiles=directory, vkey=vkey).faults[:3]
    for name, value in where.items():
        assert getattr(first, name) == value
    if "leaf" in where:
        assert f"leaf {where['leaf']}" in output


def _bundle(directory: Path, index: int) -> tuple[Path, list[bytes]]:
    path = directory / Tile(ENTRIES, index).path
    return path, decode_entry_bundle(path.read_bytes())


def test_untouched_tiles_pass_the_audit(exported: tuple[Path, str]) -> None:
    directory, vkey = exported
    exit_code, output, _ = run_audit("--tiles", str(directory), "--vkey", vkey)
    assert exit_code == 0, output
    report = audit(tiles=directory, vkey=vkey)
    assert report.ok and report.envelopes == SIZE and report.checkpoints == 4


def test_one_byte_of_one_exported_entry_is_named(exported: tuple[Path, str]) -> None:
    directory, vkey = exported
    path, entries = _bundle(directory, 0)
    entries[ALTERED] = _one_byte_changed(entries[ALTERED])
    path.write_bytes(encode_entry_bundle(entries))
    assert_tiles_reported(directory, vkey, "audit.leaf_mismatch", leaf=ALTERED)


def test_an_entry_dropped_from_a_bundle_is_named(exported: tuple[Path, str]) -> None:
    directory, vkey = exported
    path, entries = _bundle(directory, 0)
    del entries[ALTERED]
    path.write_bytes(encode_entry_bundle(entries))
    assert_tiles_reported(directory, vkey, "audit.leaf_mismatch", leaf=ALTERED)
    assert "audit.bundle" in {f.code for f in audit(tiles=directory, vkey=vkey).faults}


def test_two_reordered_entries_are_named(exported: tuple[Path, str]) -> None:
    directory, vkey = exported
    path, entries = _bundle(directory, 0)
    entries[120], entries[121] = entries[121], entries[120]
    path.write_bytes(encode_entry_bundle(entries))
    assert_tiles_reported(directory, vkey, "audit.leaf_mismatch", leaf=120)


def test_an_exported_checkpoint_for_another_tree_is_named(
    exported: tuple[Path, str], ledger_db: tuple[str, Engine, str]
) -> None:
    directory, vkey = exported
    forged = sign_checkpoint(Checkpoint(ORIGIN, 200, b"\x07" * 32), [_signer(ledger_db[1])])
    (directory / checkpoint_path(200)).write_bytes(forged)
    assert_tiles_reported(directory, vkey, "audit.checkpoint_root", checkpoint=200)


def test_a_higher_tile_that_does_not_match_its_entries_is_named(exported: tuple[Path, str]) -> None:
    directory, vkey = exported
    tile = directory / "tile/1/000.p/1"
    tile.write_bytes(hashlib.sha256(b"forged").digest())
    assert_tiles_reported(directory, vkey, "audit.tile_mismatch", tile="tile/1/000.p/1")


def test_tiles_under_another_key_are_refused(exported: tuple[Path, str]) -> None:
    directory, _ = exported
    exit_code, output, _ = run_audit(
        "--tiles", str(directory), "--vkey", Signer.generate(ORIGIN).verifier.vkey
    )
    assert exit_code == 1
    assert "audit.checkpoint_signature" in output


# --- any tlog-tiles log -------------------------------------------------------------------------------------


def _foreign_log(directory: Path, size: int, signer: Signer) -> None:
    """A tlog-tiles log that has nothing to do with Adamas: entries are arbitrary bytes."""
    entries = [f"entry number {i}".encode() * (1 + i % 3) for i in range(size)]
    store = MemoryHashStore.from_leaf_hashes(leaf_hash(e) for e in entries)
    for tile in tiles_for_size(size):
        path = directory / tile.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build_tile(tile, store))
        if tile.level == 0:
            bundle = directory / Tile(ENTRIES, tile.index, tile.width).path
            bundle.parent.mkdir(parents=True, exist_ok=True)
            first = tile.index * 256
            bundle.write_bytes(encode_entry_bundle(entries[first : first + tile.width]))
    from adamas.log import tree_root

    checkpoint = Checkpoint("example.com/other-log", size, tree_root(size, store))
    (directory / "checkpoint").write_bytes(sign_checkpoint(checkpoint, [signer]))


@pytest.mark.parametrize("size", [1, 255, 256, 70_000])
def test_any_tlog_tiles_log_audits_with_opaque_entries(tmp_path: Path, size: int) -> None:
    signer = Signer.generate("example.com/other-log")
    _foreign_log(tmp_path, size, signer)
    exit_code, output, _ = run_audit("--tiles", str(tmp_path), "--vkey", signer.verifier.vkey, "--opaque")
    assert exit_code == 0, output
    report = audit(tiles=tmp_path, vkey=signer.verifier.vkey, opaque=True)
    assert report.ok and report.size == size and report.origin == "example.com/other-log"
    if size == 256:
        # Without --opaque, entries must be Adamas envelopes: leaf 0 is named.
        assert_tiles_reported(tmp_path, signer.verifier.vkey, "audit.envelope", leaf=0)


def test_a_foreign_log_with_a_forged_tile_fails_even_opaque(tmp_path: Path) -> None:
    signer = Signer.generate("example.com/other-log")
    _foreign_log(tmp_path, 70_000, signer)
    level1 = tmp_path / "tile/1/000"
    data = bytearray(level1.read_bytes())
    data[40] ^= 1
    level1.write_bytes(bytes(data))
    report = audit(tiles=tmp_path, vkey=signer.verifier.vkey, opaque=True)
    # The entries still give the signed root: only the forged tile is at fault.
    assert [(f.code, f.tile) for f in report.faults] == [("audit.tile_mismatch", "tile/1/000")]


# --- the tile worker ----------------------------------------------------------------------------------------


def test_the_tile_worker_encodes_tiles_as_the_store_does() -> None:
    import io
    import struct

    from adamas.ledger import audit_tree
    from adamas.ledger.audit_worker import READY, serve
    from adamas.store.tree import encode_tile, tile_parts

    assert READY == audit_tree._READY
    tiles = [[leaf_hash(f"{width} {i}".encode()) for i in range(width)] for width in (256, 1, 2, 255)]
    message = struct.pack("!I", len(tiles))
    for hashes in tiles:
        message += struct.pack("!H", len(hashes)) + b"".join(hashes)
    sink = io.BytesIO()
    serve(io.BytesIO(message + struct.pack("!I", 0)), sink)
    answer, out = sink.getvalue(), []
    while answer:
        (length,) = struct.unpack("!I", answer[:4])
        out.append(answer[4 : 4 + length])
        answer = answer[4 + length :]
    assert out == [encode_tile(tile_parts(hashes)) for hashes in tiles]


@pytest.mark.parametrize("tamper", ["none", "byte", "reorder", "checkpoint", "drop"])
def test_the_audit_finds_the_same_with_the_tile_worker(
    ledger_db: tuple[str, Engine, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tamper: str
) -> None:
    from adamas import Ledger
    from adamas.ledger import audit_db, audit_tiles

    url, engine, vkey = ledger_db
    with engine.begin() as conn:
        if tamper == "byte":
            conn.execute(
                update(tables.events)
                .where(tables.events.c.seq == ALTERED)
                .values(envelope=_one_byte_changed(_envelope(engine, ALTERED)))
            )
        elif tamper == "reorder":
            rows = conn.execute(
                select(tables.events.c.envelope).where(tables.events.c.seq.in_([3, 4])).order_by("seq")
            ).scalars()
            first, second = list(rows)
            conn.execute(update(tables.events).where(tables.events.c.seq == 3).values(envelope=second))
            conn.execute(update(tables.events).where(tables.events.c.seq == 4).values(envelope=first))
        elif tamper == "checkpoint":
            forged = sign_checkpoint(Checkpoint(ORIGIN, 100, b"\x05" * 32), [_signer(engine)]).decode()
            conn.execute(
                update(tables.log_checkpoints).where(tables.log_checkpoints.c.size == 100).values(note=forged)
            )
        elif tamper == "drop":
            conn.execute(delete(tables.events).where(tables.events.c.seq == 260))
    if tamper != "drop":
        with Ledger.open(url) as ledger:
            ledger.export_tiles(tmp_path / "tiles")
    here = audit(db=url, vkey=vkey)
    here_tiles = audit(tiles=tmp_path / "tiles", vkey=vkey) if tamper != "drop" else None
    monkeypatch.setattr(audit_db.DatabaseAudit, "worker_min", 1)
    monkeypatch.setattr(audit_tiles.TilesAudit, "worker_min", 1)
    assert audit(db=url, vkey=vkey) == here
    if here_tiles is not None:
        assert audit(tiles=tmp_path / "tiles", vkey=vkey) == here_tiles
    assert here.ok == (tamper == "none")
