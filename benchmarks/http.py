"""HTTP benchmark: batches of 1,000 signed events posted over loopback to ``adamas serve``, against
in-process ingest of the same events measured in the same run; then tile reads from the warm server.

    python benchmarks/http.py [--events 20000] [--batch 1000] [--tile-seconds 5]

The client runs in a separate process (``--client``), so the server's CPU is its own. Prints events/s in
process and over HTTP, their ratio (target >= 0.7), p50/p99 acknowledgement latency of a batch as the
client sees it (target p99 <= 500 ms), and full-tile reads/s from one keep-alive connection.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# This file is named like the standard library's `http` package: keep its folder off the import path
# (where Python put it), and load the shared workload module by its path instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
_spec = importlib.util.spec_from_file_location("workload", _HERE / "workload.py")
assert _spec is not None and _spec.loader is not None
workload = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workload)
_spec = importlib.util.spec_from_file_location("results", _HERE / "results.py")
assert _spec is not None and _spec.loader is not None
results = importlib.util.module_from_spec(_spec)
sys.modules["results"] = results  # dataclasses look their module up by name
_spec.loader.exec_module(results)
Figure, record = results.Figure, results.record

from adamas import Ledger  # noqa: E402
from adamas.crypto import canonicalize  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def client(
    base: str, batches_file: str, tile_seconds: float, size: int, inprocess_url: str
) -> dict[str, Any]:
    """The separate client process: post each batch over HTTP, and submit the same batch in process into
    a twin ledger, alternately, so that both see the same machine; then read tiles. Figures as JSON."""
    import httpx2

    batches = Path(batches_file).read_bytes().split(b"\n\x00\n")
    latencies: list[float] = []
    inprocess_seconds = 0.0
    twin = Ledger.open(inprocess_url)
    with httpx2.Client(base_url=base, timeout=120) as http:
        for body in batches:
            t0 = time.perf_counter()
            answer = http.post("/v1/events", content=body, headers={"content-type": "application/jsonl"})
            latencies.append(time.perf_counter() - t0)
            assert answer.status_code == 200, answer.text[:500]
            assert answer.json()["refused"] == 0
            lines = body.split(b"\n")
            t1 = time.perf_counter()
            outcomes = twin.submit(lines)
            inprocess_seconds += time.perf_counter() - t1
            assert all(o.status == "accepted" for o in outcomes)
        twin.close()
        events = sum(body.count(b"\n") + 1 for body in batches)
        paths = [_tile_path(n) for n in range(size // 256)]
        for path in paths:  # warm the server
            assert http.get(path).status_code == 200
        reads = 0
        rng = random.Random(1)
        t2 = time.perf_counter()
        while time.perf_counter() - t2 < tile_seconds:
            got = http.get(rng.choice(paths))
            assert len(got.content) == 8192
            reads += 1
        tile_rate = reads / (time.perf_counter() - t2)
    return {
        "events": events,
        "inprocess_events_per_s": events / inprocess_seconds,
        "http_events_per_s": events / sum(latencies),
        "p50_ms": _percentile(latencies, 0.5) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "inprocess_batch_ms": inprocess_seconds / len(batches) * 1000,
        "tile_reads_per_s": tile_rate,
    }


def _tile_path(n: int) -> str:
    from adamas.log import Tile

    return "/log/" + Tile(0, n).path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh(url: str, setup: list[dict[str, Any]], batch: int) -> Ledger:
    ledger = Ledger.open(url, create=True)
    for start in range(0, len(setup), batch):
        assert all(o.ok for o in ledger.submit(setup[start : start + batch]))
    return ledger


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--tile-seconds", type=float, default=5.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--client", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        base, batches, seconds, size, twin = args.client
        print(json.dumps(client(base, batches, float(seconds), int(size), twin)))
        return

    work = Path(tempfile.mkdtemp(prefix="adamas-bench-http-"))
    try:
        setup, custody = workload.build(args.events)
        # The workload is dated early 2026: stop every ledger's clock (this process's, the server's) at its
        # last event, or the ledger would refuse it as backdated (docs/time.md).
        os.environ["ADAMAS_NOW"] = workload.last_time(custody)
        lines = [canonicalize(env) for env in custody]
        chunks = [lines[i : i + args.batch] for i in range(0, len(lines), args.batch)]

        # Two ledgers of the same setup: one behind `adamas serve`, its twin submitted to in process.
        url = f"sqlite:///{work / 'served.db'}"
        twin = f"sqlite:///{work / 'inprocess.db'}"
        _fresh(url, setup, args.batch).close()
        _fresh(twin, setup, args.batch).close()
        batches_file = work / "batches"
        batches_file.write_bytes(b"\n\x00\n".join(b"\n".join(chunk) for chunk in chunks))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-c", "from adamas.cli import main; main()", "serve", "--db", url]
        server = subprocess.Popen([*serve, "--port", str(port), "--no-access-log"], stderr=subprocess.DEVNULL)
        try:
            _wait(base, server)
            size = len(setup) + len(lines)
            client_args = [base, str(batches_file), str(args.tile_seconds), str(size), twin]
            command = [sys.executable, __file__, "--client", *client_args]
            out = subprocess.run(command, capture_output=True, check=False)
            if out.returncode:
                raise SystemExit(f"the client failed:\n{out.stderr.decode()}")
        finally:
            server.terminate()
            server.wait(30)
        http = json.loads(out.stdout)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "events": len(lines),
        "batch": args.batch,
        "inprocess_events_per_s": round(http["inprocess_events_per_s"]),
        "http_events_per_s": round(http["http_events_per_s"]),
        "ratio": round(http["http_events_per_s"] / http["inprocess_events_per_s"], 3),
        "inprocess_batch_ms": round(http["inprocess_batch_ms"], 1),
        "p50_ack_ms": round(http["p50_ms"], 1),
        "p99_ack_ms": round(http["p99_ms"], 1),
        "tile_reads_per_s": round(http["tile_reads_per_s"]),
    }
    n = figures["events"]
    record(
        "http",
        [
            Figure(
                f"ingest over HTTP (batches of {args.batch})",
                "events/s",
                figures["http_events_per_s"],
                backend="sqlite",
                ceiling=figures["inprocess_events_per_s"],
                ceiling_name="events/s in process",
                ratio=figures["ratio"],
                target=">= 0.7",
                met=figures["ratio"] >= 0.7,
                events=n,
            ),
            Figure(
                "batch acknowledgement, p99",
                "ms",
                figures["p99_ack_ms"],
                backend="sqlite",
                ceiling=figures["inprocess_batch_ms"],
                ceiling_name="ms in-process batch (mean)",
                ratio=round(figures["p99_ack_ms"] / figures["inprocess_batch_ms"], 2),
                target="<= 500 ms",
                met=figures["p99_ack_ms"] <= 500,
                events=n,
            ),
            Figure(
                "full tiles from a warm server, one connection",
                "reads/s",
                figures["tile_reads_per_s"],
                backend="sqlite",
                events=n,
            ),
        ],
    )
    if args.json:
        print(json.dumps(figures))
        return
    print(f"in process: {figures['inprocess_events_per_s']} events/s")
    print(f"over HTTP:  {figures['http_events_per_s']} events/s = {figures['ratio']} of in process", end="")
    print(" (target >= 0.7)")
    print(f"in-process batch: {figures['inprocess_batch_ms']} ms on average")
    print(f"batch acknowledgement: p50 {figures['p50_ack_ms']} ms, p99 {figures['p99_ack_ms']} ms", end="")
    print(" (target p99 <= 500)")
    print(f"full tiles from a warm server: {figures['tile_reads_per_s']} reads/s (one connection)")


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    import httpx2

    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"adamas serve exited with {server.returncode}")
        try:
            if httpx2.get(base + "/healthz").status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise SystemExit("adamas serve did not answer")


if __name__ == "__main__":
    main()
