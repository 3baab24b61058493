"""The audit's tile worker: ``python -m adamas.ledger.audit_worker``.

It recomputes the stored nodes of level-0 tiles from their leaf hashes (``adamas.store.tree.tile_parts``)
while the auditing process reads and hashes the next entries, so that a large audit uses two cores (the
same reasoning and the same plain-subprocess design as the ingest's verification worker, ADR 0001).

Wire format: once started, the worker writes one byte ``R`` (until then the parent does the work itself,
so a short audit never waits for the worker's imports). Parent to worker: ``!I`` tile count, then per tile
``!H`` width and ``width * 32`` bytes of leaf hashes; a count of 0 ends the worker. Worker to parent, per
message: per tile ``!I`` length and the tile's stored bytes (``encode_tile``), flushed at the end.
"""

from __future__ import annotations

import os
import struct
import sys
from typing import BinaryIO

from adamas.store.tree import encode_tile, tile_parts

__all__ = ["READY", "main", "serve"]

READY = b"R"

_COUNT = struct.Struct("!I")
_WIDTH = struct.Struct("!H")


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """Answer messages from ``source`` on ``sink`` until a count of 0 or the end of ``source``."""
    while True:
        head = source.read(_COUNT.size)
        if len(head) < _COUNT.size:
            return
        (count,) = _COUNT.unpack(head)
        if count == 0:
            return
        out = []
        for _ in range(count):
            (width,) = _WIDTH.unpack(source.read(_WIDTH.size))
            data = source.read(width * 32)
            blob = encode_tile(tile_parts([data[i : i + 32] for i in range(0, len(data), 32)]))
            out.append(_COUNT.pack(len(blob)))
            out.append(blob)
        sink.write(b"".join(out))
        sink.flush()


def main() -> None:
    """Entry point of the worker process."""
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    serve(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    # Nothing to tear down: skip the interpreter's shutdown, which would cost the parent's wait ~60 ms.
    os._exit(0)


if __name__ == "__main__":
    main()
