"""Reading one C2SP tlog-tiles resource from the stored log: a hash tile or an entry bundle, by its path.

What ``export_tiles`` writes to a folder, served one resource at a time (the HTTP face's ``/log/tile/``):
a hash tile is a prefix of a stored ``log_tiles`` row's first part, an entry bundle the stored envelopes of
its 256 leaves (or of the first ``W`` for a partial one). A tile is served if the stored tree has all of it,
so every partial tile of an older checkpoint stays available (a prefix of today's row) next to the full tile
that superseded it; a tile beyond the stored tree is ``NotFoundError(code="log.node_missing")``.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from adamas.errors import NotFoundError
from adamas.log import Tile, encode_entry_bundle
from adamas.log.tiles import TILE_WIDTH
from adamas.store.schema import events
from adamas.store.tree import StoredHashReader, read_hash_tile

__all__ = ["read_tile"]


def read_tile(conn: Connection, tile: Tile) -> bytes:
    """The bytes of a hash tile or an entry bundle of the stored log."""
    if not tile.is_entry_bundle:
        return read_hash_tile(StoredHashReader(conn), tile)
    first = tile.index * TILE_WIDTH
    entries = [
        bytes(envelope)
        for envelope in conn.execute(
            select(events.c.envelope)
            .where(events.c.seq >= first, events.c.seq < first + tile.width)
            .order_by(events.c.seq)
        ).scalars()
    ]
    if len(entries) != tile.width:
        raise NotFoundError(
            f"entry bundle {tile.path} is beyond the stored log",
            code="log.node_missing",
            field="path",
            level=tile.level,
            index=tile.index,
        )
    return encode_entry_bundle(entries)
