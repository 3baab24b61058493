"""Slow and abusive clients against a real ``adamas serve``: slow headers, slow bodies, idle connections and
oversized headers. The service keeps answering others, refuses what is over its limits, and its memory stays
bounded (the limits are uvicorn's, set by ``adamas serve``; docs/operations.md, "Limits")."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from underfire import Server, init_ledger

pytestmark = pytest.mark.slow


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    init_ledger(sqlite_url, 1)
    server = Server(sqlite_url, log_path=tmp_path / "server.log", extra=["--limit-concurrency", "400"])
    server.start()
    yield server
    server.stop()


def _open(server: Server, first: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    if first:
        s.sendall(first)
    return s


def test_slow_and_idle_connections_do_not_stop_the_service_answering_others(served: Server) -> None:
    assert served.process is not None
    before = _rss_kib(served.process.pid)
    hoard = []
    try:
        for i in range(100):
            # Headers that never end (slowloris), bodies that never arrive, connections that say nothing.
            hoard.append(_open(served, b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Slow-" + str(i).encode()))
            hoard.append(
                _open(served, b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n[{")
            )
            hoard.append(_open(served, b""))
        for _ in range(20):
            assert httpx.get(served.url + "/healthz", timeout=30).status_code == 200
        answer = httpx.get(served.url + "/log/checkpoint", timeout=30)
        assert answer.status_code == 200 and answer.text.startswith("fire.example.org/log\n")
        grown = _rss_kib(served.process.pid) - before
        assert grown < 64 * 1024, f"300 hostile connections grew the server by {grown} KiB"
    finally:
        for s in hoard:
            s.close()
    assert httpx.get(served.url + "/healthz", timeout=30).status_code == 200


@pytest.mark.parametrize("size", [256 * 1024, 1024 * 1024, 4 * 1024 * 1024], ids=["256k", "1m", "4m"])
def test_oversized_headers_are_refused_and_the_service_carries_on(served: Server, size: int) -> None:
    assert served.process is not None
    before = _rss_kib(served.process.pid)
    s = _open(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    try:
        # Refused before we finished sending is as good as refused after.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(b"a" * size + b"\r\n\r\n")
        try:
            reply = s.recv(4096)
        except ConnectionResetError:
            reply = b""
    finally:
        s.close()
    assert reply == b"" or reply.split(b" ", 2)[1] in (b"400", b"431"), reply[:200]
    assert httpx.get(served.url + "/healthz", timeout=30).status_code == 200
    assert _rss_kib(served.process.pid) - before < 64 * 1024


def test_past_the_concurrency_limit_the_service_answers_503_at_once(sqlite_url: str, tmp_path: Path) -> None:
    init_ledger(sqlite_url, 1)
    server = Server(sqlite_url, log_path=tmp_path / "server.log", extra=["--limit-concurrency", "10"])
    server.start()
    hoard = []
    try:
        for _ in range(12):
            hoard.append(
                _open(server, b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n[{")
            )
        assert httpx.get(server.url + "/healthz", timeout=30).status_code == 503
        for s in hoard:
            s.close()
        hoard.clear()
        for _ in range(100):
            if httpx.get(server.url + "/healthz", timeout=30).status_code == 200:
                break
        else:
            raise AssertionError("the service did not come back under its limit")
    finally:
        for s in hoard:
            s.close()
        server.stop()
