"""The fast row encoders write the same text as the JSON encoder, for the ids the schema admits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adamas.store.rows import _id_list, _id_map, _json

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{1,20}", fullmatch=True)


@given(st.dictionaries(ids, st.integers(min_value=0, max_value=10**15), max_size=8))
def test_id_maps_encode_like_json(value: dict[str, int]) -> None:
    assert _id_map(value) == (_json(value) if value else "{}")


@given(st.lists(ids, max_size=8))
def test_id_lists_encode_like_json(value: list[str]) -> None:
    assert _id_list(value) == (_json(value) if value else "[]")
