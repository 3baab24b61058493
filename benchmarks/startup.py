"""CLI start-up benchmark: wall time of `adamas --help` and `adamas lot show`, repeated, hyperfine-style.

    python benchmarks/startup.py [--runs 10] [--json]

Each command runs ``--runs`` times in a fresh process (after one warm-up); the median and min are printed
against the issue's ceiling (250 ms), with the bare interpreter's start-up (``python -c pass``) measured in
the same run as the floor, and the import cost of ``adamas.cli`` from ``python -X importtime``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import Figure, record

CEILING_MS = 250.0
BIN = Path(sys.executable).parent


def wall(args: list[str], runs: int) -> dict[str, float]:
    """Median and min wall time (ms) of ``runs`` fresh processes running ``args``."""
    subprocess.run(args, check=True, capture_output=True)  # warm the file cache
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1)}


def import_ms(module: str) -> float:
    """Cumulative import time (ms) of ``module`` by ``python -X importtime``."""
    got = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
    )
    for line in reversed(got.stderr.splitlines()):
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)$", line.strip())
        if match and match.group(2) == module:
            return int(match.group(1)) / 1000
    raise RuntimeError(f"no import time for {module}")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    adamas = str(BIN / "adamas")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/demo.db"
        subprocess.run([adamas, "demo", "--no-serve", "--db", db], check=True, capture_output=True)
        env_lot = os.environ.get("ADAMAS_BENCH_LOT", "PS-2024-0003245")
        figures = {
            "python -c pass": wall([sys.executable, "-c", "pass"], args.runs),
            "adamas --help": wall([adamas, "--help"], args.runs),
            "adamas lot show": wall([adamas, "lot", "show", env_lot, "--db", db], args.runs),
        }
    result = {
        "ceiling_ms": CEILING_MS,
        "load_average": os.getloadavg()[0],
        "import_adamas_cli_ms": import_ms("adamas.cli"),
        "import_sqlalchemy_ms": import_ms("sqlalchemy"),
        "commands": figures,
    }
    floor = figures["python -c pass"]["median_ms"]
    record(
        "startup",
        [
            Figure(
                f"`{name}` wall, median of {args.runs}",
                "ms",
                f["median_ms"],
                ceiling=floor,
                ceiling_name="ms bare `python -c pass`",
                ratio=round(f["median_ms"] / floor, 2),
                target=f"<= {CEILING_MS:.0f} ms",
                met=f["median_ms"] <= CEILING_MS,
            )
            for name, f in figures.items()
            if name != "python -c pass"
        ],
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    floor = figures["python -c pass"]["median_ms"]
    print(
        f"load average {result['load_average']:.1f}; "
        f"import adamas.cli {result['import_adamas_cli_ms']:.0f} ms"
    )
    for name, f in figures.items():
        verdict = "met" if f["median_ms"] <= CEILING_MS else "missed"
        print(
            f"{name}: median {f['median_ms']} ms, min {f['min_ms']} ms "
            f"({f['median_ms'] / floor:.1f}x bare python; ceiling {CEILING_MS:.0f} ms, {verdict})"
        )


if __name__ == "__main__":
    main()
