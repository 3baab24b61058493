"""Named bad inputs, each refused with its exact code and field, and each leaving the ledger untouched.

Every case builds its state on ``basic_world()`` (plus the setup events it records, which must all be
accepted) and returns one bad envelope. The test submits it and checks the refusal's ``code`` and ``field``,
that its message is human text, and that nothing was written: the log size and every state table are the
same before and after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from adamas import Ledger
from adamas.crypto import canonicalize
from adamas.model.values import format_time_ns
from adamas.sim import World
from conftest import basic_world
from refusal_tables import assert_human, case_table, snapshot, submit_ok

Raw = dict[str, Any] | str | bytes
Build = Callable[[World], Raw]

CASES, case = case_table()


# --- helpers that record accepted setup events -------------------------------------------------------------


def produce(
    w: World, lot_id: str = "LOT-1", carats: str = "100.00", *, stones: int = 100, site: str = "mine-a"
) -> str:
    return w.produce("miner", lot_id, site, carats, stones=stones)


def deliver(w: World, sender: str, lots: dict[str, str], to: str, shipment: str) -> None:
    w.ship(sender, shipment, list(lots), to)
    w.receive(to, shipment, lots)


def polished_at_cutter(w: World) -> str:
    """A rough lot delivered to the cutter and cut into polished ``PS-1`` (50 ct of 100 ct rough)."""
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "cutter", "shp-1")
    w.manufacture("cutter", "LOT-1", {"PS-1": "50.00"})
    return "PS-1"


def sold_at_shop(w: World) -> str:
    """``PS-1`` cut in Botswana, shipped to the Belgian shop and sold."""
    polished_at_cutter(w)
    deliver(w, "cutter", {"PS-1": "50.00"}, "shop", "shp-2")
    w.sell("shop", "PS-1", price="9000.00")
    return "PS-1"


def lot_fields(**overrides: Any) -> dict[str, Any]:
    lot = {
        "id": "LOT-9",
        "kind": "rough_parcel",
        "carats": "10.00",
        "stones": 5,
        "value": {"amount": "1000.00", "currency": "USD"},
        "site": "mine-a",
    }
    lot.update(overrides)
    return {"lot": lot}


def register_lot(w: World, **overrides: Any) -> dict[str, Any]:
    """An unrecorded ``lot.register`` by the miner with the given ``lot`` fields changed."""
    return w.sign("miner", "lot.register", record=False, **lot_fields(**overrides))


def split(
    w: World, actor: str = "miner", lot: str = "LOT-1", parts: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    parts = parts if parts is not None else {"LOT-1a": "60.00", "LOT-1b": "40.00"}
    return w.sign(
        actor,
        "lot.split",
        record=False,
        lot=lot,
        into=[{"id": i, "carats": c} for i, c in parts.items()],
        **extra,
    )


def participant_fields(
    w: World, pid: str = "newcomer", country: str = "BW", roles: Any = ("trader",), **overrides: Any
) -> dict[str, Any]:
    spec = {
        "id": pid,
        "name": pid,
        "country": country,
        "roles": list(roles),
        "keys": [w.actor(pid).key_spec()],
    }
    spec.update(overrides)
    return {"participant": spec}


def key_spec(w: World, pid: str, generation: int) -> dict[str, str]:
    key = w.key_for(pid, generation)
    return {"id": key.id, "public_key": key.public_key_b64}


def add_key(w: World, actor: str, participant: str, key: dict[str, str]) -> dict[str, Any]:
    """An unrecorded ``key.add``; the new key travels as ``new_key`` (``key`` is the header's signing key)."""
    w.counter += 1
    w.now_ns += w.step_ns
    body = {
        "v": 1,
        "type": "key.add",
        "id": f"{w.id_prefix}-{w.counter:07d}",
        "actor": actor,
        "key": w.actor(actor).key.id,
        "time": w.time,
        "participant": participant,
        "new_key": key,
    }
    return {"body": body, "sig": w.actor(actor).key.sign(canonicalize(body))}


def suspend(w: World, pid: str, status: str = "suspended") -> None:
    w.sign("bw-authority", "participant.status", participant=pid, status=status, reason="licence lapsed")


# --- envelope form --------------------------------------------------------------------------------------


@case("malformed_json_text", "envelope.malformed", None)
def _(w: World) -> Raw:
    return '{"body": {"v": 1, "type": "lot.split"'


@case("json_array_instead_of_object", "envelope.malformed", None)
def _(w: World) -> Raw:
    return json.dumps([split(w)])


@case("json_with_a_duplicate_key", "envelope.malformed", None)
def _(w: World) -> Raw:
    env = split(w)
    body, sig = json.dumps(env["body"]), env["sig"]
    return f'{{"body": {body}, "sig": "{sig}", "sig": "{sig}"}}'


@case("json_nan_constant", "envelope.malformed", None)
def _(w: World) -> Raw:
    env = split(w)
    return f'{{"body": {json.dumps(env["body"])}, "sig": NaN}}'


@case("invalid_utf8_bytes", "envelope.malformed", None)
def _(w: World) -> Raw:
    return canonicalize(split(w)).replace(b"LOT-1a", b"LOT-1\xff")


@case("unknown_envelope_field", "envelope.malformed", "receipt")
def _(w: World) -> Raw:
    return {**split(w), "receipt": "please"}


@case("missing_signature", "envelope.malformed", "sig")
def _(w: World) -> Raw:
    return {"body": split(w)["body"]}


@case("signature_too_short", "envelope.malformed", "sig")
def _(w: World) -> Raw:
    return {**split(w), "sig": "c2lnbmF0dXJl"}


@case("body_is_a_string", "envelope.malformed", "body")
def _(w: World) -> Raw:
    env = split(w)
    return {"body": json.dumps(env["body"]), "sig": env["sig"]}


@case("oversized_envelope_many_parts", "envelope.too_large", None)
def _(w: World) -> Raw:
    produce(w, carats="1000.00")
    parts = {f"LOT-1-{i:04d}-" + "x" * 100: "1.00" for i in range(1000)}
    return split(w, parts=parts)


@case("oversized_bytes_refused_before_parsing", "envelope.too_large", None)
def _(w: World) -> Raw:
    return b'{"body": {}, "sig": "' + b"A" * 300_000 + b'"}'


# --- body form (event.schema) ---------------------------------------------------------------------------


@case("unknown_body_field", "event.schema", "colour")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, colour="blue", **lot_fields())


