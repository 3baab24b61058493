"""The audit's lean check only ever shortcuts to what ``parse_envelope`` would accept: every custody entry it
accepts parses, is its own canonical form and has the type, signer, key, body and signature it says; every
named bad entry (refused by the schema, or not canonical) is left to the full parse."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adamas.audit_lean import lean
from adamas.crypto import canonicalize
from adamas.errors import InputError
from adamas.model.events import parse_envelope
from adamas.model.signing import sign_body
from adamas.sim import World
from conftest import basic_world

CUSTODY = {
    "lot.register",
    "lot.split",
    "lot.merge",
    "lot.ship",
    "lot.receive",
    "lot.manufacture",
    "lot.grade",
    "lot.assemble",
    "lot.sell",
}


@cache
def _world() -> World:
    """The basic world, then one lot's custody with every optional field of the lean shapes used once."""
    w = basic_world()
    w.produce("miner", "R1", "mine-a", "100.00", stones=40, value="9000.00")
    w.sign(
        "miner",
        "lot.register",
        lot={
            "id": "R2",
            "kind": "rough_stone",
            "carats": "0.05",
            "stones": 1,
            "value": {"amount": "0", "currency": "USD"},
            "site": "mine-a",
            "mined_from": "2025-12-31T23:59:59.123456789Z",
            "mined_to": "2026-01-30T10:00:00Z",
        },
    )
    w.split("miner", "R1", {"R1a": "60.00", "R1b": "39.50"}, loss="0.50", stones={"R1a": 24, "R1b": 16})
    w.sign(
        "miner",
        "lot.split",
        lot="R2",
        into=[{"id": "R2a", "carats": "0.01", "value": {"amount": "1.5", "currency": "USD"}}],
        loss="0",
    )
    w.ship(
        "miner",
        "s1",
        ["R1a", "R1b"],
        "trader",
        certificate="BW-2026-000123",
        seal="SEAL 7 (red) #1",
        value={"amount": "9000.00", "currency": "USD"},
    )
    w.receive("trader", "s1", {"R1a": "60.00", "R1b": "39.50"}, seal_intact=False)
    w.merge("trader", ["R1a", "R1b"], "R1m")
    w.sign("trader", "lot.merge", lots=["R1m"], into={"id": "R1n", "carats": "99.50", "stones": 40})
    w.manufacture("cutter", "R1m", {"P1": "4.00", "P2": "1.00"}, remainder={"R1r": "80.00"})
    w.sign("cutter", "lot.manufacture", lot="R1r", into=[{"id": "P3", "kind": "polished", "carats": "1"}])
    w.sign(
        "cutter",
        "lot.manufacture",
        lot="R1q",
        into=[{"id": "P4", "kind": "polished", "carats": "2.00"}],
        remainder=[],
    )
    w.grade(
        "lab", "P1", "G-1", "4.00", color="G", clarity="VS2", cut="EX", measurements="1x2", fingerprint="f"
    )
    w.grade("lab", "P2", "G-2", "1.00", natural=False)
    w.assemble("shop", ["P2", "P3"], "J1", "solitaire ring, 18k gold")
    w.sell("shop", "P1", price="52000.00")
    w.sign("shop", "lot.sell", lot="J1", buyer_ref="ab" * 32)
    w.sell("shop", "P4")
    return w


def _leaves() -> list[bytes]:
    return [parse_envelope(envelope).leaf for envelope in _world().events]


def test_every_custody_entry_is_accepted_as_the_parse_reads_it() -> None:
    seen = set()
    for leaf in _leaves():
        envelope = parse_envelope(leaf)
        event = envelope.event
        got = lean(leaf)
        if event.type not in CUSTODY:
            assert got is None, event.type  # registrations and the rest: always the full parse
            continue
        assert got == (event.type, event.actor, event.key, envelope.body_bytes, envelope.signature)
        seen.add(event.type)
    assert seen == CUSTODY


def _body(type_: str) -> dict[str, Any]:
    """A copy of the first body of ``type_`` in the world."""
    return copy.deepcopy(next(e["body"] for e in _world().events if e["body"]["type"] == type_))


def _signed(body: dict[str, Any]) -> bytes:
    """``body`` signed by its actor's key, in the canonical frame (whatever the schema says of it)."""
    key = _world().actor(body["actor"]).key
    sig = sign_body(body, key)["sig"]
    return b'{"body":' + canonicalize(body) + b',"sig":"' + sig.encode("ascii") + b'"}'


def _set(type_: str, path: str, value: Any) -> Callable[[], bytes]:
    """A signed body of ``type_`` whose member at the dotted ``path`` (``into.0.carats``) is ``value``."""

    def make() -> bytes:
        body = _body(type_)
        *parents, last = path.split(".")
        target: Any = body
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return _signed(body)

    return make


