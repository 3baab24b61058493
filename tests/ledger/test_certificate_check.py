"""`verify_certificate` re-checks a KP certificate from the log and proves its events are included."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from adamas import Ledger, NotFoundError
from adamas.ledger.certificate_check import verify_certificate
from adamas.sim import demo_world
from adamas.store import schema

NUMBER = "BW-2026-000042"


@pytest.fixture
def demo(db_url: str, open_ledger: Callable[[str], Ledger]) -> Ledger:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    return ledger


def _failed(ledger: Ledger) -> list[str]:
    return [c.name for c in verify_certificate(ledger, NUMBER).checks if not c.ok]


def test_the_demo_certificate_verifies(demo: Ledger) -> None:
    verdict = verify_certificate(demo, NUMBER)
    assert verdict.valid, verdict.to_json()
    assert verdict.status == "confirmed"
    names = [c.name for c in verdict.checks]
    assert "certificate.issue included in the log" in names
    assert "certificate.confirm included in the log" in names


def test_a_doctored_certificate_record_is_caught(demo: Ledger) -> None:
    with demo.engine.begin() as conn:
        conn.execute(
            update(schema.certificates).where(schema.certificates.c.id == NUMBER).values(carats=99_999)
        )
    assert _failed(demo) == ["record matches the signed event", "carats add up"]


def test_a_doctored_issue_event_is_caught(demo: Ledger) -> None:
    with demo.engine.begin() as conn:
        leaf = (
            conn.execute(schema.events.select().where(schema.events.c.event_id == "evt-0000032"))
            .one()
            .envelope
        )
        forged = bytes(leaf).replace(b'"value":{"amount":"139000.00"', b'"value":{"amount":"1390.00"')
        assert forged != bytes(leaf)
        conn.execute(
            update(schema.events).where(schema.events.c.event_id == "evt-0000032").values(envelope=forged)
        )
    failed = _failed(demo)
    assert "issue signature" in failed
    assert "certificate.issue included in the log" in failed


def test_unknown_certificates_are_not_found(demo: Ledger) -> None:
    with pytest.raises(NotFoundError) as caught:
        verify_certificate(demo, "BW-2026-999999")
    assert caught.value.code == "certificate.unknown"