@case("unknown_nested_field", "event.schema", "lot.grade")
def _(w: World) -> Raw:
    return register_lot(w, grade="A")


@case("missing_required_field", "event.schema", "into")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.split", record=False, lot="LOT-1")


@case("empty_split", "event.schema", "into")
def _(w: World) -> Raw:
    produce(w)
    return split(w, parts={})


@case("carats_as_json_number", "event.schema", "lot.carats")
def _(w: World) -> Raw:
    return register_lot(w, carats=10.5)


@case("carats_with_three_decimals", "event.schema", "lot.carats")
def _(w: World) -> Raw:
    return register_lot(w, carats="10.125")


@case("negative_carats", "event.schema", "lot.carats")
def _(w: World) -> Raw:
    return register_lot(w, carats="-10.00")


@case("zero_carats", "event.schema", "lot.carats")
def _(w: World) -> Raw:
    return register_lot(w, carats="0.00")


@case("carats_with_exponent", "event.schema", "lot.carats")
def _(w: World) -> Raw:
    return register_lot(w, carats="1e3")


@case("float_stones", "event.schema", "lot.stones")
def _(w: World) -> Raw:
    return register_lot(w, stones=5.0)


@case("bool_where_an_int_is_expected", "event.schema", "lot.stones")
def _(w: World) -> Raw:
    return register_lot(w, stones=True)


@case("money_amount_as_number", "event.schema", "lot.value.amount")
def _(w: World) -> Raw:
    return register_lot(w, value={"amount": 1000, "currency": "USD"})


@case("money_not_in_usd", "event.schema", "lot.value.currency")
def _(w: World) -> Raw:
    return register_lot(w, value={"amount": "1000.00", "currency": "EUR"})


@case("register_polished_at_the_mine_gate", "event.schema", "lot.kind")
def _(w: World) -> Raw:
    return register_lot(w, kind="polished")


@case("uppercase_participant_id", "event.schema", "participant.id")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority",
        "participant.register",
        record=False,
        **participant_fields(w, "newcomer", id="NewComer"),
    )


@case("uppercase_actor_id", "event.schema", "actor")
def _(w: World) -> Raw:
    return w.sign("Miner", "lot.register", record=False, **lot_fields())


@case("too_short_event_id", "event.schema", "id")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, id="evt-1", **lot_fields())


@case("time_without_z", "event.schema", "time")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, time="2026-03-01T10:00:00", **lot_fields())


@case("time_with_an_offset", "event.schema", "time")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, time="2026-03-01T10:00:00+02:00", **lot_fields())


@case("time_on_february_30", "event.schema", "time")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, time="2026-02-30T10:00:00Z", **lot_fields())


@case("wrong_version", "event.schema", "v")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, v=2, **lot_fields())


@case("version_true", "event.schema", "v")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.register", record=False, v=True, **lot_fields())


@case("unknown_type", "event.schema", "type")
def _(w: World) -> Raw:
    return w.sign("miner", "lot.teleport", record=False, lot="LOT-1")


@case("unknown_role", "event.schema", "participant.roles")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority", "participant.register", record=False, **participant_fields(w, roles=["wizard"])
    )


@case("registering_an_administrator_role", "event.schema", "participant.roles")
def _(w: World) -> Raw:
    return w.sign(
        "admin", "participant.register", record=False, **participant_fields(w, roles=["administrator"])
    )


@case("unknown_country", "event.schema", "participant.country")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "participant.register", record=False, **participant_fields(w, country="XX"))


@case("key_id_not_of_the_public_key", "event.schema", "participant.keys[0].id")
def _(w: World) -> Raw:
    keys = [{"id": "0123456789abcdef", "public_key": w.actor("newcomer").key.public_key_b64}]
    return w.sign("bw-authority", "participant.register", record=False, **participant_fields(w, keys=keys))


@case("public_key_not_base64", "key.invalid", "participant.keys[0].public_key")
def _(w: World) -> Raw:
    keys = [{"id": "0123456789abcdef", "public_key": "not*base64"}]
    return w.sign("bw-authority", "participant.register", record=False, **participant_fields(w, keys=keys))


@case("latitude_out_of_range", "event.schema", "site.lat")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority",
        "site.register",
        record=False,
        site={
            "id": "mine-z",
            "name": "Z",
            "kind": "mine",
            "country": "BW",
            "operator": "miner",
            "lat": "91.0",
        },
    )


@case("unknown_site_kind", "event.schema", "site.kind")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority",
        "site.register",
        record=False,
        site={"id": "mine-z", "name": "Z", "kind": "castle", "country": "BW", "operator": "miner"},
    )


