"""Shared builders for the log tests: real ledgers of signed events, and a tlog-tiles directory fetcher."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)

from adamas import Ledger
from adamas.log import leaf_hash
from adamas.model.events import parse_envelope
from adamas.store import schema
from adamas.store.database import HEAD, begin_write
from adamas.store.rows import history_seqs
from conftest import basic_world, fixed_clock

ORIGIN = "kp.example.org/log"


@cache
def signed_events(count: int) -> tuple[dict[str, Any], ...]:
    """``count`` valid signed envelopes: the basic world (genesis first), then lots registered at a mine."""
    world = basic_world()
    number = 0
    while len(world.events) < count:
        world.produce("miner", f"LOT-{number:05d}", "mine-a", "1.00", stones=1, value="100.00")
        number += 1
    return tuple(world.events[:count])


def build_ledger(url: str, count: int, *, batch: int = 100) -> Ledger:
    """A ledger at ``url`` holding ``count`` events, submitted in batches of ``batch`` (one checkpoint
    each). The caller closes it."""
    ledger = Ledger.open(url, create=True, clock=fixed_clock, origin=ORIGIN)
    events = signed_events(count)
    for start in range(0, count, batch):
        outcomes = ledger.submit(list(events[start : start + batch]))
        assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok][:2]
    return ledger


class DirectoryFetcher:
    """The ``TileFetcher`` port over an exported directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def fetch(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


def log_behind_the_rules(ledger: Ledger, envelopes: Sequence[dict[str, Any]]) -> None:
    """Log signed envelopes without checking any rule: rows, leaves and a checkpoint, all consistent."""
    with begin_write(ledger.engine) as conn:
        head = int(conn.execute(select(schema.meta.c.value).where(schema.meta.c.name == HEAD)).scalar_one())
        hashes = []
        for offset, raw in enumerate(envelopes):
            envelope = parse_envelope(raw)
            event = envelope.event
            hashes.append(leaf_hash(envelope.leaf))
            conn.execute(
                schema.events.insert().values(
                    seq=head + offset,
                    event_id=event.id,
                    type=event.type,
                    actor=event.actor,
                    key_id=event.key,
                    time_ns=event.time_ns,
                    envelope=envelope.leaf,
                )
            )
        conn.execute(
            update(schema.meta).where(schema.meta.c.name == HEAD).values(value=str(head + len(envelopes)))
        )
        ledger.log.append(conn, head, hashes, now_ns=fixed_clock())


def log_entries_behind_the_rules(ledger: Ledger, entries: Sequence[bytes]) -> None:
    """Log entries byte for byte, even those that are not canonical, valid envelopes (the row's columns
    read leniently from the JSON): rows, leaves and a checkpoint, all consistent."""
    with begin_write(ledger.engine) as conn:
        head = int(conn.execute(select(schema.meta.c.value).where(schema.meta.c.name == HEAD)).scalar_one())
        for offset, entry in enumerate(entries):
            body = json.loads(entry)["body"]
            conn.execute(
                schema.events.insert().values(
                    seq=head + offset,
                    event_id=str(body["id"]),
                    type=str(body["type"]),
                    actor=str(body["actor"]),
                    key_id=str(body["key"]),
                    time_ns=0,
                    envelope=entry,
                )
            )
        conn.execute(
            update(schema.meta).where(schema.meta.c.name == HEAD).values(value=str(head + len(entries)))
        )
        ledger.log.append(conn, head, [leaf_hash(entry) for entry in entries], now_ns=fixed_clock())


def _schema_five_tables() -> MetaData:
    """The tables that schema version 5 laid out otherwise than today's, as version 5 created them."""
    v5 = MetaData()
    Table(
        "events",
        v5,
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("event_id", String(128), nullable=False, unique=True),
        Column("type", String(40), nullable=False),
        Column("actor", String(128), nullable=False),
        Column("key_id", String(16), nullable=False),
        Column("time_ns", BigInteger, nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("leaf_hash", LargeBinary(32), nullable=False),
        Column("logged_ns", BigInteger),
        Column("backfill", String(128)),
        Index("ix_events_key_time", "key_id", "time_ns"),
        Index("ix_events_actor_seq", "actor", "seq"),
    )
    Table(
        "lot_edges",
        v5,
        Column("parent", String(128), primary_key=True),
        Column("child", String(128), primary_key=True),
        Index("ix_lot_edges_child_parent", "child", "parent"),
    )
    Table(
        "lot_events",
        v5,
        Column("lot", String(128), primary_key=True),
        Column("seq", BigInteger, primary_key=True),
    )
    return v5


V6 = MetaData()
LOT_EVENTS_V6 = Table(
    "lot_events",
    V6,
    Column("lot", String(128), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    sqlite_with_rowid=False,
)
"""Version 6's table of (lot, leaf) pairs, which version 7 folds into ``lots.history``."""


def as_schema_six(engine: Engine) -> None:
    """Turn a current ledger into what schema version 6 stored: a lot's history as ``lot_events`` rows
    (one per lot and event) instead of the ``lots.history`` column."""
    with engine.begin() as conn:
        pairs = [
            {"lot": row.id, "seq": seq}
            for row in conn.execute(select(schema.lots.c.id, schema.lots.c.history))
            for seq in history_seqs(row.history)
        ]
        conn.exec_driver_sql("ALTER TABLE lots DROP COLUMN history")
        # One left by an earlier test whose old-schema ledger was never migrated (the fixtures empty the
        # database by today's tables, which no longer name it).
        LOT_EVENTS_V6.drop(conn, checkfirst=True)
        LOT_EVENTS_V6.create(conn)
        if pairs:
            conn.execute(insert(LOT_EVENTS_V6), pairs)
        conn.execute(update(schema.meta).where(schema.meta.c.name == "schema_version").values(value="6"))


def as_schema_five(engine: Engine) -> None:
    """Turn a current ledger into what schema version 5 stored: each envelope's leaf hash beside it, a
    (key, time) index, an index on the lots' holder, ``lot_events`` rows, and (SQLite) a rowid of its own
    under ``events``, ``lot_events`` and ``lot_edges``."""
    as_schema_six(engine)
    v5 = _schema_five_tables()
    current = {**schema.metadata.tables, "lot_events": LOT_EVENTS_V6}
    with engine.begin() as conn:
        rows = {
            name: [dict(row) for row in conn.execute(select(current[name])).mappings()] for name in v5.tables
        }
        for name in v5.tables:
            current[name].drop(conn)
        v5.create_all(conn)
        for row in rows["events"]:
            row["leaf_hash"] = leaf_hash(bytes(row["envelope"]))
        for name, table in v5.tables.items():
            if rows[name]:
                conn.execute(insert(table), rows[name])
        conn.exec_driver_sql("CREATE INDEX ix_lots_holder ON lots (holder)")
        conn.execute(update(schema.meta).where(schema.meta.c.name == "schema_version").values(value="5"))
