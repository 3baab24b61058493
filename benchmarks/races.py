"""Races over HTTP at volume: 1,000 races a kind (ship the same lot, spend the same KP certificate, merge the
same lots, register the same event id) against ``adamas serve --workers 4``, on SQLite and PostgreSQL.

    python benchmarks/races.py [--races 1000] [--processes 2] [--threads 2] [--backend sqlite|postgres|both]

The contestants of each race (``--processes`` x ``--threads``, each a different envelope) are released
together by one barrier; the judge (tests/reliability/racing.py, shared with the bounded suite) wants
exactly one acceptance, every other answer a 422 with one of the kind's refusal codes, and exactly the
winner's event in the log. PostgreSQL runs in a throwaway cluster of its own. Prints a JSON report per
backend: races and single-winner races per kind, the losers' codes, and races per second.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# benchmarks/http.py would shadow the standard library's http package: keep this folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests" / "reliability"))

from pgcluster import TempCluster  # noqa: E402
from racing import KINDS, build, race, submit_setup  # noqa: E402
from underfire import Server  # noqa: E402

from adamas import Ledger  # noqa: E402


def run(url: str, tmp: Path, races: int, processes: int, threads: int) -> dict[str, object]:
    """One backend's races; the report."""
    setup, contests = build(KINDS, races, processes * threads, "t0")
    Ledger.open(url, create=True).close()
    server = Server(url, workers=4, log_path=tmp / "server.log")
    server.start()
    try:
        submit_setup(server.url, setup)
        began = time.perf_counter()
        report = race(server.url, url, contests, tmp, processes=processes, threads=threads)
        seconds = time.perf_counter() - began
    finally:
        server.stop()
    return {
        "kinds": report.to_json(),
        "seconds": round(seconds, 1),
        "races_per_s": round(len(contests) / seconds, 1),
    }


def main() -> None:
    """Run the races; print the reports."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--races", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
        with tempfile.TemporaryDirectory(prefix="adamas-races-") as tmp:
            if backend == "sqlite":
                out = run(f"sqlite:///{tmp}/races.db", Path(tmp), args.races, args.processes, args.threads)
            else:
                cluster = TempCluster()
                cluster.start()
                try:
                    out = run(cluster.url, Path(tmp), args.races, args.processes, args.threads)
                finally:
                    cluster.stop()
        print(
            json.dumps({"backend": backend, "contestants": args.processes * args.threads, **out}), flush=True
        )


if __name__ == "__main__":
    main()
