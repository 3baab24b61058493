"""`verify_certificate` re-checks a KP certificate from the signed events and proves its events included.

Every check is broken here by the attack it defends against: a stored row edited behind the ledger's back,
or a signed event that a dishonest operator logged without the rules (``log_behind_the_rules``: the events
table, the tree and a checkpoint signed with the log's own key, all consistent, as only the operator could).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from adamas import Ledger, NotFoundError
from adamas.ledger.certificate_check import verify_certificate
from adamas.model.events import parse_envelope
from adamas.model.values import parse_time
from adamas.sim import World, demo_world
from adamas.store import schema
from conftest import basic_world
from log_helpers import log_behind_the_rules

NUMBER = "BW-2026-000042"
CERT = "BW-2026-000777"
DAY = 86_400 * 1_000_000_000
ISSUED_NOW = parse_time("2026-03-01T12:00:00Z", "now")


def _submit(ledger: Ledger, events: Sequence[dict[str, Any]]) -> None:
    outcomes = ledger.submit(list(events))
    assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok]


def _issue(world: World, *, by: str = "bw-authority", valid_days: int = 90, **changes: Any) -> dict[str, Any]:
    world.issue_certificate(
        by,
        CERT,
        exporter="miner",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["LOT-CERT"],
        carats="10.00",
        origin={"BW": "10.00"},
        value="1000.00",
        shipment="shp-cert",
        valid_days=valid_days,
    )
    envelope: dict[str, Any] = world.events[-1]
    if changes:
        world.events.pop()
        body = {**envelope["body"], "certificate": {**envelope["body"]["certificate"], **changes}}
        body.pop("key")
        envelope = world.sign(by, "certificate.issue", certificate=body["certificate"])
    return envelope


def _ship(world: World) -> dict[str, Any]:
    world.ship("miner", "shp-cert", ["LOT-CERT"], "be-importer", certificate=CERT)
    envelope: dict[str, Any] = world.events[-1]
    return envelope


def _confirm(world: World, by: str = "be-authority") -> dict[str, Any]:
    world.confirm_certificate(by, CERT, "10.00", 1)
    envelope: dict[str, Any] = world.events[-1]
    return envelope


@pytest.fixture
def setting(db_url: str, open_ledger: Callable[[str], Ledger]) -> Iterator[tuple[World, Ledger]]:
    """A ledger holding the basic world and one rough lot held by the miner, ready for a certificate."""
    world = basic_world()
    world.produce("miner", "LOT-CERT", "mine-a", "10.00", stones=5, value="1000.00")
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    yield world, ledger


def _verdict(ledger: Ledger, now: int = ISSUED_NOW) -> tuple[str, list[str]]:
    verdict = verify_certificate(ledger, CERT, now_ns=now)
    return verdict.status, [c.name for c in verdict.checks if not c.ok]


# --- the honest paths: each status ----------------------------------------------------------------------


def test_the_demo_certificate_verifies(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    verdict = verify_certificate(ledger, NUMBER)
    assert verdict.valid, verdict.to_json()
    assert verdict.status == "confirmed"
    assert [c.name for c in verdict.checks] == [
        "one issue event",
        "issue signature",
        "issued by the exporting country's authority",
        "validity",
        "lots exist and are rough",
        "carats add up",
        "origin adds up",
        "one shipment of the certified lots, exporter to importer",
        "shipped before expiry",
        "shipment signature",
        "confirmed by the importing country's authority",
        "confirmed after the shipment",
        "confirmation signature",
        "record matches the signed events",
        "every logged event is stored",
        "certificate.issue included in the log",
        "lot.ship included in the log",
        "certificate.confirm included in the log",
    ]
    details = {c.name: c.detail for c in verdict.checks}
    assert (
        details["issue signature"]
        == "evt-0000032 signed by bw-authority with key " + world.actor("bw-authority").key.id
    )
    assert details["issued by the exporting country's authority"] == "bw-authority (BW, authority) for BW"
    assert details["one shipment of the certified lots, exporter to importer"] == (
        "evt-0000033 (shp-bw-be-0002) to antwerp-rough; 1 shipment(s) under BW-2026-000042"
    )
    assert details["shipped before expiry"].startswith("shipped 2026-03-01T")
    assert details["lots exist and are rough"] == "1 of 1"
    assert details["carats add up"] == "lots 898.80 ct, certificate 898.80 ct"
    assert details["origin adds up"] == "BW 898.80 ct"
    assert (
        details["every logged event is stored"]
        == f"{len(world.events)} events stored for a log of {len(world.events)}"
    )
    printed = verdict.to_json()
    assert printed["checks"][0] == {"check": "one issue event", "ok": True, "detail": "leaf 31"}
    assert {k: v for k, v in printed.items() if k != "checks"} == {
        "number": NUMBER,
        "valid": True,
        "status": "confirmed",
    }


def test_each_status_comes_from_the_signed_events(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    assert _verdict(ledger) == ("issued", [])
    expires = parse_envelope(world.events[-1]).event.fields["certificate"]["expires_ns"]
    assert _verdict(ledger, expires) == ("issued", [])
    assert _verdict(ledger, expires + 1) == ("expired", ["unexpired"])
    _submit(ledger, [_ship(world)])
    assert _verdict(ledger, expires + 1) == ("used", [])
    _submit(ledger, [_confirm(world)])
    assert _verdict(ledger) == ("confirmed", [])


def test_a_voided_certificate_is_void_whatever_its_row_says(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    world.sign("bw-authority", "certificate.void", number=CERT, reason="issued in error")
    _submit(ledger, world.events[-1:])
    assert _verdict(ledger) == ("voided", ["not void"])
    with ledger.engine.begin() as conn:
        conn.execute(
            update(schema.certificates).where(schema.certificates.c.id == CERT).values(void_event=None)
        )
    verdict = verify_certificate(ledger, CERT, now_ns=ISSUED_NOW)
    assert verdict.status == "voided"
    assert not verdict.valid
    record = next(c for c in verdict.checks if c.name == "record matches the signed events")
    assert not record.ok
    assert "void_event" in record.detail


# --- every check, broken --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("carats", 99_999),
        ("importer", "trader"),
        ("expires_ns", 4_000_000_000_000_000_000),
        ("used_by", "shp-other"),
        ("confirmed_event", "evt-forged"),
        ("lots", '["LOT-OTHER"]'),
    ],
)
def test_an_edited_certificate_row_is_named(setting: tuple[World, Ledger], column: str, value: Any) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(
            update(schema.certificates).where(schema.certificates.c.id == CERT).values({column: value})
        )
    verdict = verify_certificate(ledger, CERT, now_ns=ISSUED_NOW)
    (failed,) = [c for c in verdict.checks if not c.ok]
    assert failed.name == "record matches the signed events"
    assert failed.detail.endswith(f"in {column}")
    assert verdict.status == "issued"


def test_a_validity_window_beyond_twelve_months_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    log_behind_the_rules(ledger, [_issue(world, valid_days=367)])
    assert "validity" in _verdict(ledger)[1]


@pytest.mark.parametrize(("expires", "ok"), [("2027-03-01T08:00:00Z", True), ("2027-03-01T08:00:01Z", False)])
def test_a_validity_of_exactly_twelve_months_holds_and_a_second_more_does_not(
    setting: tuple[World, Ledger], expires: str, ok: bool
) -> None:
    world, ledger = setting
    log_behind_the_rules(ledger, [_issue(world, issued="2026-03-01T08:00:00Z", expires=expires)])
    assert ("validity" not in _verdict(ledger)[1]) is ok


def test_a_shipment_that_only_quotes_the_number_is_not_one_under_it(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    world.ship("miner", "shp-other", ["LOT-CERT"], "trader", seal=CERT)  # within Botswana: no certificate
    _submit(ledger, world.events[-1:])
    assert _verdict(ledger) == ("issued", [])


def test_an_expiry_before_the_issue_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    log_behind_the_rules(ledger, [_issue(world, expires=world.time)])  # expires as it is issued
    assert "validity" in _verdict(ledger)[1]


def format_ns(value: int) -> str:
    from adamas.model.values import format_time_ns

    return format_time_ns(value)


def test_a_certificate_issued_by_a_participant_without_the_authority_role_is_caught(
    setting: tuple[World, Ledger],
) -> None:
    world, ledger = setting
    log_behind_the_rules(ledger, [_issue(world, by="trader")])
    assert _verdict(ledger)[1] == [
        "issued by the exporting country's authority",
        "record matches the signed events",
    ]


def test_a_certificate_issued_by_another_countrys_authority_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    log_behind_the_rules(ledger, [_issue(world, by="be-authority")])
    assert "issued by the exporting country's authority" in _verdict(ledger)[1]


def test_a_shipment_after_expiry_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world, valid_days=1)])
    world.now_ns += 2 * DAY
    log_behind_the_rules(ledger, [_ship(world)])
    status, failed = _verdict(ledger, world.now_ns)
    assert status == "used"
    assert "shipped before expiry" in failed


@pytest.mark.parametrize(("after", "ok"), [(0, True), (1, False)])
def test_a_shipment_exactly_at_expiry_is_in_time_and_one_nanosecond_later_is_not(
    setting: tuple[World, Ledger], after: int, ok: bool
) -> None:
    world, ledger = setting
    issue = _issue(world, valid_days=1)
    _submit(ledger, [issue])
    expires = parse_envelope(issue).event.fields["certificate"]["expires_ns"]
    world.now_ns = expires + after - world.step_ns  # the next event is signed one step on
    log_behind_the_rules(ledger, [_ship(world)])
    assert ("shipped before expiry" not in _verdict(ledger, expires + after)[1]) is ok


def test_a_second_shipment_under_one_certificate_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world), _ship(world)])
    world.ship("miner", "shp-again", ["LOT-CERT"], "be-importer", certificate=CERT)
    log_behind_the_rules(ledger, world.events[-1:])
    assert "one shipment of the certified lots, exporter to importer" in _verdict(ledger)[1]


@pytest.mark.parametrize(
    ("confirmer", "why"),
    [("bw-authority", "another country's authority"), ("be-importer", "no authority role")],
)
def test_a_confirmation_by_anyone_but_the_importing_authority_is_caught(
    setting: tuple[World, Ledger], confirmer: str, why: str
) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world), _ship(world)])
    log_behind_the_rules(ledger, [_confirm(world, confirmer)])
    assert "confirmed by the importing country's authority" in _verdict(ledger)[1], why


def test_a_confirmation_before_any_shipment_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    log_behind_the_rules(ledger, [_confirm(world)])
    assert "confirmed after the shipment" in _verdict(ledger)[1]


def test_an_issue_signed_with_a_key_revoked_as_compromised_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    issue = _issue(world)
    _submit(ledger, [issue])
    # The administrator, who registered the authority, revokes its key as compromised before the issue.
    authority_key = world.actor("bw-authority").key.id
    world.sign(
        world.admin,
        "key.revoke",
        participant="bw-authority",
        key_id=authority_key,
        reason="compromised",
        effective=format_ns(parse_envelope(issue).event.time_ns - 60 * 1_000_000_000),
    )
    _submit(ledger, world.events[-1:])
    assert "issue signature" in _verdict(ledger)[1]


def test_an_issue_signed_with_a_key_added_later_verifies_until_that_key_is_revoked(
    setting: tuple[World, Ledger],
) -> None:
    world, ledger = setting
    second = world.key_for("bw-authority", 1)
    world.sign(
        "bw-authority",
        "key.add",
        participant="bw-authority",
        new_key={"id": second.id, "public_key": second.public_key_b64},
    )
    _submit(ledger, world.events[-1:])
    _issue(world)
    body = dict(world.events.pop()["body"])
    issue = world.sign("bw-authority", "certificate.issue", key=second, certificate=body["certificate"])
    _submit(ledger, [issue])
    verdict = verify_certificate(ledger, CERT, now_ns=ISSUED_NOW)
    assert verdict.valid, verdict.to_json()
    assert verdict.checks[1].detail.endswith(f"with key {second.id}")
    world.sign(
        world.admin,
        "key.revoke",
        participant="bw-authority",
        key_id=second.id,
        reason="compromised",
        effective=format_ns(parse_envelope(issue).event.time_ns),
    )
    _submit(ledger, world.events[-1:])
    assert _verdict(ledger)[1] == ["issue signature"]


def test_an_issue_by_a_participant_the_log_never_registered_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    issue = _issue(world, by="ghost")
    log_behind_the_rules(ledger, [issue])
    details = {
        c.name: c.detail for c in verify_certificate(ledger, CERT, now_ns=ISSUED_NOW).checks if not c.ok
    }
    assert details["issued by the exporting country's authority"] == "ghost (?, not registered) for BW"
    assert details["issue signature"] == f"key {world.actor('ghost').key.id} is not a key of ghost"


def test_a_revocation_naming_the_key_under_another_participant_is_ignored(
    setting: tuple[World, Ledger],
) -> None:
    world, ledger = setting
    issue = _issue(world)
    _submit(ledger, [issue])
    authority_key = world.actor("bw-authority").key.id
    world.sign(
        world.admin,
        "key.revoke",
        participant="trader",
        key_id=authority_key,
        reason="not the trader's key",
        effective=format_ns(parse_envelope(issue).event.time_ns - 60 * 1_000_000_000),
    )
    log_behind_the_rules(ledger, world.events[-1:])
    assert _verdict(ledger) == ("issued", [])


def test_an_issue_signed_with_another_actors_key_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _issue(world)
    body = dict(world.events.pop()["body"])
    body.pop("key")
    body.pop("sig", None)
    forged = world.sign(
        "bw-authority", "certificate.issue", key=world.actor("miner").key, certificate=body["certificate"]
    )
    log_behind_the_rules(ledger, [forged])
    assert "issue signature" in _verdict(ledger)[1]


def test_a_forged_signature_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    issue = _issue(world)
    sig = issue["sig"]
    forged = {"body": issue["body"], "sig": ("B" if sig[0] == "A" else "A") + sig[1:]}
    log_behind_the_rules(ledger, [forged])
    assert "issue signature" in _verdict(ledger)[1]


def test_a_missing_lot_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(delete(schema.lots).where(schema.lots.c.id == "LOT-CERT"))
    assert _verdict(ledger)[1] == ["lots exist and are rough", "carats add up", "origin adds up"]


def test_a_polished_lot_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.lots).where(schema.lots.c.id == "LOT-CERT").values(kind="polished"))
    assert _verdict(ledger)[1] == ["lots exist and are rough"]


def test_carats_that_do_not_add_up_are_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.lots).where(schema.lots.c.id == "LOT-CERT").values(carats=1001))
    assert _verdict(ledger)[1] == ["carats add up"]


def test_an_origin_that_does_not_add_up_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.sites).where(schema.sites.c.id == "mine-a").values(country="ZA"))
    assert _verdict(ledger)[1] == ["origin adds up"]


def test_a_lot_whose_mine_is_missing_counts_for_no_country(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(delete(schema.sites).where(schema.sites.c.id == "mine-a"))
    assert _verdict(ledger)[1] == ["origin adds up"]


def test_an_unreadable_stored_event_does_not_hide_the_certificate(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    registered = len(world.events) - 2  # the lot's registration, just before the issue
    with ledger.engine.begin() as conn:
        conn.execute(
            update(schema.events)
            .where(schema.events.c.seq == registered)
            .values(envelope=b'not an envelope {"number":"' + CERT.encode() + b'"')
        )
    verdict = verify_certificate(ledger, CERT, now_ns=ISSUED_NOW)
    assert verdict.status == "issued"
    assert [c.name for c in verdict.checks if not c.ok] == []


def test_a_second_issue_of_one_number_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    log_behind_the_rules(ledger, [_issue(world)])
    assert _verdict(ledger)[1] == ["one issue event"]


def test_a_deleted_event_is_caught(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(delete(schema.events).where(schema.events.c.seq == 2))
    assert "every logged event is stored" in _verdict(ledger)[1]


def test_a_doctored_issue_event_is_caught(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    _submit(ledger, world.events)
    with ledger.engine.begin() as conn:
        leaf = conn.execute(select(schema.events.c.envelope).where(schema.events.c.event_id == "evt-0000032"))
        stored = bytes(leaf.scalar_one())
        forged = stored.replace(b'"value":{"amount":"139000.00"', b'"value":{"amount":"1390.00"')
        assert forged != stored
        conn.execute(
            update(schema.events).where(schema.events.c.event_id == "evt-0000032").values(envelope=forged)
        )
    failed = [c.name for c in verify_certificate(ledger, NUMBER).checks if not c.ok]
    assert "issue signature" in failed
    assert "certificate.issue included in the log" in failed


def test_a_certificate_whose_issue_is_not_logged_is_not_valid(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world)])
    with ledger.engine.begin() as conn:
        conn.execute(delete(schema.events).where(schema.events.c.type == "certificate.issue"))
    verdict = verify_certificate(ledger, CERT)
    assert verdict.to_json() == {
        "number": CERT,
        "valid": False,
        "status": "unknown",
        "checks": [
            {
                "check": "issue event logged",
                "ok": False,
                "detail": f"no certificate.issue event for {CERT} is in the log",
            }
        ],
    }


def test_expiry_is_judged_by_the_clock_when_none_is_given(setting: tuple[World, Ledger]) -> None:
    world, ledger = setting
    _submit(ledger, [_issue(world, valid_days=1)])  # issued 2026-03-01: long expired today
    verdict = verify_certificate(ledger, CERT)
    assert (verdict.status, verdict.valid) == ("expired", False)


def test_unknown_certificates_are_not_found(setting: tuple[World, Ledger]) -> None:
    with pytest.raises(NotFoundError) as caught:
        verify_certificate(setting[1], "BW-2026-999999")
    assert (caught.value.code, caught.value.field) == ("certificate.unknown", "number")
    assert caught.value.message == "there is no certificate BW-2026-999999"
