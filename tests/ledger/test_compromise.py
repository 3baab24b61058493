"""A compromised key: what it signed after the compromise stays in the log, flagged, and every lot made
from it is marked in ``trace`` as resting on a compromised key."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from adamas import Ledger
from adamas.model.values import format_time_ns
from adamas.store import schema
from conftest import EventClock, basic_world


def test_lots_made_after_a_compromise_are_marked_in_trace(
    db_url: str, open_ledger: Callable[..., Ledger]
) -> None:
    w = basic_world()
    clock = EventClock()  # each event logged as it happens: the production is logged before the compromise
    ledger = open_ledger(db_url, clock=clock)
    w.produce("miner", "R1", "mine-a", "100.00")
    compromised_at = format_time_ns(w.now_ns + 1_000_000_000)  # after the production, before the split
    w.split("miner", "R1", {"R1a": "60.00", "R1b": "40.00"})
    w.merge("miner", ["R1a", "R1b"], "R1m")
    assert all(o.ok for o in clock.submit(ledger, w.events))
    w.events.clear()
    key_id = w.actor("miner").key.id
    w.sign(
        "bw-authority",
        "key.revoke",
        participant="miner",
        key_id=key_id,
        reason="stolen laptop",
        effective=compromised_at,
    )
    assert all(o.ok for o in clock.submit(ledger, w.events))

    with ledger.engine.connect() as conn:
        flagged = conn.execute(select(schema.flags.c.code, schema.flags.c.evidence)).all()
    assert [code for code, _ in flagged] == ["key.compromised", "key.compromised"]

    backward = {n.lot.id: n.compromised for n in ledger.trace("R1m").nodes}
    assert backward == {"R1m": True, "R1a": True, "R1b": True, "R1": False}
    forward = {n.lot.id: n.compromised for n in ledger.trace("R1", direction="forward").nodes}
    assert forward == {"R1": False, "R1a": True, "R1b": True, "R1m": True}
    assert ledger.trace("R1a", direction="forward").nodes[0].compromised
