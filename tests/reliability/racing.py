"""Races over HTTP: contestants in several processes and threads, each on its own connection, submitting
different envelopes of which only one may win; many races at once.

Four kinds (``KINDS``): shipping the same lot, spending the same KP certificate, merging the same lots,
registering under the same event id. The races are dealt into rounds of a random size (mean ``wave``); each
race's contestants go to different client slots (processes x threads, half the contestants in each process),
and every slot posts, in one request, its envelopes of every race of the round it is in. All slots wait on
one barrier per round, then post at the same instant to ``adamas serve --workers N``: a race's contestants
are in flight together in different requests, and those requests hold different mixes of other races, so
whichever request the sequencer takes first wins some races of the round and not others.

The judge wants each race to have exactly one ``accepted`` contestant and every other one ``refused`` with
one of the kind's codes (``mode=proceed``, so each envelope has its own answer), then reads the database:
exactly the winner's event is in the log. Shared by tests/reliability/test_races.py (1,000 races a kind a
backend) and benchmarks/races.py (the same, with figures).
"""

from __future__ import annotations

import json
import multiprocessing
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from sqlalchemy import create_engine, select
from underfire import world_start

from adamas.log import leaf_hash
from adamas.model.signing import sign_body
from adamas.sim import World
from adamas.store import normalize_url
from adamas.store.schema import events

KINDS = ("ship", "certificate", "merge", "event_id")
# What a loser may be told, by kind: whichever check meets the winner's traces first.
LOSING_CODES = {
    "ship": {"custody.in_transit", "custody.shipment_exists"},
    "certificate": {"custody.in_transit", "certificate.used", "custody.shipment_exists"},
    "merge": {"custody.consumed"},
    "event_id": {"event.duplicate_id"},
}
MINER, TRADER, IMPORTER = "race-miner", "race-trader", "race-importer"


@dataclass
class Contest:
    """One race: its kind and the envelopes of its contestants."""

    kind: str
    envelopes: list[dict[str, Any]]


def build(kinds: tuple[str, ...], races: int, contestants: int, tag: str) -> tuple[list[Any], list[Contest]]:
    """The setup envelopes (participants once, then what each race needs) and the contests."""
    # One second a signature, about eight a race: start far enough back that the last is not in the future.
    hours = 1 + races * len(kinds) * (contestants + 4) / 3600
    w = World(seed="races", start=world_start(hours), step_seconds=1, id_prefix=f"{tag}-setup")
    contests: list[Contest] = []
    w.genesis()
    bw = w.authority("BW")
    be = w.authority("BE")
    w.register(bw, MINER, "BW", ["mine_operator", "exporter", "trader"])
    w.site(bw, "race-mine", "mine", "BW", MINER)
    w.register(bw, TRADER, "BW", ["trader", "importer"])
    w.register(be, IMPORTER, "BE", ["importer", "trader"])
    for kind in kinds:
        for i in range(races):
            lot = f"{tag}-{kind}-{i:05d}"
            w.produce(MINER, lot, "race-mine", "10.00", stones=4, value="1000.00")
            rivals: list[Any] = []
            if kind == "ship":
                for c in range(contestants):
                    rivals.append(
                        w.sign(MINER, "lot.ship", record=False, shipment=f"{lot}-s{c}", lots=[lot], to=TRADER)
                    )
            elif kind == "certificate":
                number = f"BW-{tag.upper()}-{i:05d}"
                w.issue_certificate(
                    bw,
                    number,
                    exporter=MINER,
                    importer=IMPORTER,
                    exporting="BW",
                    importing="BE",
                    lots=[lot],
                    carats="10.00",
                    origin={"BW": "10.00"},
                    value="1000.00",
                    shipment=f"{lot}-x",
                )
                for c in range(contestants):
                    rivals.append(
                        w.sign(
                            MINER,
                            "lot.ship",
                            record=False,
                            shipment=f"{lot}-x",
                            lots=[lot],
                            to=IMPORTER,
                            certificate=number,
                            seal=f"seal-{c}",
                        )
                    )
            elif kind == "merge":
                w.split(MINER, lot, {f"{lot}a": "6.00", f"{lot}b": "4.00"})
                for c in range(contestants):
                    rivals.append(
                        w.sign(
                            MINER,
                            "lot.merge",
                            record=False,
                            lots=[f"{lot}a", f"{lot}b"],
                            into={"id": f"{lot}m{c}"},
                        )
                    )
            else:
                for c in range(contestants):
                    first = w.sign(
                        MINER,
                        "lot.register",
                        record=False,
                        lot={
                            "id": f"{lot}-r{c}",
                            "kind": "rough_parcel",
                            "carats": "1.00",
                            "stones": 1,
                            "value": {"amount": "10.00", "currency": "USD"},
                            "site": "race-mine",
                        },
                    )
                    body = {**first["body"], "id": f"{lot}-same-id"}
                    rivals.append(sign_body(body, w.actor(MINER).key))
            contests.append(Contest(kind, rivals))
    return list(w.events), contests


