"""The crash-safety harness: ``adamas serve`` as a real process, clients in other processes, SIGKILL.

Shared by the bounded suite (tests/reliability/) and the long runs (benchmarks/soak.py, benchmarks/races.py).
Nothing here is a stand-in for Adamas: the server, the witness and the audit are the real commands, run as
subprocesses on free loopback ports; the clients sign events from a scripted world (``adamas.sim.World``)
and keep every receipt the server gave them in a JSON-lines file, flushed before the next request, so that
what a client was told survives the client.

The checks after a run (``check_run``):
1. every receipt a client received names a leaf the log holds at that index, with the same leaf hash;
2. ``adamas audit`` passes (``--replay`` too, where the installed CLI has it);
3. every signed checkpoint anyone saw (stored by the log, handed out in receipts, cosigned by the witness)
   is consistent with every other: same size, same root; different sizes, a consistency proof verifies
   between the two signed roots;
4. the witness holds no evidence of a split view and the ledger recorded no witness refusing a fork.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

from adamas import Ledger
from adamas.log import (
    MemoryHashStore,
    Verifier,
    consistency_proof,
    leaf_hash,
    open_checkpoint,
    verify_consistency,
)
from adamas.model.values import format_time_ns
from adamas.sim import World
from adamas.store import normalize_url
from adamas.store.schema import events, log_checkpoints, log_witnesses

BIN = Path(sys.executable).parent
ADAMAS = str(BIN / "adamas")
SEED = "under-fire"
WITNESS_NAME = "witness.example.org/fire"
ORIGIN = "fire.example.org/log"


def real_clock_env() -> dict[str, str]:
    """The environment for the processes under fire: the real clock (the suite pins ``ADAMAS_NOW`` for its
    scripted worlds; these clients sign at the present time, as real ones do)."""
    return {k: v for k, v in os.environ.items() if k != "ADAMAS_NOW"}


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def world_start(hours_ago: float = 1.0) -> str:
    """A declared time that far behind now: the ledger's clock accepts the world's events as they come."""
    return format_time_ns(time.time_ns() - int(hours_ago * 3600e9))


# --- the ledger and the world ----------------------------------------------------------------------------


def client_id(n: int) -> str:
    """Participant id of client ``n``: a mine operator with its own mine in Botswana."""
    return f"fire-miner-{n:02d}"


def init_ledger(url: str, clients: int) -> str:
    """Create the ledger (genesis, Botswana's authority, one mine operator and mine per client); its vkey."""
    w = World(seed=SEED, start=world_start(6), id_prefix="setup")
    w.genesis()
    bw = w.authority("BW")
    for n in range(clients):
        w.register(bw, client_id(n), "BW", ["mine_operator", "exporter", "trader"])
        w.site(bw, f"{client_id(n)}-mine", "mine", "BW", client_id(n))
    with Ledger.open(url, create=True, origin=ORIGIN, clock=time.time_ns) as ledger:
        outcomes = ledger.submit(w.events)
        assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok]
        return ledger.vkey


# --- processes ---------------------------------------------------------------------------------------------