@case("reason_longer_than_2000_characters", "event.schema", "reason")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority",
        "participant.status",
        record=False,
        participant="trader",
        status="suspended",
        reason="x" * 2001,
    )


@case("rough_stone_of_two_stones", "event.schema", "lot.stones")
def _(w: World) -> Raw:
    return register_lot(w, kind="rough_stone", stones=2)


@case("mined_after_the_event", "event.schema", "lot.mined_from")
def _(w: World) -> Raw:
    return register_lot(w, mined_from="2026-05-01T00:00:00Z")


@case("merge_of_one_lot", "event.schema", "lots")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.merge", record=False, lots=["LOT-1"], into={"id": "LOT-M"})


@case("merge_naming_a_lot_twice", "event.schema", "lots")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.merge", record=False, lots=["LOT-1", "LOT-1"], into={"id": "LOT-M"})


@case("ship_to_oneself", "event.schema", "to")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.ship", record=False, shipment="shp-9", lots=["LOT-1"], to="miner")


@case("receipt_naming_a_lot_twice", "event.schema", "lots")
def _(w: World) -> Raw:
    produce(w)
    w.ship("miner", "shp-1", ["LOT-1"], "trader")
    return w.sign(
        "trader",
        "lot.receive",
        record=False,
        shipment="shp-1",
        seal_intact=True,
        lots=[{"id": "LOT-1", "carats": "100.00"}, {"id": "LOT-1", "carats": "100.00"}],
    )


@case("polished_output_of_two_stones", "event.schema", "into[0].stones")
def _(w: World) -> Raw:
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "cutter", "shp-1")
    return w.sign(
        "cutter",
        "lot.manufacture",
        record=False,
        lot="LOT-1",
        into=[{"id": "PS-1", "kind": "polished", "carats": "40.00", "stones": 2}],
    )


@case("buyer_ref_that_is_not_a_hash", "event.schema", "buyer_ref")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    deliver(w, "cutter", {"PS-1": "50.00"}, "shop", "shp-2")
    return w.sign("shop", "lot.sell", record=False, lot="PS-1", buyer_ref="Jane Doe, 5th Avenue")


# --- signatures and keys --------------------------------------------------------------------------------


@case("forged_signature_by_another_key", "envelope.bad_signature", "sig")
def _(w: World) -> Raw:
    produce(w)
    env = split(w)
    return {**env, "sig": w.actor("trader").key.sign(canonicalize(env["body"]))}


@case("signature_of_another_body", "envelope.bad_signature", "sig")
def _(w: World) -> Raw:
    produce(w)
    other = split(w)
    env = split(w, parts={"LOT-1a": "50.00", "LOT-1b": "50.00"})
    return {**env, "sig": other["sig"]}


@case("body_tampered_after_signing", "envelope.bad_signature", "sig")
def _(w: World) -> Raw:
    produce(w)
    env = split(w)
    env["body"]["into"][0]["carats"] = "59.00"
    env["body"]["loss"] = "1.00"
    return env


@case("signature_not_base64", "envelope.malformed", "sig")
def _(w: World) -> Raw:
    produce(w)
    env = split(w)
    return {**env, "sig": "*" + env["sig"][1:]}


@case("signature_in_non_canonical_base64", "envelope.malformed", "sig")
def _(w: World) -> Raw:
    produce(w)
    env = split(w)
    sig = env["sig"]
    assert sig.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(sig[-3])
    return {**env, "sig": sig[:-3] + alphabet[last ^ 0b0001] + "=="}


@case("unknown_key", "envelope.unknown_key", "key")
def _(w: World) -> Raw:
    produce(w)
    return w.sign(
        "miner",
        "lot.split",
        record=False,
        key=w.key_for("miner", 7),
        lot="LOT-1",
        into=[{"id": "LOT-1a", "carats": "100.00"}],
    )


@case("key_of_another_participant", "envelope.unknown_key", "key")
def _(w: World) -> Raw:
    produce(w)
    return w.sign(
        "miner",
        "lot.split",
        record=False,
        key=w.actor("trader").key,
        lot="LOT-1",
        into=[{"id": "LOT-1a", "carats": "100.00"}],
    )


@case("revoked_key_signing_after_effective", "envelope.key_revoked", "key")
def _(w: World) -> Raw:
    produce(w)
    w.sign(
        "miner",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="rotation",
        effective=format_time_ns(w.now_ns + 2 * w.step_ns),
    )
    w.now_ns += 2 * w.step_ns
    return split(w)


@case("compromised_key_revoked_into_the_past", "envelope.key_revoked", "key")
def _(w: World) -> Raw:
    produce(w)
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="key stolen",
        effective="2026-03-01T00:00:00Z",
    )
    return split(w)


@case("replayed_event_id_with_new_content", "event.duplicate_id", "id")
def _(w: World) -> Raw:
    produce(w)
    return w.sign(
        "miner", "lot.register", record=False, id=w.events[-1]["body"]["id"], **lot_fields(id="LOT-2")
    )


@case("time_travel_on_a_lot", "event.time_order", "time")
def _(w: World) -> Raw:
    produce(w)
    return split(w, time=format_time_ns(w.now_ns - 1))


@case("clock_skew_beyond_five_minutes", "envelope.clock_skew", "time")
def _(w: World) -> Raw:
    return w.sign(
        "miner", "lot.register", record=False, time="2026-03-20T00:05:00.000000001Z", **lot_fields()
    )


# --- the ledger's clock (docs/time.md) ------------------------------------------------------------------


