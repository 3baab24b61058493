"""The fast canonical encoder agrees with the RFC 8785 library on every plain value, and the envelope
frame spliced around a canonical body is the canonical envelope."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adamas.crypto import canonicalize
from adamas.crypto.canonical import canonicalize_plain
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
    assert canonicalize_plain(value) == canonicalize(value)


def test_control_characters_and_unicode_match_rfc8785() -> None:
    value = {"b": '\u0000\u001f\b\f\n\r\t"\\/\u007f\u2028é😀', "a": [1, -0, 2**53 - 1]}
    assert canonicalize_plain(value) == canonicalize(value)


def test_envelope_leaf_is_the_canonical_envelope() -> None:
    world, _ = demo_world()
    for envelope in world.events:
        parsed = parse_envelope(json.dumps(envelope))
        assert parsed.leaf == canonicalize(envelope)
        assert parsed.body_bytes == canonicalize(envelope["body"])
