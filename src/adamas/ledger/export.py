"""Export the log as a directory of C2SP tlog-tiles, ready to be served as static files or mirrored.

Layout under the directory (a tlog-tiles "prefix"):

    checkpoint                         the newest signed checkpoint (written last)
    checkpoints/<N>                    every checkpoint the log ever signed, by tree size N (N encoded as
                                       tile indexes are, x001/x234/567), so that a monitor can check them all
    tile/<L>/<N>[.p/<W>]               hash tiles
    tile/entries/<N>[.p/<W>]           entry bundles (the canonical envelopes, uint16 length-prefixed)

Invariants:
- everything is cut at the newest checkpoint's size, read first, so a ledger that keeps growing during the
  export still yields one consistent tree;
- partial tiles and bundles are written for every checkpoint size whose full tile does not exist yet
  (tlog-tiles: "Logs MUST serve partial tiles corresponding to tree sizes for which a checkpoint was
  produced, but MAY delete any partial tile once the corresponding full tile becomes available");
- files are immutable: exporting again into the same directory writes only what is new, and a file that
  exists with other content is a ``ConflictError(code="log.tile_changed")`` -- a published tile never
  changes, so that would mean the log was rewritten;
- every file is written to a temporary name and renamed, so a reader never sees half a file, and
  ``checkpoint`` is renamed into place after every tile it needs;
- exporting into an existing mirror first checks the mirror's ``checkpoint``: it must verify under this
  log's key, name this log's origin, sign a tree no larger than this log's (else ``export.rollback``) and
  the root this log's tree had at that size (else ``export.fork``). Nothing is written otherwise.
- a target that is a file, or a path that cannot be created or written, is an ``InputError``
  (``export.bad_directory``) or a ``StorageError`` (``export.unwritable``), never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, select

from adamas.errors import AdamasError, ConflictError, InputError, NotFoundError, StorageError
from adamas.ledger.transparency import TransparencyLog
from adamas.log import Checkpoint, Tile, encode_entry_bundle, open_note, tree_root
from adamas.log.tiles import ENTRIES, TILE_HEIGHT, TILE_WIDTH, encode_tile_index
from adamas.store.schema import events, log_checkpoints, log_tiles
from adamas.store.tree import StoredHashReader

__all__ = ["CHECKPOINTS_DIR", "TilesExport", "checkpoint_path", "export_tiles", "partial_tiles_for_size"]

CHECKPOINTS_DIR: Final = "checkpoints"
_PAGE: Final = 16


@dataclass(frozen=True)
class TilesExport:
    """What an export wrote: the tree size, and files written (new) or found already there (unchanged)."""

    directory: str
    size: int
    tiles: int
    bundles: int
    checkpoints: int
    unchanged: int

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "dir": self.directory,
            "size": self.size,
            "tiles": self.tiles,
            "bundles": self.bundles,
            "checkpoints": self.checkpoints,
            "unchanged": self.unchanged,
        }


def checkpoint_path(size: int) -> str:
    """Where the checkpoint of tree size ``size`` is exported, relative to the directory."""
    return f"{CHECKPOINTS_DIR}/{encode_tile_index(size)}"


def export_tiles(
    engine: Engine,
    log: TransparencyLog,
    directory: str | os.PathLike[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> TilesExport:
    """Write the log's tiles, entry bundles and checkpoints under ``directory`` (created if needed)."""
    root = Path(directory)
    counts = {"tile": 0, "bundle": 0, "checkpoint": 0, "unchanged": 0}

    def write(relative: str, data: bytes, kind: str) -> None:
        counts[kind if _write_once(root / relative, data) else "unchanged"] += 1

    with engine.connect() as conn:
        latest = log.latest(conn)
        if latest is None:
            raise NotFoundError("the log has signed no checkpoint yet", code="log.no_checkpoint")
        size, newest = latest
        _check_target(root)
        _check_mirror(conn, log, root, size)
        try:
            _export(conn, log, size, write, progress)
        except OSError as exc:
            raise _unwritable(root, exc) from exc
    try:
        _replace(root / "checkpoint", newest.encode("utf-8"))
    except OSError as exc:
        raise _unwritable(root, exc) from exc
    return TilesExport(
        str(root), size, counts["tile"], counts["bundle"], counts["checkpoint"], counts["unchanged"]
    )


