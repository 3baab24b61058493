"""The ledger's clock (issue 8, section 1): logged times, and backdating that escapes no validity window.

Each test runs on SQLite and PostgreSQL with a clock the test moves (``EventClock``): the ledger logs what
it is given at the clock's reading, whatever the events declare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from adamas import Ledger
from adamas.errors import VerificationError
from adamas.ledger.backfill import close_backfill, open_backfill
from adamas.ledger.logged_time import LeafTimes, checkpoint_logged_ns, leaf_times
from adamas.ledger.outcome import Outcome
from adamas.ledger.receipts import Receipt, verify_receipt
from adamas.log import Checkpoint, Verifier, open_checkpoint
from adamas.model.values import format_time_ns, parse_time
from adamas.sim import World
from adamas.store import schema
from conftest import EventClock, basic_world

OpenLedger = Callable[..., Ledger]
DAY = 86_400 * 1_000_000_000


def at(text: str) -> int:
    return parse_time(text, "time")


def world_ledger(db_url: str, open_ledger: OpenLedger) -> tuple[World, Ledger, EventClock]:
    """The basic world, logged as it happened; the clock then stays where the test puts it."""
    w = basic_world()
    clock = EventClock()
    ledger = open_ledger(db_url, clock=clock)
    assert all(o.ok for o in clock.submit(ledger, w.events))
    return w, ledger, clock


def one(ledger: Ledger, envelope: dict[str, Any]) -> Outcome:
    (outcome,) = ledger.submit([envelope])
    return outcome


def code(outcome: Outcome) -> str:
    return outcome.status if outcome.error is None else outcome.error.code


def stored_checkpoints(ledger: Ledger) -> list[Checkpoint]:
    verifier = Verifier.from_vkey(ledger.vkey)
    with ledger.engine.connect() as conn:
        notes = conn.execute(select(schema.log_checkpoints.c.note)).scalars().all()
    return [open_checkpoint(n.encode(), origin=ledger.origin, verifiers=[verifier])[0] for n in notes]


# --- the logged time ------------------------------------------------------------------------------------


def test_logged_time_never_decreases_when_the_clock_steps_back(db_url: str, open_ledger: OpenLedger) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    before = clock.now_ns
    clock.now_ns = before - 3 * DAY  # the machine's clock steps back three days
    w.produce("miner", "LOT-1", "mine-a", "10.00")
    outcome = one(ledger, w.events[-1])
    assert outcome.status == "accepted"
    assert outcome.logged_ns == before
    assert outcome.to_json()["logged"] == format_time_ns(before)
    assert ledger.history("LOT-1")[0].logged == format_time_ns(before)


def test_checkpoints_carry_the_logged_time_and_map_to_every_leaf(
    db_url: str, open_ledger: OpenLedger
) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    clock.now_ns += DAY
    w.produce("miner", "LOT-1", "mine-a", "10.00")
    w.produce("miner", "LOT-2", "mine-a", "10.00")
    assert all(o.ok for o in ledger.submit(w.events[-2:]))
    checkpoints = stored_checkpoints(ledger)
    assert all(c.extensions and c.extensions[0].startswith("logged ") for c in checkpoints)
    times = leaf_times(checkpoints)
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(schema.events.c.seq, schema.events.c.logged_ns)).all()
    assert rows and all(times.at(seq) == logged for seq, logged in rows)
    assert times.at(ledger.size) is None  # no checkpoint covers a leaf not yet logged
    newest = max(checkpoints, key=lambda c: c.size)
    assert checkpoint_logged_ns(newest) == clock.now_ns


def test_a_log_whose_logged_times_decrease_is_refused() -> None:
    with pytest.raises(VerificationError) as caught:
        LeafTimes([(3, at("2026-03-02T00:00:00Z")), (5, at("2026-03-01T00:00:00Z"))])
    assert caught.value.code == "log.logged_time_order"
    malformed = Checkpoint("kp.example.org/log", 3, b"\x00" * 32, ("logged yesterday",))
    with pytest.raises(VerificationError) as caught:
        checkpoint_logged_ns(malformed)
    assert caught.value.code == "log.logged_time"
    # Checkpoints from before logged times were recorded give their leaves none.
    times = LeafTimes([(2, None), (4, at("2026-03-02T00:00:00Z"))])
    assert (times.at(1), times.at(3)) == (None, at("2026-03-02T00:00:00Z"))


def test_a_receipt_claiming_a_later_logged_time_fails_verification(
    db_url: str, open_ledger: OpenLedger
) -> None:
    w, ledger, _ = world_ledger(db_url, open_ledger)
    w.produce("miner", "LOT-1", "mine-a", "10.00")
    outcome = one(ledger, w.events[-1])
    assert outcome.receipt is not None
    data = outcome.to_json()
    assert verify_receipt(Receipt.from_json(data), ledger.vkey).size == outcome.index + 1
    data["logged"] = format_time_ns(outcome.logged_ns + 1)  # type: ignore[operator]
    with pytest.raises(VerificationError) as caught:
        verify_receipt(Receipt.from_json(data), ledger.vkey)
    assert caught.value.code == "receipt.logged_time"
    assert ledger.receipt(outcome.index).logged_ns == outcome.logged_ns  # type: ignore[arg-type]


# --- the attacks of the review -----------------------------------------------------------------------------


def test_retired_key_cannot_register_a_lot_dated_before_its_retirement_months_later(
    db_url: str, open_ledger: OpenLedger
) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    old_key = w.actor("miner").key
    retired = w.now_ns + 2 * w.step_ns  # just after the revocation's own time: a retirement
    w.sign(
        "miner",
        "key.revoke",
        participant="miner",
        key_id=old_key.id,
        reason="rotated",
        effective=format_time_ns(retired),
    )
    assert all(o.ok for o in clock.submit(ledger, w.events[-1:]))
    w.now_ns = retired - 10 * w.step_ns  # everything below is dated before the retirement

    def register(lot_id: str) -> dict[str, Any]:
        lot = {
            "id": lot_id,
            "kind": "rough_parcel",
            "carats": "5000.00",
            "stones": 900,
            "value": {"amount": "1.00", "currency": "USD"},
            "site": "mine-a",
        }
        return w.sign("miner", "lot.register", record=False, key=old_key, lot=lot)

    attack = register("LOT-5000")
    # What the key signed before its retirement is still logged shortly after.
    clock.now_ns = retired + 10 * 60 * 1_000_000_000
    assert code(one(ledger, register("LOT-5001"))) == "accepted"
    # Under a backfill window for those dates: until exactly the allowance after the retirement...
    clock.now_ns = retired + 30 * DAY
    open_backfill(ledger, w.admin.key, start_ns=retired - DAY, until_ns=retired, reason="paper registers")
    assert code(one(ledger, register("LOT-5002"))) == "accepted"
    # ...and not one nanosecond more: a window never revives a key.
    clock.now_ns += 1
    assert code(one(ledger, register("LOT-5003"))) == "envelope.key_revoked"
    # The review's attack: a new 5,000 ct lot dated before the retirement, submitted four months later.
    clock.now_ns = retired + 120 * DAY
    assert code(one(ledger, attack)) == "envelope.key_revoked"


def certified_rough(w: World) -> str:
    """Rough held by the trader with a one-day certificate to the Belgian importer; its number."""
    w.produce("miner", "LOT-X", "mine-a", "100.00")
    w.ship("miner", "shp-0", ["LOT-X"], "trader")
    w.receive("trader", "shp-0", {"LOT-X": "100.00"})
    w.issue_certificate(
        "bw-authority",
        "BW-2026-000777",
        exporter="trader",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["LOT-X"],
        carats="100.00",
        origin={"BW": "100.00"},
        value="5000.00",
        shipment="shp-x",
        valid_days=1,
    )
    return "BW-2026-000777"


@pytest.mark.parametrize(
    ("logged_after_expiry_ns", "expected"), [(0, "accepted"), (1, "certificate.expired")]
)
def test_shipment_dated_before_expiry_is_judged_when_it_is_logged(
    logged_after_expiry_ns: int, expected: str, db_url: str, open_ledger: OpenLedger
) -> None:
    w = basic_world()
    number = certified_rough(w)
    clock = EventClock()
    ledger = open_ledger(db_url, clock=clock)
    assert all(o.ok for o in clock.submit(ledger, w.events))
    expires = at(w.events[-1]["body"]["certificate"]["expires"])
    ship = w.sign(
        "trader",
        "lot.ship",
        record=False,
        shipment="shp-x",
        lots=["LOT-X"],
        to="be-importer",
        certificate=number,
    )  # declared a minute after the issue, a day before the expiry
    clock.now_ns = expires + logged_after_expiry_ns
    assert code(one(ledger, ship)) == expected


def test_a_sanction_cannot_be_escaped_by_dating_the_receipt_before_it(
    db_url: str, open_ledger: OpenLedger
) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    w.produce("miner", "LOT-1", "mine-a", "10.00")
    w.ship("miner", "shp-1", ["LOT-1"], "cutter")
    w.receive("cutter", "shp-1", {"LOT-1": "10.00"})
    w.manufacture("cutter", "LOT-1", {"PS-1": "6.00"})
    w.ship("cutter", "shp-2", ["PS-1"], "shop")
    assert all(o.ok for o in clock.submit(ledger, w.events[-5:]))
    receive = w.sign(
        "shop",
        "lot.receive",
        record=False,
        shipment="shp-2",
        lots=[{"id": "PS-1", "carats": "6.00"}],
        seal_intact=True,
    )
    effective = w.now_ns + DAY
    w.sanction("bw-ban", ["BW"], ["EU"], format_time_ns(effective), "test measure")
    clock.now_ns = effective  # the sanction is logged the moment it takes effect
    assert all(o.ok for o in ledger.submit(w.events[-1:]))
    # The receipt declares the day before; it is logged at the sanction's start: refused.
    assert code(one(ledger, receive)) == "sanction.origin"
    clock.now_ns = effective - 1
    assert ledger.clock() == effective - 1  # the clock stepped back; the log's time does not
    assert code(one(ledger, receive)) == "sanction.origin"


def test_a_country_suspension_cannot_be_escaped_by_backdating_production(
    db_url: str, open_ledger: OpenLedger
) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    production = w.sign(
        "miner",
        "lot.register",
        record=False,
        lot={
            "id": "LOT-S",
            "kind": "rough_parcel",
            "carats": "10.00",
            "stones": 3,
            "value": {"amount": "1.00", "currency": "USD"},
            "site": "mine-a",
        },
    )
    suspended = w.now_ns + DAY
    w.country_status("BW", "suspended", format_time_ns(suspended), "test suspension")
    clock.now_ns = suspended
    assert all(o.ok for o in ledger.submit(w.events[-1:]))
    assert code(one(ledger, production)) == "country.suspended"


# --- backfill windows -------------------------------------------------------------------------------------


def test_backfill_window_admits_history_marks_it_and_judges_it_at_the_declared_time(
    db_url: str, open_ledger: OpenLedger
) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    # Botswana is suspended from now on; a record of last year's production comes in through a window.
    w.country_status("BW", "suspended", w.time, "test suspension")
    assert all(o.ok for o in clock.submit(ledger, w.events[-1:]))
    old = w.sign(
        "miner",
        "lot.register",
        record=False,
        time="2025-06-01T00:00:00Z",
        lot={
            "id": "LOT-2025",
            "kind": "rough_parcel",
            "carats": "10.00",
            "stones": 3,
            "value": {"amount": "1.00", "currency": "USD"},
            "site": "mine-a",
        },
    )
    assert code(one(ledger, old)) == "time.backdated"
    window = open_backfill(
        ledger,
        w.admin.key,
        start_ns=at("2025-01-01T00:00:00Z"),
        until_ns=at("2026-01-01T00:00:00Z"),
        reason="the 2025 registers",
    ).event_id
    outcome = one(ledger, old)
    assert (outcome.status, outcome.backfill) == ("accepted", window)
    assert outcome.to_json()["backfill"] == window
    (entry,) = ledger.history("LOT-2025")
    assert (entry.backfill, entry.logged) == (window, format_time_ns(clock.now_ns))
    assert ledger.lot("LOT-2025").made_by.backfill == window
    # Closed, the window admits nothing more.
    clock.now_ns += 1_000_000_000
    (closed,) = close_backfill(ledger, w.admin.key)
    assert closed.status == "accepted"
    clock.now_ns += 1  # `closes` is the last instant a window admits
    again = w.sign(
        "miner",
        "lot.register",
        record=False,
        time="2025-06-02T00:00:00Z",
        lot=old["body"]["lot"] | {"id": "LOT-2025-B"},
    )
    assert code(one(ledger, again)) == "time.backdated"
    # A rebuild judges every event again, at the logged times the log recorded, and agrees.
    assert ledger.rebuild() == ledger.size
    assert ledger.lot("LOT-2025").made_by.backfill == window


def test_the_backdating_allowance_is_a_ledger_setting(sqlite_url: str) -> None:
    from adamas.crypto import generate_key

    clock = EventClock()
    clock.now_ns = at("2026-03-20T00:00:00Z")
    admin = generate_key()
    with Ledger.init(sqlite_url, admin_key=admin, clock=clock, backdate_allowance_days=7) as ledger:
        with ledger.engine.connect() as conn:
            genesis = conn.execute(
                select(schema.events.c.envelope).where(schema.events.c.seq == 0)
            ).scalar_one()
        assert b'"backdate_allowance_days":7' in bytes(genesis)
        body = {"type": "ledger.backfill", "from": "2026-03-13T00:00:00Z", "until": "2026-03-14T00:00:00Z"}
        from adamas.model.signing import sign_body

        for time, expected in (
            ("2026-03-13T00:00:00Z", "accepted"),
            ("2026-03-12T23:59:59Z", "time.backdated"),
        ):
            envelope = sign_body(
                {**body, "time": time, "closes": "2026-03-21T00:00:00Z", "reason": "a window"},
                admin,
                actor="admin",
            )
            assert code(one(ledger, envelope)) == expected


def test_events_logged_before_schema_three_keep_no_logged_time(db_url: str, open_ledger: OpenLedger) -> None:
    w, ledger, clock = world_ledger(db_url, open_ledger)
    size = ledger.size
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.events).values(logged_ns=None))
    assert ledger.history  # the queries show what they do not know as None
    w.produce("miner", "LOT-1", "mine-a", "10.00")
    assert one(ledger, w.events[-1]).index == size
    with ledger.engine.connect() as conn:
        logged = dict(conn.execute(select(schema.events.c.seq, schema.events.c.logged_ns)).all())
    assert logged[size] == clock.now_ns and logged[size - 1] is None
    assert ledger.rebuild() == size + 1


def test_correction_of_a_backfilled_event_is_judged_in_its_window(
    db_url: str, open_ledger: OpenLedger
) -> None:
    """A replacement is held to the time checks at the corrected event's logged time: inside the window
    that admitted the original it may move, outside it may not, however the correction itself is dated."""
    w, ledger, clock = world_ledger(db_url, open_ledger)
    open_backfill(
        ledger,
        w.admin.key,
        start_ns=at("2025-01-01T00:00:00Z"),
        until_ns=at("2026-01-01T00:00:00Z"),
        reason="the 2025 registers",
    )
    lot = {
        "id": "LOT-2025",
        "kind": "rough_parcel",
        "carats": "10.00",
        "stones": 3,
        "value": {"amount": "1.00", "currency": "USD"},
        "site": "mine-a",
    }
    original = w.sign("miner", "lot.register", record=False, time="2025-06-01T00:00:00Z", lot=lot)
    assert code(one(ledger, original)) == "accepted"
    clock.now_ns += DAY
    assert [o.status for o in close_backfill(ledger, w.admin.key)] == ["accepted"]
    clock.now_ns += DAY

    def correct(time: str) -> Outcome:
        replacement = {**original["body"], "time": time}
        body = {"event": original["body"]["id"], "reason": "date", "replacement": replacement}
        return one(ledger, w.sign("miner", "correct", record=False, **body))

    assert code(correct("2024-12-31T23:59:59Z")) == "time.backdated"  # before the window's `from`
    assert code(correct("2025-06-02T00:00:00Z")) == "accepted"  # inside it, though the window is closed now
    assert ledger.history("LOT-2025")[0].corrected_by is not None
