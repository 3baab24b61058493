"""Witness and monitor benchmark.

    python benchmarks/witness.py [--requests 2000] [--leaves 100000] [--json]

1. ``Witness.add_checkpoint`` in process, a log growing by 10 leaves per request (a signed note verified, a
   consistency proof verified, a compare-and-swap in SQLite, a cosignature signed), as a ratio to the raw
   Ed25519 verify + sign rate (PyNaCl) and to the raw write + fsync rate of the same disk, both measured in
   the same run: the spec demands the state be persisted before the answer, so a commit bounds it.
2. The same through ``POST /add-checkpoint`` to a real uvicorn on loopback, one client, keep-alive.
3. ``Monitor.check`` of a tlog-tiles directory of ``--leaves`` leaves from an empty view (every entry
   bundle read and hashed, the root recomputed), as a ratio to raw hashlib SHA-256 leaf hashing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
import uvicorn

from adamas.log import (
    Checkpoint,
    Cosigner,
    MemoryHashStore,
    Signer,
    Tile,
    build_tile,
    consistency_proof,
    encode_entry_bundle,
    leaf_hash,
    sign_checkpoint,
    tiles_for_size,
    tree_root,
)
from adamas.log.tiles import ENTRIES, TILE_WIDTH
from adamas.witness import Witness, WitnessState, format_add_checkpoint
from adamas.witness.http import create_app
from adamas.witness.monitor import Monitor

ORIGIN = "bench.example/log"


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def ed25519_ceiling(count: int = 2000) -> float:
    """Raw verify + sign pairs per second (PyNaCl), over checkpoint-sized messages."""
    key = nacl.signing.SigningKey.generate()
    message = b"x" * 120
    signed = key.sign(message)
    start = time.perf_counter()
    for _ in range(count):
        key.verify_key.verify(signed)
        key.sign(message)
    return count / (time.perf_counter() - start)


def fsync_ceiling(directory: Path, count: int = 300) -> float:
    """Raw small writes, each followed by fsync, per second, in ``directory``."""
    handle = os.open(directory / "fsync.bin", os.O_WRONLY | os.O_CREAT)
    try:
        start = time.perf_counter()
        for _ in range(count):
            os.write(handle, b"x" * 128)
            os.fsync(handle)
        return count / (time.perf_counter() - start)
    finally:
        os.close(handle)


def requests_for(count: int) -> tuple[Signer, list[bytes]]:
    signer = Signer.generate(ORIGIN)
    store = MemoryHashStore()
    bodies, old = [], 0
    for n in range(count):
        store.extend(leaf_hash(b"%d-%d" % (n, i)) for i in range(10))
        size = store.size
        note = sign_checkpoint(Checkpoint(ORIGIN, size, tree_root(size, store)), [signer])
        bodies.append(format_add_checkpoint(old, consistency_proof(old, size, store) if old else [], note))
        old = size
    return signer, bodies


def bench_witness(count: int, tmp: Path) -> dict[str, float]:
    signer, bodies = requests_for(count)
    out: dict[str, float] = {}
    for mode in ("in_process", "http"):
        state = WitnessState.open(str(tmp / f"{mode}.db"))
        witness = Witness(Cosigner.generate("bench.example/w"), {ORIGIN: [signer.verifier]}, state)
        start = time.perf_counter()
        if mode == "in_process":
            for body in bodies:
                witness.add_checkpoint(body)
        else:
            with serving(create_app(witness)) as url, httpx.Client(base_url=url) as client:
                start = time.perf_counter()
                for body in bodies:
                    assert client.post("/add-checkpoint", content=body).status_code == 200
        out[f"{mode}_per_s"] = count / (time.perf_counter() - start)
        state.close()
    return out


def tiles_directory(leaves: int, root: Path) -> tuple[str, list[bytes]]:
    entries = [b'{"body":{"n":%d},"sig":"%s"}' % (n, b"A" * 88) for n in range(leaves)]
    store = MemoryHashStore.from_leaf_hashes(leaf_hash(e) for e in entries)
    for tile in tiles_for_size(leaves):
        path = root / tile.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build_tile(tile, store))
        if tile.level == 0:
            bundle = Tile(ENTRIES, tile.index, tile.width)
            (root / bundle.path).parent.mkdir(parents=True, exist_ok=True)
            first = tile.index * TILE_WIDTH
            (root / bundle.path).write_bytes(encode_entry_bundle(entries[first : first + tile.width]))
    signer = Signer.generate(ORIGIN)
    note = sign_checkpoint(Checkpoint(ORIGIN, leaves, tree_root(leaves, store)), [signer])
    (root / "checkpoint").write_bytes(note)
    return signer.verifier.vkey, entries


def bench_monitor(leaves: int, tmp: Path) -> dict[str, float]:
    vkey, entries = tiles_directory(leaves, tmp / "tiles")
    start = time.perf_counter()
    for entry in entries:
        hashlib.sha256(b"\x00" + entry).digest()
    raw = leaves / (time.perf_counter() - start)
    with Monitor(tmp / "tiles", vkey, tmp / "view.json") as monitor:
        start = time.perf_counter()
        assert monitor.check().size == leaves
        rate = leaves / (time.perf_counter() - start)
    return {"leaves_per_s": rate, "raw_sha256_per_s": raw, "ratio": rate / raw}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        ceiling = ed25519_ceiling()
        fsyncs = fsync_ceiling(tmp)
        witness = bench_witness(args.requests, tmp)
        monitor = bench_monitor(args.leaves, tmp)
    result: dict[str, Any] = {
        "ed25519_verify_sign_per_s": ceiling,
        "fsync_per_s": fsyncs,
        "witness": {
            **witness,
            "in_process_ratio": witness["in_process_per_s"] / ceiling,
            "fsync_ratio": witness["in_process_per_s"] / fsyncs,
        },
        "monitor": monitor,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"Ed25519 verify+sign ceiling: {ceiling:,.0f}/s; write+fsync ceiling: {fsyncs:,.0f}/s")
    share = witness["in_process_per_s"] / ceiling
    print(
        f"witness add-checkpoint: {witness['in_process_per_s']:,.0f}/s in process ({share:.2f} of Ed25519, "
        f"{witness['in_process_per_s'] / fsyncs:.2f} of fsync), {witness['http_per_s']:,.0f}/s over HTTP"
    )
    print(
        f"monitor first check: {monitor['leaves_per_s']:,.0f} leaves/s "
        f"({monitor['ratio']:.2f} of raw SHA-256 leaf hashing)"
    )


if __name__ == "__main__":
    main()
