"""Detection quality: the detectors against the simulator's labelled fraud (issue 11).

    python benchmarks/detection.py [--seeds 101 102 103 104 105] [--batch 200] [--json FILE]

For each seed (none of them a training seed: thresholds were set by hand on seeds 1-5, docs/risk.md):

1. ``adamas simulate --db URL --seed N --fraud all --truth FILE`` builds a simulated world with every fraud
   scenario injected, and writes the truth file: per case its ``scenario``, ``lots``, ``events``,
   ``participants``, ``countries`` and ``period``.
2. The simulated log is replayed, envelope by envelope as it was logged, into a fresh ledger in batches of
   ``--batch`` events, with ``adamas.risk.scan`` after each batch, exactly as a live ledger scans; each
   flag's ``raised_at`` is then the log size at the scan that first raised it.
3. Scoring, as issue 11 defines it:
   - recall per scenario: a case is found when a flag names any of its lots, participants or countries
     for an overlapping period; ``lot recall`` asks for one of the case's lots (a country, or a hub that
     trades with everyone, is named by many flags of a small world);
   - precision over all flags: a flag naming nothing (lot, participant, country) that any case touched is a
     false positive; ``strict precision`` also counts as false a flag that shares only a country with the
     cases, ``lot precision`` one that names none of the cases' lots;
   - events to first flag: the leaves logged from a case's first event to the scan that first raised a
     flag on one of its lots (so with the batch size's granularity).

The script never invents a figure: without the simulator (``adamas simulate`` missing) it says so and
exits 2. Results go to docs/benchmarks.md by hand, with misses and their reasons.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

from adamas import Ledger
from adamas.model.values import parse_time
from adamas.risk import RiskFlag, flags, scan
from adamas.risk.periods import period_bounds, periods_overlap
from adamas.store import schema

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when loaded by path (the tests do)
from results import Figure, record

TARGET_RECALL = 0.95
TARGET_PRECISION = 0.90
DEFAULT_SEEDS = (101, 102, 103, 104, 105)


def simulate(adamas: str, url: str, seed: int, truth: Path) -> None:
    """Run the simulator; exit 2 with its message when it is not there or fails."""
    command = [adamas, "simulate", "--db", url, "--seed", str(seed), "--fraud", "all", "--truth", str(truth)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(
            f"cannot run {' '.join(command)} (exit {done.returncode}):\n{done.stderr or done.stdout}\n"
            "The simulator (branch sim) is needed: no detection figures without it.\n"
        )
        raise SystemExit(2)


def cases_of(truth: Path) -> list[dict[str, Any]]:
    """The cases of a truth file: a list of cases, or an object holding them under ``cases``."""
    data = json.loads(truth.read_text(encoding="utf-8"))
    cases = data["cases"] if isinstance(data, dict) else data
    return [c for c in cases if isinstance(c, dict) and c.get("scenario")]


def _period(value: Any) -> tuple[int, int] | str | None:
    """A case's period: a KP period string, or {from, until}/[from, until] times, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    start, end = (value.get("from"), value.get("until")) if isinstance(value, dict) else value
    return parse_time(start, "from"), parse_time(end, "until")


def _overlaps(flag: RiskFlag, period: tuple[int, int] | str | None) -> bool:
    if flag.period is None or period is None:
        return True
    if isinstance(period, str):
        return periods_overlap(flag.period, period)
    start, end = period_bounds(flag.period)
    return start <= period[1] and period[0] < end


def _names(
    flag: RiskFlag, case: dict[str, Any], *, countries: bool = True, participants: bool = True
) -> bool:
    return bool(
        set(flag.lots) & set(case.get("lots", ()))
        or (participants and set(flag.participants) & set(case.get("participants", ())))
        or (countries and set(flag.countries) & set(case.get("countries", ())))
    )


DAY_NS = 86_400 * 10**9


def replay(source: str, target: str, batch: int) -> Ledger:
    """Copy the simulated log into a fresh ledger batch by batch, scanning after each batch."""
    with Ledger.open(source) as simulated, simulated.engine.connect() as conn:
        rows = conn.execute(
            select(schema.events.c.envelope, schema.events.c.logged_ns).order_by(schema.events.c.seq)
        ).all()
    envelopes = [json.loads(bytes(r.envelope)) for r in rows]
    logged = [
        r.logged_ns or parse_time(e["body"]["time"], "time") for r, e in zip(rows, envelopes, strict=True)
    ]
    clock = {"now": 0}
    ledger = Ledger.open(target, create=True, clock=lambda: clock["now"])
    start = 0
    while start < len(envelopes):
        # Judge each batch at the time the simulated ledger logged it (docs/time.md); a batch never spans
        # more than a day of logged time, since the KP policy history was logged year by year from 2003.
        end = start + 1
        while end < min(start + batch, len(envelopes)) and logged[end] - logged[start] < DAY_NS:
            end += 1
        chunk = envelopes[start:end]
        clock["now"] = logged[end - 1]
        start = end
        refused = [o for o in ledger.submit(chunk) if o.status != "accepted"]
        if refused:
            raise SystemExit(f"replay refused {refused[0].to_json()}")
        scan(ledger)
    return ledger


