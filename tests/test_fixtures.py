"""The generated demo-world fixtures: up to date with their generator, and still what a ledger makes of them.

``scripts/generate_fixtures.py`` is re-run in-process and its output compared byte for byte with the files
in ``tests/assets/fixtures/`` (after python-tuf's ``generate_md.py``): a change to the world, the signing or
the canonical encoding shows up here as a diff to review and regenerate, never silently.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from adamas import Ledger
from adamas.crypto import canonicalize
from adamas.model.values import parse_time
from conftest import REPO

FIXTURES = REPO / "tests" / "assets" / "fixtures"
JSONL = FIXTURES / "demo_world.jsonl"
EXPECTED = FIXTURES / "demo_world.expected.json"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """``scripts/generate_fixtures.py``, imported from its path (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "generate_fixtures", REPO / "scripts" / "generate_fixtures.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(generator: ModuleType) -> dict[str, bytes]:
    files: dict[str, bytes] = generator.build()
    return files


def _envelopes() -> list[bytes]:
    return JSONL.read_bytes().splitlines()


def test_generator_reproduces_the_stored_fixtures_byte_for_byte(generated: dict[str, bytes]) -> None:
    assert sorted(generated) == ["demo_world.expected.json", "demo_world.jsonl"]
    for name, content in generated.items():
        stored = (FIXTURES / name).read_bytes()
        assert stored == content, f"{name} is out of date: run `python scripts/generate_fixtures.py`"


def test_generator_is_deterministic(generator: ModuleType, generated: dict[str, bytes]) -> None:
    assert generator.build() == generated


def test_check_mode_passes_on_the_stored_fixtures(generator: ModuleType) -> None:
    assert generator.main(["--check"]) == 0


def test_check_mode_fails_on_stale_or_missing_files(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator.main(["--check", "--out", str(tmp_path)]) == 1  # nothing there yet
    assert generator.main(["--out", str(tmp_path)]) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        p.name: p.read_bytes() for p in FIXTURES.iterdir()
    }
    assert generator.main(["--check", "--out", str(tmp_path)]) == 0

    jsonl = tmp_path / "demo_world.jsonl"
    jsonl.write_bytes(jsonl.read_bytes().replace(b'"1.52"', b'"1.53"', 1))
    capsys.readouterr()
    assert generator.main(["--check", "--out", str(tmp_path)]) == 1
    assert "demo_world.jsonl is out of date" in capsys.readouterr().err


def test_every_line_is_a_canonical_envelope() -> None:
    lines = _envelopes()
    assert lines
    assert JSONL.read_bytes().endswith(b"\n")
    for line in lines:
        envelope = json.loads(line)
        assert set(envelope) == {"body", "sig"}
        assert canonicalize(envelope) == line


def test_stored_world_gives_the_expected_summary(sqlite_url: str, open_ledger: Callable[..., Ledger]) -> None:
    expected: dict[str, Any] = json.loads(EXPECTED.read_text(encoding="utf-8"))
    lines = _envelopes()
    # Logged as the generator logs it: the world's clock, at its last event (scripts/generate_fixtures.py).
    last = max(parse_time(json.loads(line)["body"]["time"], "time") for line in lines)
    ledger = open_ledger(sqlite_url, clock=lambda: last)

    outcomes = ledger.submit(lines)
    assert [(o.status, o.index) for o in outcomes] == [("accepted", i) for i in range(len(lines))]
    assert [o.leaf_hash for o in outcomes] == [hashlib.sha256(b"\x00" + line).digest() for line in lines]

    star = expected["star"]
    trace = ledger.trace(star)
    assert ledger.size == expected["size"] == len(lines)
    assert [o.to_json() for o in trace.origin] == expected["trace"]["origin"]
    assert list(trace.mines) == expected["trace"]["mines"]
    assert ledger.lot(star).to_json() == expected["lot"]


def test_expected_summary_is_the_documented_demo() -> None:
    """The fixture itself says what the demo promises: a sold 1.52 ct stone from both Botswana mines."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert expected["star"] == "PS-0042-001"
    assert expected["trace"]["mines"] == ["JW-2026-0001", "OR-2026-0001"]
    origin = expected["trace"]["origin"]
    assert [(o["site_name"], o["country"]) for o in origin] == [("Jwaneng", "BW"), ("Orapa", "BW")]
    assert sum(Decimal(o["carats"]) for o in origin) == Decimal(expected["lot"]["carats"]) == Decimal("1.52")
    assert (expected["lot"]["state"], expected["lot"]["holder_country"]) == ("sold", "US")