@dataclass
class Server:
    """``adamas serve`` in its own process group (so SIGKILL takes its workers too)."""

    db: str
    port: int = field(default_factory=free_port)
    workers: int = 1
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> float:
        """Start the service; wait until it answers /healthz; return the seconds that took."""
        began = time.perf_counter()
        command = [ADAMAS, "serve", "--db", self.db, "--port", str(self.port), "--no-access-log"]
        command += ["--workers", str(self.workers), *self.extra]
        if self.log_path is None:
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=real_clock_env(),
            )
        else:
            with self.log_path.open("ab") as sink:
                self.process = subprocess.Popen(
                    command, stdout=sink, stderr=sink, start_new_session=True, env=real_clock_env()
                )
        wait_until_up(self.url + "/healthz", self.process, timeout)
        took = time.perf_counter() - began
        self.restarts.append(took)
        return took

    def kill(self) -> None:
        """SIGKILL the service and every worker, as a power cut would."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        """Stop the service cleanly (SIGTERM), or kill it if it does not stop."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass
        self.process = None


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def witness(tmp: Path, log_vkey: str) -> Iterator[tuple[str, str, Path]]:
    """A real ``adamas witness serve`` for the log: yields its URL, its vkey and its state file."""
    key = tmp / "witness.pem"
    if not key.exists():
        subprocess.run([ADAMAS, "key", "new", str(key)], check=True, capture_output=True)
    vkey = subprocess.run(
        [ADAMAS, "witness", "vkey", "--key", str(key), "--name", WITNESS_NAME],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (tmp / "log.vkey").write_text(log_vkey + "\n", encoding="utf-8")
    port = free_port()
    state = tmp / "witness-state.db"
    command = [ADAMAS, "witness", "serve", "--key", str(key), "--name", WITNESS_NAME]
    command += ["--state", str(state), "--port", str(port), "--log", f"{ORIGIN}={tmp / 'log.vkey'}"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=real_clock_env()
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/", process, 60)
        yield url, vkey, state
    finally:
        process.terminate()
        process.wait(30)


def adamas(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the adamas CLI; with ``check``, fail on a non-zero exit showing its output."""
    done = subprocess.run(
        [ADAMAS, *args], check=False, capture_output=True, text=True, timeout=600, env=real_clock_env()
    )
    if check:
        assert done.returncode == 0, f"adamas {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


# --- clients ----------------------------------------------------------------------------------------------


def client_main(url: str, n: int, run: str, out: str, stop: Any, batch: int) -> None:  # noqa: PLR0917
    """A client process: produce lots and split them, ``batch`` envelopes a request, until ``stop`` is set;
    retry a request the server did not answer (idempotent) and append every receipt to ``out``."""
    w = World(seed=SEED, start=world_start(1), step_seconds=1, id_prefix=f"{run}-c{n:02d}")
    me = client_id(n)
    lot = 0
    with httpx.Client(base_url=url, timeout=10) as http, open(out, "a", encoding="utf-8") as sink:
        while not stop.is_set():
            w.events.clear()
            while len(w.events) < batch:
                lot += 1
                name = f"{run}-{n:02d}-{lot:06d}"
                w.produce(me, name, f"{me}-mine", "10.00", stones=4, value="1000.00")
                w.split(me, name, {f"{name}a": "6.00", f"{name}b": "4.00"})
            body = [dict(e) for e in w.events]
            while True:
                try:
                    response = http.post("/v1/events", json=body)
                except httpx.TransportError:
                    time.sleep(0.05)  # the server is down: the same batch again, it is idempotent
                    continue
                if response.status_code == 503:
                    time.sleep(0.05)
                    continue
                break
            record: dict[str, Any] = {"status": response.status_code}
            if response.status_code == 200:
                record["results"] = [
                    {k: r.get(k) for k in ("status", "id", "index", "leaf_hash", "checkpoint")}
                    for r in response.json()["results"]
                ]
            else:
                record["body"] = response.text
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            os.fsync(sink.fileno())


@dataclass
class Clients:
    """Client processes submitting until stopped."""

    procs: list[Any]
    outs: list[Path]
    stop_event: Any

    def wait_until_submitting(self, timeout: float = 120) -> None:
        """Wait until every client holds at least one receipt."""
        deadline = time.monotonic() + timeout
        while not all(p.exists() and p.stat().st_size > 0 for p in self.outs):
            assert time.monotonic() < deadline, "the clients never got a receipt"
            assert all(p.is_alive() for p in self.procs), "a client died"
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the clients (each finishes its request); fail if one failed."""
        self.stop_event.set()
        for p in self.procs:
            p.join(120)
            assert p.exitcode == 0, f"client exited with {p.exitcode}"


def start_clients(url: str, count: int, run: str, tmp: Path, batch: int = 2) -> Clients:
    """Start ``count`` client processes; each writes ``tmp/receipts-<run>-<n>.jsonl``."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs, outs = [], []
    for n in range(count):
        out = tmp / f"receipts-{run}-{n:02d}.jsonl"
        p = ctx.Process(target=client_main, args=(url, n, run, str(out), stop, batch), daemon=True)
        p.start()
        procs.append(p)
        outs.append(out)
    return Clients(procs, outs, stop)


def read_receipts(tmp: Path) -> list[dict[str, Any]]:
    """Every answer clients recorded; fails on any answer that was not a 200 with receipts."""
    receipts = []
    for path in sorted(tmp.glob("receipts-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert record["status"] == 200, record
            for r in record["results"]:
                assert r["status"] in ("accepted", "duplicate"), r
                receipts.append(r)
    return receipts


# --- the run under fire -------------------------------------------------------------------------------------


@dataclass
class FireReport:
    """What a run did and measured."""

    kills: int = 0
    restarts: list[float] = field(default_factory=list)
    receipts: int = 0
    leaves: int = 0
    checkpoints: int = 0
    pairs: int = 0
    witness_size: int = 0
    db_outage: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        r = sorted(self.restarts)
        return {
            "kills": self.kills,
            "receipts": self.receipts,
            "leaves": self.leaves,
            "checkpoints": self.checkpoints,
            "checkpoint_pairs_proved": self.pairs,
            "witness_cosigned_size": self.witness_size,
            "restart_s": {
                "n": len(r),
                "median": r[len(r) // 2] if r else None,
                "max": r[-1] if r else None,
            },
            **({"db_outage": self.db_outage} if self.db_outage else {}),
        }


def run_under_fire(
    url: str,
    tmp: Path,
    *,
    kills: int,
    clients: int = 3,
    workers: int = 1,
    gap: tuple[float, float] = (0.3, 1.2),
    seed: int = 0,
    db_outage: Any = None,
) -> FireReport:
    """Serve ``url``, submit from ``clients`` processes, SIGKILL the server ``kills`` times at random moments
    (``gap`` seconds apart), restart it each time; then check everything ``check_run`` checks.

    ``db_outage``, if given, is called once mid-run with the server's URL (it stops and restarts the
    database and returns what it observed)."""
    rng = random.Random(seed)
    tmp.mkdir(parents=True, exist_ok=True)
    report = FireReport()
    vkey = init_ledger(url, clients)
    with witness(tmp, vkey) as (wurl, wvkey, wstate):
        adamas("log", "witness", "add", WITNESS_NAME, wvkey, wurl, "--db", url)
        server = Server(url, workers=workers, log_path=tmp / "server.log")
        server.start()
        fleet = start_clients(server.url, clients, f"r{seed}", tmp)
        try:
            fleet.wait_until_submitting()
            for k in range(kills):
                time.sleep(rng.uniform(*gap))
                server.kill()
                report.kills += 1
                if k % 2 == 0:
                    # The operator's witness round (cron-like), while the service is down or coming up.
                    adamas("log", "witness", "collect", "--db", url, check=False)
                server.start()
                if db_outage is not None and k == kills // 2:
                    report.db_outage = db_outage(server.url)
            time.sleep(rng.uniform(*gap))
        finally:
            fleet.stop()
            adamas("log", "witness", "collect", "--db", url, check=False)
            server.stop()
        report.restarts = server.restarts[1:]
        check_run(url, tmp, vkey, wstate, report)
    return report


def check_run(url: str, tmp: Path, vkey: str, witness_state: Path, report: FireReport) -> None:
    """The four checks of the module docstring; fills ``report``."""
    receipts = read_receipts(tmp)
    report.receipts = len(receipts)
    assert receipts, "the clients got no receipts at all"
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            leaves = [
                leaf_hash(bytes(row.envelope))
                for row in conn.execute(select(events.c.envelope).order_by("seq"))
            ]
            ids = [row.event_id for row in conn.execute(select(events.c.event_id).order_by("seq"))]
            notes = [row.note for row in conn.execute(select(log_checkpoints.c.note))]
            witness_rows = list(conn.execute(select(log_witnesses)))
    finally:
        engine.dispose()
    report.leaves = len(leaves)
    # 1. Every receipt is in the log at its index with its leaf hash.
    for r in receipts:
        assert r["index"] < len(leaves), f"receipt for leaf {r['index']} beyond the log's {len(leaves)}"
        assert leaves[r["index"]].hex() == r["leaf_hash"], f"leaf {r['index']} differs from its receipt"
        assert ids[r["index"]] == r["id"], f"leaf {r['index']} holds {ids[r['index']]}, not {r['id']}"
    # 2. The audit passes.
    audit = ["audit", "--db", url]
    if "--replay" in adamas("audit", "--help").stdout:
        audit.append("--replay")
    adamas(*audit)
    # 3. Every signed checkpoint seen anywhere is consistent with every other.
    all_notes = list(notes) + [r["checkpoint"] for r in receipts if r.get("checkpoint")]
    witness_engine = create_engine(f"sqlite:///{witness_state}")
    try:
        from adamas.witness.state import witness_evidence, witness_logs

        with witness_engine.connect() as conn:
            evidence = list(conn.execute(select(witness_evidence)))
            wlogs = list(conn.execute(select(witness_logs)))
    finally:
        witness_engine.dispose()
    for row in wlogs:
        all_notes.append(row.note)
        report.witness_size = max(report.witness_size, int(row.size))
    report.checkpoints, report.pairs = check_checkpoints(all_notes, vkey, leaves)
    # 4. The witness never saw a fork.
    assert not evidence, f"the witness kept evidence of a split view: {evidence}"
    for row in witness_rows:
        assert "mismatch" not in (row.last_error or ""), row.last_error
        assert "bad_proof" not in (row.last_error or ""), row.last_error
    assert report.witness_size > 0, "the witness never cosigned"


def check_checkpoints(
    notes: list[str], vkey: str, leaves: list[bytes], max_pairs: int = 20_000
) -> tuple[int, int]:
    """Open every note with the log's key; same size, same root; every pair of sizes (all pairs up to
    ``max_pairs``, else every neighbour plus a random sample) consistent by a consistency proof computed from
    the log's leaves and verified between the two signed roots. Returns (checkpoints, pairs proved)."""
    verifier = Verifier.from_vkey(vkey)
    roots: dict[int, bytes] = {}
    for text in notes:
        checkpoint, _ = open_checkpoint(text.encode(), origin=ORIGIN, verifiers=[verifier])
        size, root = checkpoint.size, checkpoint.root_hash
        assert roots.setdefault(size, root) == root, f"two checkpoints of size {size} sign different roots"
    store = MemoryHashStore.from_leaf_hashes(leaves)
    sizes = sorted(s for s in roots if s > 0)
    assert not sizes or sizes[-1] <= len(leaves), "a checkpoint is larger than the log"
    pairs = [(a, b) for i, a in enumerate(sizes) for b in sizes[i + 1 :]]
    if len(pairs) > max_pairs:
        rng = random.Random(len(pairs))
        pairs = list(itertools.pairwise(sizes)) + rng.sample(pairs, max_pairs)
    for a, b in pairs:
        verify_consistency(a, b, consistency_proof(a, b, store), roots[a], roots[b])
    return len(roots), len(pairs)
