"""The transparency log over HTTP: C2SP tlog-tiles v0.1.0 under ``/log/``, and proofs under ``/v1/log/``.

``/log/checkpoint`` (text/plain), ``/log/tile/<L>/<N>[.p/<W>]`` and ``/log/tile/entries/<N>[.p/<W>]``
(application/octet-stream) are exactly the spec's resources, so any tlog-tiles client (and ``adamas audit
--tiles``) can mirror the log from here. Full tiles never change and are cached for a year as immutable;
partial tiles and the checkpoint for a few seconds. ``/log/checkpoints/<N>`` (N spelled as a tile index)
serves every checkpoint the log ever signed, as ``export-tiles`` writes them under ``checkpoints/``.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from adamas.api.deps import LedgerDep
from adamas.api.models import ConsistencyProof, InclusionProof
from adamas.api.routes._common import problems
from adamas.errors import AdamasError
from adamas.ledger import Ledger
from adamas.log import Checkpoint, Tile, parse_tile_path

router = APIRouter(tags=["log"])

IMMUTABLE: Final = "public, max-age=31536000, immutable"
SHORT: Final = "public, max-age=5"
TEXT: Final = "text/plain; charset=utf-8"
OCTETS: Final = "application/octet-stream"
_NOTE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {TEXT: {"schema": {"type": "string"}}}, "description": "A signed note."}
}
_TILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {OCTETS: {"schema": {"type": "string", "format": "binary"}}},
        "description": "Tile bytes.",
    }
}


def served_checkpoint(ledger: Ledger) -> str:
    """The checkpoint ``/log/checkpoint`` serves: the newest one the log signed, with every witness
    cosignature line held for it."""
    return ledger.cosigned_checkpoint()


@router.get(
    "/log/checkpoint",
    response_class=Response,
    responses={**_NOTE_RESPONSE, **problems(404)},
    summary="The newest checkpoint (C2SP tlog-checkpoint)",
)
def get_checkpoint(ledger: LedgerDep) -> Response:
    """The newest signed checkpoint, with every cosignature held for it."""
    return Response(served_checkpoint(ledger), media_type=TEXT, headers={"Cache-Control": SHORT})


@router.get(
    "/log/checkpoints/{size_path:path}",
    response_class=Response,
    responses={**_NOTE_RESPONSE, **problems(400, 404)},
    summary="A checkpoint of an older size",
)
def get_old_checkpoint(ledger: LedgerDep, size_path: str = Path(max_length=64)) -> Response:
    """The checkpoint the log signed for tree size N (N spelled as a tile index: x001/234)."""
    size = parse_tile_path(f"tile/0/{size_path}").index
    return Response(ledger.checkpoint(size=size), media_type=TEXT, headers={"Cache-Control": IMMUTABLE})


class FullTiles:
    """The most recently served full tiles and bundles, kept in memory: a full tile never changes, so a
    warm server answers it without the database."""

    def __init__(self, max_tiles: int = 2048) -> None:
        self._tiles: OrderedDict[Tile, bytes] = OrderedDict()
        self._max = max_tiles
        self._lock = threading.Lock()

    def get(self, tile: Tile) -> bytes | None:
        """The tile's bytes if kept."""
        with self._lock:
            data = self._tiles.get(tile)
            if data is not None:
                self._tiles.move_to_end(tile)
            return data

    def put(self, tile: Tile, data: bytes) -> None:
        """Keep a full tile (the least recently served goes when full)."""
        if tile.is_partial:
            return
        with self._lock:
            self._tiles[tile] = data
            if len(self._tiles) > self._max:
                self._tiles.popitem(last=False)


@router.get(
    "/log/tile/{tile_path:path}",
    response_class=Response,
    responses={**_TILE_RESPONSE, **problems(400, 404)},
    summary="A hash tile or an entry bundle (C2SP tlog-tiles)",
)
async def get_tile(request: Request, ledger: LedgerDep, tile_path: str = Path(max_length=128)) -> Response:
    """`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`: the tile's hashes, or the bundle's entries."""
    tile = parse_tile_path(f"tile/{tile_path}")
    cache: FullTiles = request.app.state.full_tiles
    data = cache.get(tile)
    if data is None:
        with _fields({None: "path"}):
            data = await run_in_threadpool(ledger.tile, tile)
        cache.put(tile, data)
    control = SHORT if tile.is_partial else IMMUTABLE
    return Response(data, media_type=OCTETS, headers={"Cache-Control": control})


@contextmanager
def _fields(names: dict[str | None, str]) -> Iterator[None]:
    """Name the field at fault as the client spelled it (the ledger's ``new_size`` is the query's ``new``)."""
    try:
        yield
    except AdamasError as exc:
        exc.field = names.get(exc.field, exc.field)
        raise


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


Size = Annotated[int | None, Query(ge=0, description="Tree size (default: the newest checkpoint's).")]


@router.get(
    "/v1/log/proof/inclusion",
    response_model=InclusionProof,
    responses=problems(400, 404),
    summary="Inclusion proof",
)
def get_inclusion(ledger: LedgerDep, index: Annotated[int, Query(ge=0)], size: Size = None) -> dict[str, Any]:
    """RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""
    size = _newest(ledger) if size is None else size
    return {"index": index, "size": size, "inclusion_proof": _b64(ledger.prove(index, size=size))}


@router.get(
    "/v1/log/proof/consistency",
    response_model=ConsistencyProof,
    responses=problems(400, 404),
    summary="Consistency proof",
)
def get_consistency(ledger: LedgerDep, old: Annotated[int, Query(ge=0)], new: Size = None) -> dict[str, Any]:
    """RFC 9162 consistency proof from the tree of `old` to the tree of `new`."""
    with _fields({"old_size": "old", "new_size": "new"}):
        new = _newest(ledger) if new is None else new
        proof = ledger.consistency(old, new)
    return {"old": old, "new": new, "consistency_proof": _b64(proof)}


def _newest(ledger: Ledger) -> int:
    """The size of the newest checkpoint."""
    return Checkpoint.from_text(ledger.checkpoint().split("\n\n", 1)[0] + "\n").size