@case("backdated_beyond_the_allowance", "time.backdated", "time")
def _(w: World) -> Raw:
    # The ledger's clock reads 2026-03-20T00:00:00Z: 30 days back is admitted, one nanosecond more is not.
    return w.sign(
        "miner", "lot.register", record=False, time="2026-02-17T23:59:59.999999999Z", **lot_fields()
    )


@case("compromised_key_signing_before_its_compromise", "envelope.key_revoked", "key")
def _(w: World) -> Raw:
    produce(w)
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="key stolen",
        effective=format_time_ns(w.now_ns - w.step_ns // 2),
    )
    # Declared before the compromise took effect, logged after the revocation was: refused all the same.
    return w.sign(
        "miner", "lot.register", record=False, time=format_time_ns(w.now_ns - w.step_ns), **lot_fields()
    )


def backfill_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "from": "2025-01-01T00:00:00Z",
        "until": "2025-02-01T00:00:00Z",
        "closes": "2026-03-21T00:00:00Z",
        "reason": "importing the registers of 2025",
    }
    fields.update(overrides)
    return fields


@case("backdated_outside_the_open_backfill_window", "time.backdated", "time")
def _(w: World) -> Raw:
    w.sign(w.admin, "ledger.backfill", **backfill_fields())
    # `until` itself is not admitted.
    return w.sign("miner", "lot.register", record=False, time="2025-02-01T00:00:00Z", **lot_fields())


@case("backfill_opened_by_an_authority", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "ledger.backfill", record=False, **backfill_fields())


@case("backfill_window_closed_before_it_opens", "backfill.closes", "closes")
def _(w: World) -> Raw:
    return w.sign(w.admin, "ledger.backfill", record=False, **backfill_fields(closes="2026-03-19T23:59:59Z"))


@case("backfill_window_from_after_until", "event.schema", "until")
def _(w: World) -> Raw:
    return w.sign(w.admin, "ledger.backfill", record=False, **backfill_fields(until="2025-01-01T00:00:00Z"))


@case("backfill_closing_an_unknown_window", "backfill.unknown", "window")
def _(w: World) -> Raw:
    return w.sign(w.admin, "ledger.backfill", record=False, window="evt-9999999", **backfill_fields())


@case("backfill_closing_a_closed_window", "backfill.closed", "window")
def _(w: World) -> Raw:
    window = w.sign(w.admin, "ledger.backfill", **backfill_fields())["body"]["id"]
    w.sign(w.admin, "ledger.backfill", window=window, **backfill_fields(closes="2026-03-20T00:00:00Z"))
    return w.sign(w.admin, "ledger.backfill", record=False, window=window, **backfill_fields())


@case("backfill_close_naming_other_dates", "backfill.mismatch", "from")
def _(w: World) -> Raw:
    window = w.sign(w.admin, "ledger.backfill", **backfill_fields())["body"]["id"]
    changed = backfill_fields(**{"from": "2024-01-01T00:00:00Z"})
    return w.sign(w.admin, "ledger.backfill", record=False, window=window, **changed)


@case("backfill_close_extending_the_window", "backfill.closes", "closes")
def _(w: World) -> Raw:
    window = w.sign(w.admin, "ledger.backfill", **backfill_fields())["body"]["id"]
    later = backfill_fields(closes="2026-04-01T00:00:00Z")
    return w.sign(w.admin, "ledger.backfill", record=False, window=window, **later)


def correction(w: World, **changes: Any) -> dict[str, Any]:
    """An unrecorded correction by the miner of its production ``LOT-1``, the replacement changed so."""
    produce(w)
    original = w.events[-1]["body"]
    replacement = {**original, **changes}
    return w.sign(
        "miner", "correct", record=False, event=original["id"], reason="typo", replacement=replacement
    )


@case("correction_dated_2099", "envelope.clock_skew", "replacement.time")
def _(w: World) -> Raw:
    return correction(w, time="2099-01-01T00:00:00Z")


@case("correction_backdated_beyond_the_allowance", "time.backdated", "replacement.time")
def _(w: World) -> Raw:
    return correction(w, time="2026-01-01T00:00:00Z")


# --- genesis and the administrator ----------------------------------------------------------------------


def admin_spec(w: World, admin_id: str = "admin") -> dict[str, Any]:
    return {"id": admin_id, "name": "Scheme administrator", "keys": [w.admin.key_spec()]}


@case("second_genesis", "actor.not_authorized", "type")
def _(w: World) -> Raw:
    return w.sign("admin", "genesis", record=False, administrator=admin_spec(w))


@case("event_before_genesis", "ledger.no_genesis", "type")
def _(w: World) -> Raw:
    first_registration = w.events[1]
    w.events.clear()
    return first_registration


@case("genesis_signed_for_another_administrator", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    w.events.clear()
    return w.sign("admin", "genesis", record=False, administrator=admin_spec(w, "root"))


@case("genesis_signed_by_a_key_it_does_not_list", "envelope.unknown_key", "key")
def _(w: World) -> Raw:
    w.events.clear()
    return w.sign("admin", "genesis", record=False, key=w.key_for("admin", 1), administrator=admin_spec(w))


@case("genesis_with_a_bad_signature", "envelope.bad_signature", "sig")
def _(w: World) -> Raw:
    w.events.clear()
    env = w.sign("admin", "genesis", record=False, administrator=admin_spec(w))
    return {**env, "sig": w.actor("intruder").key.sign(canonicalize(env["body"]))}


# --- participants, keys and sites -----------------------------------------------------------------------


@case("miner_registering_a_participant", "actor.not_authorized", "participant.roles")
def _(w: World) -> Raw:
    return w.sign("miner", "participant.register", record=False, **participant_fields(w))


@case("authority_registering_in_another_country", "actor.not_authorized", "participant.roles")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "participant.register", record=False, **participant_fields(w, country="BE"))