def submit_setup(base: str, setup: list[Any], chunk: int = 2000) -> None:
    """POST the setup envelopes in large batches; every one must be accepted."""
    with httpx.Client(base_url=base, timeout=300) as http:
        for start in range(0, len(setup), chunk):
            response = http.post("/v1/events", json=setup[start : start + chunk])
            assert response.status_code == 200, response.text[:2000]
            assert response.json()["refused"] == 0, response.text[:2000]


# One contestant's entry in a slot's request: (race, contestant, envelope).
Entry = tuple[int, int, dict[str, Any]]


@dataclass
class Plan:
    """Who posts what: ``rounds[r][slot]`` is the slot's request in round ``r`` (possibly empty)."""

    rounds: list[list[list[Entry]]]
    slot_of: dict[tuple[int, int], int]


def plan(contests: list[Contest], processes: int, threads: int, wave: int, seed: int = 0) -> Plan:
    """Deal the races into rounds of 1 to ``2 * wave - 1`` races and their contestants onto slots: contestant
    ``c`` goes to process ``c % processes``, to a thread of it no other contestant of the race has."""
    rng = random.Random(seed)
    slots = processes * threads
    rounds: list[list[list[Entry]]] = []
    slot_of: dict[tuple[int, int], int] = {}
    order = list(range(len(contests)))
    rng.shuffle(order)  # rounds mix the kinds
    start = 0
    while start < len(order):
        size = rng.randint(1, 2 * wave - 1)
        requests: list[list[Entry]] = [[] for _ in range(slots)]
        for i in order[start : start + size]:
            free = {p: rng.sample(range(threads), threads) for p in range(processes)}
            for c, envelope in enumerate(contests[i].envelopes):
                p = c % processes
                assert free[p], "more contestants a race than threads to post them"
                slot = p * threads + free[p].pop()
                slot_of[i, c] = slot
                requests[slot].append((i, c, envelope))
        for request in requests:
            rng.shuffle(request)
        rounds.append(requests)
        start += size
    return Plan(rounds, slot_of)


def _slot(base: str, rounds: list[list[Entry]], barrier: Any, out: list[Any]) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        for entries in rounds:
            barrier.wait(300)
            if not entries:
                continue
            sent = time.time()
            response = http.post("/v1/events", params={"mode": "proceed"}, json=[e for _, _, e in entries])
            answered = time.time()
            assert response.status_code == 200, response.text[:2000]
            results = response.json()["results"]
            assert len(results) == len(entries)
            for (i, c, _), r in zip(entries, results, strict=True):
                out.append([i, c, r["status"], r.get("code"), r.get("leaf_hash"), sent, answered])


def process_main(base: str, rounds: list[list[list[Entry]]], barrier: Any, out: str) -> None:
    """One client process: a thread per slot it owns (``rounds[t]``: thread ``t``'s requests, a round
    each), each on its own connection; every answer to ``out`` as JSON."""
    results: list[list[Any]] = [[] for _ in rounds]
    failed: list[BaseException] = []

    def run(t: int) -> None:
        try:
            _slot(base, rounds[t], barrier, results[t])
        except BaseException as exc:
            failed.append(exc)
            barrier.abort()  # the other slots stop waiting instead of hanging
            raise

    threads = [threading.Thread(target=run, args=(t,)) for t in range(len(rounds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    Path(out).write_text(json.dumps([a for r in results for a in r]), encoding="utf-8")


class Answer(NamedTuple):
    """What one contestant was told, and when its request left and its answer came (wall clock)."""

    status: str
    code: str | None
    leaf_hash: str | None
    sent: float
    answered: float


@dataclass
class RaceReport:
    """Per kind: races run, races with exactly one winner, the losers' codes; how the rounds went."""

    races: Counter[str] = field(default_factory=Counter)
    one_winner: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Counter[str]] = field(default_factory=dict)
    rounds: int = 0
    split_rounds: int = 0  # rounds whose races were won by more than one slot
    in_flight_together: int = 0  # races whose contestants' requests were all in flight at one moment
    requests: int = 0
    envelopes: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kinds": {
                k: {
                    "races": self.races[k],
                    "one_winner": self.one_winner[k],
                    "losers": dict(self.codes.get(k, {})),
                }
                for k in self.races
            },
            "rounds": self.rounds,
            "rounds_won_by_several_slots": self.split_rounds,
            "races_all_in_flight_together": self.in_flight_together,
            "requests": self.requests,
            "envelopes": self.envelopes,
        }


