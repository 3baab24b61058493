"""A small real log for witness tests (the generic log library over memory), and a loopback port finder."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from adamas.log import (
    Checkpoint,
    MemoryHashStore,
    Signer,
    consistency_proof,
    leaf_hash,
    sign_checkpoint,
    tree_root,
)

ORIGIN = "log.example/witnessed"


class MemoryLog:
    """A log whose leaves are ``prefix || n``, signed by ``signer``: two of them with one signer and
    different prefixes are a fork of one log."""

    def __init__(self, signer: Signer, *, prefix: bytes = b"leaf", size: int = 0) -> None:
        self.signer = signer
        self.prefix = prefix
        self.store = MemoryHashStore()
        self.grow(size)

    @property
    def size(self) -> int:
        return self.store.size

    def grow(self, count: int) -> None:
        start = self.store.size
        self.store.extend(leaf_hash(self.prefix + str(n).encode()) for n in range(start, start + count))

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size if size is None else size, self.store)

    def note(self, size: int | None = None, *, signers: list[Signer] | None = None) -> bytes:
        size = self.size if size is None else size
        return sign_checkpoint(Checkpoint(self.signer.name, size, self.root(size)), signers or [self.signer])

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        return consistency_proof(old, self.size if new is None else new, self.store)


def fork_of(log: MemoryLog, common: int) -> MemoryLog:
    """A log with the same key and the first ``common`` leaves, then different ones."""
    forked = MemoryLog(log.signer, prefix=log.prefix)
    forked.grow(common)
    forked.prefix = b"other-" + hashlib.sha256(log.prefix).hexdigest()[:8].encode()
    return forked


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run an ASGI app under a real uvicorn server on a free loopback port, in a thread; yield its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
