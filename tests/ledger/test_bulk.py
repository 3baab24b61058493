"""Bulk writes (store/bulk.py) store exactly the rows given, on both backends, and refuse what a column
cannot hold instead of cutting it to fit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from adamas.model.records import Lot, evolve
from adamas.store import metadata, open_engine, schema
from adamas.store.bulk import insert_rows, update_rows
from adamas.store.rows import load, lot_from_row, lot_to_row


def _lots() -> list[Lot]:
    return [
        Lot(
            f"lot-{i}",
            "rough",
            10**12 + i,
            None if i % 2 else i,
            "holder-1",
            "held",
            {"bw-mine": 10**12 + i},
            ("parent-1", "parent-2"),
            "event-0001",
            2**62 + i,
            details={"note": "é\u2028\x00"} if i == 2 else {},
        )
        for i in range(3)
    ]


def test_inserted_and_updated_rows_read_back_exactly(db_url: str) -> None:
    engine = open_engine(db_url)
    metadata.create_all(engine)
    lots = _lots()
    with engine.begin() as conn:
        insert_rows(conn, schema.lots, [lot_to_row(lot) for lot in lots])
    changed = [evolve(lots[0], state="sold", value=7, stones=None), evolve(lots[2], shipment="ship-1")]
    with engine.begin() as conn:
        update_rows(conn, schema.lots, [{**lot_to_row(lot), "_id": lot.id} for lot in changed])
    with engine.connect() as conn:
        found = load(conn, schema.lots, [lot.id for lot in lots], lot_from_row)
    engine.dispose()
    assert found == {lot.id: lot for lot in (changed[0], lots[1], changed[1])}


def test_bytes_and_large_integers_are_stored_as_given(db_url: str) -> None:
    engine = open_engine(db_url)
    metadata.create_all(engine)
    row = {
        "seq": 0,
        "event_id": "event-0001",
        "type": "lot.register",
        "actor": "bw-miner-01",
        "key_id": "0123456789abcdef",
        "time_ns": 2**62,
        "envelope": bytes(range(256)),
        "leaf_hash": b"\x00" * 32,
        "logged_ns": None,
        "backfill": None,
    }
    row = {c.name: row.get(c.name) for c in schema.events.c}
    with engine.begin() as conn:
        insert_rows(conn, schema.events, [row])
    with engine.connect() as conn:
        stored = conn.execute(select(schema.events.c.envelope, schema.events.c.time_ns)).one()
    engine.dispose()
    assert (bytes(stored.envelope), stored.time_ns) == (bytes(range(256)), 2**62)


def test_an_overlong_value_is_refused_not_cut(db_url: str) -> None:
    engine = open_engine(db_url)
    metadata.create_all(engine)
    lot = evolve(_lots()[0], kind="x" * 17)  # kind is a String(16)
    if db_url.startswith("sqlite"):
        # SQLite holds no text column to a length: the value must then be kept whole, never cut.
        with engine.begin() as conn:
            insert_rows(conn, schema.lots, [lot_to_row(lot)])
        with engine.connect() as conn:
            assert conn.execute(select(schema.lots.c.kind)).scalar_one() == "x" * 17
        engine.dispose()
        return
    with pytest.raises(SQLAlchemyError), engine.begin() as conn:
        insert_rows(conn, schema.lots, [lot_to_row(lot)])
    with engine.begin() as conn:
        insert_rows(conn, schema.lots, [lot_to_row(_lots()[0])])
    with pytest.raises(SQLAlchemyError), engine.begin() as conn:
        update_rows(conn, schema.lots, [{**lot_to_row(lot), "_id": lot.id}])
    engine.dispose()