def race(
    base: str,
    db: str,
    contests: list[Contest],
    tmp: Path,
    *,
    processes: int = 2,
    threads: int = 4,
    wave: int = 200,
    seed: int = 0,
) -> RaceReport:
    """Run ``contests`` from ``processes`` x ``threads`` slots, rounds of about ``wave`` races; judge them."""
    deal = plan(contests, processes, threads, wave, seed)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes * threads)
    procs, outs = [], []
    for p in range(processes):
        mine = [[requests[p * threads + t] for requests in deal.rounds] for t in range(threads)]
        out = tmp / f"race-{p}.json"
        proc = ctx.Process(target=process_main, args=(base, mine, barrier, str(out)))
        proc.start()
        procs.append(proc)
        outs.append(out)
    for proc in procs:
        proc.join()
    assert all(proc.exitcode == 0 for proc in procs), [proc.exitcode for proc in procs]
    told: dict[int, dict[int, Answer]] = {}
    for out in outs:
        for i, c, *answer in json.loads(out.read_text(encoding="utf-8")):
            told.setdefault(i, {})[c] = Answer(*answer)
    return judge(contests, deal, told, logged_leaves(db))


def logged_leaves(db: str) -> dict[str, str]:
    """Every logged event id with its leaf hash (hex)."""
    engine = create_engine(normalize_url(db))
    try:
        with engine.connect() as conn:
            return {
                row.event_id: leaf_hash(bytes(row.envelope)).hex()
                for row in conn.execute(select(events.c.event_id, events.c.envelope))
            }
    finally:
        engine.dispose()


def judge(
    contests: list[Contest],
    deal: Plan,
    told: dict[int, dict[int, Answer]],
    logged: dict[str, str],
) -> RaceReport:
    """Exactly one contestant accepted a race, the others refused with the kind's codes, and the log holds
    the winner's envelope and no other contestant's."""
    report = RaceReport(rounds=len(deal.rounds))
    report.requests = sum(1 for requests in deal.rounds for r in requests if r)
    winner_slot: dict[int, int] = {}
    for i, contest in enumerate(contests):
        answers = told.get(i, {})
        report.races[contest.kind] += 1
        report.envelopes += len(answers)
        assert sorted(answers) == list(range(len(contest.envelopes))), f"race {i}: answers {answers}"
        winners = [c for c, a in answers.items() if a.status == "accepted"]
        assert len(winners) == 1, f"{contest.kind} race {i}: {answers}"
        for c, a in answers.items():
            if c != winners[0]:
                assert a.status == "refused" and a.code in LOSING_CODES[contest.kind], (
                    f"{contest.kind} race {i}: {answers}"
                )
                report.codes.setdefault(contest.kind, Counter())[str(a.code)] += 1
        if max(a.sent for a in answers.values()) < min(a.answered for a in answers.values()):
            report.in_flight_together += 1
        win = winners[0]
        winner_slot[i] = deal.slot_of[i, win]
        if contest.kind == "event_id":
            # Every contestant has the same id: the logged leaf must be the winner's.
            assert logged[contest.envelopes[win]["body"]["id"]] == answers[win].leaf_hash, (
                f"race {i}: another envelope is logged"
            )
        else:
            in_log = [c for c, e in enumerate(contest.envelopes) if e["body"]["id"] in logged]
            assert in_log == [win], f"{contest.kind} race {i}: contestants {in_log} in the log, winner {win}"
            assert logged[contest.envelopes[win]["body"]["id"]] == answers[win].leaf_hash, (
                f"race {i}: receipt differs"
            )
        report.one_winner[contest.kind] += 1
    for requests in deal.rounds:
        races = {i for r in requests for i, _, _ in r}
        if len({winner_slot[i] for i in races}) > 1:
            report.split_rounds += 1
    return report
