"""The ledger as a witnessed log, on both backends: a real ``adamas witness serve`` process on a loopback
port cosigns the ledger's checkpoints; the cosignatures are stored, served on the checkpoint and carried by
receipts that ``receipt verify --witness --min 1`` accepts; a witness that is down or refuses is recorded and
never blocks ingest; a forked copy of the ledger is refused by the witness."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner
from witness_helpers import independent_verify, serving

from adamas import Ledger
from adamas.cli import app
from adamas.crypto import generate_key, save_private_key
from adamas.errors import AdamasError
from adamas.ledger.collector import WitnessCollector
from adamas.ledger.witnesses import Collection
from adamas.log import Cosigner, Verifier, open_checkpoint
from adamas.store import schema as tables
from adamas.store.database import read_meta
from adamas.witness import Witness, WitnessState, format_add_checkpoint
from adamas.witness.http import create_app
from conftest import fixed_clock
from log_helpers import ORIGIN, build_ledger, signed_events
from serving import free_port

NAME = "witness.example/w1"


def adamas(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


@pytest.fixture
def witness_key(tmp_path: Path) -> Path:
    path = tmp_path / "witness.pem"
    save_private_key(path, generate_key())
    return path


def _wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the witness did not start")


StartProcess = Callable[[str], tuple[str, str]]


@pytest.fixture
def witness_process(tmp_path: Path, witness_key: Path) -> Iterator[StartProcess]:
    """Starts ``adamas witness serve`` (a separate process on a free loopback port) for a log's vkey;
    returns the witness's URL and vkey. Stopped after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(log_vkey: str) -> tuple[str, str]:
        code, vkey, output = adamas("witness", "vkey", "--key", str(witness_key), "--name", NAME)
        assert code == 0, output
        (tmp_path / "log.vkey").write_text(log_vkey + "\n")
        port = free_port()
        command = [
            str(Path(sys.executable).parent / "adamas"),
            *("witness", "serve", "--key", str(witness_key), "--name", NAME),
            *("--state", str(tmp_path / "witness-state.db"), "--port", str(port)),
            *("--log", f"{ORIGIN}={tmp_path / 'log.vkey'}"),
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url + "/", process)
        return url, vkey.strip()

    yield start
    for process in processes:
        process.terminate()
        process.wait(30)
        if process.stderr:
            process.stderr.close()


def test_a_ledger_cosigned_by_a_real_witness_gives_receipts_that_verify_with_it(
    db_url: str, tmp_path: Path, witness_process: StartProcess
) -> None:
    with build_ledger(db_url, 100) as ledger:
        url, wvkey = witness_process(ledger.vkey)
    code, out, output = adamas("log", "witness", "add", NAME, wvkey, url, "--db", db_url)
    assert code == 0, output
    assert json.loads(out)["cosigned_size"] == 0
    code, out, output = adamas("log", "witness", "collect", "--db", db_url, "--json")
    assert code == 0, output
    assert json.loads(out) == [{"witness": NAME, "ok": True, "size": 100, "new": True, "error": None}]

    with Ledger.open(db_url, clock=fixed_clock) as ledger:
        assert all(o.status == "accepted" for o in ledger.submit(list(signed_events(130)[100:])))
        # The second round sends a consistency proof from 100 to 130.
        (result,) = ledger.request_cosignatures()
        assert (result.ok, result.size, result.new) == (True, 130, True)
        # A third round has nothing new to ask.
        assert ledger.request_cosignatures()[0].new is False
        note = ledger.cosigned_checkpoint()
        log_vkey = ledger.vkey
        bare = ledger.checkpoint()
    assert note.startswith(bare) and note.count("\n— ") == 2
    text = bare.split("\n\n")[0] + "\n"
    independent_verify(note[len(bare) :], wvkey, text)
    checkpoint, opened = open_checkpoint(
        note.encode(), origin=ORIGIN, verifiers=[Verifier.from_vkey(log_vkey)]
    )
    assert checkpoint.size == 130 and len(opened.unverified) == 1

    code, out, _ = adamas("log", "witnesses", "--db", db_url, "--json")
    (status,) = json.loads(out)
    assert (status["cosigned_size"], status["last_error"]) == (130, None)

    code, receipt, output = adamas("receipt", "get", "57", "--db", db_url)
    assert code == 0, output
    (tmp_path / "r.jsonl").write_text(receipt)
    verify = ["receipt", "verify", str(tmp_path / "r.jsonl"), "--vkey", log_vkey]
    code, out, output = adamas(*verify, "--witness", wvkey, "--min", "1")
    assert code == 0, output
    assert json.loads(out)["size"] == 130
    # Another witness's key does not count.
    stranger = Cosigner.generate(NAME).verifier.vkey
    code, _, output = adamas(*verify, "--witness", stranger, "--min", "1")
    assert code == 1 and "receipt.cosignatures" in output
    code, _, output = adamas(*verify, "--witness", wvkey, "--min", "2")
    assert code == 2 and "receipt.min_cosignatures" in output


