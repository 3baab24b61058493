"""``adamas simulate``: a year of the world's diamond trade, from real KP figures, written through
``Ledger.submit`` like any participant's events, with labelled fraud.

The ledger runs on a simulated clock (``Ledger.open(url, create=True, clock=...)``) that advances with the
world: the genesis is dated the day before the KP policy history begins (2003-01-01), each policy event is
logged at its own effective date, and every batch of the year is submitted with the clock at its latest
declared time. So the logged time tracks the declared time exactly as if the ledger had run through those
years, and every rule that reads the clock (skew, backdating, expiry, revocation) judges the simulated world
as it would a real one. Submitting into a ledger whose log has already run later is refused
(``sim.log_ahead``); any other non-empty ledger too (``sim.ledger_not_empty``): the world's administrator
is its genesis.

Deterministic: keys, ids and times derive from ``seed``; the same options give the same log (size and root).
"""

from __future__ import annotations

import base64
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from adamas.crypto.keys import save_private_key
from adamas.data import kp_data
from adamas.errors import ConflictError, InputError, RuleError
from adamas.ledger import Ledger
from adamas.ledger.policy import kp_policy_bodies
from adamas.model.values import format_time_ns, parse_time
from adamas.sim.countries import mines_of, producers
from adamas.sim.flows import Market
from adamas.sim.fraud import ACCOMPLICE, ATTEMPTS, SCENARIOS, Fraud, Script
from adamas.sim.participants import TRADE, Member, build_cast, register_cast
from adamas.sim.scribe import DAY, Batch, Scribe
from adamas.sim.trade import HOUR, STAGES, Standing, Trade
from adamas.sim.truth import Truth
from adamas.store import schema

__all__ = ["SCENARIOS", "Options", "Summary", "generate", "parse_fraud", "simulate"]

GENESIS_TIME: Final = "2002-12-31T00:00:00Z"
WEEKS: Final = 52
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class Options:
    """What world to build."""

    year: int = 2023
    scale: float = 1e-5
    seed: int = 1
    fraud: tuple[str, ...] = SCENARIOS


@dataclass
class Summary:
    """What a simulation wrote."""

    participants: int = 0
    lots: int = 0
    events: int = 0
    certificates: int = 0
    shipments: int = 0
    sales: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    scenarios: dict[str, int] = field(default_factory=dict)
    size: int = 0
    root: str = ""


class SimClock:
    """The ledger's clock in a simulation: set by the simulator, never going back."""

    def __init__(self, start_ns: int) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, to_ns: int) -> None:
        """Move the clock forward to ``to_ns`` (a later batch never moves it back)."""
        self.now_ns = max(self.now_ns, to_ns)


