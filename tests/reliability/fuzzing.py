"""Hostile input for the envelope parser and every event schema: the target, the seeds and the strategies.

The target (``Target.check``) is the front of the ingest pipeline without a database: ``parse_envelope``
(JSON, the envelope's shape, the body's schema for every event type, the size limit) then ``authenticate``
(key, signature, actor) against the demo world's participants in a ``MemoryState``. For any input it must
either refuse with an ``AdamasError`` (a clean refusal) or accept; anything else raised is a bug, and an
accepted envelope whose canonical body and signature are not exactly one a participant signed is a forgery
(``ForgeryError``). Shared by tests/reliability/test_fuzz.py (bounded) and benchmarks/fuzz.py (1,000,000).
"""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from typing import Any

from hypothesis import strategies as st

from adamas.crypto import canonicalize, generate_key
from adamas.errors import AdamasError
from adamas.model import MemoryState, apply, authenticate, parse_envelope
from adamas.model.signing import sign_body
from adamas.sim import demo_world


class ForgeryError(AssertionError):
    """An envelope nobody signed passed authentication."""


class Target:
    """The demo world applied to a ``MemoryState``: the parser and authenticator under fire."""

    def __init__(self) -> None:
        world, _ = demo_world()
        self.world = world
        self.state = MemoryState()
        self.signed: set[tuple[bytes, str]] = set()
        self.seeds: list[dict[str, Any]] = []
        for envelope in world.events:
            parsed = parse_envelope(envelope)
            authenticate(parsed, self.state, now_ns=None)
            # Only the registry matters to authentication; a correction needs the event log, which a
            # MemoryState does not keep, so its effect is skipped.
            with contextlib.suppress(AdamasError):
                apply(parsed.event, self.state)
            self.signed.add((parsed.body_bytes, parsed.sig))
            self.seeds.append(envelope)
        self.seed_bytes = [canonicalize(e) for e in self.seeds]
        self.types = sorted({e["body"]["type"] for e in self.seeds})
        self.outcomes: Counter[str] = Counter()

    def check(self, data: bytes | dict[str, Any]) -> str:
        """Parse and authenticate ``data``: ``refused:<code>``, ``genuine`` (a signed original, perhaps
        spelled differently) or ``resigned`` (re-signed by ``sign_key_of`` below). Raises anything else."""
        try:
            parsed = parse_envelope(data)
            authenticate(parsed, self.state, now_ns=None)
        except AdamasError as exc:
            assert isinstance(exc.code, str) and exc.code and isinstance(exc.message, str), exc
            outcome = f"refused:{exc.code}"
        else:
            if (parsed.body_bytes, parsed.sig) not in self.signed:
                raise ForgeryError(f"accepted an envelope nobody signed: {parsed.body_bytes[:200]!r}")
            outcome = "genuine"
        self.outcomes[outcome] += 1
        return outcome

    def sign_as(self, body: dict[str, Any], actor: str) -> dict[str, Any]:
        """``body`` re-signed with ``actor``'s real key: it passes the signature, so the schema is what
        must refuse it (or it is a genuinely signed event, recorded as such)."""
        key = self.world.actor(actor).key
        try:
            envelope = sign_body({**body, "key": key.id}, key)
        except AdamasError:
            return {"body": body, "sig": "A" * 86 + "=="}
        try:
            parsed = parse_envelope(envelope)
        except AdamasError:
            return envelope
        self.signed.add((parsed.body_bytes, parsed.sig))
        return envelope


# --- strategies ---------------------------------------------------------------------------------------------

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["", "0", "-1", "1.005", "1e3", "BW", "USD", "admin", "1970-01-01T00:00:00Z", "x" * 200]
    )
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(root: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    container = root
    for step in path[:-1]:
        container = container[step]
    if delete:
        del container[path[-1]]
    else:
        container[path[-1]] = value
    return root


@st.composite
def mutated_envelopes(draw: st.DrawFn, target: Target) -> tuple[dict[str, Any] | bytes, bool]:
    """A seed envelope with one to three structural mutations (a value replaced, a member deleted or added);
    then kept with its old signature (a forgery attempt), or re-signed by the actor's real key (a schema
    probe). Returns the envelope and whether it was re-signed."""
    envelope = json.loads(json.dumps(draw(st.sampled_from(target.seeds))))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(envelope["body"])
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and path:
            _set(envelope["body"], path, None, delete=True)
        elif action == "add":
            parent = envelope["body"]
            for step in path:
                parent = parent[step]
            if isinstance(parent, dict):
                parent[draw(st.text(max_size=12))] = draw(JSON_VALUES)
            elif isinstance(parent, list):
                parent.append(draw(JSON_VALUES))
        elif path:
            _set(envelope["body"], path, draw(JSON_VALUES), delete=False)
    resign = draw(st.booleans())
    if resign and isinstance(envelope.get("body"), dict):
        actor = envelope["body"].get("actor")
        if isinstance(actor, str) and actor in target.world.actors:
            return target.sign_as(envelope["body"], actor), True
    return envelope, False


@st.composite
def mangled_bytes(draw: st.DrawFn, target: Target) -> bytes:
    """A seed's canonical bytes with byte-level damage: flips, insertions, deletions, truncation, splices."""
    data = bytearray(draw(st.sampled_from(target.seed_bytes)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[at:]
        else:
            other = draw(st.sampled_from(target.seed_bytes))
            data[at:] = other[draw(st.integers(0, len(other) - 1)) :]
    return bytes(data)


def foreign_key_forgery(target: Target, rng: random.Random) -> dict[str, Any]:
    """A seed's body, changed, signed by a fresh key that claims the real signer's key id."""
    envelope = json.loads(json.dumps(rng.choice([e for e in target.seeds if e["body"]["type"] != "genesis"])))
    body = envelope["body"]
    body["time"] = f"2026-03-01T09:00:0{rng.randrange(10)}Z"
    forged = sign_body({k: v for k, v in body.items() if k != "key"}, generate_key())
    forged["body"]["key"] = body["key"]
    return forged
