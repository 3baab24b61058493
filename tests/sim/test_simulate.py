"""The world simulator: deterministic logs, precise ground truth, refused attempts, keys, and clean errors."""

from __future__ import annotations

import json
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from adamas import Ledger
from adamas.crypto import KeyPair
from adamas.crypto.keys import load_private_key
from adamas.errors import AdamasError
from adamas.model.values import parse_time
from adamas.sim.fraud import ATTEMPTS, SCENARIOS
from adamas.sim.participants import G7
from adamas.sim.simulate import Options, Summary, parse_fraud, simulate
from adamas.sim.truth import Truth, score
from adamas.store import schema

SMALL = Options(year=2023, scale=1e-5, seed=11)


def _leaves(url: str) -> list[bytes]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [
                r[0] for r in conn.execute(select(schema.events.c.envelope).order_by(schema.events.c.seq))
            ]
    finally:
        engine.dispose()


def test_same_seed_gives_a_byte_identical_log(db_url: str, tmp_path: Path) -> None:
    first, _ = simulate(db_url, SMALL)
    again, _ = simulate(f"sqlite:///{tmp_path / 'again.db'}", SMALL)
    assert (first.size, first.root) == (again.size, again.root)
    assert _leaves(db_url) == _leaves(f"sqlite:///{tmp_path / 'again.db'}")
    other, _ = simulate(f"sqlite:///{tmp_path / 'other.db'}", Options(seed=12, fraud=()))
    assert other.root != first.root


@dataclass
class Built:
    url: str
    summary: Summary
    truth: Truth
    keys: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("world")
    url = f"sqlite:///{folder / 'world.db'}"
    summary, truth = simulate(url, SMALL, keys_dir=folder / "keys")
    return Built(url, summary, truth, folder / "keys")


@pytest.fixture
def ledger(built: Built) -> Iterator[Ledger]:
    with Ledger.open(built.url) as opened:
        yield opened


def _rows(ledger: Ledger, table: Any) -> list[Any]:
    with ledger.engine.connect() as conn:
        return list(conn.execute(select(table)))


def _bodies(ledger: Ledger) -> dict[str, dict[str, Any]]:
    return {r.event_id: json.loads(r.envelope)["body"] for r in _rows(ledger, schema.events)}


def test_every_scenario_has_a_case_made_of_logged_events(built: Built, ledger: Ledger) -> None:
    truth = built.truth.to_json()
    scenarios = {c["scenario"] for c in truth["cases"]}
    assert scenarios == set(SCENARIOS) - ATTEMPTS
    bodies = _bodies(ledger)
    for case in truth["cases"]:
        assert case["events"] and set(case["events"]) <= set(bodies), case["id"]
        assert case["lots"] and case["participants"] and case["countries"], case["id"]
        times = [parse_time(bodies[e]["time"], "t") for e in case["events"]]
        assert case["period"]["from"] <= min(bodies[e]["time"] for e in case["events"])
        assert max(times) <= parse_time(case["period"]["until"], "t")


def test_every_flag_of_the_world_belongs_to_a_case(built: Built, ledger: Ledger) -> None:
    """Honest trade raises no flag: each flag the rules raised is on an event of a labelled case."""
    in_cases = {e: c.scenario for c in built.truth.cases for e in c.events}
    flags = [(r.event, r.code) for r in _rows(ledger, schema.flags)]
    assert flags
    assert {code for _, code in flags} >= {
        "receive.weight_mismatch",
        "manufacture.high_yield",
        "grade.not_natural",
        "attest.not_natural",
        "key.compromised",
    }
    expected = {
        "receive.weight_mismatch": "weight_skim",
        "certificate.quantity_mismatch": "weight_skim",
        "manufacture.high_yield": "lab_grown_substitution",
        "grade.not_natural": "lab_grown_substitution",
        "attest.not_natural": "lab_grown_substitution",
        "key.compromised": "compromised_key",
    }
    for event, code in flags:
        assert in_cases.get(event) == expected[code], (event, code)


def test_russian_goods_reach_the_g7_only_in_the_sanctioned_case(built: Built, ledger: Ledger) -> None:
    sites = {r.id: r.country for r in _rows(ledger, schema.sites)}
    countries = {r.id: r.country for r in _rows(ledger, schema.participants)}
    case_lots = {lot for c in built.truth.cases if c.scenario == "sanctioned_relabel" for lot in c.lots}
    reached = set()
    for lot in _rows(ledger, schema.lots):
        origin = json.loads(lot.origin)
        if countries.get(lot.holder) in G7 and any(sites[s] == "RU" for s in origin):
            reached.add(lot.id)
    assert reached and reached <= case_lots
    sold = [r for r in _rows(ledger, schema.lots) if r.id in reached and r.state == "sold"]
    assert sold and all(r.kind == "polished" and r.carats < 50 for r in sold)


def _case(truth: Truth, scenario: str) -> Any:
    (case,) = [c for c in truth.cases if c.scenario == scenario]
    return case


