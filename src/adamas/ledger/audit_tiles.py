"""The audit of a tlog-tiles log (a mirror): every leaf hash recomputed from the entry bundles and checked
against the level-0 tiles, every tile above recomputed and compared, every checkpoint verified.

Tiles are read through one small port, ``TileSource``: ``read(path)`` returns the bytes at a tile path (or
None when there are none) and ``checkpoint_paths()`` lists the signed checkpoints the mirror keeps.
``DirectoryTiles`` reads a folder (what ``adamas log export-tiles`` writes); other sources (HTTP) implement
the same two methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from adamas.errors import AdamasError, StorageError
from adamas.ledger.audit_envelopes import EnvelopeCheck, OnEnvelope
from adamas.ledger.audit_faults import AuditReport, Faults, Progress
from adamas.ledger.audit_tree import (
    CHUNK_TILES,
    WORKER_MIN,
    TileWorker,
    TreeRebuild,
    encode_here,
    first_difference,
    leaf_hashes,
    open_checkpoints,
)
from adamas.ledger.export import CHECKPOINTS_DIR
from adamas.log import Checkpoint, Tile, Verifier, open_note
from adamas.log.tiles import ENTRIES, TILE_WIDTH, decode_entry_bundle, parse_tile_path

__all__ = ["TileSource", "TilesAudit"]


class TileSource(Protocol):
    """Where a mirror's tiles are read from."""

    @property
    def name(self) -> str:
        """How the source is named in reports (a path, a URL)."""
        ...

    def read(self, path: str) -> bytes | None:
        """The bytes at ``path`` (``checkpoint``, ``tile/...``, ``checkpoints/...``), None if absent;
        a ``StorageError`` (``audit.source``) if it cannot be read."""
        ...

    def checkpoint_paths(self) -> list[str]:
        """Paths of the older signed checkpoints kept under ``checkpoints/`` (may be empty)."""
        ...


