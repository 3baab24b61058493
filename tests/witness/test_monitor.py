"""``adamas witness watch``: a monitor following a real ledger's tiles served by a plain HTTP server on
loopback (http.server over a folder written by ``adamas log export-tiles``) catches a rewritten tile, a
rewritten entry, a fork and a rollback, and ``adamas audit --tiles URL`` audits the served log."""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from adamas import Ledger
from adamas.cli import app
from adamas.log import leaf_hash, root_from_leaf_hashes
from adamas.witness.monitor import AlarmError, CompactRange, Monitor
from conftest import fixed_clock
from log_helpers import build_ledger, signed_events


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on a free loopback port; yield the URL prefix."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def adamas(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def export(url: str, directory: Path) -> None:
    code, output = adamas("log", "export-tiles", str(directory), "--db", url)
    assert code == 0, output


def submit(url: str, events: Any) -> None:
    with Ledger.open(url, clock=fixed_clock) as ledger:
        assert all(o.status == "accepted" for o in ledger.submit(list(events)))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path, str]]:
    """A ledger of 120 events exported to a folder served over HTTP: (db URL, vkey, folder, URL)."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with build_ledger(url, 120) as ledger:
        vkey = ledger.vkey
    folder = tmp_path / "served"
    export(url, folder)
    with static_server(folder) as prefix:
        yield url, vkey, folder, prefix


def watch(prefix: str, vkey: str, state: Path) -> tuple[int, str]:
    return adamas("witness", "watch", prefix, "--vkey", vkey, "--state", str(state), "--once", "--json")


def test_monitor_follows_a_growing_log(served: tuple[str, str, Path, str], tmp_path: Path) -> None:
    url, vkey, folder, prefix = served
    state = tmp_path / "view.json"
    code, output = watch(prefix, vkey, state)
    assert code == 0, output
    assert json.loads(output)["size"] == 120
    submit(url, signed_events(300)[120:])
    export(url, folder)
    code, output = watch(prefix, vkey, state)
    assert code == 0, output
    assert json.loads(output) == {**json.loads(output), "size": 300, "grew": True}
    # Nothing new: the same view, checked again.
    code, output = watch(prefix, vkey, state)
    assert (code, json.loads(output)["grew"]) == (0, False)
    view = json.loads(state.read_text())
    assert view["size"] == 300 and view["alarm"] is None and len(view["range"]) == bin(300).count("1")


def _flip(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("target", "code"),
    [
        pytest.param("tile/0/000", "monitor.rewritten", id="rewritten_hash_tile"),
        pytest.param("tile/1/000.p/1", "monitor.rewritten", id="rewritten_upper_tile"),
        pytest.param("tile/entries/001.p/44", "monitor.rewritten", id="rewritten_entry_bundle"),
    ],
)
def test_monitor_raises_an_alarm_on_a_rewritten_tile(
    served: tuple[str, str, Path, str], tmp_path: Path, target: str, code: str
) -> None:
    url, vkey, folder, prefix = served
    state = tmp_path / "view.json"
    assert watch(prefix, vkey, state)[0] == 0
    submit(url, signed_events(300)[120:])
    export(url, folder)
    _flip(folder / target, 5)
    status, output = watch(prefix, vkey, state)
    assert status == 1
    assert f"ALARM: {code}" in output
    assert "checkpoint 300" in output and "checkpoint 120" in output
    # The view is kept at what was verified, the alarm recorded with both notes, and repeated.
    view = json.loads(state.read_text())
    assert view["size"] == 120
    assert view["alarm"]["served"].startswith(f"{view['origin']}\n300\n")
    assert view["alarm"]["verified"].startswith(f"{view['origin']}\n120\n")
    assert watch(prefix, vkey, state)[0] == 1


def _fork(url: str, tmp_path: Path, name: str) -> str:
    """A copy of the ledger database (same log key) at its current size."""
    copy = tmp_path / f"{name}.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    return f"sqlite:///{copy}"


@pytest.mark.parametrize(
    ("fork_events", "code", "words"),
    [
        pytest.param(slice(130, 170), "monitor.fork", "does not extend", id="fork_to_a_larger_tree"),
        pytest.param(slice(140, 160), "monitor.fork", "one size, two roots", id="fork_of_the_same_size"),
        pytest.param(slice(100, 110), "monitor.rollback", "is served after", id="rollback"),
    ],
)
def test_monitor_raises_an_alarm_on_a_fork(tmp_path: Path, fork_events: slice, code: str, words: str) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    build_ledger(url, 100).close()
    other = _fork(url, tmp_path, "other")
    submit(url, signed_events(120)[100:120])
    submit(other, signed_events(200)[fork_events])
    honest, forked = tmp_path / "honest", tmp_path / "forked"
    export(url, honest)
    export(other, forked)
    served = tmp_path / "served"
    shutil.copytree(honest, served)
    with Ledger.open(url) as ledger:
        vkey = ledger.vkey
    state = tmp_path / "view.json"
    with static_server(served) as prefix:
        assert watch(prefix, vkey, state)[0] == 0
        # The operator now shows the other tree, signed with the same key.
        shutil.rmtree(served)
        shutil.copytree(forked, served)
        status, output = watch(prefix, vkey, state)
    assert status == 1, output
    assert f"ALARM: {code}" in output and words in output
    assert "checkpoint 120" in output


def test_monitor_refuses_a_checkpoint_the_vkey_did_not_sign(
    served: tuple[str, str, Path, str], tmp_path: Path
) -> None:
    _, _, _, prefix = served
    with Ledger.open(f"sqlite:///{tmp_path / 'other.db'}", create=True, clock=fixed_clock) as other:
        stranger = other.vkey
    status, output = watch(prefix, stranger, tmp_path / "view.json")
    assert status == 1
    assert "monitor.checkpoint" in output and "ALARM" not in output
    assert not (tmp_path / "view.json").exists()


def test_monitor_reports_an_unreachable_log_without_an_alarm(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'x.db'}", create=True, clock=fixed_clock) as ledger:
        vkey = ledger.vkey
    from serving import free_port

    status, output = watch(f"http://127.0.0.1:{free_port()}/", vkey, tmp_path / "view.json")
    assert status == 1
    assert "tiles.unreachable" in output and "ALARM" not in output


def test_audit_takes_the_url_of_a_served_log(served: tuple[str, str, Path, str]) -> None:
    _, vkey, folder, prefix = served
    code, output = adamas("audit", "--tiles", prefix, "--vkey", vkey)
    assert code == 0, output
    assert prefix in output and "120 leaves" in output
    _flip(folder / "tile/entries/000.p/120", 60)
    code, output = adamas("audit", "--tiles", prefix, "--vkey", vkey)
    assert code == 1
    assert "fault" in output


def test_monitor_python_api_raises_alarm_errors(served: tuple[str, str, Path, str], tmp_path: Path) -> None:
    _, vkey, folder, prefix = served
    with Monitor(prefix, vkey, tmp_path / "view.json") as monitor:
        assert monitor.check().size == 120
        _flip(folder / "tile/0/000.p/120", 0)
        with pytest.raises(AlarmError) as caught:
            monitor.check()
    assert caught.value.code == "monitor.rewritten"


@given(st.lists(st.binary(min_size=1, max_size=4), max_size=70), st.integers(min_value=0, max_value=70))
def test_compact_range_gives_the_tree_root_from_any_prefix(entries: list[bytes], split: int) -> None:
    hashes = [leaf_hash(e) for e in entries]
    split = min(split, len(hashes))
    first = CompactRange()
    for value in hashes[:split]:
        first.append(value)
    assert first.root() == root_from_leaf_hashes(hashes[:split])
    resumed = CompactRange(split, first.hashes)
    for value in hashes[split:]:
        resumed.append(value)
    assert resumed.root() == root_from_leaf_hashes(hashes)


def test_monitor_reads_full_tiles_when_the_log_deleted_the_partial_ones(tmp_path: Path) -> None:
    # tlog-tiles lets a log delete a partial tile once the full one exists; a checkpoint of the size that
    # needed it must still be verifiable from the full tile's prefix.
    url = f"sqlite:///{tmp_path / 'log.db'}"
    build_ledger(url, 300).close()
    folder = tmp_path / "served"
    export(url, folder)
    older = (folder / "checkpoint").read_bytes()
    submit(url, signed_events(520)[300:])
    export(url, folder)
    for path in ("tile/0/001.p/44", "tile/entries/001.p/44"):
        (folder / path).unlink()
    (folder / "checkpoint").write_bytes(older)
    with Ledger.open(url) as ledger:
        vkey = ledger.vkey
    with static_server(folder) as prefix:
        code, output = watch(prefix, vkey, tmp_path / "view.json")
    assert code == 0, output
    assert json.loads(output)["size"] == 300


def test_a_view_of_another_log_key_is_refused(served: tuple[str, str, Path, str], tmp_path: Path) -> None:
    _, vkey, _, prefix = served
    state = tmp_path / "view.json"
    assert watch(prefix, vkey, state)[0] == 0
    with Ledger.open(f"sqlite:///{tmp_path / 'other.db'}", create=True, clock=fixed_clock) as other:
        stranger = other.vkey
    code, output = watch(prefix, stranger, state)
    assert code == 2 and "monitor.state" in output
