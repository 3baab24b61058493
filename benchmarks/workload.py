"""A deterministic custody workload: 1,000 participants in 10 countries and stories of 18 custody events.

Each story takes a rough parcel from a mine through a split, a shipment, a merge, cutting, grading and
retail sale; stories rotate through the participants, so every batch mixes every custody event type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adamas.model.values import parse_time
from adamas.sim import World
from adamas.store import metadata, open_engine

COUNTRIES = ["BW", "ZA", "NA", "CA", "AU", "IN", "BE", "AE", "US", "IL"]
PER_COUNTRY = {"miner": 20, "trader": 30, "cutter": 20, "lab": 10, "shop": 19}
ROLES = {
    "miner": ["mine_operator", "exporter"],
    "trader": ["trader", "exporter", "importer"],
    "cutter": ["manufacturer", "exporter", "importer"],
    "lab": ["grading_lab", "importer", "exporter"],
    "shop": ["retailer", "importer"],
}
STORY_EVENTS = 18


def build(
    custody_events: int, *, start: str = "2026-01-01T00:00:00Z", fanout: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (setup envelopes, custody envelopes): 1,000 registrations, then ``custody_events`` events.

    ``fanout`` > 0 appends a rough lot ``FAN`` split ten ways, level after level, into at least ``fanout``
    lots (1,000 -> 1,110 descendants, by 111 splits): a wide forward trace."""
    setup: list[dict[str, Any]] = []
    custody: list[dict[str, Any]] = []
    for phase, envelopes in _chunks(custody_events, start=start, fanout=fanout):
        (setup if phase == "setup" else custody).extend(envelopes)
    return setup, custody


def stream(
    custody_events: int, *, start: str = "2026-01-01T00:00:00Z", fanout: int = 0, batch: int = 1000
) -> Iterator[list[dict[str, Any]]]:
    """The envelopes of ``build`` (setup first, then custody) in batches of at most ``batch``, generated as
    they are consumed: a ten-million-event ledger is built without holding its events in memory."""
    pending: list[dict[str, Any]] = []
    for _, envelopes in _chunks(custody_events, start=start, fanout=fanout):
        pending.extend(envelopes)
        while len(pending) >= batch:
            yield pending[:batch]
            del pending[:batch]
    if pending:
        yield pending


def _chunks(custody_events: int, *, start: str, fanout: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """("setup", envelopes) once, then ("custody", envelopes) story by story (the last one cut at
    ``custody_events``), then the fan-out's splits."""
    w = World(seed="bench", start=start, step_seconds=1)
    w.genesis()
    people: dict[str, dict[str, list[str]]] = {}
    for country in COUNTRIES:
        authority = w.authority(country)
        people[country] = {}
        for kind, count in PER_COUNTRY.items():
            ids = [f"{country.lower()}-{kind}-{i:02d}" for i in range(count)]
            for pid in ids:
                w.register(authority, pid, country, ROLES[kind])
                if kind == "miner":
                    w.site(authority, f"{pid}-mine", "mine", country, pid)
            people[country][kind] = ids
    yield "setup", list(w.events)
    w.events.clear()
    story = 0
    left = custody_events
    while left > 0:
        _story(w, people, story)
        story += 1
        out = w.events[:left]
        left -= len(out)
        w.events.clear()
        yield "custody", out
    if fanout:
        miner = people["BW"]["miner"][0]
        w.produce(miner, "FAN", f"{miner}-mine", "100000.00", stones=10000)
        level, carats = ["FAN"], 100_000
        while len(level) < fanout:
            carats //= 10
            nxt = []
            for parent in level:
                parts = {f"{parent}.{i}": f"{carats}.00" for i in range(10)}
                w.split(miner, parent, parts)
                nxt.extend(parts)
            level = nxt
        yield "custody", list(w.events)
        w.events.clear()


def _story(w: World, people: dict[str, dict[str, list[str]]], story: int) -> None:
    """The 18 custody events of story number ``story``."""
    c = COUNTRIES[story % len(COUNTRIES)]
    abroad = COUNTRIES[(story + 3) % len(COUNTRIES)]
    n = story // len(COUNTRIES)
    p, q = people[c], people[abroad]
    miner = p["miner"][n % 20]
    trader = p["trader"][n % 30]
    cutter = p["cutter"][n % 20]
    lab = q["lab"][n % 10]
    shop = q["shop"][n % 19]
    lot = f"R{story:07d}"
    w.produce(miner, lot, f"{miner}-mine", "100.00", stones=40, value="9000.00")
    # Stone counts are conserved: the parts share the parcel's 40 stones.
    w.split(
        miner,
        lot,
        {f"{lot}a": "60.00", f"{lot}b": "39.50"},
        loss="0.50",
        stones={f"{lot}a": 24, f"{lot}b": 16},
    )
    w.ship(miner, f"s{story}-1", [f"{lot}a", f"{lot}b"], trader)
    w.receive(trader, f"s{story}-1", {f"{lot}a": "60.00", f"{lot}b": "39.50"})
    w.merge(trader, [f"{lot}a", f"{lot}b"], f"{lot}m")
    w.ship(trader, f"s{story}-2", [f"{lot}m"], cutter)
    w.receive(cutter, f"s{story}-2", {f"{lot}m": "99.50"})
    w.split(cutter, f"{lot}m", {f"{lot}s": "10.00", f"{lot}r": "89.50"}, stones={f"{lot}s": 1})
    w.manufacture(cutter, f"{lot}s", {f"{lot}p1": "4.00", f"{lot}p2": "1.00"})
    w.ship(cutter, f"s{story}-3", [f"{lot}p1", f"{lot}p2"], lab)
    w.receive(lab, f"s{story}-3", {f"{lot}p1": "4.00", f"{lot}p2": "1.00"})
    w.grade(lab, f"{lot}p1", f"G{story}-1", "4.00", color="G", clarity="VS2")
    w.grade(lab, f"{lot}p2", f"G{story}-2", "1.00", color="H", clarity="SI1")
    w.ship(lab, f"s{story}-4", [f"{lot}p1", f"{lot}p2"], shop)
    w.receive(shop, f"s{story}-4", {f"{lot}p1": "4.00", f"{lot}p2": "1.00"})
    w.sell(shop, f"{lot}p1", price="52000.00")
    w.assemble(shop, [f"{lot}p2"], f"{lot}j", "solitaire ring, 18k gold")
    w.sell(shop, f"{lot}j", price="9100.00")


def clock_after(envelopes: list[dict[str, Any]]) -> Callable[[], int]:
    """A ledger clock stopped at the last declared time of ``envelopes``: the workload's events are all
    recent to it (within the backdating allowance) and none is in its future."""
    end = max(parse_time(env["body"]["time"], "time") for env in envelopes)
    return lambda: end


def last_time(envelopes: list[dict[str, Any]]) -> str:
    """The last declared time of ``envelopes`` (RFC 3339), for ``$ADAMAS_NOW`` of a server subprocess."""
    return str(max((env["body"]["time"] for env in envelopes), key=lambda t: parse_time(t, "time")))


def fresh(url: str) -> str:
    """Empty the benchmark database at ``url`` (its SQLite files, or every Adamas table on PostgreSQL)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return url
    engine = open_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    return url
