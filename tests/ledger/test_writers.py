"""Two ledgers on one database: each sees what the other committed (the single sequencer at work)."""

from __future__ import annotations

from collections.abc import Callable

from adamas import Ledger
from conftest import basic_world


def test_second_writer_sees_the_first_writers_suspension(
    db_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    w = basic_world()
    first, second = open_ledger(db_url), open_ledger(db_url)
    assert all(o.ok for o in first.submit(w.events))
    w.events.clear()
    # The first ledger now holds the registry it committed; the second writer changes it underneath.
    w.produce("miner", "LOT-A", "mine-a", "10.00")
    assert all(o.ok for o in first.submit(w.events))
    suspension = w.sign(
        "bw-authority",
        "participant.status",
        record=False,
        participant="miner",
        status="suspended",
        reason="licence lapsed",
    )
    assert all(o.ok for o in second.submit([suspension]))
    later = w.sign(
        "miner",
        "lot.split",
        record=False,
        lot="LOT-A",
        into=[{"id": "LOT-A1", "carats": "5.00"}, {"id": "LOT-A2", "carats": "5.00"}],
    )
    (outcome,) = first.submit([later])
    assert outcome.error is not None and outcome.error.code == "actor.suspended"


def test_writers_take_turns_on_the_log(db_url: str, open_ledger: Callable[[str], Ledger]) -> None:
    w = basic_world()
    first, second = open_ledger(db_url), open_ledger(db_url)
    assert all(o.ok for o in first.submit(w.events))
    w.events.clear()
    w.produce("miner", "LOT-B", "mine-a", "10.00")
    w.produce("miner", "LOT-C", "mine-b", "10.00")
    a, b = w.events
    (one,) = first.submit([a])
    (two,) = second.submit([b])
    assert (one.index, two.index) == (first.size - 2, first.size - 1)
    assert second.lot("LOT-B").holder == "miner" and first.lot("LOT-C").holder == "miner"


def test_submit_gives_the_garbage_collector_back_as_it_found_it(
    sqlite_url: str, open_ledger: Callable[[str], Ledger]
) -> None:
    import gc

    ledger = open_ledger(sqlite_url)
    w = basic_world()
    assert gc.isenabled()
    assert all(o.ok for o in ledger.submit(w.events[:3]))
    assert gc.isenabled()
    gc.disable()
    try:
        ledger.submit(w.events[3:])
        assert not gc.isenabled()
    finally:
        gc.enable()
