"""Hostile envelopes, bounded (benchmarks/fuzz.py runs a million): the parser and every event schema refuse
cleanly, with an ``AdamasError``, and accept no envelope that its signer did not sign."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fuzzing import ForgeryError, Target, foreign_key_forgery, mangled_bytes, mutated_envelopes
from hypothesis import HealthCheck, given, settings

TARGET = Target()
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@FUZZ
@given(mutated_envelopes(TARGET))
def test_structurally_mutated_envelopes_are_refused_cleanly_or_genuine(case: tuple[Any, bool]) -> None:
    envelope, resigned = case
    outcome = TARGET.check(envelope)
    if not resigned:
        # Old signature over a changed body: only a mutation that changed nothing canonical may pass.
        assert outcome.startswith("refused:") or outcome == "genuine"


@FUZZ
@given(mangled_bytes(TARGET))
def test_byte_mangled_envelopes_are_refused_cleanly(data: bytes) -> None:
    TARGET.check(data)


def test_a_changed_body_signed_by_another_key_under_the_real_key_id_is_refused() -> None:
    rng = random.Random(15)
    for _ in range(200):
        assert TARGET.check(foreign_key_forgery(TARGET, rng)) == "refused:envelope.bad_signature"


def test_the_target_reports_an_accepted_envelope_that_nobody_signed() -> None:
    # The fuzzer's forgery detector is itself checked: forget one signed original, then present it.
    target = Target()
    envelope = target.seeds[5]
    parsed_pairs = set(target.signed)
    target.signed.clear()
    with pytest.raises(ForgeryError):
        target.check(envelope)
    target.signed = parsed_pairs
    assert target.check(envelope) == "genuine"


def test_every_event_type_of_the_world_is_a_seed() -> None:
    assert len(TARGET.types) >= 15, TARGET.types


@pytest.mark.parametrize(
    "roles",
    [[["trader"]], [{"role": "trader"}], ["trader", 7], [None]],
    ids=["list", "object", "number", "null"],
)
def test_registration_whose_roles_are_not_strings_is_a_schema_refusal(roles: list[Any]) -> None:
    # Found by this fuzzer: a list among the roles raised TypeError (unhashable) instead of a refusal.
    seed = next(e for e in TARGET.seeds if e["body"]["type"] == "participant.register")
    body = {**seed["body"], "participant": {**seed["body"]["participant"], "roles": roles}}
    assert TARGET.check(TARGET.sign_as(body, body["actor"])) == "refused:event.schema"


@pytest.mark.parametrize("spelling", ["object", "json_text"])
def test_a_lone_surrogate_in_a_free_text_field_is_a_schema_refusal(spelling: str) -> None:
    # Found by atheris: "\ud9fe" passed the schema of a free-text field, then failed an assertion where the
    # body is canonicalized (a lone surrogate has no UTF-8 form). Refused now, signed or not.
    seed = next(e for e in TARGET.seeds if isinstance(e["body"].get("reason"), str))
    body = {**seed["body"], "reason": "\ud9fe"}
    envelope: Any = {"body": body, "sig": seed["sig"]}
    if spelling == "json_text":
        envelope = json.dumps(envelope).encode()
    outcome = TARGET.check(envelope)
    assert outcome == "refused:event.schema"
