"""POST /v1/events on both backends: JSON arrays and JSON lines, atomic and proceed, receipts that verify
offline, metrics, and after-batch callbacks that run off the request path."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from served import Served, problem, serve_world

from adamas import Ledger, Receipt, verify_receipt
from adamas.api import BatchCommitted
from adamas.crypto import canonicalize
from conftest import basic_world


@pytest.fixture(name="fresh")
def fresh_fixture(db_url: str) -> Iterator[Served]:
    """A ledger holding the basic world's registrations, served; new events come from ``served.world``."""
    yield from serve_world(db_url, basic_world())


def jsonl(envelopes: list[dict[str, Any]]) -> bytes:
    return b"\n".join(canonicalize(e) for e in envelopes) + b"\n"


def post_jsonl(served: Served, envelopes: list[dict[str, Any]], **params: str) -> Any:
    return served.client.post(
        "/v1/events", content=jsonl(envelopes), headers={"content-type": "application/jsonl"}, params=params
    )


def produce(served: Served, *lots: str) -> list[dict[str, Any]]:
    for lot in lots:
        served.world.produce("miner", lot, "mine-a", "100.00")
    return served.world.events[-len(lots) :]


def size(served: Served) -> int:
    with Ledger.open(served.url) as ledger:
        return ledger.size


def test_jsonl_batch_is_logged_with_receipts_that_verify_offline(fresh: Served) -> None:
    envelopes = produce(fresh, "L-1", "L-2", "L-3")
    before = size(fresh)
    got = post_jsonl(fresh, envelopes)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["accepted"], body["duplicate"], body["refused"]) == (3, 0, 0)
    for position, (result, envelope) in enumerate(zip(body["results"], envelopes, strict=True)):
        assert (result["status"], result["position"], result["id"]) == (
            "accepted",
            position,
            envelope["body"]["id"],
        )
        assert result["index"] == before + position
        checkpoint = verify_receipt(Receipt.from_json(result), fresh.vkey, envelope=canonicalize(envelope))
        assert checkpoint.size == before + 3
    assert fresh.client.get("/v1/lots/L-2").json()["holder"] == "miner"


def test_json_array_batch_is_logged(fresh: Served) -> None:
    envelopes = produce(fresh, "L-1", "L-2")
    got = fresh.client.post("/v1/events", json=envelopes)
    assert got.status_code == 200, got.text
    assert [r["status"] for r in got.json()["results"]] == ["accepted", "accepted"]


def _mixed(served: Served) -> list[dict[str, Any]]:
    """good, a split that loses carats, good, an envelope with a bad signature."""
    good = produce(served, "M-1")[0]
    served.world.split("miner", "M-1", {"M-1a": "50.00", "M-1b": "40.00"})
    bad_split = served.world.events[-1]
    other = produce(served, "M-2")[0]
    forged = produce(served, "M-3")[0]
    forged = {"body": forged["body"], "sig": other["sig"]}
    return [good, bad_split, other, forged]


def test_atomic_refusal_is_422_with_every_refusal_and_writes_nothing(fresh: Served) -> None:
    batch = _mixed(fresh)
    before = size(fresh)
    body = problem(post_jsonl(fresh, batch), 422, "batch.refused", None)
    assert [(r["position"], r["id"], r["code"], r["field"]) for r in body["refusals"]] == [
        (1, batch[1]["body"]["id"], "mass.not_conserved", "into"),
        (3, batch[3]["body"]["id"], "envelope.bad_signature", "sig"),
    ]
    assert all(r["message"] for r in body["refusals"])
    assert size(fresh) == before
    problem(fresh.client.get("/v1/lots/M-1"), 404, "lot.not_found", "lot")


def test_proceed_keeps_the_valid_envelopes(fresh: Served) -> None:
    batch = _mixed(fresh)
    before = size(fresh)
    got = post_jsonl(fresh, batch, mode="proceed")
    assert got.status_code == 200
    body = got.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "refused", "accepted", "refused"]
    assert [r.get("code") for r in body["results"]] == [
        None,
        "mass.not_conserved",
        None,
        "envelope.bad_signature",
    ]
    assert (body["accepted"], body["refused"]) == (2, 2)
    assert size(fresh) == before + 2