def test_case_signals_are_in_the_signed_events(built: Built, ledger: Ledger) -> None:
    bodies = _bodies(ledger)
    truth = built.truth
    sites = {
        json.loads(r.envelope)["body"]["site"]["id"]: json.loads(r.envelope)["body"]["site"]
        for r in _rows(ledger, schema.events)
        if r.type == "site.register"
    }
    # production_spike: the case's registrations alone exceed twice the mine's licensed capacity.
    spike = _case(truth, "production_spike")
    registered = sum(Decimal(bodies[e]["lot"]["carats"]) for e in spike.events)
    assert registered > 2 * Decimal(sites[spike.sites[0]]["annual_capacity"])
    # undervaluation and overvaluation: declared value per carat far from the lots' worth.
    for scenario, low, high in (("undervaluation", 0, 0.3), ("overvaluation", 3, 10)):
        case = _case(truth, scenario)
        for shipment in case.details["shipments"]:
            ratio = shipment["declared_factor"]
            assert low <= ratio <= high
        certificates = [
            bodies[e]["certificate"] for e in case.events if bodies[e]["type"] == "certificate.issue"
        ]
        assert certificates
    # neighbour_laundering: the source country is suspended, the mine is its neighbour's.
    laundering = _case(truth, "neighbour_laundering")
    assert sites[laundering.details["via_mine"]]["country"] == laundering.details["via_country"]
    assert laundering.details["source_country"] in laundering.countries
    # round_trip: the same lot leaves and comes back, its declared value rising.
    trip = _case(truth, "round_trip")
    ships = [bodies[e] for e in trip.events if bodies[e]["type"] == "lot.ship"]
    assert len(ships) == 3 and ships[0]["actor"] == ships[1]["to"] == ships[2]["actor"]
    values = [Decimal(s["value"]["amount"]) for s in ships]
    assert values[0] < values[1] < values[2]
    # compromised_key: the case's shipments are signed by the revoked key.
    stolen = _case(truth, "compromised_key")
    signed = {bodies[e]["key"] for e in stolen.events if bodies[e]["type"] == "lot.ship"}
    assert signed == {stolen.details["key"]}


def test_attempts_are_refused_counted_and_not_logged(built: Built, ledger: Ledger) -> None:
    attempts = built.truth.attempts
    assert {a.scenario for a in attempts} >= {"forged_certificate", "reused_certificate"}
    assert built.summary.refusals == dict(Counter(a.code for a in attempts))
    assert not {a.event for a in attempts} & set(_bodies(ledger))


def test_keys_dir_holds_every_participant_key_readable_by_its_owner_only(
    built: Built, ledger: Ledger
) -> None:
    registered = {(r.participant, bytes(r.public_key)) for r in _rows(ledger, schema.keys)}
    files = sorted(built.keys.glob("*.pem"))
    assert len(files) == built.summary.participants == len({p for p, _ in registered})
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        key: KeyPair = load_private_key(path)
        assert (path.stem, key.public_key) in registered


def test_truth_file_scores_a_detector(built: Built, tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    built.truth.write(path)
    truth = json.loads(path.read_text(encoding="utf-8"))
    assert truth["log"] == {"size": built.summary.size, "root": built.summary.root}
    skim = next(c for c in truth["cases"] if c["scenario"] == "weight_skim")
    alerts = [
        {"kind": "event", "id": skim["events"][-1], "scenario": "weight_skim"},
        {"kind": "lot", "id": "no-such-lot", "scenario": "weight_skim"},
    ]
    result = score(truth, alerts, "weight_skim")
    assert (result.recall, result.precision) == (1.0, 0.5)
    assert score(truth, [], "round_trip").recall == 0.0


def test_a_ledger_whose_log_ran_later_is_refused(db_url: str) -> None:
    key = KeyPair.from_seed(bytes(32))
    Ledger.init(db_url, admin_key=key, clock=lambda: parse_time("2026-03-01T00:00:00Z", "t")).close()
    with pytest.raises(AdamasError) as caught:
        simulate(db_url, Options(fraud=()))
    assert caught.value.code == "sim.log_ahead"
    with Ledger.open(db_url) as ledger:
        assert ledger.size == 1


def test_a_ledger_that_ran_earlier_is_refused_too(sqlite_url: str) -> None:
    key = KeyPair.from_seed(bytes(32))
    Ledger.init(sqlite_url, admin_key=key, clock=lambda: parse_time("2001-03-01T00:00:00Z", "t")).close()
    with pytest.raises(AdamasError) as caught:
        simulate(sqlite_url, Options(fraud=()))
    assert caught.value.code == "sim.ledger_not_empty"


@pytest.mark.parametrize(
    ("options", "code"),
    [
        pytest.param(Options(year=1990), "sim.no_data", id="year-without-kp-figures"),
        pytest.param(Options(year=2031), "sim.no_data", id="future-year"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    options: Options, code: str, tmp_path: Path
) -> None:
    with pytest.raises(AdamasError) as caught:
        simulate(f"sqlite:///{tmp_path / 'x.db'}", options)
    assert caught.value.code == code
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", SCENARIOS),
        ("none", ()),
        ("weight_skim,round_trip,weight_skim", ("round_trip", "weight_skim")),
    ],
)
def test_fraud_option_names_scenarios(text: str, expected: tuple[str, ...]) -> None:
    assert parse_fraud(text) == expected


def test_unknown_fraud_scenario_is_refused() -> None:
    with pytest.raises(AdamasError) as caught:
        parse_fraud("weight_skim,teleportation")
    assert caught.value.code == "sim.unknown_scenario"
    assert caught.value.field == "fraud"


def test_logged_time_tracks_declared_time_through_the_year(tmp_path: Path) -> None:
    """The simulated clock: every event, policy included, is logged within a week after its declared time,
    and logged times never decrease (2024: the G7 steps are logged when they take effect)."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    simulate(url, Options(year=2024, scale=1e-5, seed=5, fraud=("sanctioned_relabel",)))
    with Ledger.open(url) as opened:
        rows = _rows(opened, schema.events)
    week = 7 * 86_400 * 10**9
    logged = [r.logged_ns for r in sorted(rows, key=lambda r: r.seq)]
    assert logged == sorted(logged)
    assert all(0 <= r.logged_ns - r.time_ns < week for r in rows)
    sanctions = [r for r in rows if r.type == "sanction.set"]
    assert len(sanctions) == 3 and all(r.logged_ns - r.time_ns < 86_400 * 10**9 for r in sanctions)
