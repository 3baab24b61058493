"""The fast canonical encoder agrees with the RFC 8785 library on every plain value, ``canonicalize``
agrees with the library on every JSON value (it takes the fast path only for plain ones), and the envelope
frame spliced around a canonical body is the canonical envelope. The reference is always the library
itself (``rfc8785.dumps``), never our own function."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from adamas.crypto import canonicalize
from adamas.crypto.canonical import canonicalize_plain
from adamas.errors import InputError
from adamas.model.events import parse_envelope
from adamas.sim import demo_world

keys = st.text(alphabet=string.ascii_letters + string.digits + "_.-", max_size=12)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), text)
plain: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(plain)
def test_plain_encoder_writes_rfc8785(value: Any) -> None:
    assert canonicalize_plain(value) == rfc8785.dumps(value)


# Anything JSON-like, including what is not plain: floats, integers past I-JSON's range, non-ASCII and
# astral member names (whose UTF-16 order differs from code-point order), lone surrogates, tuples.
any_text = st.text(max_size=12)
any_scalar = st.one_of(
    scalars,
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**60), 2**60),
    any_text,
)
any_json: st.SearchStrategy[Any] = st.recursive(
    any_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(keys, any_text), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=800, deadline=None)
@given(any_json)
def test_canonicalize_agrees_with_the_library_on_any_value(value: Any) -> None:
    _agrees_with_the_library(value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\uffff": 2},  # astral vs BMP member names: UTF-16 order, not code points
        {"n": 2**53},  # past I-JSON's range: the library refuses
        {"x": 1e21, "y": 0.1, "z": -0.0},  # ECMAScript number forms
        {"s": "\ud800"},  # a lone surrogate: refused
        ("a", 1),
    ],
)
def test_canonicalize_falls_back_to_the_library(value: Any) -> None:
    _agrees_with_the_library(value)


def _agrees_with_the_library(value: Any) -> None:
    """``canonicalize`` gives the RFC 8785 library's bytes for ``value``, or refuses where it refuses."""
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        with pytest.raises(InputError):
            canonicalize(value)
        return
    assert canonicalize(value) == expected


def test_control_characters_and_unicode_match_rfc8785() -> None:
    value = {"b": '\u0000\u001f\b\f\n\r\t"\\/\u007f\u2028é😀', "a": [1, -0, 2**53 - 1]}
    assert canonicalize_plain(value) == rfc8785.dumps(value)


def test_envelope_leaf_is_the_canonical_envelope() -> None:
    world, _ = demo_world()
    for envelope in world.events:
        parsed = parse_envelope(json.dumps(envelope))
        assert parsed.leaf == rfc8785.dumps(envelope)
        assert parsed.body_bytes == rfc8785.dumps(envelope["body"])
