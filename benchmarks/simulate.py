"""Simulator benchmark: the demo world, then a large simulated year, against the raw Ed25519 ceiling.

    python benchmarks/simulate.py [--scale 7.2e-3] [--db sqlite:///.bench/simulate.db] [--skip-large]

Prints, for each run: events, wall time, generate-and-ingest rate (events/s), the rate of generation alone
(the same world signed but not submitted, for the demo world), and the raw Ed25519 sign + verify rate of
PyNaCl on one core over messages the size of real canonical bodies, measured in the same process; then the
peak resident memory of the process and of its children (the ledger's verification worker).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import nacl.signing

from adamas.sim.scribe import Scribe
from adamas.sim.showcase import DEMO
from adamas.sim.simulate import Options, World, generate, simulate
from adamas.sim.truth import Truth

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import Figure, record
from workload import fresh


def ed25519_ceiling(n: int = 20_000, size: int = 420) -> float:
    """Signatures made and verified per second (sign + verify of one message), one core."""
    key = nacl.signing.SigningKey(b"\x01" * 32)
    verify = key.verify_key
    messages = [os.urandom(size) for _ in range(n)]
    start = time.perf_counter()
    for message in messages:
        signed = key.sign(message)
        verify.verify(signed.message, signed.signature)
    return n / (time.perf_counter() - start)


def generation_rate(options: Options) -> tuple[int, float]:
    """Events and seconds to generate (and sign) the world of ``options`` without submitting it."""
    truth = Truth(options.seed, options.year, options.scale, list(options.fraud))
    start = time.perf_counter()
    events = sum(len(b.envelopes) for b in generate(World(options, truth, Scribe(options.seed))))
    return events, time.perf_counter() - start


def run(label: str, url: str, options: Options) -> Figure:
    """Simulate ``options`` into a fresh ledger, print its figures and return the main one."""
    ceiling = ed25519_ceiling()
    start = time.perf_counter()
    last = [start]

    def progress(week: int, weeks: int, events: int) -> None:
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            print(f"  {label}: week {week}/{weeks}, {events:,} events", flush=True)

    summary, _ = simulate(fresh(url), options, progress=progress)
    seconds = time.perf_counter() - start
    # The machine is shared: measure the ceiling before and after, and compare with their mean.
    ceiling = (ceiling + ed25519_ceiling()) / 2
    rate = summary.events / seconds
    print(
        f"{label}: year {options.year}, scale {options.scale:g}: {summary.events:,} events, "
        f"{summary.lots:,} lots, {summary.certificates:,} certificates in {seconds:.1f} s = "
        f"{rate:,.0f} events/s; "
        f"Ed25519 sign+verify ceiling {ceiling:,.0f}/s (one core, mean of before and after); "
        f"ratio {rate / ceiling:.2f}",
        flush=True,
    )
    return Figure(
        f"{label}: generate + ingest (year {options.year}, scale {options.scale:g})",
        "events/s",
        round(rate),
        backend="sqlite",
        ceiling=round(ceiling),
        ceiling_name="sign+verify/s Ed25519, one core",
        ratio=round(rate / ceiling, 3),
        events=summary.events,
        note=f"{seconds:.1f} s",
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=7.2e-3, help="scale of the large run (~1M events)")
    parser.add_argument("--db", default="sqlite:///.bench/simulate.db")
    parser.add_argument("--skip-large", action="store_true", help="only the demo world")
    args = parser.parse_args()
    events, seconds = generation_rate(DEMO)
    print(
        f"demo world, generation alone: {events:,} events in {seconds:.1f} s = "
        f"{events / seconds:,.0f} events/s"
    )
    demo = run("demo world", args.db, DEMO)
    demo.target = "<= 60 s"
    demo.met = float(demo.note.split()[0]) <= 60
    figures = [demo]
    if not args.skip_large:
        figures.append(run("large world", args.db, Options(year=2023, scale=args.scale, seed=1)))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for figure in figures:
        figure.extra = {"peak_rss_mib": round(own), "verifier_peak_rss_mib": round(children)}
    record("simulate", figures)
    print(f"peak RSS: {own:.0f} MiB (simulator and ledger), {children:.0f} MiB (verification worker)")


if __name__ == "__main__":
    sys.exit(main())