@case("authority_registering_an_authority", "actor.not_authorized", "participant.roles")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority", "participant.register", record=False, **participant_fields(w, roles=["authority"])
    )


@case("authority_registering_a_monitor", "actor.not_authorized", "participant.roles")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority", "participant.register", record=False, **participant_fields(w, roles=["monitor"])
    )


@case("participant_registered_twice", "participant.exists", "participant.id")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "participant.register", record=False, **participant_fields(w, "trader"))


@case("participant_reusing_a_registered_key", "key.exists", "participant.keys")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority",
        "participant.register",
        record=False,
        **participant_fields(w, keys=[w.actor("trader").key_spec()]),
    )


@case("status_of_an_unknown_participant", "participant.unknown", "participant")
def _(w: World) -> Raw:
    return w.sign(
        "bw-authority",
        "participant.status",
        record=False,
        participant="ghost",
        status="suspended",
        reason="never existed",
    )


@case("status_set_by_a_foreign_authority", "actor.not_authorized", "participant")
def _(w: World) -> Raw:
    return w.sign(
        "be-authority",
        "participant.status",
        record=False,
        participant="trader",
        status="suspended",
        reason="not yours",
    )


@case("suspending_the_administrator", "actor.not_authorized", "participant")
def _(w: World) -> Raw:
    return w.sign(
        "admin", "participant.status", record=False, participant="admin", status="suspended", reason="self"
    )


@case("reactivating_a_revoked_participant", "participant.revoked", "participant")
def _(w: World) -> Raw:
    suspend(w, "trader", "revoked")
    return w.sign(
        "bw-authority",
        "participant.status",
        record=False,
        participant="trader",
        status="active",
        reason="second chance",
    )


@case("suspended_actor_signing", "actor.suspended", "actor")
def _(w: World) -> Raw:
    suspend(w, "miner")
    return register_lot(w)


@case("revoked_actor_signing", "actor.suspended", "actor")
def _(w: World) -> Raw:
    suspend(w, "miner", "revoked")
    return register_lot(w)


@case("key_added_by_a_stranger", "actor.not_authorized", "participant")
def _(w: World) -> Raw:
    return add_key(w, "trader", "miner", key_spec(w, "miner", 1))


@case("key_added_to_an_unknown_participant", "participant.unknown", "participant")
def _(w: World) -> Raw:
    return add_key(w, "admin", "ghost", key_spec(w, "ghost", 0))


@case("key_added_twice", "key.exists", "new_key.id")
def _(w: World) -> Raw:
    return add_key(w, "miner", "miner", w.actor("trader").key_spec())


@case("revoking_a_key_of_someone_else", "key.unknown", "key_id")
def _(w: World) -> Raw:
    return w.sign(
        "miner",
        "key.revoke",
        record=False,
        participant="miner",
        key_id=w.actor("trader").key.id,
        reason="mistake",
        effective="2026-05-01T00:00:00Z",
    )


@case("revoking_a_key_twice", "key.revoked", "key_id")
def _(w: World) -> Raw:
    miner_key = w.actor("miner").key.id
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=miner_key,
        reason="retiring",
        effective="2026-05-01T00:00:00Z",
    )
    return w.sign(
        "bw-authority",
        "key.revoke",
        record=False,
        participant="miner",
        key_id=miner_key,
        reason="again",
        effective="2026-05-01T00:00:00Z",
    )


@case("self_revocation_into_the_past", "actor.not_authorized", "effective")
def _(w: World) -> Raw:
    return w.sign(
        "miner",
        "key.revoke",
        record=False,
        participant="miner",
        key_id=w.actor("miner").key.id,
        reason="backdated",
        effective="2026-03-01T00:00:00Z",
    )


def site_fields(**overrides: Any) -> dict[str, Any]:
    return {
        "site": {
            "id": "mine-z",
            "name": "Z",
            "kind": "mine",
            "country": "BW",
            "operator": "miner",
            **overrides,
        }
    }


@case("site_registered_twice", "site.exists", "site.id")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "site.register", record=False, **site_fields(id="mine-a"))


@case("site_registered_by_a_foreign_authority", "actor.not_authorized", "site.country")
def _(w: World) -> Raw:
    return w.sign("be-authority", "site.register", record=False, **site_fields())


@case("site_registered_by_its_operator", "actor.not_authorized", "site.country")
def _(w: World) -> Raw:
    return w.sign("miner", "site.register", record=False, **site_fields())


@case("site_operator_in_another_country", "site.operator_country", "site.operator")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "site.register", record=False, **site_fields(operator="lab"))


@case("site_operator_unknown", "participant.unknown", "site.operator")
def _(w: World) -> Raw:
    return w.sign("bw-authority", "site.register", record=False, **site_fields(operator="ghost"))


# --- production -----------------------------------------------------------------------------------------


