"""``audit --db --jobs N``: envelope checks in N worker processes name the same faults, at the same leaves, in
the same order as one process, including keys registered by one worker's slice and used in another's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from adamas import Ledger, audit
from adamas.cli import app
from adamas.crypto import canonicalize
from adamas.ledger import audit_db
from adamas.ledger.audit_signatures import ParallelEnvelopeCheck
from adamas.model.signing import sign_body
from conftest import basic_world
from log_helpers import log_behind_the_rules, log_entries_behind_the_rules


def _forge(envelope: dict[str, Any]) -> dict[str, Any]:
    sig = envelope["sig"]
    return {"body": envelope["body"], "sig": ("B" if sig[0] == "A" else "A") + sig[1:]}


def _faults(report: Any) -> list[tuple[str, int | None, str]]:
    return [(f.code, f.leaf, f.message) for f in report.faults]


@pytest.fixture
def forged(db_url: str, open_ledger: Callable[[str], Ledger]) -> tuple[str, int, int]:
    """A ledger whose log holds, behind the rules: a forged produce, a newcomer registered with a forged
    signature and then signing with the key it would have brought; and honest events around them.
    Returns the URL, the forged produce's leaf and the newcomer's first signed leaf."""
    world = basic_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    size = ledger.size
    world.produce("miner", "LOT-1", "mine-a", "1.00", stones=1)
    world.produce("miner", "LOT-F", "mine-a", "2.00", stones=1)
    world.register("bw-authority", "newcomer", "BW", ["trader"])
    world.register("bw-authority", "honest", "BW", ["trader"])
    for name in ("newcomer", "honest"):
        key = world.key_for(name, 1)
        world.sign(
            name, "key.add", participant=name, new_key={"id": key.id, "public_key": key.public_key_b64}
        )
    world.produce("miner", "LOT-2", "mine-a", "3.00", stones=1)
    logged = world.events[size:]
    logged[1] = _forge(logged[1])
    logged[2] = _forge(logged[2])
    log_behind_the_rules(ledger, logged)
    return db_url, size + 1, size + 4


def test_a_forged_signature_is_named_at_its_leaf_with_any_number_of_jobs(
    forged: tuple[str, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, forged_leaf, newcomer_leaf = forged
    monkeypatch.setattr(audit_db.DatabaseAudit, "sign_min", 1)
    parallel: list[int] = []
    check_chunk = ParallelEnvelopeCheck.check_chunk

    def spy(self: ParallelEnvelopeCheck, start: int, *args: Any) -> None:
        parallel.append(start)
        check_chunk(self, start, *args)

    monkeypatch.setattr(ParallelEnvelopeCheck, "check_chunk", spy)
    one = audit(db=url, jobs=1)
    assert not parallel
    expected = [
        ("audit.signature", forged_leaf, f"leaf {forged_leaf}: the signature does not verify under key "),
        ("audit.signature", forged_leaf + 1, ""),
        ("audit.unknown_key", newcomer_leaf, ""),
    ]
    assert [(code, leaf) for code, leaf, _ in _faults(one)] == [(c, leaf) for c, leaf, _ in expected]
    assert _faults(one)[0][2].startswith(expected[0][2])
    assert "which no earlier leaf registered for newcomer" in _faults(one)[2][2]
    for jobs in (2, 3):
        many = audit(db=url, jobs=jobs)
        assert parallel, "the envelopes were not checked by workers"
        parallel.clear()
        assert _faults(many) == _faults(one)
        assert (many.envelopes, many.fault_count, many.size) == (one.envelopes, one.fault_count, one.size)


def _framed(envelope: dict[str, Any]) -> bytes:
    """An envelope in the canonical frame, whatever its body (the schema is not asked)."""
    return b'{"body":' + canonicalize(envelope["body"]) + b',"sig":"' + envelope["sig"].encode() + b'"}'


def test_faults_in_custody_entries_are_named_as_before_with_any_number_of_jobs(
    db_url: str, open_ledger: Callable[[str], Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lean check of custody entries (``adamas.audit_lean``) lets none of these through, on one process
    or in workers: a respelled envelope, a signed body the schema refuses, a signature by another key than
    the one named, a key that is not the signer's, and custody signed with a key a forged registration
    brought."""
    monkeypatch.setattr(audit_db.DatabaseAudit, "sign_min", 1)
    world = basic_world()
    ledger = open_ledger(db_url)
    assert all(o.ok for o in ledger.submit(world.events))
    first = ledger.size
    world.produce("miner", "LOT-1", "mine-a", "1.00", stones=1)
    honest = world.events[first]
    miner, trader = world.actor("miner"), world.actor("trader")
    body = {**honest["body"], "id": "evt-respelled", "lot": {**honest["body"]["lot"], "id": "LOT-R"}}
    respelled = json.dumps(sign_body(body, miner.key)).encode()  # white space: not the canonical form
    body = {**honest["body"], "id": "evt-zero-carats", "lot": {**honest["body"]["lot"], "carats": "0.00"}}
    refused = _framed(sign_body(body, miner.key))
    body = {**honest["body"], "id": "evt-other-key"}
    other_key = _framed({"body": body, "sig": sign_body({**body, "key": trader.key.id}, trader.key)["sig"]})
    body = {**honest["body"], "id": "evt-not-his-key", "key": trader.key.id}
    not_his = _framed(sign_body(body, trader.key))
    world.register("bw-authority", "newcomer", "BW", ["trader"])
    world.produce("newcomer", "LOT-N", "mine-a", "1.00", stones=1)
    log_behind_the_rules(ledger, [honest])
    log_entries_behind_the_rules(ledger, [respelled, refused, other_key, not_his])
    log_behind_the_rules(ledger, [_forge(world.events[-2]), world.events[-1]])
    one = audit(db=db_url, jobs=1)
    a = first + 1
    assert _faults(one) == [
        ("audit.envelope", a, f"leaf {a} is not its envelope's canonical form"),
        (
            "audit.envelope",
            a + 1,
            f"leaf {a + 1} is not an Adamas envelope: event.schema: lot.carats must be positive; got '0.00'",
        ),
        ("audit.signature", a + 2, f"leaf {a + 2}: the signature does not verify under key {miner.key.id}"),
        (
            "audit.unknown_key",
            a + 3,
            f"leaf {a + 3} is signed with key {trader.key.id}, which no earlier leaf registered for miner",
        ),
        ("audit.signature", a + 4, _faults(one)[4][2]),
        ("audit.unknown_key", a + 5, _faults(one)[5][2]),
    ]
    assert one.envelopes == first + 1
    for jobs in (2, 3):
        many = audit(db=db_url, jobs=jobs)
        assert _faults(many) == _faults(one)
        assert (many.envelopes, many.fault_count) == (one.envelopes, one.fault_count)


