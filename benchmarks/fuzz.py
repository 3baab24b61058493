"""Hostile input at volume: the envelope parser and every event schema, fuzzed by Hypothesis and atheris.

    python benchmarks/fuzz.py [--hypothesis 100000] [--atheris 1000000] [--out fuzz-report.json]

The target (tests/reliability/fuzzing.py, shared with the bounded suite) parses and authenticates each input
against the demo world's registry. Zero exceptions other than ``AdamasError`` refusals and zero accepted
forgeries (an accepted envelope whose canonical body and signature nobody signed) are the pass mark; the
first failure stops the run with its input. Hypothesis mutates envelopes structurally (values replaced,
members deleted or added, re-signed or not) and byte by byte; atheris (libFuzzer, coverage guided over
``adamas.model`` and ``adamas.crypto``) mutates the demo world's canonical envelopes as raw bytes, or
replaces one value of a seed's body from the fuzzer's data. Prints the inputs run and the refusal codes seen.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

# benchmarks/http.py would shadow the standard library's http package: keep this folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests" / "reliability"))


def run_hypothesis(examples: int) -> dict[str, Any]:
    """``examples`` structural and ``examples`` byte-level Hypothesis inputs; the counts."""
    from fuzzing import Target, mangled_bytes, mutated_envelopes
    from hypothesis import HealthCheck, given, settings

    target = Target()
    config = settings(
        max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )

    @config
    @given(mutated_envelopes(target))
    def structural(case: tuple[Any, bool]) -> None:
        target.check(case[0])

    @config
    @given(mangled_bytes(target))
    def mangled(data: bytes) -> None:
        target.check(data)

    began = time.perf_counter()
    structural()
    mangled()
    return {
        "inputs": sum(target.outcomes.values()),
        "seconds": round(time.perf_counter() - began, 1),
        "outcomes": _top(target.outcomes),
    }


def _top(outcomes: Counter[str]) -> dict[str, int]:
    return dict(outcomes.most_common(25))


def atheris_child(runs: int, report: str) -> None:
    """Run in a subprocess: libFuzzer over the target for ``runs`` inputs, counts written to ``report``."""
    import atheris

    with atheris.instrument_imports(include=["adamas.model", "adamas.crypto"]):
        from fuzzing import Target

    target = Target()
    seeds = [json.loads(s) for s in target.seed_bytes]
    count = 0

    def one(data: bytes) -> None:
        nonlocal count
        count += 1
        if data[:1] == b"\x01" and len(data) > 3:
            fdp = atheris.FuzzedDataProvider(data[1:])
            envelope = json.loads(json.dumps(seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)]))
            body = envelope["body"]
            name = sorted(body)[fdp.ConsumeIntInRange(0, len(body) - 1)]
            choice = fdp.ConsumeIntInRange(0, 3)
            body[name] = [fdp.ConsumeUnicode(24), fdp.ConsumeInt(9), fdp.ConsumeRegularFloat(), None][choice]
            target.check(envelope)
        else:
            target.check(data)
        if count % 10_000 == 0 or count >= runs:
            Path(report).write_text(json.dumps({"inputs": count, "outcomes": _top(target.outcomes)}))

    corpus = Path(tempfile.mkdtemp(prefix="adamas-fuzz-corpus-"))
    for i, seed in enumerate(target.seed_bytes):
        (corpus / f"seed-{i:03d}").write_bytes(seed)
    crashes = f"-artifact_prefix={corpus.parent / 'adamas-fuzz-crash-'}"  # never into the working tree
    atheris.Setup([sys.argv[0], f"-runs={runs}", "-max_len=8192", crashes, str(corpus)], one)
    atheris.Fuzz()


def run_atheris(runs: int) -> dict[str, Any]:
    """Run ``atheris_child`` in a subprocess; its counts, or why it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "atheris.json"
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--atheris-child", str(runs), str(report)],
            check=False,
            capture_output=True,
            text=True,
        )
        seconds = round(time.perf_counter() - began, 1)
        out: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {"inputs": 0}
        out["seconds"] = seconds
        if done.returncode != 0:
            out["failure"] = done.stderr[-4000:]
    return out


def main() -> None:
    """Run both fuzzers; print and optionally write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hypothesis", type=int, default=100_000, help="examples per Hypothesis strategy")
    parser.add_argument("--atheris", type=int, default=1_000_000, help="atheris inputs (0: skip)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--atheris-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.atheris_child:
        atheris_child(int(args.atheris_child[0]), args.atheris_child[1])
        return
    report: dict[str, Any] = {}
    if args.atheris:
        try:
            import atheris  # noqa: F401
        except ImportError:
            report["atheris"] = "not installed (pip install atheris)"
        else:
            report["atheris"] = run_atheris(args.atheris)
    if args.hypothesis:
        report["hypothesis"] = run_hypothesis(args.hypothesis)
    total = sum(v.get("inputs", 0) for v in report.values() if isinstance(v, dict))
    report["total_inputs"] = total
    report["failures"] = [k for k, v in report.items() if isinstance(v, dict) and "failure" in v]
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text)
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