@case("lot_registered_by_a_trader", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    return w.sign("trader", "lot.register", record=False, **lot_fields())


@case("lot_registered_at_an_unknown_site", "site.unknown", "lot.site")
def _(w: World) -> Raw:
    return register_lot(w, site="mine-z")


@case("lot_registered_at_a_vault", "site.not_mine", "lot.site")
def _(w: World) -> Raw:
    return register_lot(w, site="vault-1")


@case("lot_registered_at_someone_elses_mine", "actor.not_authorized", "lot.site")
def _(w: World) -> Raw:
    w.register("bw-authority", "miner-2", "BW", ["mine_operator"])
    w.site("bw-authority", "mine-c", "mine", "BW", "miner-2")
    return register_lot(w, site="mine-c")


@case("lot_id_registered_twice", "custody.lot_exists", "lot.id")
def _(w: World) -> Raw:
    produce(w)
    return register_lot(w, id="LOT-1")


# --- custody --------------------------------------------------------------------------------------------


@case("split_of_an_unknown_lot", "custody.unknown_lot", "lot")
def _(w: World) -> Raw:
    return split(w, lot="NOPE-1")


@case("split_by_someone_not_the_holder", "custody.not_holder", "lot")
def _(w: World) -> Raw:
    produce(w)
    return split(w, actor="trader")


@case("split_while_in_transit", "custody.in_transit", "lot")
def _(w: World) -> Raw:
    produce(w)
    w.ship("miner", "shp-1", ["LOT-1"], "trader")
    return split(w)


@case("split_of_a_frozen_lot", "custody.frozen", "lot")
def _(w: World) -> Raw:
    produce(w)
    w.sign("bw-authority", "lot.freeze", lot="LOT-1", reason="inquiry")
    return split(w)


@case("split_of_a_consumed_lot", "custody.consumed", "lot")
def _(w: World) -> Raw:
    produce(w)
    w.split("miner", "LOT-1", {"LOT-1x": "100.00"})
    return split(w)


@case("sale_of_a_sold_stone", "custody.sold", "lot")
def _(w: World) -> Raw:
    sold_at_shop(w)
    return w.sign("shop", "lot.sell", record=False, lot="PS-1")


@case("split_of_polished", "custody.kind_mismatch", "lot")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    return split(w, actor="cutter", lot="PS-1", parts={"PS-1a": "25.00", "PS-1b": "25.00"})


@case("split_into_an_existing_lot", "custody.lot_exists", "into[1].id")
def _(w: World) -> Raw:
    produce(w)
    produce(w, "LOT-2")
    return split(w, parts={"LOT-1a": "60.00", "LOT-2": "40.00"})


@case("split_into_the_same_id_twice", "custody.lot_exists", "into[1].id")
def _(w: World) -> Raw:
    produce(w)
    return w.sign(
        "miner",
        "lot.split",
        record=False,
        lot="LOT-1",
        into=[{"id": "LOT-1a", "carats": "50.00"}, {"id": "LOT-1a", "carats": "50.00"}],
    )


@case("split_not_conserving_carats", "mass.not_conserved", "into")
def _(w: World) -> Raw:
    produce(w)
    return split(w, parts={"LOT-1a": "60.00", "LOT-1b": "40.01"})


@case("split_loses_more_than_one_percent", "mass.not_conserved", "loss")
def _(w: World) -> Raw:
    produce(w)
    return split(w, parts={"LOT-1a": "60.00", "LOT-1b": "38.99"}, loss="1.01")


@case("split_creating_stones", "mass.not_conserved", "into")
def _(w: World) -> Raw:
    produce(w, stones=10)
    return w.sign(
        "miner",
        "lot.split",
        record=False,
        lot="LOT-1",
        into=[
            {"id": "LOT-1a", "carats": "60.00", "stones": 6},
            {"id": "LOT-1b", "carats": "40.00", "stones": 5},
        ],
    )


@case("merge_of_rough_with_polished", "custody.kind_mismatch", "lots")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    produce(w, "LOT-2")
    deliver(w, "miner", {"LOT-2": "100.00"}, "cutter", "shp-2")
    return w.sign("cutter", "lot.merge", record=False, lots=["LOT-2", "PS-1"], into={"id": "MIX-1"})


@case("merge_into_carats_not_the_sum", "mass.not_conserved", "into.carats")
def _(w: World) -> Raw:
    produce(w)
    produce(w, "LOT-2", "50.00")
    return w.sign(
        "miner", "lot.merge", record=False, lots=["LOT-1", "LOT-2"], into={"id": "LOT-M", "carats": "150.01"}
    )


@case("merge_into_an_existing_lot", "custody.lot_exists", "into.id")
def _(w: World) -> Raw:
    produce(w)
    produce(w, "LOT-2")
    return w.sign("miner", "lot.merge", record=False, lots=["LOT-1", "LOT-2"], into={"id": "LOT-1"})


@case("merge_of_a_lot_held_by_another", "custody.not_holder", "lots[1]")
def _(w: World) -> Raw:
    produce(w)
    produce(w, "LOT-2")
    deliver(w, "miner", {"LOT-2": "100.00"}, "trader", "shp-1")
    return w.sign("miner", "lot.merge", record=False, lots=["LOT-1", "LOT-2"], into={"id": "LOT-M"})


@case("shipment_id_reused", "custody.shipment_exists", "shipment")
def _(w: World) -> Raw:
    produce(w)
    produce(w, "LOT-2")
    w.ship("miner", "shp-1", ["LOT-1"], "trader")
    return w.sign("miner", "lot.ship", record=False, shipment="shp-1", lots=["LOT-2"], to="trader")


@case("shipping_to_an_unknown_participant", "participant.unknown", "to")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.ship", record=False, shipment="shp-1", lots=["LOT-1"], to="ghost")


@case("shipping_to_a_suspended_participant", "actor.suspended", "to")
def _(w: World) -> Raw:
    produce(w)
    suspend(w, "trader")
    return w.sign("miner", "lot.ship", record=False, shipment="shp-1", lots=["LOT-1"], to="trader")


@case("cross_border_rough_without_certificate", "certificate.required", "certificate")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.ship", record=False, shipment="shp-1", lots=["LOT-1"], to="be-importer")


@case("cross_border_rough_with_an_unissued_certificate", "certificate.required", "certificate")
def _(w: World) -> Raw:
    produce(w)
    return w.sign(
        "miner",
        "lot.ship",
        record=False,
        shipment="shp-1",
        lots=["LOT-1"],
        to="be-importer",
        certificate="BW-2026-000123",
    )


@case("cross_border_rough_to_a_non_importer", "actor.not_authorized", "to")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("miner", "lot.ship", record=False, shipment="shp-1", lots=["LOT-1"], to="be-authority")


@case("cross_border_rough_from_a_non_exporter", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    w.register("bw-authority", "dealer", "BW", ["trader"])
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "dealer", "shp-1")
    return w.sign("dealer", "lot.ship", record=False, shipment="shp-2", lots=["LOT-1"], to="be-importer")


@case("receiving_an_unknown_shipment", "custody.unknown_shipment", "shipment")
def _(w: World) -> Raw:
    return w.sign(
        "trader",
        "lot.receive",
        record=False,
        shipment="shp-none",
        seal_intact=True,
        lots=[{"id": "LOT-1", "carats": "100.00"}],
    )


@case("receiving_a_shipment_addressed_to_another", "actor.not_authorized", "shipment")
def _(w: World) -> Raw:
    produce(w)
    w.ship("miner", "shp-1", ["LOT-1"], "trader")
    return w.sign(
        "cutter",
        "lot.receive",
        record=False,
        shipment="shp-1",
        seal_intact=True,
        lots=[{"id": "LOT-1", "carats": "100.00"}],
    )


@case("receiving_a_shipment_twice", "custody.already_received", "shipment")
def _(w: World) -> Raw:
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "trader", "shp-1")
    return w.sign(
        "trader",
        "lot.receive",
        record=False,
        shipment="shp-1",
        seal_intact=True,
        lots=[{"id": "LOT-1", "carats": "100.00"}],
    )