def parse_fraud(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma-separated list of scenario names."""
    if text.strip() == "all":
        return SCENARIOS
    if text.strip() in ("none", ""):
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise InputError(
            f"unknown fraud scenario {', '.join(unknown)}; known: all, none, {', '.join(SCENARIOS)}",
            code="sim.unknown_scenario",
            field="fraud",
        )
    return tuple(n for n in SCENARIOS if n in names)


def _policy() -> list[dict[str, Any]]:
    folder = kp_data()
    if isinstance(folder, Path):
        return kp_policy_bodies(folder)
    with tempfile.TemporaryDirectory() as tmp:  # a zipped install: copy the pack out first
        for item in folder.iterdir():
            if item.is_file():
                (Path(tmp) / item.name).write_bytes(item.read_bytes())
        return kp_policy_bodies(Path(tmp))


def _standings(bodies: list[dict[str, Any]]) -> dict[str, list[Standing]]:
    out: dict[str, list[Standing]] = {}
    for body in bodies:
        if body["type"] == "country.status":
            out.setdefault(body["country"], []).append(
                Standing(
                    parse_time(body["effective"], "effective"),
                    body["status"],
                    tuple(body.get("compliant_zones", ())),
                )
            )
    for entries in out.values():
        entries.sort(key=lambda s: s.effective_ns)
    return out


@dataclass
class World:
    """A world being generated: its pieces, for the runner and the demo to look at."""

    options: Options
    truth: Truth
    scribe: Scribe
    market: Market | None = None
    week: int = 0


def generate(world: World) -> Iterator[Batch]:
    """The batches of the world, in time order (streaming: a week's batches at a time)."""
    options, scribe, truth = world.options, world.scribe, world.truth
    rng = random.Random(options.seed)
    countries = producers(options.year)
    mines = mines_of(countries, rng)
    cast = build_cast(mines)
    if "compromised_key" in options.fraud:
        cast.extra.append(Member(ACCOMPLICE[0], ACCOMPLICE[1], ACCOMPLICE[2], TRADE, ACCOMPLICE[3]))
    start = parse_time(f"{options.year}-01-01T00:00:00Z", "year")
    end = start + WEEKS * 7 * DAY
    # kp_policy_bodies lists statuses before sanctions; the ledger must receive them in time order.
    bodies = sorted(
        (b for b in _policy() if parse_time(b["time"], "time") < end),
        key=lambda b: parse_time(b["time"], "time"),
    )
    admin = scribe.key(cast.admin)
    genesis_ns = parse_time(GENESIS_TIME, "time")
    scribe.emit_body(
        {
            "type": "genesis",
            "id": f"genesis-{admin.id}",
            "time": GENESIS_TIME,
            "administrator": {
                "id": cast.admin,
                "name": "Scheme administrator (simulated world)",
                "keys": [{"id": admin.id, "public_key": admin.public_key_b64}],
            },
        },
        admin,
        cast.admin,
        genesis_ns,
    )
    pending = list(bodies)
    while pending and parse_time(pending[0]["time"], "time") <= start:
        scribe.cut()
        moment = pending[0]["time"]
        while pending and pending[0]["time"] == moment:
            scribe.emit_body(pending.pop(0), admin, cast.admin, parse_time(moment, "time"))
    scribe.cut()
    yield from scribe.drain()
    scribe.at(start)
    register_cast(scribe, cast, mines, options.scale)
    scribe.cut()
    yield from scribe.drain()
    market = Market(scribe, cast, mines, rng, options.year, {p.country: p.usd_per_ct for p in countries})
    world.market = market
    trade = Trade(market, options.scale, _standings(bodies))
    fraud = Fraud(market, trade, truth, {p.country: p for p in countries}, rng)
    starts = {
        name: 3 + (i * 40) // max(len(options.fraud), 1) + rng.randrange(3)
        for i, name in enumerate(options.fraud)
    }
    active: list[tuple[str, Script, str]] = []
    honest = {
        "production": trade.production,
        "export": trade.export,
        "hubs": trade.hubs,
        "makers": trade.makers,
        "labs": trade.labs,
        "shops": trade.shops,
    }
    for week in range(WEEKS):
        world.week = week
        week_start = start + week * 7 * DAY
        for stage, hour in STAGES:
            moment = week_start + hour * HOUR
            if pending and parse_time(pending[0]["time"], "time") <= moment:
                scribe.cut()
                while pending and parse_time(pending[0]["time"], "time") <= moment:
                    body = pending.pop(0)
                    scribe.emit_body(body, admin, cast.admin, parse_time(body["time"], "time"))
                scribe.cut()
            scribe.at(moment)
            if stage == "deliver":
                market.deliver()
                continue
            if stage == "production":
                for name, first in starts.items():
                    if first == week:
                        script = fraud.script(name)
                        nxt = next(script, None)
                        if nxt is not None:
                            active.append((name, script, nxt))
                trade.oversight(week)
            still: list[tuple[str, Script, str]] = []
            for name, script, awaiting in active:
                if awaiting == stage:
                    nxt = next(script, None)
                    if nxt is not None:
                        still.append((name, script, nxt))
                else:
                    still.append((name, script, awaiting))
            active = still
            honest[stage]()
        scribe.cut()
        yield from scribe.drain()
    scribe.cut()
    yield from scribe.drain()


def _last_logged(ledger: Ledger) -> int | None:
    with ledger.engine.connect() as conn:
        value = conn.execute(select(func.max(schema.log_checkpoints.c.signed_ns))).scalar()
        events = conn.execute(select(func.max(schema.events.c.time_ns))).scalar()
    known = [v for v in (value, events) if v is not None]
    return max(known) if known else None


def simulate(
    url: str,
    options: Options,
    *,
    progress: Progress | None = None,
    keys_dir: Path | None = None,
) -> tuple[Summary, Truth]:
    """Build the world of ``options`` into the (new) ledger at ``url``; return its summary and truth."""
    producers(options.year)  # an unknown year is refused before anything is written
    truth = Truth(options.seed, options.year, options.scale, list(options.fraud))
    world = World(options, truth, Scribe(options.seed))
    clock = SimClock(parse_time(GENESIS_TIME, "time"))
    summary = Summary()
    ledger = Ledger.open(url, create=True, clock=clock)
    try:
        if ledger.size:
            last = _last_logged(ledger)
            start = parse_time(f"{options.year}-01-01T00:00:00Z", "year")
            if last is not None and last > start:
                raise ConflictError(
                    f"the ledger's log already runs to {format_time_ns(last)}, later than the simulated "
                    f"year {options.year}; simulate into a new database",
                    code="sim.log_ahead",
                    field="db",
                )
            raise ConflictError(
                f"{url} already holds a ledger; a simulated world starts from its own genesis",
                code="sim.ledger_not_empty",
                field="db",
            )
        for batch in generate(world):
            clock.advance(batch.clock_ns)
            _submit(ledger, batch, summary)
            if progress is not None:
                progress(world.week + 1, WEEKS, summary.events)
        note = ledger.checkpoint().split("\n")
        summary.size, summary.root = int(note[1]), base64.b64decode(note[2]).hex()
    finally:
        ledger.close()
    market = world.market
    assert market is not None
    summary.participants = len(world.scribe.keys)
    summary.lots = market.counts.get("lots", 0)
    summary.certificates = market.counts.get("certificates", 0)
    summary.shipments = market.counts.get("shipments", 0)
    summary.sales = market.counts.get("sales", 0)
    for case in truth.cases:
        if case.events:
            summary.scenarios[case.scenario] = summary.scenarios.get(case.scenario, 0) + 1
    for attempt in truth.attempts:
        if attempt.scenario in ATTEMPTS:
            summary.scenarios[attempt.scenario] = summary.scenarios.get(attempt.scenario, 0) + 1
    truth.log = {"size": summary.size, "root": summary.root}
    if keys_dir is not None:
        write_keys(world.scribe, keys_dir)
    return summary, truth


def _submit(ledger: Ledger, batch: Batch, summary: Summary) -> None:
    for outcome in ledger.submit(batch.envelopes, mode="proceed"):
        if outcome.status == "accepted":
            summary.events += 1
            continue
        error = outcome.error
        code = error.code if error is not None else outcome.status
        if outcome.status == "refused" and batch.expected.get(outcome.event_id or "") == code:
            summary.refusals[code] = summary.refusals.get(code, 0) + 1
            continue
        raise RuleError(
            f"the simulator's event {outcome.event_id} was {outcome.status}: {code}: "
            f"{error.message if error is not None else ''}",
            code="sim.refused",
            field=error.field if error is not None else None,
        )


def write_keys(scribe: Scribe, folder: Path) -> None:
    """Write every participant's private key to ``folder`` as ``<participant id>.pem`` (mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    for participant, key in sorted(scribe.keys.items()):
        save_private_key(folder / f"{participant}.pem", key)
