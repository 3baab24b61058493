"""Races over HTTP: contestants in several processes and threads, released together by one barrier, each
submitting a different envelope that only one of them may win.

Four kinds (``KINDS``): shipping the same lot, spending the same KP certificate, merging the same lots,
registering under the same event id. Each contest's contestants wait on a shared barrier (processes and
threads alike) and then POST at the same instant to ``adamas serve --workers N``; the judge wants exactly
one 200 ``accepted`` and every other answer a 422 refusal with one of the kind's codes, then reads the
database: exactly one contestant's event is in the log, and it is the winner's.
Shared by tests/reliability/test_races.py (bounded) and benchmarks/races.py (1,000 a kind).
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    w = World(seed="races", start=world_start(12), step_seconds=1, id_prefix=f"{tag}-setup")
    setup: list[Any] = []
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
    setup = list(w.events)
    return setup, contests


def submit_setup(base: str, setup: list[Any], chunk: int = 400) -> None:
    """POST the setup envelopes in batches; every one must be accepted."""
    with httpx.Client(base_url=base, timeout=120) as http:
        for start in range(0, len(setup), chunk):
            response = http.post("/v1/events", json=setup[start : start + chunk])
            assert response.status_code == 200, response.text[:2000]
            assert response.json()["refused"] == 0, response.text[:2000]


def _unit(base: str, contests: list[list[Any]], barrier: Any, out: list[Any]) -> None:
    with httpx.Client(base_url=base, timeout=60) as http:
        for envelope in contests:
            barrier.wait(120)
            response = http.post("/v1/events", json=[envelope])
            body = response.json()
            if response.status_code == 200:
                out.append(
                    [response.status_code, body["results"][0]["status"], body["results"][0].get("leaf_hash")]
                )
            else:
                refusals = body.get("refusals") or [{}]
                out.append([response.status_code, refusals[0].get("code", body.get("code")), None])


def process_main(base: str, contests: list[list[list[Any]]], barrier: Any, out: str) -> None:
    """One contestant process: a thread per contestant slot it owns; answers to ``out`` as JSON."""
    results: list[list[Any]] = [[] for _ in contests]
    threads = [
        threading.Thread(target=_unit, args=(base, mine, barrier, results[t]))
        for t, mine in enumerate(contests)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    Path(out).write_text(json.dumps(results), encoding="utf-8")


@dataclass
class RaceReport:
    """Per kind: races run, races with exactly one winner, the losers' codes."""

    races: Counter[str] = field(default_factory=Counter)
    one_winner: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Counter[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            k: {
                "races": self.races[k],
                "one_winner": self.one_winner[k],
                "losers": dict(self.codes.get(k, {})),
            }
            for k in self.races
        }


def race(
    base: str, db: str, contests: list[Contest], tmp: Path, *, processes: int = 2, threads: int = 2
) -> RaceReport:
    """Run ``contests`` with ``processes`` x ``threads`` contestants each; judge them."""
    slots = processes * threads
    assert all(len(c.envelopes) == slots for c in contests)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(slots)
    procs, outs = [], []
    for p in range(processes):
        mine = [[c.envelopes[p * threads + t] for c in contests] for t in range(threads)]
        out = tmp / f"race-{p}.json"
        proc = ctx.Process(target=process_main, args=(base, mine, barrier, str(out)))
        proc.start()
        procs.append(proc)
        outs.append(out)
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0, f"a contestant process exited with {proc.exitcode}"
    answers = [slot for out in outs for slot in json.loads(out.read_text(encoding="utf-8"))]
    engine = create_engine(normalize_url(db))
    with engine.connect() as conn:
        logged = {
            row.event_id: leaf_hash(bytes(row.envelope)).hex()
            for row in conn.execute(select(events.c.event_id, events.c.envelope))
        }
    engine.dispose()
    report = RaceReport()
    for i, contest in enumerate(contests):
        report.races[contest.kind] += 1
        told = [answers[s][i] for s in range(slots)]
        winners = [s for s, (status, what, _) in enumerate(told) if status == 200 and what == "accepted"]
        losers = [t for t in told if t[0] != 200]
        assert len(winners) == 1, f"{contest.kind} race {i}: {told}"
        for status, code, _ in losers:
            assert status == 422 and code in LOSING_CODES[contest.kind], f"{contest.kind} race {i}: {told}"
            report.codes.setdefault(contest.kind, Counter())[code] += 1
        winner = contest.envelopes[winners[0]]
        in_log = [e for e in contest.envelopes if e["body"]["id"] in logged]
        if contest.kind == "event_id":
            assert logged[winner["body"]["id"]] == told[winners[0]][2], (
                f"race {i}: the log holds another envelope"
            )
        else:
            assert in_log == [winner], f"{contest.kind} race {i}: {len(in_log)} contestants in the log"
        report.one_winner[contest.kind] += 1
    return report