WriteFile = Callable[[str, bytes, str], None]


def _unwritable(root: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"cannot write the tiles under {root}: {exc.strerror or exc}", code="export.unwritable", field="dir"
    )


def _check_target(root: Path) -> None:
    """The target must be a directory, or a path where one can be made."""
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} exists and is not a directory", code="export.bad_directory", field="dir")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot make the directory {root}: {exc.strerror or exc}",
            code="export.bad_directory",
            field="dir",
        ) from exc


def _check_mirror(conn: Connection, log: TransparencyLog, root: Path, size: int) -> None:
    """Refuse to export over a mirror of another log, of a larger tree (a rollback) or of a fork."""
    try:
        existing = (root / "checkpoint").read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _unwritable(root, exc) from exc
    try:
        theirs = Checkpoint.from_text(open_note(existing, [log.verifier]).text)
    except AdamasError as exc:
        raise ConflictError(
            f"the mirror at {root} holds a checkpoint this log did not sign ({exc.code}): it is another "
            "log's mirror, or it was tampered with",
            code="export.foreign_mirror",
            field="dir",
        ) from exc
    if theirs.origin != log.origin:
        raise ConflictError(
            f"the mirror at {root} is of the log {theirs.origin!r}, not {log.origin!r}",
            code="export.foreign_mirror",
            field="dir",
        )
    if theirs.size > size:
        raise ConflictError(
            f"the mirror at {root} already holds {theirs.size} leaves; this log's newest checkpoint has "
            f"{size}: exporting would roll the mirror back",
            code="export.rollback",
            field="dir",
            expected=theirs.size,
            actual=size,
        )
    if theirs.size and tree_root(theirs.size, StoredHashReader(conn)) != theirs.root_hash:
        raise ConflictError(
            f"the mirror at {root} signs a tree of {theirs.size} leaves whose root is not this log's at that "
            "size: the log has forked",
            code="export.fork",
            field="dir",
        )


