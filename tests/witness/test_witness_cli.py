"""The witness commands' usage errors (exit 2, one ``error: <code>`` line), and the HTTP tile source's
retries and error codes against a real loopback server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from adamas.cli import app
from adamas.crypto import generate_key, save_private_key
from adamas.errors import AdamasError
from adamas.ledger.tile_source import HttpTileSource, open_tile_source
from adamas.log import Cosigner


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "w.pem"
    save_private_key(path, generate_key())
    return path


def test_witness_vkey_prints_a_cosigner_key(key: Path) -> None:
    from adamas.crypto import load_private_key

    result = CliRunner().invoke(app, ["witness", "vkey", "--key", str(key), "--name", "w.example/1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == Cosigner("w.example/1", load_private_key(key).seed).verifier.vkey


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(
            ["witness", "vkey", "--key", "KEY", "--name", "has space"], "note.key_name", id="bad_name"
        ),
        pytest.param(
            ["witness", "vkey", "--key", "missing.pem", "--name", "w"], "key.unreadable", id="no_key"
        ),
        pytest.param(
            ["witness", "serve", "--key", "KEY", "--name", "w", "--state", "s.db", "--log", "no-equals"],
            "witness.usage",
            id="log_without_vkey",
        ),
        pytest.param(
            ["witness", "serve", "--key", "KEY", "--name", "w", "--state", "s.db", "--log", "o=not+a+vkey"],
            "note.vkey",
            id="log_with_a_bad_vkey",
        ),
        pytest.param(
            ["witness", "watch", "http://127.0.0.1:1/", "--vkey", "nope", "--state", "v.json", "--once"],
            "note.vkey",
            id="watch_with_a_bad_vkey",
        ),
        pytest.param(
            ["witness", "watch", "ftp://x/", "--vkey", "VKEY", "--state", "v.json", "--once"],
            "tiles.location",
            id="watch_an_ftp_url",
        ),
        pytest.param(
            ["receipt", "verify", "R", "--vkey", "VKEY", "--witness", "VKEY"],
            "note.key_type",
            id="log_key_as_witness",
        ),
        pytest.param(
            ["receipt", "verify", "R", "--vkey", "VKEY", "--min", "1"], "receipt.min_cosignatures", id="min"
        ),
    ],
)
def test_witness_commands_refuse_bad_input(
    key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: str
) -> None:
    monkeypatch.chdir(tmp_path)
    from adamas.log import Signer

    vkey = Signer.generate("log.example/x").verifier.vkey
    (tmp_path / "R").write_text(
        '{"index": 0, "leaf_hash": "' + "0" * 64 + '", "checkpoint": "x", "inclusion_proof": []}\n'
    )
    args = [str(key) if a == "KEY" else vkey if a == "VKEY" else a for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"error: {code}:" in result.output
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "v.json").exists()


class _Flaky(BaseHTTPRequestHandler):
    """Answers with the next status of ``plan`` (then 200), counting requests."""

    plan: ClassVar[list[int]] = []
    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        status = type(self).plan.pop(0) if type(self).plan else 200
        body = b"tile bytes" if status == 200 else b"no"
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("plan", "expected", "requests"),
    [
        pytest.param([503, 502], b"tile bytes", 3, id="retried_after_5xx"),
        pytest.param([429], b"tile bytes", 2, id="retried_after_429"),
        pytest.param([404], None, 1, id="not_there"),
        pytest.param([403], "tiles.http", 1, id="forbidden_is_an_error"),
        pytest.param([500, 500, 500], "tiles.unreachable", 3, id="gives_up"),
    ],
)
def test_http_tile_source_retries_and_reports(
    flaky: str, plan: list[int], expected: bytes | str | None, requests: int
) -> None:
    _Flaky.plan, _Flaky.seen = list(plan), 0
    source = HttpTileSource(flaky, retries=2, timeout=5)
    try:
        if isinstance(expected, str):
            with pytest.raises(AdamasError) as caught:
                source.read("tile/0/000")
            assert caught.value.code == expected
        else:
            assert source.read("tile/0/000") == expected
    finally:
        source.close()
    assert _Flaky.seen == requests


def test_open_tile_source_picks_directory_or_http(tmp_path: Path) -> None:
    (tmp_path / "checkpoint").write_bytes(b"x")
    directory = open_tile_source(tmp_path)
    assert directory.read("checkpoint") == b"x" and directory.read("tile/0/000") is None
    web = open_tile_source("https://log.example/prefix")
    assert web.name == "https://log.example/prefix/"
    web.close()