class TilesAudit:
    """One audit of a mirror; ``on_envelope`` (a replay) sees every envelope in leaf order."""

    worker_min = WORKER_MIN

    def __init__(
        self,
        source: TileSource,
        verifier: Verifier,
        opaque: bool,
        progress: Progress | None,
        on_envelope: OnEnvelope | None = None,
    ) -> None:
        self.source = source
        self.verifier = verifier
        self.opaque = opaque
        self.progress = progress
        self.on_envelope = on_envelope
        self.faults = Faults()

    def _read(self, path: str) -> bytes | None:
        try:
            return self.source.read(path)
        except StorageError as exc:
            raise StorageError(exc.message, code="audit.source") from exc

    def run(self) -> AuditReport:
        """Check everything; faults are in the report, only an unreadable source raises."""
        latest = self._read("checkpoint")
        if latest is None:
            raise StorageError(f"{self.source.name} holds no checkpoint file", code="audit.source")
        try:
            head = Checkpoint.from_text(open_note(latest, [self.verifier]).text)
        except AdamasError as exc:
            raise StorageError(
                f"{self.source.name}: the checkpoint does not verify under the vkey: {exc.code}: "
                f"{exc.message}",
                code="audit.checkpoint_signature",
            ) from exc
        size = head.size
        notes: list[tuple[int | None, str, bytes]] = [(None, "checkpoint", latest)]
        for relative in self.source.checkpoint_paths():
            note = self._read(relative)
            if note is not None:
                notes.append((_filed_size(relative), relative, note))
        checkpoints, origin = open_checkpoints(notes, self.verifier, head.origin, self.faults, size)
        rebuild = TreeRebuild(size, checkpoints, self.faults, self._compare_tile)
        envelopes = None if self.opaque else EnvelopeCheck(self.faults, self.on_envelope)
        count = -(-size // TILE_WIDTH)
        worker = TileWorker() if size >= self.worker_min else None
        try:
            pending: list[tuple[int, list[bytes]]] = []
            group: list[tuple[int, list[bytes]]] = []
            for index in range(count):
                width = min(TILE_WIDTH, size - index * TILE_WIDTH)
                group.append((index, self._level0(index, width, envelopes)))
                if len(group) < CHUNK_TILES and index < count - 1:
                    continue
                if worker is None or (not pending and not worker.ready()):
                    self._feed(rebuild, group, encode_here(group))
                else:
                    if pending:
                        self._feed(rebuild, pending, worker.receive(len(pending)))
                    worker.send(group)
                    pending = group
                group = []
                if self.progress is not None:
                    self.progress(index * TILE_WIDTH + width, size)
            if worker is not None and pending:
                self._feed(rebuild, pending, worker.receive(len(pending)))
        finally:
            if worker is not None:
                worker.close()
        rebuild.finish()
        self.faults.flush()
        return AuditReport(
            source=self.source.name,
            origin=origin,
            size=size,
            leaves=size,
            tiles=rebuild.tiles,
            checkpoints=len(notes),
            envelopes=0 if envelopes is None else envelopes.verified,
            faults=tuple(self.faults.kept),
            fault_count=self.faults.count,
            trusted_key=self.verifier.vkey,
        )

    def _level0(self, index: int, width: int, envelopes: EnvelopeCheck | None) -> list[bytes]:
        """The leaf hashes of level-0 tile ``index``, recomputed from its entry bundle and checked against
        the tile (a missing entry takes the tile's hash, so that the rest can still be checked)."""
        tile = Tile(0, index, width)
        data = self._read(tile.path)
        stored = None
        if data is None or len(data) != width * 32:
            self.faults.add(
                "audit.tile_missing", f"tile {tile.path} is missing or of the wrong size", tile=tile.path
            )
        else:
            stored = [data[i : i + 32] for i in range(0, len(data), 32)]
        bundle = Tile(ENTRIES, index, width)
        raw = self._read(bundle.path)
        entries: list[bytes] = []
        if raw is None:
            self.faults.add(
                "audit.bundle",
                f"entry bundle {bundle.path} is missing",
                tile=bundle.path,
                leaf=index * TILE_WIDTH,
            )
        else:
            try:
                entries = decode_entry_bundle(raw)
            except AdamasError as exc:
                self.faults.add(
                    "audit.bundle", f"entry bundle {bundle.path}: {exc.message}", tile=bundle.path
                )
        hashes = leaf_hashes(entries[:width])
        if stored is not None and hashes != stored[: len(hashes)]:
            leaf = index * TILE_WIDTH + first_difference(hashes, stored)
            self.faults.add(
                "audit.leaf_mismatch",
                f"leaf {leaf}: the entry does not hash to the tile's leaf hash",
                leaf=leaf,
                tile=tile.path,
            )
        if len(entries) != width:
            leaf = index * TILE_WIDTH + min(len(entries), width)
            self.faults.add(
                "audit.bundle",
                f"entry bundle {bundle.path} holds {len(entries)} entries, the tree {width} "
                f"(from leaf {leaf})",
                leaf=leaf,
                tile=bundle.path,
            )
            filler = stored if stored is not None else [b"\x00" * 32] * width
            hashes = hashes + filler[len(hashes) :]
        if envelopes is not None:
            for offset, entry in enumerate(entries[:width]):
                envelopes.check(index * TILE_WIDTH + offset, entry)
        return hashes

    @staticmethod
    def _feed(
        rebuild: TreeRebuild, tiles: Sequence[tuple[int, list[bytes]]], encoded: Sequence[bytes]
    ) -> None:
        for (index, hashes), data in zip(tiles, encoded, strict=True):
            rebuild.level0(index, len(hashes), data)

    def _compare_tile(self, level: int, index: int, width: int, encoded: bytes) -> None:
        if level == 0:
            return  # level-0 tiles are checked leaf by leaf against their entries in _level0
        tile = Tile(level, index, width)
        data = self._read(tile.path)
        if data is None:
            self.faults.add("audit.tile_missing", f"tile {tile.path} is missing", tile=tile.path)
        elif data != encoded[: width * 32]:
            self.faults.add(
                "audit.tile_mismatch",
                f"tile {tile.path} differs from the tile recomputed from the entries",
                tile=tile.path,
            )


def _filed_size(relative: str) -> int | None:
    """The tree size a ``checkpoints/<N>`` path names (None if it names none)."""
    try:
        return parse_tile_path(f"tile/0/{relative[len(CHECKPOINTS_DIR) + 1 :]}").index
    except AdamasError:
        return None