def _export(
    conn: Connection,
    log: TransparencyLog,
    size: int,
    write: WriteFile,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Write every tile, bundle and checkpoint of the tree of ``size`` (``checkpoint`` itself excepted)."""
    _export_hash_tiles(conn, size, write)
    _export_bundles(conn, size, write, progress)
    partial_tiles, partial_bundles = _partial_rows(conn, size)
    for row in conn.execute(select(log_checkpoints.c.size, log_checkpoints.c.note).order_by("size")):
        note = str(row.note)
        checkpoint = Checkpoint.from_text(open_note(note.encode("utf-8"), [log.verifier]).text)
        if checkpoint.size != row.size:
            raise StorageError(
                f"stored checkpoint {row.size} is signed for size {checkpoint.size}",
                code="log.checkpoint_order",
            )
        for tile in partial_tiles_for_size(checkpoint.size):
            # An older size's partial tile, until the full tile that supersedes it exists.
            if (tile.level, tile.index) in partial_tiles:
                hashes = partial_tiles[tile.level, tile.index]
                write(tile.path, hashes[: tile.width * 32], "tile")
                if tile.level == 0:
                    bundle = Tile(ENTRIES, tile.index, tile.width)
                    write(bundle.path, encode_entry_bundle(partial_bundles[: tile.width]), "bundle")
        write(checkpoint_path(checkpoint.size), note.encode("utf-8"), "checkpoint")


def _export_hash_tiles(conn: Connection, size: int, write: WriteFile) -> None:
    """Every full hash tile of the tree of ``size`` (partial ones are written per checkpoint)."""
    level = 0
    while size >> (TILE_HEIGHT * level):
        full = (size >> (TILE_HEIGHT * level)) // TILE_WIDTH
        start = 0
        while start < full:
            stop = min(full, start + _PAGE)
            rows = conn.execute(
                select(log_tiles.c.idx, log_tiles.c.width, log_tiles.c.hashes)
                .where(log_tiles.c.level == level, log_tiles.c.idx >= start, log_tiles.c.idx < stop)
                .order_by(log_tiles.c.idx)
            ).all()
            if [row.idx for row in rows] != list(range(start, stop)) or any(
                r.width != TILE_WIDTH for r in rows
            ):
                raise StorageError(
                    f"the stored tree lacks full tiles of level {level} between {start} and {stop}",
                    code="log.tree_size",
                )
            for row in rows:
                write(Tile(level, row.idx).path, bytes(row.hashes)[: TILE_WIDTH * 32], "tile")
            start = stop
        level += 1


def _export_bundles(
    conn: Connection, size: int, write: WriteFile, progress: Callable[[int, int], None] | None
) -> None:
    """Every full entry bundle of the tree of ``size``."""
    full = size // TILE_WIDTH
    start = 0
    while start < full:
        stop = min(full, start + _PAGE)
        rows = conn.execute(
            select(events.c.seq, events.c.envelope)
            .where(events.c.seq >= start * TILE_WIDTH, events.c.seq < stop * TILE_WIDTH)
            .order_by(events.c.seq)
        ).all()
        if len(rows) != (stop - start) * TILE_WIDTH or rows[-1].seq != stop * TILE_WIDTH - 1:
            raise StorageError(
                f"stored events between leaves {start * TILE_WIDTH} and {stop * TILE_WIDTH} are missing",
                code="storage.missing_event",
            )
        entries = [bytes(row.envelope) for row in rows]
        for number in range(start, stop):
            offset = (number - start) * TILE_WIDTH
            write(
                Tile(ENTRIES, number).path,
                encode_entry_bundle(entries[offset : offset + TILE_WIDTH]),
                "bundle",
            )
        if progress is not None:
            progress(stop * TILE_WIDTH, size)
        start = stop


def _partial_rows(conn: Connection, size: int) -> tuple[dict[tuple[int, int], bytes], list[bytes]]:
    """The tile hashes of every partial tile at ``size`` (by level and index), and the entries of the partial
    level-0 tile: every older size's partial tile is a prefix of one of these."""
    hashes: dict[tuple[int, int], bytes] = {}
    for tile in partial_tiles_for_size(size):
        data = conn.execute(
            select(log_tiles.c.hashes).where(log_tiles.c.level == tile.level, log_tiles.c.idx == tile.index)
        ).scalar()
        if data is None:
            raise StorageError(f"the stored tree lacks tile {tile.path}", code="log.tree_size")
        hashes[tile.level, tile.index] = bytes(data)[: tile.width * 32]
    first = size // TILE_WIDTH * TILE_WIDTH
    entries = [
        bytes(e)
        for e in conn.execute(
            select(events.c.envelope).where(events.c.seq >= first, events.c.seq < size).order_by(events.c.seq)
        ).scalars()
    ]
    if len(entries) != size - first:
        raise StorageError(
            f"stored events between {first} and {size} are missing", code="storage.missing_event"
        )
    return hashes, entries


def partial_tiles_for_size(size: int) -> list[Tile]:
    """The partial hash tiles of a tree of ``size`` (at most one per level), without listing the full ones."""
    out = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        if count % TILE_WIDTH:
            out.append(Tile(level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return out


def _write_once(path: Path, data: bytes) -> bool:
    """Write an immutable file; False if it already holds ``data``; ConflictError if it holds other bytes."""
    try:
        existing = path.read_bytes()
    except FileNotFoundError:
        _replace(path, data)
        return True
    if existing != data:
        raise ConflictError(
            f"{path} already exists with other content: a published tile never changes",
            code="log.tile_changed",
            field="dir",
            path=str(path),
        )
    return False


def _replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
