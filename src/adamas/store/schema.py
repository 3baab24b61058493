"""The database schema: stored events (the log's leaves), the Merkle tree over them, the checkpoints signed
over that tree, and the state derived from the events.

``events`` is the only source of truth; every other table is derived from it by applying the events in
order, and ``Ledger.rebuild`` recreates them from ``events`` alone. ``log_tiles`` holds the Merkle tree of
the events' leaf hashes (layout in ``adamas.store.tree``) and ``log_checkpoints`` every checkpoint the log
ever signed; both grow in the same transaction as the events they cover and are never rewritten except by
appending. Quantities are whole hundredths in integer columns (exact on every engine); times are epoch
nanoseconds. Nothing here is SQLite-only.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

__all__ = ["LOG_TABLES", "RISK_TABLES", "SCHEMA_VERSION", "STATE_TABLES", "WITNESS_TABLES", "metadata"]

SCHEMA_VERSION: Final = 7

metadata = MetaData()

ID = 128

# SQLite makes an ``INTEGER PRIMARY KEY`` (that type name exactly) the table's rowid: the leaf index is then
# the row's key itself, stored once, instead of a hidden rowid plus a second B-tree from seq to rowid.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "adamas_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("event_id", String(ID), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("actor", String(ID), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    # The canonical envelope, byte for byte: the log's leaf. Its leaf hash is not stored beside it (version
    # 6): the level-0 tiles hold every leaf hash, and an audit recomputes them from these bytes anyway.
    Column("envelope", LargeBinary, nullable=False),
    # The ledger's clock when the batch was accepted (never decreasing along the log; the time line of the
    # batch's checkpoint); NULL for events logged before version 5 recorded it (docs/time.md).
    Column("logged_ns", BigInteger),
    # The ledger.backfill window that admitted the event past the backdating allowance, if any.
    Column("backfill", String(ID)),
    # The events a key signed (a revocation's look-back, compromise joins): the key alone, in log order on
    # SQLite (the rowid); PostgreSQL stores its repeated keys once per page (B-tree deduplication), which
    # a (key, time) index, unique per row, never allowed (version 6: a fifth of the table's bytes before).
    Index("ix_events_key", "key_id"),
    # A participant's events, in log order (paged by the HTTP service).
    Index("ix_events_actor_seq", "actor", "seq"),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", String(2)),
    Column("roles", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("registrar", String(ID)),
    Column("event", String(ID), nullable=False),
)

keys = Table(
    "keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("participant", String(ID), nullable=False, index=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("event", String(ID), nullable=False),
    Column("revoked_ns", BigInteger),
    Column("compromised", Integer),
)

sites = Table(
    "sites",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("country", String(2), nullable=False),
    Column("operator", String(ID), nullable=False),
    Column("event", String(ID), nullable=False),
    Column("lat", String(16)),
    Column("lon", String(16)),
    Column("zone", Text),
)

lots = Table(
    "lots",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("carats", BigInteger, nullable=False),
    Column("stones", Integer),
    # No index on the holder (version 6): no query of the ledger, its pages or its API filters on it.
    Column("holder", String(ID), nullable=False),
    Column("state", String(16), nullable=False),
    Column("origin", Text, nullable=False),
    Column("parents", Text, nullable=False),
    Column("event", String(ID), nullable=False),
    Column("last_time_ns", BigInteger, nullable=False),
    Column("value", BigInteger),
    Column("shipment", String(ID)),
    Column("frozen_from", String(16)),
    Column("details", Text, nullable=False),
    Column("largest", Text),
    # The leaves of every event that touched the lot, in log order, each written in decimal and followed by
    # a comma ("1203,5077,"): a lot's history. Version 7 keeps it here instead of one ``lot_events`` row per
    # (lot, event): the row is rewritten whenever an event touches the lot anyway, and a PostgreSQL row and
    # index entry cost 40 bytes of overhead before any data (168 of 1,058 bytes per event, issue 14). The
    # writers only ever append to it (``adamas.store.bulk``: an update concatenates, never replaces).
    Column("history", Text, nullable=False, server_default="", info={"append": True}),
)

# A two-column key with nothing else in the row: on SQLite the table is its primary key's B-tree alone
# (WITHOUT ROWID, version 6) rather than a rowid table plus that B-tree holding every value again.
lot_edges = Table(
    "lot_edges",
    metadata,
    Column("parent", String(ID), primary_key=True),
    Column("child", String(ID), primary_key=True),
    # Backward traces read (child -> parent) from the index alone (a covering index).
    Index("ix_lot_edges_child_parent", "child", "parent"),
    sqlite_with_rowid=False,
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("sender", String(ID), nullable=False),
    Column("to_participant", String(ID), nullable=False),
    Column("lots", Text, nullable=False),
    Column("event", String(ID), nullable=False),
    Column("certificate", String(40)),
    Column("seal", Text),
    Column("received_event", String(ID)),
)

flags = Table(
    "flags",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("event", String(ID), nullable=False),
    Column("code", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("lot", String(ID), index=True),
    Column("evidence", Text, nullable=False),
)

# One row per tile of C2SP tlog-tiles (tile level ``level``, index ``idx``, ``width`` hashes), holding the
# tile's hashes and every complete node of the seven tree levels above them inside the tile.
log_tiles = Table(
    "log_tiles",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("width", SmallInteger, nullable=False),
    Column("hashes", LargeBinary, nullable=False),
)

# Every checkpoint the log signed, by tree size (each signing grows the tree, so sizes are unique).
log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("signed_ns", BigInteger, nullable=False),
)

country_statuses = Table(
    "country_statuses",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("country", String(2), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("effective_ns", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("zones", Text, nullable=False),
)

sanctions = Table(
    "sanctions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("origin_countries", Text, nullable=False),
    Column("importing_countries", Text, nullable=False),
    Column("effective_ns", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("event", String(ID), nullable=False),
    Column("min_stone_carats", BigInteger),
    Column("single_origin_required", Integer, nullable=False),
    Column("lot_kinds", Text, nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("issuer", String(ID), nullable=False),
    Column("exporter", String(ID), nullable=False),
    Column("importer", String(ID), nullable=False),
    Column("exporting_country", String(2), nullable=False),
    Column("importing_country", String(2), nullable=False),
    Column("origin", Text, nullable=False),
    Column("carats", BigInteger, nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("parcels", Integer, nullable=False),
    Column("hs_code", String(8), nullable=False),
    Column("issued_ns", BigInteger, nullable=False),
    Column("expires_ns", BigInteger, nullable=False),
    Column("shipment", String(ID), nullable=False),
    Column("lots", Text, nullable=False),
    Column("event", String(ID), nullable=False),
    Column("void_event", String(ID)),
    Column("used_by", String(ID)),
    Column("confirmed_event", String(ID)),
    Column("confirmation", Text, nullable=False),
)


attestations = Table(
    "attestations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("actor", String(ID), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("claim", String(32), nullable=False),
    Column("statement", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("level", Integer, nullable=False),
    Index("ix_attestations_subject", "subject_kind", "subject_id"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("target", String(ID), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("replacement", Text),
)

backfills = Table(
    "backfills",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("from_ns", BigInteger, nullable=False),
    Column("until_ns", BigInteger, nullable=False),
    Column("closes_ns", BigInteger, nullable=False),
    Column("opened_ns", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("closed_by", String(ID)),
)

STATE_TABLES: Final = (
    participants,
    keys,
    sites,
    lots,
    lot_edges,
    shipments,
    flags,
    country_statuses,
    sanctions,
    certificates,
    attestations,
    corrections,
    backfills,
)
LOG_TABLES: Final = (log_tiles, log_checkpoints)

# --- witnessing (schema version 3) ------------------------------------------------------------------------
# The witnesses asked to cosign the log's checkpoints (C2SP tlog-witness), and what each last did. Neither
# table is derived from the events: they are the operator's configuration and the witnesses' answers.
log_witnesses = Table(
    "log_witnesses",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("vkey", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("added_ns", BigInteger, nullable=False),
    # The size of the newest checkpoint the witness cosigned for us (0: none yet), and when.
    Column("cosigned_size", BigInteger, nullable=False),
    Column("cosigned_ns", BigInteger),
    Column("attempt_ns", BigInteger),
    Column("last_error", Text),
    Column("error_ns", BigInteger),
)

# Every cosignature collected, verified when received: one note signature line per witness and tree size.
log_cosignatures = Table(
    "log_cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(255), primary_key=True),
    Column("line", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("received_ns", BigInteger, nullable=False),
)

WITNESS_TABLES: Final = (log_witnesses, log_cosignatures)

# --- risk (schema version 4; adamas.risk): soft flags computed from the log by the detectors ---------------
# Derived like the state tables, but by a separate reader (``adamas.risk.scan``) that remembers the last leaf
# it scanned (``risk_scan``); ``adamas risk scan --full`` recomputes them from the log alone. A flag's ``id``
# is a hash of what it is about (detector, subject, period, key events), so it is never stored twice.
risk_flags = Table(
    "risk_flags",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("detector", String(32), nullable=False, index=True),
    Column("severity", String(8), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("period", String(16)),
    Column("raised_at", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
)

# What a flag names, one row per lot, participant or country, so that flags can be filtered by any of them.
risk_flag_links = Table(
    "risk_flag_links",
    metadata,
    Column("flag", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", String(ID), primary_key=True),
    Index("ix_risk_flag_links_value", "kind", "value"),
)

risk_scan = Table(
    "risk_scan",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

RISK_TABLES: Final = (risk_flags, risk_flag_links, risk_scan)