def test_the_cli_takes_jobs(forged: tuple[str, int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    url, forged_leaf, _ = forged
    monkeypatch.setattr(audit_db.DatabaseAudit, "sign_min", 1)
    outputs = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(app, ["audit", "--db", url, "--jobs", jobs, "--json"])
        assert result.exit_code == 1
        outputs.append(result.stdout)
        assert f'"leaf": {forged_leaf}' in result.stdout
    assert outputs[0] == outputs[1]
    result = CliRunner().invoke(app, ["audit", "--db", url, "--jobs", "0"])
    assert result.exit_code == 2


def test_the_tile_worker_runs_only_on_a_core_no_signature_worker_takes(
    forged: tuple[str, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, _ = forged
    monkeypatch.setattr(audit_db.DatabaseAudit, "sign_min", 1)
    monkeypatch.setattr(audit_db.DatabaseAudit, "worker_min", 1)
    monkeypatch.setattr(audit_db.os, "cpu_count", lambda: 3)
    started: list[int] = []
    tile_worker = audit_db.TileWorker

    def spy() -> Any:
        started.append(1)
        return tile_worker()

    monkeypatch.setattr(audit_db, "TileWorker", spy)
    reports = {}
    for jobs in (1, 2, 3):
        started.clear()
        reports[jobs] = audit(db=url, jobs=jobs)
        assert bool(started) == (jobs < 3), jobs
    assert _faults(reports[1]) == _faults(reports[2]) == _faults(reports[3])
    assert reports[1].tiles == reports[3].tiles
