"""Tile-serving benchmark: full tiles read from `adamas serve` directly and through nginx (deploy/nginx.conf).

    python benchmarks/tiles.py [--events 6000] [--seconds 5] [--clients 4] [--json]

Builds a ledger of the custody workload, starts `adamas serve` on a free loopback port and Debian's nginx
(``/usr/sbin/nginx``, run as the current user with deploy/nginx.conf's /log/ cache, ports and paths moved
into a temporary folder), then reads the log's full level-0 tiles and entry bundles round-robin from
``--clients`` threads for ``--seconds`` each way and prints reads per second and the ratio. Exits 2 and says
so if nginx is not installed (`apt-get install nginx`). The client is Python (httpx): on a shared 2-core
machine it is part of what is measured, so the ratio is the figure to read, not the absolute rates.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# benchmarks/http.py would shadow the standard library's http (httpx needs it): this folder goes last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.append(str(_HERE))

import httpx  # noqa: E402

from adamas import Ledger  # noqa: E402
from results import Figure, record  # noqa: E402
from workload import build, clock_after  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_up(url: str, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def nginx_config(tmp: Path, listen: int, upstream: int) -> Path:
    """deploy/nginx.conf with its ports, pid, logs and cache moved under ``tmp`` (no root needed)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:8080", f"127.0.0.1:{listen}")
    text = text.replace("127.0.0.1:8000", f"127.0.0.1:{upstream}")
    text = text.replace("/run/nginx-adamas.pid", str(tmp / "nginx.pid"))
    text = text.replace("/var/log/nginx/adamas-error.log", str(tmp / "error.log"))
    text = text.replace("/var/cache/nginx/adamas", str(tmp / "cache"))
    text = re.sub(r"worker_processes auto;", "worker_processes 2;", text)
    if os.geteuid() == 0:  # workers would drop to nobody, who cannot write the cache in our temp folder
        text = "user root;\n" + text
    # Temporary files of a non-root nginx go under tmp too.
    temps = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + temps, 1)
    path = tmp / "nginx.conf"
    path.write_text(text, encoding="utf-8")
    return path


def hammer(base: str, paths: list[str], seconds: float, clients: int) -> float:
    """Reads per second of ``paths`` (round-robin) from ``clients`` threads for ``seconds``."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        with httpx.Client(base_url=base, timeout=10.0) as http:
            j = i
            while time.monotonic() < stop:
                got = http.get(paths[j % len(paths)])
                assert got.status_code == 200, (got.status_code, got.text[:200])
                counts[i] += 1
                j += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not Path(NGINX).exists():
        print("nginx is not installed (apt-get install nginx): no tile benchmark", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.TemporaryDirectory(prefix="adamas-tiles-") as name:
        tmp = Path(name)
        db = f"sqlite:///{tmp / 'ledger.db'}"
        setup, custody = build(args.events)
        with Ledger.open(db, create=True, clock=clock_after(custody)) as ledger:
            for i in range(0, len(setup + custody), 1000):
                ledger.submit((setup + custody)[i : i + 1000])
            size = ledger.size
        full = size // 256
        paths = [f"/log/tile/0/{n:03d}" for n in range(full)]
        paths += [f"/log/tile/entries/{n:03d}" for n in range(full)]
        api_port, nginx_port = free_port(), free_port()
        env = {**os.environ, "ADAMAS_DB": db}
        adamas = str(Path(sys.executable).parent / "adamas")
        serve = subprocess.Popen(
            [adamas, "serve", "--port", str(api_port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        nginx: subprocess.Popen[bytes] | None = None
        try:
            wait_up(f"http://127.0.0.1:{api_port}/healthz")
            conf = nginx_config(tmp, nginx_port, api_port)
            nginx = subprocess.Popen(
                [NGINX, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_up(f"http://127.0.0.1:{nginx_port}/healthz")
            proxied = f"http://127.0.0.1:{nginx_port}"
            hammer(proxied, paths, 1.0, 1)  # fill the cache
            first = httpx.get(proxied + paths[0])
            cached = first.headers.get("x-cache-status")
            direct_rate = hammer(f"http://127.0.0.1:{api_port}", paths, args.seconds, args.clients)
            proxied_rate = hammer(proxied, paths, args.seconds, args.clients)
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(timeout=10)
            serve.terminate()
            serve.wait(timeout=10)
    result: dict[str, Any] = {
        "leaves": size,
        "full_tiles_and_bundles": len(paths),
        "clients": args.clients,
        "cache_status_after_fill": cached,
        "direct_reads_per_s": round(direct_rate),
        "nginx_reads_per_s": round(proxied_rate),
        "ratio": round(proxied_rate / direct_rate, 2),
        "load_average": os.getloadavg()[0],
    }
    record(
        "tiles",
        [
            Figure(
                f"full tiles and bundles through nginx's cache, {args.clients} clients",
                "reads/s",
                result["nginx_reads_per_s"],
                backend="sqlite",
                ceiling=result["direct_reads_per_s"],
                ceiling_name="reads/s from `adamas serve` directly",
                ratio=result["ratio"],
                events=size,
                note=f"cache {cached}",
            )
        ],
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['full_tiles_and_bundles']} full tiles and bundles of a {size}-leaf log, "
        f"{args.clients} clients: direct {result['direct_reads_per_s']}/s, through nginx "
        f"{result['nginx_reads_per_s']}/s (x{result['ratio']}; cache {cached}); "
        f"load average {result['load_average']:.1f}"
    )


if __name__ == "__main__":
    main()
