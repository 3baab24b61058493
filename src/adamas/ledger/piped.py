"""Worker subprocesses fed through pipes (ADR 0001): the ingest verifier and the audit's workers.

A plain ``python -m module`` subprocess rather than ``multiprocessing``, so that using a ``Ledger`` never
imposes ``if __name__ == "__main__"`` on a caller's script.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import sys
from typing import IO, Final

__all__ = ["PIPE_SIZE", "Piped"]

PIPE_SIZE: Final = 1 << 20
_F_SETPIPE_SZ: Final = 1031


class Piped:
    """A ``python -m module`` subprocess and the two pipes to it, each enlarged to ``PIPE_SIZE``."""

    def __init__(self, module: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        for pipe in (self.stdin, self.stdout):
            # A smaller pipe only means more waiting, never a wrong answer.
            with contextlib.suppress(OSError):
                fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, PIPE_SIZE)

    def stop(self, goodbye: bytes) -> None:
        """Send ``goodbye``, close the worker's input and wait for it (killed after 10 s)."""
        with contextlib.suppress(OSError):
            self.stdin.write(goodbye)
            self.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stdout.close()