# Validly signed, canonical, refused by the schema: the lean check must leave each to the parse.
REFUSED = {
    "zero carats": _set("lot.split", "into.0.carats", "0.00"),
    "three decimal places": _set("lot.receive", "lots.0.carats", "1.234"),
    "carats as a number": _set("lot.receive", "lots.0.carats", 1),
    "carats beyond the bound": _set("lot.register", "lot.carats", "100000000.01"),
    "the 30th of February": _set("lot.ship", "time", "2026-02-30T10:00:00Z"),
    "a time before 1970": _set("lot.ship", "time", "1969-12-31T23:59:59Z"),
    "a time from 2200": _set("lot.ship", "time", "2200-01-01T00:00:00Z"),
    "hour 24": _set("lot.ship", "time", "2026-01-01T24:00:00Z"),
    "an unknown member": _set("lot.sell", "note", "x"),
    "an unknown nested member": _set("lot.register", "lot.colour", "red"),
    "version 2": _set("lot.sell", "v", 2),
    "the same lot twice in a shipment": _set("lot.ship", "lots", ["R1a", "R1a"]),
    "the same lot twice in a receipt": _set(
        "lot.receive", "lots", [{"id": "R1a", "carats": "1.00"}, {"id": "R1a", "carats": "2.00"}]
    ),
    "no lots": _set("lot.merge", "lots", []),
    "1,001 lots in a shipment": _set("lot.ship", "lots", [f"L{i:04d}" for i in range(1001)]),
    "1,001 parts": _set("lot.split", "into", [{"id": f"L{i:04d}", "carats": "1.00"} for i in range(1001)]),
    "zero stones": _set("lot.register", "lot.stones", 0),
    "too many stones": _set("lot.register", "lot.stones", 10**9 + 1),
    "a polished output of two stones": _set("lot.manufacture", "into.0.stones", 2),
    "a polished remainder": _set("lot.manufacture", "remainder.0.kind", "polished"),
    "euros": _set("lot.register", "lot.value.currency", "EUR"),
    "a bad lot id": _set("lot.sell", "lot", "-R1"),
    "an upper-case participant id": _set("lot.ship", "to", "Trader"),
    "a null required member": _set("lot.ship", "shipment", None),
    "a boolean as a string": _set("lot.receive", "seal_intact", "true"),
    "a short buyer reference": _set("lot.sell", "buyer_ref", "ab"),
    "a grade number too long": _set("lot.grade", "report.number", "N" * 65),
    "a jewel of another kind": _set("lot.assemble", "into.kind", "polished"),
    "an unknown type": _set("lot.sell", "type", "lot.steal"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_body_the_schema_refuses_is_left_to_the_parse(name: str) -> None:
    entry = REFUSED[name]()
    assert lean(entry) is None
    with pytest.raises(InputError):
        parse_envelope(entry)


def _respelled(leaf: bytes, change: Callable[[dict[str, Any]], bytes]) -> bytes:
    return change(json.loads(leaf))


# The same signed envelopes spelled otherwise: not their canonical form.
NOT_CANONICAL = {
    "white space": lambda e: json.dumps(e).encode(),
    "sig before body": lambda e: json.dumps(
        {"sig": e["sig"], "body": e["body"]}, separators=(",", ":")
    ).encode(),
    "members of the body unsorted": lambda e: (
        b'{"body":'
        + json.dumps(dict(reversed(list(e["body"].items()))), separators=(",", ":")).encode()
        + b',"sig":"'
        + e["sig"].encode()
        + b'"}'
    ),
    "an escaped letter": lambda e: (
        b'{"body":'
        + canonicalize(e["body"]).replace(b'"actor":"m', b'"actor":"\\u006d', 1)
        + b',"sig":"'
        + e["sig"].encode()
        + b'"}'
    ),
    "a trailing newline": lambda e: json.dumps(e, separators=(",", ":"), sort_keys=True).encode() + b"\n",
    "unused base64 bits": lambda e: (
        b'{"body":' + canonicalize(e["body"]) + b',"sig":"' + e["sig"][:-3].encode() + b'B=="}'
    ),
}


@pytest.mark.parametrize("name", sorted(NOT_CANONICAL))
def test_an_envelope_that_is_not_canonical_is_left_to_the_parse(name: str) -> None:
    leaf = next(leaf for leaf in _leaves() if b'"type":"lot.ship"' in leaf)
    entry = _respelled(leaf, NOT_CANONICAL[name])
    assert entry != leaf
    assert lean(entry) is None
    try:
        envelope = parse_envelope(entry)
    except InputError:
        return
    assert envelope.leaf != entry


def _mutations() -> st.SearchStrategy[bytes]:
    """Custody leaves with a few bytes replaced, inserted or deleted."""
    leaves = [leaf for leaf in _leaves() if lean(leaf) is not None]
    alphabet = b'"{}[],:.-0123456789aAzZ \\eE+/=\x7f\xc3\xa9'
    edit = st.tuples(
        st.sampled_from(["replace", "insert", "delete"]),
        st.floats(min_value=0, max_value=1, exclude_max=True),
        st.sampled_from(list(alphabet)),
    )

    def apply(leaf: bytes, edits: list[tuple[str, float, int]]) -> bytes:
        data = bytearray(leaf)
        for op, where, byte in edits:
            at = int(where * len(data))
            if op == "replace":
                data[at] = byte
            elif op == "insert":
                data.insert(at, byte)
            else:
                del data[at]
        return bytes(data)

    return st.builds(apply, st.sampled_from(leaves), st.lists(edit, min_size=1, max_size=3))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_whatever_the_lean_check_accepts_the_parse_accepts_as_its_canonical_form(entry: bytes) -> None:
    got = lean(entry)
    if got is None:
        return
    envelope = parse_envelope(entry)
    event = envelope.event
    assert envelope.leaf == entry
    assert got == (event.type, event.actor, event.key, envelope.body_bytes, envelope.signature)
