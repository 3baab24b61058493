"""The log served per C2SP tlog-tiles: every resource equals what export-tiles writes, with the spec's
media types and cache headers; proofs verify against the served checkpoint; the read database split."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from served import Served, demo_fixture, problem  # noqa: F401 - demo_fixture is the fixture `demo`

from adamas import Ledger
from adamas.api import create_app
from adamas.log import Checkpoint, open_note, verify_consistency, verify_inclusion
from adamas.log.note import Verifier
from adamas.sim import demo_world


def test_every_exported_file_is_served_with_the_same_bytes(demo: Served, tmp_path: Path) -> None:
    with Ledger.open(demo.url) as ledger:
        ledger.export_tiles(tmp_path / "tiles")
    files = sorted(p for p in (tmp_path / "tiles").rglob("*") if p.is_file())
    assert any("entries" in p.parts for p in files)
    for path in files:
        relative = path.relative_to(tmp_path / "tiles").as_posix()
        got = demo.client.get(f"/log/{relative}")
        assert got.status_code == 200, relative
        assert got.content == path.read_bytes(), relative
        if relative.startswith("tile/"):
            assert got.headers["content-type"] == "application/octet-stream"
            partial = ".p/" in relative
            assert got.headers["cache-control"] == (
                "public, max-age=5" if partial else "public, max-age=31536000, immutable"
            )
        else:
            assert got.headers["content-type"] == "text/plain; charset=utf-8"


def test_full_tiles_are_immutable(tmp_path: Path) -> None:
    from conftest import basic_world

    world = basic_world()
    for n in range(300):
        world.produce("miner", f"T-{n:03d}", "mine-a", "1.00")
    url = f"sqlite:///{tmp_path / 'big.db'}"
    with Ledger.open(url, create=True) as ledger:
        ledger.submit(world.events)
        size = ledger.size
    with TestClient(create_app(url)) as client:
        full = client.get("/log/tile/0/000")
        assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(full.content) == 256 * 32
        assert client.get("/log/tile/0/000").content == full.content  # now from memory
        bundle = client.get("/log/tile/entries/000")
        assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
        partial = client.get(f"/log/tile/0/001.p/{size - 256}")
        assert len(partial.content) == (size - 256) * 32
        # A partial tile of an older size is a prefix of today's row, still served.
        assert client.get("/log/tile/0/000.p/7").content == full.content[: 7 * 32]
        assert client.get("/log/tile/1/000.p/1").status_code == 200
        assert client.get("/log/checkpoint").headers["cache-control"] == "public, max-age=5"


def test_proofs_verify_against_the_served_checkpoint(demo: Served) -> None:
    first = len(demo.world.events)
    demo.world.produce("debswana", "JW-2026-0002", "jwaneng", "10.00")
    assert demo.client.post("/v1/events", json=demo.world.events[first:]).status_code == 200
    note = demo.client.get("/log/checkpoint").content
    checkpoint = Checkpoint.from_text(open_note(note, [Verifier.from_vkey(demo.vkey)]).text)
    for index in (0, 7, checkpoint.size - 1):
        got = demo.client.get("/v1/log/proof/inclusion", params={"index": index}).json()
        assert got["size"] == checkpoint.size
        leaf = demo.client.get(f"/v1/events/{demo.world.events[index]['body']['id']}").json()["leaf_hash"]
        proof = [base64.b64decode(h) for h in got["inclusion_proof"]]
        verify_inclusion(bytes.fromhex(leaf), index, checkpoint.size, proof, checkpoint.root_hash)
    old_note = demo.client.get(f"/log/checkpoints/{first:03d}").content
    old = Checkpoint.from_text(open_note(old_note, [Verifier.from_vkey(demo.vkey)]).text)
    got = demo.client.get("/v1/log/proof/consistency", params={"old": old.size}).json()
    assert got["new"] == checkpoint.size
    proof = [base64.b64decode(h) for h in got["consistency_proof"]]
    verify_consistency(old.size, checkpoint.size, proof, old.root_hash, checkpoint.root_hash)


def test_reads_come_from_the_read_database_and_writes_go_to_the_primary(tmp_path: Path) -> None:
    world, star = demo_world()
    primary = tmp_path / "primary.db"
    replica = tmp_path / "replica.db"
    with Ledger.open(f"sqlite:///{primary}", create=True) as ledger:
        ledger.submit(world.events[:10])
    shutil.copy(primary, replica)  # a replica that stopped at 10 events
    app = create_app(f"sqlite:///{primary}", read_db=f"sqlite:///{replica}")
    with TestClient(app) as client:
        got = client.post("/v1/events", json=world.events[10:])
        assert got.status_code == 200 and got.json()["accepted"] == len(world.events) - 10
        # Written to the primary...
        with Ledger.open(f"sqlite:///{primary}") as ledger:
            assert ledger.lot(star).id == star
        # ...and read from the replica, which has not caught up.
        problem(client.get(f"/v1/lots/{star}"), 404, "lot.not_found", "lot")
        assert b"\n10\n" in client.get("/log/checkpoint").content
        problem(client.get("/log/tile/entries/000.p/11"), 404, "log.node_missing", "path")


def test_an_unreachable_read_database_refuses_to_start(tmp_path: Path) -> None:
    world, _ = demo_world()
    url = f"sqlite:///{tmp_path / 'primary.db'}"
    with Ledger.open(url, create=True) as ledger:
        ledger.submit(world.events[:2])
    try:
        create_app(url, read_db=f"sqlite:///{tmp_path / 'empty.db'}")
    except Exception as exc:  # the NotFoundError the CLI prints
        assert getattr(exc, "code", None) == "ledger.not_found"
        assert getattr(exc, "field", None) == "read_db"
    else:
        raise AssertionError("an empty read database was accepted")


def test_cors_is_off_unless_an_origin_is_allowed(demo: Served) -> None:
    asked = {"origin": "https://monitor.example", "access-control-request-method": "GET"}
    assert "access-control-allow-origin" not in demo.client.get("/healthz", headers=asked).headers
    with TestClient(create_app(demo.url, cors_origin="https://monitor.example")) as client:
        got = client.get("/healthz", headers=asked)
        assert got.headers["access-control-allow-origin"] == "https://monitor.example"
        other = client.get("/healthz", headers={"origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
