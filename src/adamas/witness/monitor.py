"""A monitor: follows a log served as C2SP tlog-tiles and raises an alarm when it forks or rewrites itself.

Each ``Monitor.check`` trusts only the log's vkey and its own last view (a JSON file it wrote):

1. the served ``checkpoint`` must verify under the vkey (else an error: nothing is learned);
2. a smaller size than the view's is a rollback, the same size with another root a fork (alarms);
3. the tiles served at the new size must hash to the new root (else a tile was rewritten: alarm);
4. it fetches the entry bundles of the new leaves, checks that every entry of each bundle hashes to its
   level-0 tile (else alarm), and recomputes the new root from the view's compact range (the perfect
   subtrees along the right edge of the tree it verified) extended by the new entries' leaf hashes;
5. from the view's size, it computes the RFC 9162 consistency proof itself from the hashes it fetched, and
   checks it against the view's root and the new root. Neither the recomputed root nor the proof
   matching: the log forked; only one of them: something served was rewritten (alarms);
6. only then the new view replaces the old one, atomically (written to a temporary file, then renamed).

An alarm names both checkpoints (sizes and roots) and is written into the view with both notes as evidence;
every later check repeats it until a person deletes the view. What the monitor cannot see: a rewrite of an
old tile that it never reads again (``adamas audit --tiles URL`` recomputes every tile).

Error codes: the alarms, VerificationError ``monitor.rollback``, ``monitor.fork``, ``monitor.rewritten``;
VerificationError ``monitor.checkpoint`` (the served checkpoint does not verify); InputError
``monitor.state`` (an unreadable view, or one of another log); StorageError ``monitor.no_checkpoint``,
``monitor.tile_missing`` and the ``tiles.*`` codes of ``adamas.ledger.tile_source``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from adamas.errors import AdamasError, InputError, NotFoundError, StorageError, VerificationError
from adamas.ledger.tile_source import PartialFallback, TileSource, open_tile_source
from adamas.log import (
    EMPTY_ROOT,
    Checkpoint,
    Tile,
    TileHashReader,
    Verifier,
    consistency_proof,
    leaf_hash,
    node_hash,
    open_checkpoint,
    tree_root,
    verify_consistency,
    verify_entry_bundle,
)
from adamas.log._base64 import b64decode_canonical, b64encode
from adamas.log.tiles import ENTRIES, TILE_WIDTH

__all__ = ["AlarmError", "CompactRange", "Monitor", "View"]

STATE_VERSION: Final = 1


class AlarmError(VerificationError):
    """The log showed something an append-only log never shows: a rollback, a fork, a rewritten tile."""

    default_code = "monitor.fork"


class CompactRange:
    """The perfect subtrees of the first ``size`` leaves along the tree's right edge, largest first: all it
    takes to extend the tree leaf by leaf and compute its root (RFC 9162 MTH)."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        expected = bin(size).count("1")
        if len(hashes) != expected:
            raise InputError(
                f"a compact range of size {size} has {expected} hashes, not {len(hashes)}",
                code="monitor.state",
                field="range",
            )
        self.size = size
        # (height, hash) of each perfect subtree, from the left.
        heights = [h for h in range(size.bit_length() - 1, -1, -1) if size >> h & 1]
        self._nodes = list(zip(heights, hashes, strict=True))

    @property
    def hashes(self) -> list[bytes]:
        """The subtree hashes, largest (leftmost) first."""
        return [value for _, value in self._nodes]

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash, merging equal subtrees."""
        self._nodes.append((0, leaf))
        while len(self._nodes) > 1 and self._nodes[-1][0] == self._nodes[-2][0]:
            (height, right), (_, left) = self._nodes.pop(), self._nodes.pop()
            self._nodes.append((height + 1, node_hash(left, right)))
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the subtrees folded from the right."""
        if not self._nodes:
            return EMPTY_ROOT
        root = self._nodes[-1][1]
        for _, left in reversed(self._nodes[:-1]):
            root = node_hash(left, root)
        return root


