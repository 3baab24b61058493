"""CLI start-up benchmark: wall time of `adamas --help` and `adamas lot show`, repeated, hyperfine-style.

    python benchmarks/startup.py [--runs 10] [--json] [--base DIR]

Each command runs ``--runs`` times in a fresh process (after one warm-up); the median and min wall time are
printed against the issue's ceiling (250 ms), with the bare interpreter's start-up (``python -c pass``)
measured in the same run as the floor, the median CPU time (user + system, steadier than wall time on a
loaded machine), and the import cost of ``adamas.cli`` from ``python -X importtime``.

Adamas's bytecode is compiled first: with ``PYTHONDONTWRITEBYTECODE`` set (or a read-only checkout) every
run would otherwise compile the package's sources again, which no installed copy does.

``--base DIR``: also time an older source tree (``git archive <commit> src | tar -x -C DIR``), run as
``PYTHONPATH=DIR/src``, alternating with this one run by run on the same database: a before/after.

``--imports N``: also print where ``adamas lot show`` spends its imports: each module's minimum self time
over N runs of ``PYTHONPROFILEIMPORTTIME=1``, summed by top-level package (``adamas`` by sub-package). The
minimum is the least disturbed by a loaded machine. Modules imported through ``importlib.import_module``
(the CLI's lazy command groups, PEP 562 package exports) are not timed by ``-X importtime``; what they
import with ``import`` statements is.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import Figure, record

CEILING_MS = 250.0
BIN = Path(sys.executable).parent


def _once(args: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one fresh process running ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env)
    elapsed = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return elapsed, cpu


def wall(
    args: list[str], runs: int, variants: dict[str, dict[str, str] | None]
) -> dict[str, dict[str, float]]:
    """Median and min wall time and median CPU time (ms) of ``runs`` fresh processes running ``args`` in each
    environment of ``variants``, the variants alternating run by run."""
    for env in variants.values():
        subprocess.run(args, check=True, capture_output=True, env=env)  # warm the file cache
    walls: dict[str, list[float]] = {name: [] for name in variants}
    cpus: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, env in variants.items():
            elapsed, cpu = _once(args, env)
            walls[name].append(elapsed)
            cpus[name].append(cpu)
    return {
        name: {
            "median_ms": round(statistics.median(walls[name]), 1),
            "min_ms": round(min(walls[name]), 1),
            "cpu_median_ms": round(statistics.median(cpus[name]), 1),
        }
        for name in variants
    }


def compile_bytecode(base: Path | None) -> None:
    """Compile Adamas (and ``base``) once, as an installed copy is: start-up is not a compiler benchmark."""
    import adamas  # the package only: its exports are lazy

    for tree in (Path(adamas.__file__).parent, base / "src" / "adamas" if base else None):
        if tree is not None:
            compileall.compile_dir(str(tree), quiet=1)


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


def import_breakdown(args: list[str], runs: int) -> dict[str, float]:
    """Milliseconds of import per package: the sum of each module's minimum self time over ``runs``."""
    least: dict[str, int] = {}
    for _ in range(runs):
        got = subprocess.run(
            args,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
        )
        for line in got.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)$", line)
            if match:
                name, us = match.group(2), int(match.group(1))
                least[name] = min(least.get(name, us), us)
    by: dict[str, float] = {}
    for name, us in least.items():
        parts = name.split(".")
        package = ".".join(parts[:2]) if parts[0] == "adamas" else parts[0]
        by[package] = by.get(package, 0.0) + us / 1000
    ranked = dict(sorted(by.items(), key=lambda kv: -kv[1]))
    return {"total": round(sum(ranked.values()), 1), "modules": len(least)} | {
        k: round(v, 1) for k, v in ranked.items()
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--base", type=Path, help="an older source tree to compare with (before/after)")
    parser.add_argument(
        "--imports", type=int, default=0, metavar="N", help="profile lot show's imports over N runs"
    )
    args = parser.parse_args()
    adamas = str(BIN / "adamas")
    compile_bytecode(args.base)
    variants: dict[str, dict[str, str] | None] = {"": None}
    if args.base is not None:
        variants["base"] = {**os.environ, "PYTHONPATH": str(args.base.resolve() / "src")}
    timed: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/demo.db"
        subprocess.run([adamas, "demo", "--no-serve", "--db", db], check=True, capture_output=True)
        env_lot = os.environ.get("ADAMAS_BENCH_LOT", "PS-2024-0003245")
        timed["python -c pass"] = wall([sys.executable, "-c", "pass"], args.runs, {"": None})
        timed["adamas --help"] = wall([adamas, "--help"], args.runs, variants)
        lot_show = [adamas, "lot", "show", env_lot, "--db", db]
        timed["adamas lot show"] = wall(lot_show, args.runs, variants)
        imports = import_breakdown(lot_show, args.imports) if args.imports else {}
    figures = {name: by[""] for name, by in timed.items()}
    if args.base is not None:
        figures.update({f"{name} (base)": by["base"] for name, by in timed.items() if "base" in by})
    result = {
        "ceiling_ms": CEILING_MS,
        "load_average": os.getloadavg()[0],
        "import_adamas_cli_ms": import_ms("adamas.cli"),
        "import_sqlalchemy_ms": import_ms("sqlalchemy"),
        "commands": figures,
    }
    if imports:
        result["lot_show_imports_ms"] = imports
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
                extra={"min_ms": f["min_ms"], "cpu_median_ms": f["cpu_median_ms"]},
            )
            for name, f in figures.items()
            if name != "python -c pass" and not name.endswith("(base)")
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
            f"{name}: median {f['median_ms']} ms, min {f['min_ms']} ms, CPU {f['cpu_median_ms']} ms "
            f"({f['median_ms'] / floor:.1f}x bare python; ceiling {CEILING_MS:.0f} ms, {verdict})"
        )
    if imports:
        top = ", ".join(f"{k} {v:.0f}" for k, v in list(imports.items())[2:14])
        print(f"lot show imports: {imports['total']:.0f} ms over {imports['modules']:.0f} modules: {top}")


if __name__ == "__main__":
    main()
