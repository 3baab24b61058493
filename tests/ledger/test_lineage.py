"""The one-statement trace and the best-first forward page answer exactly what the whole-graph walk answers.

A seeded random lineage (splits and merges across two mines, one key compromised half-way) is ingested on
each backend; every lot's trace, both ways, is compared with the reference built from the walk and the lot
views as the trace was built before issue 14, and every trace is read again page by page, both ways.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy import Connection

from adamas import Ledger
from adamas.ledger import lineage, queries
from adamas.ledger.views import Trace, TraceNode
from adamas.model.values import format_time_ns, parse_time
from adamas.store import schema
from adamas.store.rows import load, lot_from_row
from conftest import EventClock, basic_world


def reference_trace(conn: Connection, lot_id: str, direction: str) -> Trace:
    """The trace as built before issue 14: the walk, then every lot, its views, and the compromise."""
    depth, edges = queries.walk(conn, lot_id, direction)
    lots = load(conn, schema.lots, depth, lot_from_row)
    views = queries.lot_views(conn, sorted(lots.values(), key=lambda lot: (depth[lot.id], lot.id)))
    bad_events = queries.compromised_events(conn, {lot.event for lot in lots.values()})
    bad = queries.spread_down({i for i, lot in lots.items() if lot.event in bad_events}, edges)
    if direction == "forward" and lot_id not in bad and queries.rests_on_compromised(conn, lot_id):
        bad = set(lots)
    nodes = tuple(TraceNode(v, depth[v.id], v.id in bad) for v in views)
    return Trace(
        lot=lot_id,
        direction=direction,
        nodes=nodes,
        edges=tuple(edges),
        origin=next(n.lot.origin for n in nodes if n.depth == 0),
        mines=tuple(sorted(n.lot.id for n in nodes if n.lot.made_by.type == "lot.register")),
    )


def random_lineage(ledger: Ledger, seed: int, *, compromise: bool) -> list[str]:
    """Ingest a random lineage of about 60 lots; the ids of every lot."""
    rng = random.Random(seed)
    w = basic_world()
    clock = EventClock()
    # Two batches, each logged at its last event's time, so that the compromise falls between them.
    ledger._clock = clock
    cut = 0
    held: dict[str, int] = {}
    for i in range(4):
        lot = f"L{i}"
        w.produce("miner", lot, rng.choice(["mine-a", "mine-b"]), "1000.00")
        held[lot] = 100_000
    compromised_at = None
    for step in range(30):
        if compromise and step == 15:
            compromised_at = format_time_ns(w.now_ns + 1_000_000_000)
            cut = len(w.events)
        if rng.random() < 0.6 or len(held) < 2:
            parent = rng.choice(sorted(lot for lot, c in held.items() if c >= 400))
            n = rng.randint(2, 4)
            share = held[parent] // n
            parts = {f"{parent}.{k}": share for k in range(n - 1)}
            parts[f"{parent}.{n - 1}"] = held[parent] - share * (n - 1)
            w.split("miner", parent, {k: f"{v // 100}.{v % 100:02d}" for k, v in parts.items()})
            del held[parent]
            held.update(parts)
        else:
            merged = rng.sample(sorted(held), rng.randint(2, 3))
            into = f"M{step}"
            w.merge("miner", merged, into)
            held[into] = sum(held.pop(lot) for lot in merged)
    for batch in (w.events[:cut], w.events[cut:]):
        clock.now_ns = max([clock.now_ns, *(parse_time(e["body"]["time"], "time") for e in batch)])
        outcomes = ledger.submit(batch) if batch else []
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    if compromised_at is not None:
        w.events.clear()
        w.sign(
            "bw-authority",
            "key.revoke",
            participant="miner",
            key_id=w.actor("miner").key.id,
            reason="stolen laptop",
            effective=compromised_at,
        )
        assert all(o.ok for o in clock.submit(ledger, w.events))
    with ledger.engine.connect() as conn:
        return sorted(row.id for row in conn.execute(schema.lots.select()))


@pytest.mark.parametrize(("seed", "compromise"), [(1, False), (2, True)])
def test_traces_and_pages_match_the_whole_graph_walk(
    db_url: str, open_ledger: Callable[..., Ledger], seed: int, compromise: bool
) -> None:
    ledger = open_ledger(db_url)
    lots = random_lineage(ledger, seed, compromise=compromise)
    marked = 0
    sizes: dict[tuple[str, str], int] = {}
    with ledger.engine.connect() as conn:
        for lot in lots[::3]:  # a third of the lots: seconds on a loaded PostgreSQL
            for direction in ("backward", "forward"):
                expected = reference_trace(conn, lot, direction)
                assert lineage.trace(conn, lot, direction=direction) == expected
                sizes[direction, lot] = len(expected.nodes)
                marked += sum(n.compromised for n in expected.nodes)
        assert any(len(queries.walk(conn, lot, "backward")[0]) > 4 for lot in lots)
    assert (marked > 0) == compromise
    # Page by page: the four largest graphs each way.
    paged = sorted(sizes, key=lambda k: (k[0], -sizes[k], k[1]))
    paged = [k for k in paged if k[0] == "backward"][:4] + [k for k in paged if k[0] == "forward"][:4]
    for direction, lot in paged:
        whole = ledger.trace(lot, direction=direction)
        made = {n.lot.id: n.lot.made_by.index for n in whole.nodes}
        if direction == "forward":
            in_order = sorted(whole.nodes, key=lambda n: (made[n.lot.id], n.lot.id))
        else:
            in_order = sorted(whole.nodes, key=lambda n: (n.depth, n.lot.id))
        far = 1 if direction == "forward" else 0
        for limit in (2, 5):
            seen: list[TraceNode] = []
            edges: list[tuple[str, str]] = []
            cursor = None
            while True:
                page = ledger.trace_page(lot, direction=direction, cursor=cursor, limit=limit)
                assert (page.origin, page.mines) == (whole.origin, whole.mines)
                on_page = {n.lot.id for n in page.nodes}
                assert list(page.edges) == [e for e in whole.edges if e[far] in on_page]
                seen.extend(page.nodes)
                edges.extend(page.edges)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert seen == in_order
            assert sorted(edges) == list(whole.edges)


def test_a_first_forward_page_expands_only_what_it_needs(
    db_url: str, open_ledger: Callable[..., Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    w = basic_world()
    w.produce("miner", "FX", "mine-a", "2500.00")
    w.split("miner", "FX", {f"FX.{i}": "500.00" for i in range(5)})
    for i in range(5):
        w.split("miner", f"FX.{i}", {f"FX.{i}.{k}": "100.00" for k in range(5)})
    ledger = open_ledger(db_url)
    outcomes = ledger.submit(w.events)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    expanded: list[str] = []
    chunked = lineage._chunked

    def spy(conn: Connection, name: str, template: str, ids: list[str], *extra: object) -> list[object]:
        if name.startswith("children"):
            expanded.extend(ids)
        return chunked(conn, name, template, ids, *extra)

    monkeypatch.setattr(lineage, "_chunked", spy)
    page = ledger.trace_page("FX", direction="forward", limit=3)
    assert [(n.lot.id, n.depth) for n in page.nodes] == [("FX", 0), ("FX.0", 1), ("FX.1", 1)]
    assert page.next_cursor is not None
    assert expanded == ["FX"]  # the 25 grandchildren are never read
    expanded.clear()
    page = ledger.trace_page("FX", direction="forward", cursor=page.next_cursor, limit=5)
    assert [n.lot.id for n in page.nodes] == ["FX.2", "FX.3", "FX.4", "FX.0.0", "FX.0.1"]
    assert [n.depth for n in page.nodes] == [1, 1, 1, 2, 2]
    # Three lots past the cursor were known, fewer than a page: the children were expanded, and then the
    # page was known (the grandchildren made before its last lot), so no grandchild was read further.
    assert expanded == ["FX"] + [f"FX.{i}" for i in range(5)]