@dataclass(frozen=True)
class View:
    """What the monitor verified last: the checkpoint's note, size and root, and the compact range."""

    origin: str
    size: int
    root: bytes
    note: str
    range: tuple[bytes, ...]
    verified_ns: int
    grew: bool = False

    @property
    def root_b64(self) -> str:
        """The root as the checkpoint writes it."""
        return b64encode(self.root)

    def to_json(self) -> dict[str, Any]:
        """What a check prints."""
        return {"origin": self.origin, "size": self.size, "root": self.root_b64, "grew": self.grew}


class Monitor:
    """Follows the log at ``location`` (an http(s) tlog-tiles prefix or a directory) trusted by ``vkey``,
    keeping its view in the JSON file ``state``."""

    def __init__(
        self,
        location: str | os.PathLike[str] | TileSource,
        vkey: str,
        state: str | os.PathLike[str],
        *,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._verifier = Verifier.from_vkey(vkey.strip())
        self._state = Path(state)
        self._clock = clock or time.time_ns
        self._source = open_tile_source(location)
        self._tiles = PartialFallback(self._source)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the tile source."""
        self._source.close()

    def view(self) -> View | None:
        """The view last verified (None before the first check); raises the recorded alarm if any."""
        saved = self._load()
        if saved is None:
            return None
        alarm = saved.get("alarm")
        if alarm:
            raise AlarmError(str(alarm["message"]), code=str(alarm["code"]), recorded=True)
        try:
            root = b64decode_canonical(saved["root"]) or b""
            hashes = tuple(b64decode_canonical(h) or b"" for h in saved["range"])
            view = View(
                saved["origin"], int(saved["size"]), root, saved["note"], hashes, int(saved["verified_ns"])
            )
            CompactRange(view.size, view.range)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{self._state} is not a monitor view", code="monitor.state") from exc
        if view.origin != self._verifier.name or saved.get("vkey") != self._verifier.vkey:
            raise InputError(
                f"{self._state} follows {view.origin} under another key than {self._verifier.vkey}",
                code="monitor.state",
            )
        return view

    def check(self) -> View:
        """One check of the served log (steps 1 to 6 above): the new view, or an AlarmError raised."""
        old = self.view()
        note = self._source.read("checkpoint")
        if note is None:
            raise StorageError(f"{self._source.name} serves no checkpoint", code="monitor.no_checkpoint")
        try:
            checkpoint, _ = open_checkpoint(note, origin=self._verifier.name, verifiers=[self._verifier])
        except AdamasError as exc:
            raise VerificationError(
                f"the checkpoint served at {self._source.name} does not verify: {exc.code}: {exc.message}",
                code="monitor.checkpoint",
            ) from exc
        text = note.decode("utf-8")
        old_size = 0 if old is None else old.size
        old_root = EMPTY_ROOT if old is None else old.root
        if checkpoint.size < old_size:
            self._alarm(
                "monitor.rollback",
                f"{_named(checkpoint)} is served after {_named_view(old)} was verified",
                old,
                text,
            )
        if checkpoint.size == old_size and checkpoint.root_hash != old_root:
            self._alarm(
                "monitor.fork", f"{_named(checkpoint)} and {_named_view(old)}: one size, two roots", old, text
            )
        reader = TileHashReader(checkpoint.size, self._tiles)
        try:
            served_root = tree_root(checkpoint.size, reader)
        except NotFoundError as exc:
            raise StorageError(f"a tile is missing: {exc.message}", code="monitor.tile_missing") from exc
        except InputError as exc:
            self._alarm(
                "monitor.rewritten", f"a tile of {_named(checkpoint)} is malformed: {exc.message}", old, text
            )
        if served_root != checkpoint.root_hash:
            self._alarm(
                "monitor.rewritten",
                f"the tiles served for {_named(checkpoint)} hash to another root ({b64encode(served_root)}): "
                f"a tile was rewritten (last verified: {_named_view(old)})",
                old,
                text,
            )
        compact = CompactRange(old_size, () if old is None else old.range)
        self._extend(compact, checkpoint, old, text)
        # The view's compact range (trusted) extended by the new entries (each checked against its tile)
        # gives the new root exactly when the new tree extends the verified one.
        extends = compact.root() == checkpoint.root_hash
        proven = True
        if 0 < old_size < checkpoint.size:
            # The proof is computed from the served hashes, but verifying it is sound whatever they are.
            proof = consistency_proof(old_size, checkpoint.size, reader)
            try:
                verify_consistency(old_size, checkpoint.size, proof, old_root, checkpoint.root_hash)
            except VerificationError:
                proven = False
        if not extends and not proven:
            self._alarm(
                "monitor.fork",
                f"{_named(checkpoint)} does not extend {_named_view(old)}: the log forked",
                old,
                text,
            )
        if not extends:
            self._alarm(
                "monitor.rewritten",
                f"the entries served for {_named(checkpoint)} give the root {b64encode(compact.root())}, "
                f"though the log's tiles prove it consistent with {_named_view(old)}: an entry was rewritten",
                old,
                text,
            )
        if not proven:
            self._alarm(
                "monitor.rewritten",
                f"the entries served for {_named(checkpoint)} extend {_named_view(old)}, but the tiles give "
                "no valid consistency proof between them: a tile was rewritten",
                old,
                text,
            )
        view = View(
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root_hash,
            text,
            tuple(compact.hashes),
            self._clock(),
            grew=checkpoint.size > old_size,
        )
        self._save({**_view_json(view), "vkey": self._verifier.vkey})
        return view

    def _extend(self, compact: CompactRange, checkpoint: Checkpoint, old: View | None, text: str) -> None:
        """Step 4: add the new leaves' hashes from the entry bundles, each checked against its tile."""
        first = compact.size // TILE_WIDTH
        last = -(-checkpoint.size // TILE_WIDTH)
        for index in range(first, last):
            width = min(TILE_WIDTH, checkpoint.size - index * TILE_WIDTH)
            bundle, tile = Tile(ENTRIES, index, width), Tile(0, index, width)
            try:
                entries = verify_entry_bundle(self._tiles.fetch(bundle.path), self._tiles.fetch(tile.path))
            except NotFoundError as exc:
                raise StorageError(f"a tile is missing: {exc.message}", code="monitor.tile_missing") from exc
            except (InputError, VerificationError) as exc:
                self._alarm(
                    "monitor.rewritten",
                    f"entry bundle {bundle.path} does not match tile {tile.path} of {_named(checkpoint)}: "
                    f"{exc.message} (last verified: {_named_view(old)})",
                    old,
                    text,
                )
            if len(entries) != width:
                self._alarm(
                    "monitor.rewritten",
                    f"entry bundle {bundle.path} holds {len(entries)} entries, not {width}",
                    old,
                    text,
                )
            for entry in entries[compact.size - index * TILE_WIDTH :]:
                compact.append(leaf_hash(entry))

    def _alarm(self, code: str, message: str, old: View | None, served: str) -> NoReturn:
        """Record the alarm with both checkpoints as evidence, then raise it."""
        saved = self._load() or {}
        saved["alarm"] = {
            "code": code,
            "message": message,
            "verified": None if old is None else old.note,
            "served": served,
            "time_ns": self._clock(),
        }
        self._save(saved)
        raise AlarmError(message, code=code, verified=None if old is None else old.note, served=served)

    def _load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self._state.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read the monitor view {self._state}: {exc}", code="monitor.state"
            ) from exc
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise InputError(f"{self._state} is not a monitor view", code="monitor.state")
        return data

    def _save(self, data: dict[str, Any]) -> None:
        temporary = self._state.with_name(f".{self._state.name}.tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._state)


def _view_json(view: View) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "origin": view.origin,
        "size": view.size,
        "root": view.root_b64,
        "note": view.note,
        "range": [b64encode(h) for h in view.range],
        "verified_ns": view.verified_ns,
        "alarm": None,
    }


def _named(checkpoint: Checkpoint) -> str:
    return f"checkpoint {checkpoint.size} (root {b64encode(checkpoint.root_hash)})"


def _named_view(view: View | None) -> str:
    return "nothing" if view is None else f"checkpoint {view.size} (root {view.root_b64})"
