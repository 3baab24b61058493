"""Where a log's C2SP tlog-tiles are read from: a directory (an export, a mirror) or an HTTP(S) prefix (a
served log, a CDN). The audit and the monitor read through this one interface.

Invariants:
- ``read`` returns the bytes at a path relative to the prefix, or None when the resource does not exist
  (a missing file, HTTP 404); any other failure raises ``StorageError``, so absence is never confused with
  an outage;
- over HTTP, transport errors, 429 and 5xx answers are retried a few times with a growing pause, each
  request under a timeout; ``checkpoint`` is asked for uncached (it changes, tiles never do);
- a source never interprets what it reads: authenticating it (signatures, hashes) is the reader's job;
- ``PartialFallback`` serves a partial tile or bundle that the log deleted once the full one existed
  (tlog-tiles allows that) as the prefix of the full one: the same bytes the partial one had.

Error codes: StorageError ``tiles.unreadable`` (a directory file that cannot be read), ``tiles.http`` (an
HTTP answer other than 200 or 404), ``tiles.unreachable`` (no answer after the retries); InputError
``tiles.location``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

from adamas.errors import InputError, NotFoundError, StorageError
from adamas.log import HASH_SIZE, Tile, decode_entry_bundle, encode_entry_bundle, parse_tile_path

if TYPE_CHECKING:
    import httpx

__all__ = ["DirectoryTileSource", "HttpTileSource", "PartialFallback", "TileSource", "open_tile_source"]

DEFAULT_TIMEOUT: Final = 10.0
DEFAULT_RETRIES: Final = 3
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class TileSource(Protocol):
    """A tlog-tiles prefix to read from. Also a ``TileFetcher`` (``fetch``) for ``TileHashReader``."""

    @property
    def name(self) -> str:
        """Where the tiles are, for messages."""
        ...

    def read(self, path: str) -> bytes | None:
        """The bytes at ``path`` (relative to the prefix), or None if there is nothing there."""
        ...

    def fetch(self, path: str) -> bytes:
        """The bytes at ``path``; ``NotFoundError(code="tiles.missing")`` if there is nothing there."""
        ...

    def checkpoint_paths(self) -> list[str]:
        """The paths of the older checkpoints it can list (``checkpoints/<N>``); empty if it cannot list."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _missing(source: TileSource, path: str) -> NotFoundError:
    return NotFoundError(f"{source.name} has no {path}", code="tiles.missing", field="path", path=path)


class DirectoryTileSource:
    """Tiles in a local directory, as ``adamas log export-tiles`` writes them."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def name(self) -> str:
        """The directory."""
        return str(self.root)

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None if it does not exist."""
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {self.root / path}: {exc}", code="tiles.unreadable") from exc

    def fetch(self, path: str) -> bytes:
        """The file's bytes; NotFoundError if it does not exist."""
        data = self.read(path)
        if data is None:
            raise _missing(self, path)
        return data

    def checkpoint_paths(self) -> list[str]:
        """Every file under ``checkpoints/``, in path order."""
        directory = self.root / "checkpoints"
        if not directory.is_dir():
            return []
        return [
            path.relative_to(self.root).as_posix()
            for path in sorted(directory.rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        ]

    def close(self) -> None:
        """Nothing to release."""


class HttpTileSource:
    """Tiles served over HTTP(S) under ``url`` (the tlog-tiles prefix), with timeouts and retries."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        client: httpx.Client | None = None,
    ) -> None:
        import httpx

        self.url = url.rstrip("/") + "/"
        self.retries = retries
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True)

    @property
    def name(self) -> str:
        """The URL prefix."""
        return self.url

    def read(self, path: str) -> bytes | None:
        """GET the resource: its body, or None on 404; retried on transport errors, 429 and 5xx."""
        import httpx

        headers = {"cache-control": "no-cache"} if path == "checkpoint" else {}
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(0.2 * 2 ** (attempt - 1))
            try:
                response = self._client.get(self.url + path, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 200:
                return response.content
            if response.status_code == 404:
                return None
            problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRY_STATUSES:
                raise StorageError(
                    f"{self.url}{path} answered HTTP {response.status_code}",
                    code="tiles.http",
                    status=response.status_code,
                )
        raise StorageError(
            f"{self.url}{path}: no answer after {self.retries + 1} attempts ({problem})",
            code="tiles.unreachable",
        )

    def fetch(self, path: str) -> bytes:
        """The resource's body; NotFoundError on 404."""
        data = self.read(path)
        if data is None:
            raise _missing(self, path)
        return data

    def checkpoint_paths(self) -> list[str]:
        """HTTP has no listing: none."""
        return []

    def close(self) -> None:
        """Close the HTTP client (if this source made it)."""
        if self._own_client:
            self._client.close()


class PartialFallback:
    """A ``TileFetcher`` over a source that falls back to the full tile when a partial one is gone."""

    def __init__(self, source: TileSource) -> None:
        self.source = source

    def fetch(self, path: str) -> bytes:
        """The bytes at ``path``, or for a missing partial tile, the same prefix of the full tile."""
        data = self.source.read(path)
        if data is not None:
            return data
        tile = parse_tile_path(path)
        if not tile.is_partial:
            raise _missing(self.source, path)
        full = self.source.fetch(Tile(tile.level, tile.index).path)
        if not tile.is_entry_bundle:
            return full[: tile.width * HASH_SIZE]
        return encode_entry_bundle(decode_entry_bundle(full)[: tile.width])


def open_tile_source(location: str | os.PathLike[str] | TileSource) -> TileSource:
    """A source for ``location``: an http(s) URL, a directory path, or a source already opened."""
    if not isinstance(location, str | os.PathLike):
        return location
    text = os.fspath(location)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme in ("http", "https"):
        return HttpTileSource(text)
    if scheme:
        raise InputError(
            f"tiles are read from a directory or an http(s) URL, not {text!r}", code="tiles.location"
        )
    return DirectoryTileSource(text)
