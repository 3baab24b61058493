"""The frame format between the ingest verifier and its worker (:mod:`adamas.ledger.verify`).

Its own module so that the worker (``python -m adamas.ledger.verify_worker``) and the parent share it
without the parent importing the worker's ``__main__`` module.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = ["HEADER", "JOB_HEAD"]

HEADER: Final = struct.Struct("!II")
"""A frame's header: its job count and the byte length of the jobs that follow."""
JOB_HEAD: Final = struct.Struct("!32s64sI")
"""A job's head: public key, raw signature, message length; the message follows."""
