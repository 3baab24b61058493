"""Soak: ``adamas serve`` SIGKILLed at random moments under client processes, on SQLite and PostgreSQL.

    python benchmarks/soak.py [--kills 20] [--clients 3] [--workers 1] [--backend sqlite|postgres|both]

Each run (the harness is tests/reliability/underfire.py, shared with the bounded suite) kills the server
``--kills`` times, restarts it and checks: every receipt a client received is in the log at its index with
the same leaf hash; ``adamas audit`` passes (``--replay`` where the CLI has it); every signed checkpoint
anyone saw is pairwise consistent by consistency proofs; the witness (a real ``adamas witness serve``) never
saw a fork. On PostgreSQL the run uses a throwaway cluster of its own (Debian's binaries, a free port) and
also SIGKILLs the database itself once, mid-run: the service answers 503 problems while it is down and
accepts events again once it is back, without a restart. Prints one JSON report per backend, with the
restart times (process start to first healthy answer) that docs/benchmarks.md records.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

# benchmarks/http.py would shadow the standard library's http package: keep this folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests" / "reliability"))

from pgcluster import TempCluster, outage  # noqa: E402
from underfire import run_under_fire  # noqa: E402


def main() -> None:
    """Run the soak; print the reports."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="adamas-soak-") as tmp:
            options = {
                "kills": args.kills,
                "clients": args.clients,
                "workers": args.workers,
                "seed": args.seed,
            }
            if backend == "sqlite":
                report = run_under_fire(f"sqlite:///{tmp}/soak.db", Path(tmp), **options)  # type: ignore[arg-type]
            else:
                cluster = TempCluster()
                cluster.start()
                try:
                    report = run_under_fire(cluster.url, Path(tmp), db_outage=outage(cluster), **options)  # type: ignore[arg-type]
                finally:
                    cluster.stop()
        print(json.dumps({"backend": backend, "workers": args.workers, **report.to_json()}), flush=True)


if __name__ == "__main__":
    main()