def score(ledger: Ledger, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall per scenario, precision, events to first flag."""
    found_flags = list(flags(ledger))
    with ledger.engine.connect() as conn:
        raised = {
            r.id: r.raised_at
            for r in conn.execute(select(schema.risk_flags.c.id, schema.risk_flags.c.raised_at))
        }
        seqs = {
            r.event_id: r.seq for r in conn.execute(select(schema.events.c.event_id, schema.events.c.seq))
        }
    per_scenario: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"cases": 0, "found": 0, "found_strict": 0, "delays": [], "missed": [], "detectors": []}
    )
    for case in cases:
        stats = per_scenario[case["scenario"]]
        stats["cases"] += 1
        period = _period(case.get("period"))
        hits = [f for f in found_flags if _names(f, case) and _overlaps(f, period)]
        strict = [f for f in hits if _names(f, case, countries=False, participants=False)]
        if not strict:
            stats["missed"].append(
                {k: case.get(k) for k in ("id", "lots", "participants", "countries", "period")}
            )
        if not hits:
            continue
        stats["found"] += 1
        if not strict:
            continue
        stats["found_strict"] += 1
        stats["detectors"].append(sorted({f.detector for f in strict}))
        first_event = min((seqs[e] for e in case.get("events", ()) if e in seqs), default=None)
        if first_event is not None:
            # Leaves logged from the case's first event to the scan that first raised a flag on its lots.
            stats["delays"].append(min(raised[f.id] for f in strict) - first_event)
    touched = cases
    loose = sum(1 for f in found_flags if any(_names(f, c) for c in touched))
    strict = sum(1 for f in found_flags if any(_names(f, c, countries=False) for c in touched))
    by_lot = sum(
        1 for f in found_flags if any(_names(f, c, countries=False, participants=False) for c in touched)
    )
    return {
        "flags": len(found_flags),
        "precision": loose / len(found_flags) if found_flags else 1.0,
        "strict_precision": strict / len(found_flags) if found_flags else 1.0,
        "lot_precision": by_lot / len(found_flags) if found_flags else 1.0,
        "by_detector": dict(Counter(f.detector for f in found_flags)),
        "false_positives": [f.to_json() for f in found_flags if not any(_names(f, c) for c in touched)],
        "scenarios": dict(per_scenario),
    }


def main() -> None:
    """Run every seed and print the table of issue 11."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--json", type=Path, help="Write every figure, misses and false positives here.")
    args = parser.parse_args()
    adamas = shutil.which("adamas") or str(Path(sys.executable).parent / "adamas")
    results = []
    with tempfile.TemporaryDirectory(prefix="adamas-detection-") as tmp:
        for seed in args.seeds:
            truth = Path(tmp) / f"truth-{seed}.json"
            source = f"sqlite:///{Path(tmp) / f'sim-{seed}.db'}"
            simulate(adamas, source, seed, truth)
            ledger = replay(source, f"sqlite:///{Path(tmp) / f'replay-{seed}.db'}", args.batch)
            try:
                results.append({"seed": seed, **score(ledger, cases_of(truth))})
            finally:
                ledger.close()
    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"cases": 0, "found": 0, "found_strict": 0, "delays": [], "detectors": set()}
    )
    for result in results:
        for name, s in result["scenarios"].items():
            for field in ("cases", "found", "found_strict", "delays"):
                totals[name][field] += s[field]
            totals[name]["detectors"].update(d for ds in s["detectors"] for d in ds)
    print(f"seeds {args.seeds}, scan every {args.batch} events\n")
    print(
        "| scenario | cases | recall | lot recall | events to first flag (median / max) "
        "| detectors on its lots |\n"
        "|---|---|---|---|---|---|"
    )
    for name, s in sorted(totals.items()):
        recall = s["found"] / s["cases"] if s["cases"] else 0.0
        strict_recall = s["found_strict"] / s["cases"] if s["cases"] else 0.0
        delay = f"{statistics.median(s['delays']):.0f} / {max(s['delays'])}" if s["delays"] else "-"
        mark = "" if strict_recall >= TARGET_RECALL else " (below target)"
        print(
            f"| {name} | {s['cases']} | {recall:.2f} | {strict_recall:.2f}{mark} | {delay} | "
            f"{', '.join(sorted(s['detectors']))} |"
        )
    flagged = sum(r["flags"] for r in results)
    loose = sum(r["precision"] * r["flags"] for r in results)
    strict = sum(r["strict_precision"] * r["flags"] for r in results)
    lots = sum(r["lot_precision"] * r["flags"] for r in results)
    detectors: Counter[str] = Counter()
    for r in results:
        detectors.update(r["by_detector"])
    print(
        f"\nflags {flagged}; precision {loose / flagged if flagged else 1:.3f} (target {TARGET_PRECISION}); "
        f"strict precision {strict / flagged if flagged else 1:.3f}; "
        f"lot precision {lots / flagged if flagged else 1:.3f}"
    )
    print("flags by detector: " + ", ".join(f"{d} {n}" for d, n in sorted(detectors.items())))
    precision = loose / flagged if flagged else 1.0
    worst = min(((s["found"] / s["cases"] if s["cases"] else 0.0), name) for name, s in totals.items())
    record(
        "detection",
        [
            Figure(
                f"precision over {flagged} flags, seeds {args.seeds[0]}-{args.seeds[-1]}",
                "",
                round(precision, 3),
                target=f">= {TARGET_PRECISION}",
                met=precision >= TARGET_PRECISION,
            ),
            Figure(
                f"lowest recall of a scenario ({worst[1]})",
                "",
                round(worst[0], 3),
                target=f">= {TARGET_RECALL}",
                met=worst[0] >= TARGET_RECALL,
            ),
        ],
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
