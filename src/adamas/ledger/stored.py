"""What a ledger database stores, read with care: its meta rows (a corrupted one is a ``StorageError``, never
a traceback), its log as stored for a read-only ledger (nothing created or signed), and its events checked
against its tree before a rebuild trusts them.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from adamas.errors import AdamasError, StorageError
from adamas.ledger.transparency import META_SKEY, TransparencyLog
from adamas.log import Signer, leaf_hash
from adamas.log.tiles import TILE_WIDTH
from adamas.store import schema
from adamas.store.database import HEAD, meta_int, read_meta
from adamas.store.tree import decode_tile

__all__ = ["check_leaves", "stored_log", "stored_meta", "stored_signer"]


def check_leaves(conn: Connection, size: int) -> None:
    """Refuse unless the stored events are leaves ``0..size-1`` exactly, each hashing to the tree's leaf."""
    table = schema.events
    present = conn.execute(select(table.c.seq).where(table.c.seq < size).order_by(table.c.seq)).scalars()
    missing: list[int] = []
    expected = 0
    for seq in present:
        missing.extend(range(expected, min(seq, expected + 10)))
        expected = seq + 1
    missing.extend(range(expected, min(size, expected + 10)))
    extra = list(conn.execute(select(table.c.seq).where(table.c.seq >= size).limit(10)).scalars())
    if missing or extra:
        raise StorageError(
            "the stored events are not the log's leaves: "
            + "; ".join(
                part
                for part in (
                    f"leaves missing: {', '.join(map(str, missing[:10]))}" if missing else "",
                    f"events beyond the log's {size} leaves: {', '.join(map(str, extra))}" if extra else "",
                )
                if part
            ),
            code="rebuild.log_mismatch",
            index=(missing or extra)[0],
        )
    tiles = schema.log_tiles
    step = 4 * TILE_WIDTH
    for start in range(0, size, step):
        stop = min(size, start + step)
        rows = conn.execute(
            select(tiles.c.idx, tiles.c.width, tiles.c.hashes).where(
                tiles.c.level == 0, tiles.c.idx >= start // TILE_WIDTH, tiles.c.idx < -(-stop // TILE_WIDTH)
            )
        ).all()
        tree = {
            row.idx * TILE_WIDTH + slot: digest
            for row in rows
            for slot, digest in enumerate(decode_tile(row.width, bytes(row.hashes))[0])
        }
        for row in conn.execute(
            select(table.c.seq, table.c.envelope).where(table.c.seq >= start, table.c.seq < stop)
        ):
            if tree.get(row.seq) != leaf_hash(bytes(row.envelope)):
                raise StorageError(
                    f"the stored event at leaf {row.seq} is not the log's leaf {row.seq} (its hash differs "
                    "from the tree's)",
                    code="rebuild.log_mismatch",
                    index=row.seq,
                )


def stored_meta(engine: Engine, url: str) -> dict[str, str]:
    """The meta rows, once the head row holds a number and the log key (if any) is a key: a corrupted
    row is refused (``storage.corrupt_meta``)."""
    try:
        info = read_meta(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read {url}: {exc.__class__.__name__}: {exc}") from exc
    meta_int(info.get(HEAD), HEAD)
    if META_SKEY in info:
        stored_signer(info[META_SKEY])
    return info


def stored_signer(skey: str) -> Signer:
    try:
        return Signer.from_skey(skey)
    except AdamasError as exc:
        raise StorageError(
            f"the ledger's log key row is corrupted: {exc.message}",
            code="storage.corrupt_meta",
            field="log_skey",
        ) from exc


def stored_log(engine: Engine, url: str) -> TransparencyLog | None:
    """The log as stored, for a read-only ledger: no key is made and no checkpoint signed."""
    info = stored_meta(engine, url)
    version = meta_int(info.get("schema_version"), "schema_version")
    if version != schema.SCHEMA_VERSION:
        raise StorageError(
            f"{url} has schema version {version}; open it once with a command that writes (adamas rebuild) "
            f"to bring it to version {schema.SCHEMA_VERSION}",
            code="storage.needs_migration",
            field="db",
        )
    skey = info.get(META_SKEY)
    return TransparencyLog(stored_signer(skey)) if skey is not None else None
