"""A throwaway PostgreSQL cluster of our own, to kill: the shared server on 5432 is never touched.

``TempCluster`` runs Debian's ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when we are root) in a
temporary directory on a free port, with ``fsync`` and ``synchronous_commit`` left at their safe defaults.
``crash()`` SIGKILLs the postmaster and waits for its backends to die, as a power cut or the OOM killer
would; ``start()`` brings it back, replaying its WAL.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from underfire import SEED, client_id, free_port, world_start

from adamas.sim import World

__all__ = ["TempCluster", "available", "outage"]


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    """True when Debian's PostgreSQL server binaries are installed."""
    return _bin() is not None


class TempCluster:
    """A PostgreSQL cluster in a fresh temporary directory on a free loopback port."""

    def __init__(self) -> None:
        binaries = _bin()
        assert binaries is not None, "no /usr/lib/postgresql/*/bin/initdb"
        self.bin = binaries
        # Directly under the temporary directory: the postgres user cannot traverse pytest's private one.
        self.root = Path(tempfile.mkdtemp(prefix="adamas-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.process: subprocess.Popen[bytes] | None = None
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{tool}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        """Start the postmaster as our own child (so that, killed, it is reaped and leaves no zombie holding
        its lock file) and wait until it accepts connections."""
        command = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.root),
        ]
        command += ["-c", "listen_addresses=127.0.0.1"]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        with (self.root / "log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, (self.root / "log").read_text()[-2000:]
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres").close()
                return
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the cluster did not come up"
                time.sleep(0.1)

    def postmaster(self) -> int:
        """The postmaster's process id."""
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def crash(self) -> None:
        """SIGKILL the postmaster; wait until no backend of it is left."""
        pid = self.postmaster()
        children = _children(pid)
        os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)
            self.process = None
        deadline = time.monotonic() + 30
        for child in [pid, *children]:
            while _alive(child):
                assert time.monotonic() < deadline, f"backend {child} outlived its postmaster"
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (fast shutdown), if it runs, and delete the cluster."""
        if self.process is not None:
            os.kill(self.postmaster(), signal.SIGINT)
            self.process.wait(60)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.split("/")[2]))
    return out


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def outage(cluster: TempCluster) -> Callable[[str], dict[str, Any]]:
    """A ``db_outage`` for ``underfire.run_under_fire``: crash the cluster under the running service, show
    that the service answers 503 ``storage.unavailable`` problems meanwhile, start the cluster again and
    show the service accepting events again, never restarting it. Returns what it saw."""

    def run(base: str) -> dict[str, Any]:
        w = World(seed=SEED, start=world_start(1), id_prefix="probe")
        me = client_id(0)
        probes = iter(range(1_000_000))

        def probe() -> httpx.Response:
            w.events.clear()
            w.produce(me, f"probe-{next(probes):06d}", f"{me}-mine", "1.00", stones=1, value="10.00")
            return httpx.post(base + "/v1/events", json=w.events, timeout=30)

        cluster.crash()
        down = time.perf_counter()
        refused = []
        for _ in range(3):
            answer = probe()
            assert answer.status_code == 503, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"].startswith("storage."), answer.text
            refused.append(answer.status_code)
        health = httpx.get(base + "/healthz", timeout=30).status_code
        cluster.start()
        up = time.perf_counter()
        while True:
            answer = probe()
            if answer.status_code == 200:
                break
            assert answer.status_code == 503, answer.text
            assert time.perf_counter() - up < 60, "the service did not recover"
            time.sleep(0.1)
        assert answer.json()["accepted"] == 1, answer.text
        return {
            "refused_503": len(refused),
            "healthz_while_down": health,
            "database_down_s": round(up - down, 3),
            "recovered_after_db_up_s": round(time.perf_counter() - up, 3),
        }

    return run