@case("receipt_naming_other_lots", "custody.shipment_mismatch", "lots")
def _(w: World) -> Raw:
    produce(w)
    produce(w, "LOT-2")
    w.ship("miner", "shp-1", ["LOT-1", "LOT-2"], "trader")
    return w.sign(
        "trader",
        "lot.receive",
        record=False,
        shipment="shp-1",
        seal_intact=True,
        lots=[{"id": "LOT-1", "carats": "100.00"}],
    )


@case("receiving_a_lot_frozen_in_transit", "custody.frozen", "lots[0]")
def _(w: World) -> Raw:
    produce(w)
    w.ship("miner", "shp-1", ["LOT-1"], "trader")
    w.sign("bw-authority", "lot.freeze", lot="LOT-1", reason="inquiry")
    return w.sign(
        "trader",
        "lot.receive",
        record=False,
        shipment="shp-1",
        seal_intact=True,
        lots=[{"id": "LOT-1", "carats": "100.00"}],
    )


@case("freeze_by_a_foreign_authority", "actor.not_authorized", "lot")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("be-authority", "lot.freeze", record=False, lot="LOT-1", reason="not ours")


@case("freeze_by_a_trader", "actor.not_authorized", "lot")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("trader", "lot.freeze", record=False, lot="LOT-1", reason="rival")


@case("freezing_a_frozen_lot", "custody.frozen", "lot")
def _(w: World) -> Raw:
    produce(w)
    w.sign("bw-authority", "lot.freeze", lot="LOT-1", reason="inquiry")
    return w.sign("bw-authority", "lot.freeze", record=False, lot="LOT-1", reason="again")


@case("freezing_a_consumed_lot", "custody.consumed", "lot")
def _(w: World) -> Raw:
    produce(w)
    w.split("miner", "LOT-1", {"LOT-1x": "100.00"})
    return w.sign("bw-authority", "lot.freeze", record=False, lot="LOT-1", reason="too late")


@case("releasing_a_lot_not_frozen", "custody.not_frozen", "lot")
def _(w: World) -> Raw:
    produce(w)
    return w.sign("bw-authority", "lot.release", record=False, lot="LOT-1", reason="all clear")


# --- manufacturing, grading, assembly, sale -------------------------------------------------------------


@case("manufacture_by_a_non_manufacturer", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "trader", "shp-1")
    return w.sign(
        "trader",
        "lot.manufacture",
        record=False,
        lot="LOT-1",
        into=[{"id": "PS-1", "kind": "polished", "carats": "40.00"}],
    )


@case("manufacture_of_polished", "custody.kind_mismatch", "lot")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    return w.sign(
        "cutter",
        "lot.manufacture",
        record=False,
        lot="PS-1",
        into=[{"id": "PS-2", "kind": "polished", "carats": "20.00"}],
    )


@case("manufacture_outputs_heavier_than_the_rough", "mass.not_conserved", "into")
def _(w: World) -> Raw:
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "cutter", "shp-1")
    return w.sign(
        "cutter",
        "lot.manufacture",
        record=False,
        lot="LOT-1",
        into=[{"id": "PS-1", "kind": "polished", "carats": "50.00"}],
        remainder=[{"id": "LOT-1r", "kind": "rough_parcel", "carats": "50.01"}],
    )


