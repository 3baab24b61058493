"""Generate the deterministic demo-world fixtures under ``tests/assets/fixtures/``.

    python scripts/generate_fixtures.py            # (re)write the files
    python scripts/generate_fixtures.py --check    # exit 1 if the files differ from what would be written

``demo_world.jsonl`` holds the envelopes of ``adamas.sim.demo_world()``, one RFC 8785 canonical JSON per line
(exactly the log's leaves). ``demo_world.expected.json`` is what a ledger makes of them: its size, the star
stone's origin composition and mines, and the star stone's lot view. The world's keys, times and ids are
fixed, so the output is the same byte for byte on every run; ``tests/test_fixtures.py`` re-runs this
generator and compares (after python-tuf's ``generate_md.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adamas import Ledger
from adamas.crypto import canonicalize
from adamas.sim import demo_world

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "assets" / "fixtures"
JSONL = "demo_world.jsonl"
EXPECTED = "demo_world.expected.json"


def expected_summary(ledger: Ledger, star: str) -> dict[str, Any]:
    """What a ledger holding the demo world answers about it: size, the star's trace origin and lot view."""
    trace = ledger.trace(star)
    return {
        "size": ledger.size,
        "star": star,
        "trace": {"origin": [o.to_json() for o in trace.origin], "mines": list(trace.mines)},
        "lot": ledger.lot(star).to_json(),
    }


def build() -> dict[str, bytes]:
    """The fixture files, by name, as they should be on disk."""
    world, star = demo_world()
    jsonl = b"".join(canonicalize(envelope) + b"\n" for envelope in world.events)
    with (
        tempfile.TemporaryDirectory(prefix="adamas-fixtures-") as tmp,
        Ledger.open(f"sqlite:///{Path(tmp) / 'demo.db'}", create=True, clock=world.clock) as ledger,
    ):
        refused = [o.to_json() for o in ledger.submit(world.events) if o.status != "accepted"]
        if refused:
            raise SystemExit(f"the demo world was refused: {refused}")
        summary = expected_summary(ledger, star)
    expected = (json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    return {JSONL: jsonl, EXPECTED: expected}


def stale(directory: Path, files: dict[str, bytes]) -> list[str]:
    """Names of the files in ``directory`` that are missing or differ from ``files``."""
    return [
        name
        for name, content in files.items()
        if not (directory / name).is_file() or (directory / name).read_bytes() != content
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files on disk are not up to date")
    parser.add_argument("--out", type=Path, default=FIXTURES, help=f"directory (default: {FIXTURES})")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        differ = stale(args.out, files)
        for name in differ:
            print(f"{args.out / name} is out of date; run scripts/generate_fixtures.py", file=sys.stderr)
        return 1 if differ else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (args.out / name).write_bytes(content)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