def test_a_witness_that_is_down_is_recorded_and_never_blocks_ingest(db_url: str) -> None:
    cosigner = Cosigner.generate(NAME)
    with build_ledger(db_url, 100) as ledger:
        ledger.add_witness(NAME, cosigner.verifier.vkey, f"http://127.0.0.1:{free_port()}")
        (result,) = ledger.request_cosignatures(timeout=5)
        assert not result.ok and result.error is not None and result.error.startswith("unreachable")
        assert all(o.status == "accepted" for o in ledger.submit(list(signed_events(110)[100:])))
        (status,) = ledger.witnesses()
        assert status.cosigned_size == 0 and status.last_error == result.error
        assert status.error_ns is not None and status.attempt_ns is not None
        assert ledger.cosigned_checkpoint() == ledger.checkpoint()
        assert ledger.receipt(3).checkpoint == ledger.checkpoint()
    code, _, output = adamas("log", "witness", "collect", "--db", db_url)
    assert code == 1 and "unreachable" in output
    code, out, _ = adamas("log", "witnesses", "--db", db_url)
    assert code == 0 and f"{NAME} " in out and "cosigned size 0; last error at " in out


StartWitness = Callable[[str], tuple[Witness, str]]


@pytest.fixture
def witness_for(tmp_path: Path) -> Iterator[StartWitness]:
    """Serve a Witness trusting a log's vkey under a real uvicorn in this process; returns it and its URL."""
    stack = contextlib.ExitStack()
    states: list[WitnessState] = []

    def start(vkey: str) -> tuple[Witness, str]:
        state = WitnessState.open(str(tmp_path / f"w{len(states)}.db"))
        states.append(state)
        witness = Witness(Cosigner.generate(NAME), {ORIGIN: [Verifier.from_vkey(vkey)]}, state)
        return witness, stack.enter_context(serving(create_app(witness)))

    with stack:
        yield start
    for state in states:
        state.close()


def test_the_ledger_retries_from_the_size_the_witness_holds(db_url: str, witness_for: StartWitness) -> None:
    with build_ledger(db_url, 100) as ledger:
        witness, url = witness_for(ledger.vkey)
        # Someone (another process of this log) already had size 100 cosigned.
        witness.add_checkpoint(format_add_checkpoint(0, [], ledger.checkpoint()))
        assert all(o.status == "accepted" for o in ledger.submit(list(signed_events(120)[100:])))
        ledger.add_witness(NAME, witness.vkey, url)
        (result,) = ledger.request_cosignatures()
        assert (result.ok, result.size) == (True, 120), result
        assert witness.state.get(ORIGIN).size == 120


@pytest.mark.parametrize(
    ("fork_events", "error"),
    [
        pytest.param(slice(100, 120), "split view", id="same_size_other_root"),
        pytest.param(slice(120, 150), "HTTP 422", id="larger_tree_not_consistent"),
    ],
)
def test_a_forked_copy_of_the_ledger_is_refused_by_the_witness(
    tmp_path: Path, witness_for: StartWitness, fork_events: slice, error: str
) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    with build_ledger(url, 100) as ledger:
        vkey = ledger.vkey
    fork = tmp_path / "fork.db"
    shutil.copy(tmp_path / "log.db", fork)
    witness, witness_url = witness_for(vkey)
    with Ledger.open(url, clock=fixed_clock) as honest:
        honest.submit(list(signed_events(130)[110:130]))
        honest.add_witness(NAME, witness.vkey, witness_url)
        assert honest.request_cosignatures()[0].ok
    with Ledger.open(f"sqlite:///{fork}", clock=fixed_clock) as forked:
        assert all(o.status == "accepted" for o in forked.submit(list(signed_events(150)[fork_events])))
        forked.add_witness(NAME, witness.vkey, witness_url)
        (result,) = forked.request_cosignatures()
        assert not result.ok and result.error is not None and error in result.error, result
        assert forked.cosigned_checkpoint() == forked.checkpoint()
    assert witness.state.get(ORIGIN).size == 120
    assert witness.state.evidence(ORIGIN)


