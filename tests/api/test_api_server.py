"""End to end over loopback: ``adamas serve`` in its own process, a trader's system submitting from another,
and this process mirroring the log from the served tiles, auditing the mirror and verifying the receipts
offline with nothing but the log's vkey."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from adamas import Ledger, Receipt, audit, verify_receipt
from adamas.crypto import canonicalize
from adamas.log import Checkpoint, entry_bundles_for_size, open_note, tiles_for_size
from adamas.log.note import Verifier
from conftest import basic_world

pytestmark = pytest.mark.slow

SUBMITTER = """
import sys, httpx2
body = open(sys.argv[2], "rb").read()
answer = httpx2.post(sys.argv[1] + "/v1/events", content=body, headers={"content-type": "application/jsonl"})
sys.stdout.write(answer.text)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(url: str, *extra: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from adamas.cli import main; main()", "serve", "--db", url]
    process = subprocess.Popen([*command, "--port", str(port), "--no-access-log", *extra])
    try:
        for _ in range(600):  # readiness: the port answers (not a timing assertion)
            if process.poll() is not None:
                raise AssertionError(f"adamas serve exited with {process.returncode}")
            try:
                if httpx2.get(base + "/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(name="ledger_url")
def ledger_url_fixture(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    world = basic_world()
    with Ledger.open(url, create=True) as ledger:
        assert all(o.ok for o in ledger.submit(world.events))
    return url


def test_submit_from_one_process_mirror_and_verify_from_another(ledger_url: str, tmp_path: Path) -> None:
    with Ledger.open(ledger_url) as ledger:
        vkey = ledger.vkey
    world = basic_world()
    first = len(world.events)
    for n in range(300):
        world.produce("miner", f"E2E-{n:03d}", "mine-a", "1.00")
    envelopes = world.events[first:]
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(b"\n".join(canonicalize(e) for e in envelopes))
    for base in start(ledger_url):
        submitted = subprocess.run(
            [sys.executable, "-c", SUBMITTER, base, str(batch)], capture_output=True, check=True
        )
        answer = json.loads(submitted.stdout)
        assert answer["accepted"] == len(envelopes)
        # Mirror the log from the tiles this server serves, then audit the mirror.
        note = httpx2.get(base + "/log/checkpoint").content
        size = Checkpoint.from_text(open_note(note, [Verifier.from_vkey(vkey)]).text).size
        assert size == first + len(envelopes)
        mirror = tmp_path / "mirror"
        for tile in [*tiles_for_size(size), *entry_bundles_for_size(size)]:
            got = httpx2.get(f"{base}/log/{tile.path}")
            assert got.status_code == 200, tile.path
            (mirror / tile.path).parent.mkdir(parents=True, exist_ok=True)
            (mirror / tile.path).write_bytes(got.content)
        (mirror / "checkpoint").write_bytes(note)
        report = audit(tiles=mirror, vkey=vkey)
        assert report.ok, report.faults
        assert report.envelopes == size
        # Every receipt the submitter got verifies offline, and a proof from the server agrees.
        for result, envelope in zip(answer["results"], envelopes, strict=True):
            verify_receipt(Receipt.from_json(result), vkey, envelope=canonicalize(envelope))
        proof = httpx2.get(base + "/v1/log/proof/inclusion", params={"index": first}).json()
        assert proof["inclusion_proof"] == answer["results"][0]["inclusion_proof"]


def test_several_workers_serve_one_ledger(ledger_url: str) -> None:
    world = basic_world()
    first = len(world.events)
    world.produce("miner", "W-1", "mine-a", "1.00")
    world.produce("miner", "W-2", "mine-a", "1.00")
    for base in start(ledger_url, "--workers", "2"):
        with httpx2.Client(base_url=base) as client:
            for envelope in world.events[first:]:
                assert client.post("/v1/events", json=[envelope]).json()["accepted"] == 1
            assert client.get("/healthz").json()["log"]["size"] == first + 2
            assert client.get("/v1/lots/W-2").json()["holder"] == "miner"
