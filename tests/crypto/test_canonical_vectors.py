"""RFC 8785 (JCS) test data of the RFC's author, run through ``adamas.crypto.canonicalize``.

``tests/vectors/rfc8785/{input,output,outhex}`` are cyberphone/json-canonicalization's ``testdata``
byte for byte (source and digests in tests/vectors/SOURCES.md).
"""

from __future__ import annotations

import json

import pytest

from adamas.crypto import canonicalize
from conftest import VECTORS

ASSETS = VECTORS / "rfc8785"
NAMES = sorted(path.stem for path in (ASSETS / "input").glob("*.json"))
PUBLISHED_NAMES = ["arrays", "french", "structures", "unicode", "values", "weird"]


def test_every_published_jcs_vector_is_present() -> None:
    assert NAMES == PUBLISHED_NAMES
    assert sorted(path.stem for path in (ASSETS / "output").glob("*.json")) == PUBLISHED_NAMES
    assert sorted(path.stem for path in (ASSETS / "outhex").glob("*.txt")) == PUBLISHED_NAMES


@pytest.mark.parametrize("name", NAMES)
def test_canonical_bytes_match_published_output(name: str) -> None:
    value = json.loads((ASSETS / "input" / f"{name}.json").read_bytes())
    assert canonicalize(value) == (ASSETS / "output" / f"{name}.json").read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_output_file_matches_published_hex(name: str) -> None:
    # Guards the asset itself: an editor adding a trailing newline would silently change the vector.
    expected = bytes.fromhex((ASSETS / "outhex" / f"{name}.txt").read_text(encoding="ascii"))
    assert (ASSETS / "output" / f"{name}.json").read_bytes() == expected


@pytest.mark.parametrize("name", NAMES)
def test_canonical_output_is_a_fixed_point(name: str) -> None:
    output = (ASSETS / "output" / f"{name}.json").read_bytes()
    assert canonicalize(json.loads(output)) == output