@case("manufacture_with_implausible_yield", "mass.implausible_yield", "into")
def _(w: World) -> Raw:
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "cutter", "shp-1")
    return w.sign(
        "cutter",
        "lot.manufacture",
        record=False,
        lot="LOT-1",
        into=[{"id": "PS-1", "kind": "polished", "carats": "70.01"}],
    )


@case("grade_by_a_non_lab", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    return w.sign(
        "cutter",
        "lot.grade",
        record=False,
        lot="PS-1",
        report={"number": "R-1", "carats": "50.00", "natural": True},
    )


@case("grade_of_a_stone_the_lab_does_not_hold", "custody.not_holder", "lot")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    return w.sign(
        "lab",
        "lot.grade",
        record=False,
        lot="PS-1",
        report={"number": "R-1", "carats": "50.00", "natural": True},
    )


@case("assembly_of_rough", "custody.kind_mismatch", "lots[0]")
def _(w: World) -> Raw:
    produce(w)
    deliver(w, "miner", {"LOT-1": "100.00"}, "cutter", "shp-1")
    return w.sign(
        "cutter",
        "lot.assemble",
        record=False,
        lots=["LOT-1"],
        into={"id": "RING-1", "kind": "jewel", "description": "a ring"},
    )


@case("sale_by_a_non_retailer", "actor.not_authorized", "actor")
def _(w: World) -> Raw:
    polished_at_cutter(w)
    return w.sign("cutter", "lot.sell", record=False, lot="PS-1")


# --- the test -------------------------------------------------------------------------------------------


# Every refusal code of the registry and custody events (EVENTS.md and docs/refusals.md); the KP codes
# have their own table in test_kp.py, the correction codes in tests/ledger/test_corrections.py.
CODES = frozenset(
    {
        "envelope.malformed",
        "envelope.too_large",
        "envelope.bad_signature",
        "envelope.unknown_key",
        "envelope.key_revoked",
        "envelope.clock_skew",
        "event.schema",
        "event.duplicate_id",
        "event.time_order",
        "ledger.no_genesis",
        "actor.not_authorized",
        "actor.suspended",
        "participant.exists",
        "participant.unknown",
        "participant.revoked",
        "key.invalid",
        "key.exists",
        "key.unknown",
        "key.revoked",
        "site.exists",
        "site.unknown",
        "site.not_mine",
        "site.operator_country",
        "custody.unknown_lot",
        "custody.lot_exists",
        "custody.not_holder",
        "custody.in_transit",
        "custody.frozen",
        "custody.consumed",
        "custody.sold",
        "custody.kind_mismatch",
        "custody.not_frozen",
        "custody.shipment_exists",
        "custody.unknown_shipment",
        "custody.already_received",
        "custody.shipment_mismatch",
        "mass.not_conserved",
        "mass.implausible_yield",
        "certificate.required",
        "time.backdated",
        "backfill.closes",
        "backfill.unknown",
        "backfill.closed",
        "backfill.mismatch",
    }
)


def test_refusal_table_is_large_named_and_covers_every_code() -> None:
    names = [p.id for p in CASES]
    assert len(names) >= 45
    assert len(set(names)) == len(names)
    covered = {p.values[1] for p in CASES if not p.marks}
    assert covered == CODES, (CODES - covered, covered - CODES)


@pytest.mark.parametrize(("build", "code", "field"), CASES)
def test_bad_input_is_refused_and_writes_nothing(
    build: Build, code: str, field: str | None, db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    bad = build(w)
    ledger = open_ledger(db_url)
    submit_ok(ledger, w.events)
    size, before = ledger.size, snapshot(ledger)

    (outcome,) = ledger.submit([bad])

    assert outcome.status == "refused", outcome.to_json()
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.field) == (code, field), outcome.to_json()
    assert_human(outcome.error.message)
    assert ledger.size == size
    assert snapshot(ledger) == before


def test_key_add_by_the_participant_is_accepted(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = basic_world()
    ledger = open_ledger(db_url)
    submit_ok(ledger, w.events)

    (outcome,) = ledger.submit([add_key(w, "miner", "miner", key_spec(w, "miner", 1))])

    assert outcome.status == "accepted", outcome.to_json()


# --- batches --------------------------------------------------------------------------------------------


def valid_and_invalid(w: World) -> tuple[dict[str, Any], dict[str, Any]]:
    produce(w)
    valid = split(w)
    invalid = split(w, lot="LOT-1a", parts={"LOT-1c": "61.00"})
    return valid, invalid


def test_atomic_batch_with_one_refusal_writes_nothing(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    valid, invalid = valid_and_invalid(w)
    ledger = open_ledger(db_url)
    submit_ok(ledger, w.events)
    size, before = ledger.size, snapshot(ledger)

    first, second = ledger.submit([valid, invalid], mode="atomic")

    assert first.status == "not_written"
    assert first.error is not None and first.error.code == "batch.aborted"
    assert first.index is None
    assert second.status == "refused"
    assert second.error is not None and second.error.code == "mass.not_conserved"
    assert ledger.size == size
    assert snapshot(ledger) == before


def test_proceed_batch_keeps_the_valid_envelope(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = basic_world()
    valid, invalid = valid_and_invalid(w)
    ledger = open_ledger(db_url)
    submit_ok(ledger, w.events)
    size = ledger.size

    first, second = ledger.submit([valid, invalid], mode="proceed")

    assert (first.status, first.index) == ("accepted", size)
    assert second.status == "refused"
    assert second.error is not None and second.error.code == "mass.not_conserved"
    assert ledger.size == size + 1
    assert ledger.lot("LOT-1a").carats == Decimal("60.00")