def test_a_resubmitted_envelope_is_a_duplicate_with_its_receipt(fresh: Served) -> None:
    envelopes = produce(fresh, "D-1")
    first = post_jsonl(fresh, envelopes).json()["results"][0]
    again = post_jsonl(fresh, envelopes).json()
    assert again["duplicate"] == 1
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["index"] == first["index"]
    verify_receipt(Receipt.from_json(again["results"][0]), fresh.vkey)


def test_an_item_that_is_not_an_envelope_is_refused_at_its_position(fresh: Served) -> None:
    good = produce(fresh, "N-1")[0]
    got = fresh.client.post("/v1/events", json=[good, 7, "text", {"body": {}}], params={"mode": "proceed"})
    assert got.status_code == 200
    assert [(r["status"], r.get("code")) for r in got.json()["results"]] == [
        ("accepted", None),
        ("refused", "envelope.malformed"),
        ("refused", "envelope.malformed"),
        ("refused", "envelope.malformed"),
    ]


def _metric(served: Served, line_start: str) -> float:
    text = served.client.get("/metrics").text
    values = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start + " ")
    ]
    return sum(values)


def test_metrics_count_events_by_outcome_and_batches(fresh: Served) -> None:
    post_jsonl(fresh, produce(fresh, "X-1", "X-2"))
    post_jsonl(fresh, _mixed(fresh))
    assert _metric(fresh, "adamas_events_accepted_total") == 2
    assert _metric(fresh, 'adamas_events_refused_total{code="mass.not_conserved"}') == 1
    assert _metric(fresh, 'adamas_events_refused_total{code="envelope.bad_signature"}') == 1
    assert _metric(fresh, 'adamas_events_refused_total{code="batch.aborted"}') == 2
    assert _metric(fresh, "adamas_batch_seconds_count") == 2
    assert _metric(fresh, "adamas_log_tree_size") == size(fresh)
    fresh.app.state.metrics.witness_cosigned("w1")
    fresh.app.state.metrics.witness_failed("w2", "unreachable")
    assert _metric(fresh, 'adamas_witness_cosignatures_total{witness="w1"}') == 1
    assert _metric(fresh, 'adamas_witness_failures_total{reason="unreachable",witness="w2"}') == 1


def test_after_batch_callbacks_get_the_new_checkpoint_off_the_request_thread(fresh: Served) -> None:
    seen: list[tuple[BatchCommitted, str]] = []
    after_batch = fresh.app.state.after_batch

    @after_batch.register
    def failing(batch: BatchCommitted) -> None:
        raise RuntimeError("a witness that is down")

    after_batch.register(lambda batch: seen.append((batch, threading.current_thread().name)))
    logged = produce(fresh, "H-1", "H-2")
    post_jsonl(fresh, logged)
    assert after_batch.wait_idle()
    ((batch, thread),) = seen
    assert thread == "adamas-after-batch"
    assert (batch.size, batch.accepted) == (size(fresh), 2)
    assert batch.checkpoint == fresh.client.get("/log/checkpoint").text
    assert _metric(fresh, "adamas_after_batch_failures_total") == 1
    # A batch that writes nothing (refused, or only duplicates) calls nobody.
    post_jsonl(fresh, _mixed(fresh))
    assert post_jsonl(fresh, logged).json()["duplicate"] == 2
    assert after_batch.wait_idle()
    assert len(seen) == 1


def test_a_blocked_callback_never_blocks_ingest(fresh: Served) -> None:
    release = threading.Event()
    inside = threading.Event()

    def slow(batch: BatchCommitted) -> None:
        inside.set()
        release.wait(30)

    fresh.app.state.after_batch.register(slow)
    assert post_jsonl(fresh, produce(fresh, "B-1")).status_code == 200
    assert inside.wait(30)
    # The callback is still inside; ingest goes on regardless.
    got = post_jsonl(fresh, produce(fresh, "B-2", "B-3"))
    assert got.status_code == 200 and got.json()["accepted"] == 2
    assert not release.is_set()
    release.set()
    assert fresh.app.state.after_batch.wait_idle()


def test_submit_answers_json(fresh: Served) -> None:
    got = post_jsonl(fresh, produce(fresh, "J-1"))
    assert got.headers["content-type"] == "application/json"
    json.loads(got.content)
