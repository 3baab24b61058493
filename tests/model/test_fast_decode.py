"""The compiled decoder's fast path for canonical envelope text changes nothing: any text, canonical or not,
gives an equal envelope or the same refusal (code, field and message) with the fast path as with the
standard library alone, and canonical text does take the fast path."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adamas.crypto import canonicalize
from adamas.errors import AdamasError
from adamas.model import events
from adamas.model.events import Envelope, parse_envelope
from adamas.sim import demo_world

_ENVELOPES: list[dict[str, Any]] = list(demo_world()[0].events)
_LINES: list[bytes] = [canonicalize(env) for env in _ENVELOPES]


def _outcome(raw: bytes | str) -> Envelope | tuple[str, str, str | None, str]:
    try:
        return parse_envelope(raw)
    except AdamasError as exc:
        return (type(exc).__name__, exc.code, exc.field, exc.message)
    except RecursionError:
        return ("RecursionError", "", None, "")


def _both(raw: bytes | str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _outcome(raw)
    with monkeypatch.context() as m:
        m.setattr(events, "_decode_canonical", lambda raw: None)
        reference = _outcome(raw)
    assert fast == reference


def test_canonical_text_takes_the_fast_path() -> None:
    for line in _LINES:
        found = events._decode_canonical(line)
        assert found is not None
        assert canonicalize(found[0]) == line


# Respellings of the same envelope (none canonical) and changed values (some refused) of every kind that
# the two decoders could read differently.
_SPELLINGS: list[Callable[[dict[str, Any]], str]] = [
    json.dumps,
    lambda env: json.dumps(env, ensure_ascii=True, sort_keys=True, separators=(",", ":")),
    lambda env: json.dumps({"sig": env["sig"], "body": env["body"]}, separators=(",", ":")),
    lambda env: " \n" + canonicalize(env).decode() + "\t\r\n",
    lambda env: "\x0c" + canonicalize(env).decode(),
    lambda env: "\ufeff" + canonicalize(env).decode(),
    lambda env: canonicalize(env).decode().replace('{"body":{', '{"body":{"v":1,', 1),
    lambda env: canonicalize(env).decode().replace('"v":1', '"v":1.0', 1),
    lambda env: canonicalize(env).decode().replace('"v":1', '"v":1e400', 1),
    lambda env: canonicalize(env).decode().replace('"v":1', '"v":NaN', 1),
    lambda env: canonicalize(env).decode().replace('"v":1', '"v":100000000000000000000000', 1),
    lambda env: canonicalize(env).decode().replace('"v":1', '"v":-0', 1),
    lambda env: canonicalize(env).decode().replace('"type":"', '"type":"\\ud800', 1),
    lambda env: canonicalize(env).decode().replace('"id":"', '"id":"\\u0041', 1),
    lambda env: canonicalize(env).decode().replace('"id":"', '"id":"\x01', 1),
    lambda env: canonicalize(env).decode().replace('"id":"', '"id":"\\/', 1),
    lambda env: canonicalize(env).decode() + "x",
    lambda env: canonicalize(env).decode()[:-1],
    lambda env: canonicalize(env).decode().replace('"sig":"', '"sig":"é', 1),
    lambda env: canonicalize(env).decode().replace('"sig":', '"extra":1,"sig":', 1),
]


@pytest.mark.parametrize("spell", range(len(_SPELLINGS)))
def test_respelled_envelopes_parse_alike(spell: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for env in _ENVELOPES[:12]:
        text = _SPELLINGS[spell](env)
        _both(text, monkeypatch)
        _both(text.encode("utf-8", "surrogatepass"), monkeypatch)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_LINES),
    st.integers(min_value=0),
    st.binary(min_size=1, max_size=3),
)
def test_any_damaged_text_parses_alike(line: bytes, where: int, patch: bytes) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        at = where % len(line)
        _both(line[:at] + patch + line[at + len(patch) :], monkeypatch)
