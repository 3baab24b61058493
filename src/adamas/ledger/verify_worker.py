"""The signature verification worker process: ``python -m adamas.ledger.verify_worker``.

It reads job frames on standard input and answers on standard output, in the wire format described in
:mod:`adamas.ledger.verify`, until its input closes. A frame is read whole, in one call, and each job is
sliced out of it: the worker's own work per signature is a few slices beside the verification itself.
"""

from __future__ import annotations

import sys
from typing import IO

from adamas.crypto.keys import verify_raw
from adamas.ledger.verify_wire import HEADER, JOB_HEAD

__all__ = ["serve"]


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker's loop: read frames until end of input, answer each with one byte per job."""
    head_size = JOB_HEAD.size
    unpack_head = JOB_HEAD.unpack_from
    while True:
        header = source.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        count, size = HEADER.unpack(header)
        data = source.read(size)
        if len(data) < size:
            return
        answers = bytearray(count)
        offset = 0
        for i in range(count):
            public_key, signature, length = unpack_head(data, offset)
            offset += head_size
            answers[i] = verify_raw(public_key, data[offset : offset + length], signature)
            offset += length
        sink.write(answers)
        sink.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
