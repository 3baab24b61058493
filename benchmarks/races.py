"""Races over HTTP at volume: 1,000 races a kind (ship the same lot, spend the same KP certificate, merge the
same lots, register the same event id) against ``adamas serve --workers 4``, on SQLite and PostgreSQL.

    python benchmarks/races.py [--races 1000] [--processes 2] [--threads 4] [--wave 200]
                               [--backend sqlite|postgres|both]

The same code as the suite's bounded form (tests/reliability/racing.py, test_races.py): every race's setup
in batches of 2,000, then rounds of about ``--wave`` races released together by one barrier, each of the
``--processes`` x ``--threads`` slots posting its contestants' envelopes of the round in one request. The
judge wants exactly one acceptance a race, every other contestant refused with one of the kind's codes, and
exactly the winner's event in the log. PostgreSQL runs in a throwaway cluster of its own.

Figures (benchmarks/results.py): per kind and backend, the races with exactly one winner (target: all of
them, at least 1,000); per backend, races judged a second, against the ceiling of the same server ingesting
the setup batches (events a second, uncontended, four contestant envelopes a race).
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
sys.path.append(str(_HERE))

from pgcluster import TempCluster  # noqa: E402
from racing import KINDS, build, race, submit_setup  # noqa: E402
from underfire import Server  # noqa: E402

from adamas import Ledger  # noqa: E402
from results import Figure, record  # noqa: E402


def run(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, object]:
    """One backend's races; the report."""
    contestants = 4
    setup, contests = build(KINDS, args.races, contestants, "t0")
    Ledger.open(url, create=True).close()
    server = Server(url, workers=4, log_path=tmp / "server.log")
    server.start()
    try:
        began = time.perf_counter()
        submit_setup(server.url, setup)
        setup_s = time.perf_counter() - began
        began = time.perf_counter()
        report = race(
            server.url, url, contests, tmp, processes=args.processes, threads=args.threads, wave=args.wave
        )
        seconds = time.perf_counter() - began
    finally:
        server.stop()
    return {
        **report.to_json(),
        "setup_events": len(setup),
        "setup_events_per_s": round(len(setup) / setup_s, 1),
        "seconds": round(seconds, 1),
        "races_per_s": round(len(contests) / seconds, 1),
        "envelopes_per_s": round(report.envelopes / seconds, 1),
    }


def figures(backend: str, out: dict[str, object], races: int) -> list[Figure]:
    """The report's figures for results.py."""
    kinds = out["kinds"]
    assert isinstance(kinds, dict)
    found = [
        Figure(
            f"races with one winner: {kind}",
            "races",
            kinds[kind]["one_winner"],
            backend=backend,
            target=">= 1000 races, each one winner",
            met=kinds[kind]["one_winner"] == kinds[kind]["races"] and races >= 1000,
            events=int(out["setup_events"]) + len(KINDS) * races,  # type: ignore[call-overload]
            extra={"races": kinds[kind]["races"], "losers": kinds[kind]["losers"]},
        )
        for kind in KINDS
    ]
    ceiling = float(out["setup_events_per_s"]) / 4  # type: ignore[arg-type]
    found.append(
        Figure(
            "races judged a second",
            "races/s",
            float(out["races_per_s"]),  # type: ignore[arg-type]
            backend=backend,
            ceiling=round(ceiling, 1),
            ceiling_name="uncontended batch ingest / 4 envelopes a race",
            ratio=round(float(out["races_per_s"]) / ceiling, 2),  # type: ignore[arg-type]
            events=int(out["setup_events"]) + len(KINDS) * races,  # type: ignore[call-overload]
            note="the suite runs the same 4 x 1,000 races a backend; no time target",
            extra={
                k: out[k] for k in ("rounds", "rounds_won_by_several_slots", "races_all_in_flight_together")
            },
        )
    )
    return found


def main() -> None:
    """Run the races; print the reports; record the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--races", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--wave", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    found: list[Figure] = []
    for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
        with tempfile.TemporaryDirectory(prefix="adamas-races-") as tmp:
            if backend == "sqlite":
                out = run(f"sqlite:///{tmp}/races.db", Path(tmp), args)
            else:
                cluster = TempCluster()
                cluster.start()
                try:
                    out = run(cluster.url, Path(tmp), args)
                finally:
                    cluster.stop()
        print(json.dumps({"backend": backend, **out}), flush=True)
        found += figures("postgresql" if backend == "postgres" else backend, out, args.races)
    record("races", found)


if __name__ == "__main__":
    main()
