"""The signature verification worker process: ``python -m adamas.ledger.verify_worker``.

It reads job frames on standard input and answers on standard output, in the wire format described in
:mod:`adamas.ledger.verify`, until its input closes.
"""

from __future__ import annotations

import struct
import sys
from typing import IO

from adamas.crypto.keys import verify_raw

__all__ = ["serve"]


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker's loop: read job frames until end of input, answer each with one byte per job."""
    while True:
        header = source.read(4)
        if len(header) < 4:
            return
        (count,) = struct.unpack("!I", header)
        answers = bytearray(count)
        for i in range(count):
            head = source.read(100)
            (length,) = struct.unpack("!I", head[96:100])
            answers[i] = verify_raw(head[:32], source.read(length), head[32:96])
        sink.write(bytes(answers))
        sink.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