BAD_WITNESSES = [
    pytest.param("not a vkey", "http://127.0.0.1:1", "witness.vkey", id="not_a_vkey"),
    pytest.param("LOG", "http://127.0.0.1:1", "witness.vkey", id="a_log_key_not_a_cosigner_key"),
    pytest.param("OTHER_NAME", "http://127.0.0.1:1", "witness.name_mismatch", id="vkey_of_another_name"),
    pytest.param("GOOD", "ftp://127.0.0.1/", "witness.url", id="not_http"),
    pytest.param("GOOD", "127.0.0.1:8080", "witness.url", id="no_scheme"),
    pytest.param("SECOND", "http://127.0.0.1:1", "witness.exists", id="name_taken_by_another_key"),
]


@pytest.mark.parametrize(("vkey", "url", "code"), BAD_WITNESSES)
def test_bad_witness_configurations_are_refused_and_write_nothing(
    db_url: str, vkey: str, url: str, code: str
) -> None:
    with build_ledger(db_url, 1) as ledger:
        ledger.add_witness("taken.example/w", Cosigner.generate("taken.example/w").verifier.vkey, "http://a")
        before = ledger.witnesses()
        keys = {
            "LOG": ledger.vkey,
            "OTHER_NAME": Cosigner.generate("other.example/w").verifier.vkey,
            "GOOD": Cosigner.generate(NAME).verifier.vkey,
        }
        name = NAME
        if vkey == "SECOND":
            name, vkey = "taken.example/w", Cosigner.generate("taken.example/w").verifier.vkey
        with pytest.raises(AdamasError) as caught:
            ledger.add_witness(name, keys.get(vkey, vkey), url)
        assert caught.value.code == code
        assert caught.value.message
        assert ledger.witnesses() == before


def test_adding_the_same_witness_again_changes_nothing(sqlite_url: str) -> None:
    vkey = Cosigner.generate(NAME).verifier.vkey
    with build_ledger(sqlite_url, 1) as ledger:
        first = ledger.add_witness(NAME, vkey, "http://w.example/")
        assert ledger.add_witness(NAME, vkey, "http://w.example/") == first
        assert ledger.witnesses() == [first]


def test_migration_from_schema_two_adds_the_witness_tables(db_url: str) -> None:
    with build_ledger(db_url, 3) as ledger:
        engine = ledger.engine
        with engine.begin() as conn:
            for table in tables.WITNESS_TABLES:
                table.drop(conn)
            conn.execute(update(tables.meta).where(tables.meta.c.name == "schema_version").values(value="2"))
    with Ledger.open(db_url, clock=fixed_clock) as migrated:
        assert read_meta(migrated.engine)["schema_version"] == str(tables.SCHEMA_VERSION)
        assert migrated.witnesses() == []
        with migrated.engine.connect() as conn:
            assert conn.execute(select(tables.log_cosignatures)).all() == []


def test_the_background_collector_cosigns_after_each_poke(db_url: str, witness_for: StartWitness) -> None:
    seen: list[list[int]] = []
    with build_ledger(db_url, 100) as ledger:
        witness, url = witness_for(ledger.vkey)
        ledger.add_witness(NAME, witness.vkey, url)

        def record(results: list[Collection]) -> None:
            seen.append([r.size for r in results])

        with WitnessCollector(ledger, interval=3600, on_round=record) as collector:
            _wait_for(lambda: collector.rounds == 1)  # the first round runs at once
            for start in (100, 110):
                outcomes = ledger.submit(list(signed_events(start + 10)[start:]))
                assert all(o.status == "accepted" for o in outcomes)
                collector.poke()  # what the service does after each accepted batch
                _wait_for(lambda size=start + 10: witness.state.get(ORIGIN).size == size)
        assert seen[0] == [100] and seen[-1] == [120]
        assert (collector.cosignatures, collector.error) == (3, None)
        assert ledger.witnesses()[0].cosigned_size == 120


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the collector did not get there"
        time.sleep(0.05)
