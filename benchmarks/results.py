"""Where every benchmark leaves its figures, so that `make bench` can rewrite one table from them.

Each benchmark calls :func:`record` once per run with its figures; each figure is a value measured against
a ceiling measured in the same run (or an absolute target where the issue sets one). The file
``.bench/results/<bench>.json`` is replaced on every run; ``benchmarks/report.py`` turns the files into the
table at the top of docs/benchmarks.md.

    from results import Figure, record
    record("trace", [Figure("trace backward p99", "ms", 3.1, backend="sqlite", target="<= 5 ms",
                            met=True, events=1_000_000)])
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("ADAMAS_BENCH_RESULTS", ".bench/results"))


@dataclass
class Figure:
    """One measured figure: its value, the ceiling measured beside it, the ratio, the target, met or not."""

    figure: str
    unit: str
    value: float
    backend: str = "-"
    ceiling: float | None = None
    ceiling_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    events: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, Any]:
    """The facts that make two runs comparable: cores, memory, CPU model, Python, load when recorded."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024),
        "cpu": model,
        "python": platform.python_version(),
        "load_1min": round(load, 2) if load is not None else None,
    }


def record(bench: str, figures: list[Figure], *, command: str | None = None) -> Path:
    """Write this run's figures for ``bench`` to .bench/results/<bench>.json (replacing the last run's)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{bench}.json"
    doc = {
        "bench": bench,
        "command": command or " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "figures": [asdict(f) for f in figures],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)
    return path
