"""Schemathesis against /openapi.json, in process: generated requests (valid and not) to every operation
never get a 5xx, and every answer is of a status, media type and body schema the document declares; then
stateful runs that follow the document's OpenAPI links (src/adamas/api/links.py) from one answer into the
next request, on both backends."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adamas import Ledger
from adamas.api import create_app
from adamas.sim import World, demo_world

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    world, _ = demo_world()
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('schemathesis')) / 'ledger.db'}"
    # Module-scoped, so before the per-test fixed clock: log the world on its own clock.
    with Ledger.open(url, create=True, clock=world.clock) as ledger:
        assert all(o.ok for o in ledger.submit(world.events))
    app = create_app(url)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.after_batch.close()
    app.state.ledger.close()


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_no_request_gets_a_server_error(api_schema: schemathesis.BaseSchema, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    skipped_negative: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Negative input needs something declared to get wrong; an operation without parameters (or
            # with only free-form strings) has none. Positive mode still covers it.
            assert mode is GenerationMode.NEGATIVE, operation.path
            skipped_negative.append(operation.path)
    assert len(skipped_negative) < len(operations) / 2, skipped_negative


@pytest.fixture
def served_world(db_url: str) -> Iterator[tuple[Any, World]]:
    """The demo world logged on ``db_url`` (on its own clock), and an app serving it."""
    world, _ = demo_world()
    with Ledger.open(db_url, create=True, clock=world.clock) as ledger:
        assert all(o.ok for o in ledger.submit(world.events))
    app = create_app(db_url)
    yield app, world
    app.state.after_batch.close()
    app.state.ledger.close()


def test_following_links_never_gets_a_server_error(served_world: tuple[Any, World]) -> None:
    app, world = served_world
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation_ids = {op["operationId"] for ops in schema.raw_schema["paths"].values() for op in ops.values()}
    links = [
        link
        for ops in schema.raw_schema["paths"].values()
        for op in ops.values()
        for answer in op["responses"].values()
        for link in answer.get("links", {}).values()
    ]
    assert len(links) >= 20
    assert all(link["operationId"] in operation_ids for link in links), links
    seen: Counter[tuple[str, int]] = Counter()

    moves = [e for e in world.events if e["body"]["type"].startswith("lot.")]
    # The walk starts only from operations of the link graph (the stateless test covers the others), so that
    # its steps go along links rather than to pages nothing leads to.
    graph = schema.include(
        path_regex=r"^/(healthz|v1/(events|lots|participants|certificates|evidence|log/proof))"
    )

    class Walk(graph.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            # A generated envelope never carries a valid signature (the stateless test covers those), so
            # half the submissions resend one of the world's lot events, whose answer is its receipt and
            # leads on to the lot. Which half, and which envelope, follows from the generated request
            # alone: the ledger never changes (nothing generated is ever written) and every replay of a
            # scenario sees the same answers, as Hypothesis requires.
            if case.operation.method.upper() == "POST":
                drawn = zlib.crc32(repr((case.query, case.body)).encode())
                if drawn % 2 == 0:
                    case.body = [moves[drawn // 2 % len(moves)]]
                    case.media_type = "application/json"

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            seen[case.operation.label, response.status_code] += 1
            if "lots" in case.operation.label:
                print("LOT", case.path_parameters, response.status_code)
            case.validate_response(response, checks=CHECKS)

    Walk.run(
        settings=settings(
            max_examples=80,
            # Generate only: the ledger keeps what a scenario wrote, so a replay would not see the same state.
            phases=[Phase.generate],
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same walk every run: a failure reproduces
        )
    )
    assert not [k for k in seen if k[1] >= 500], seen
    # The links led somewhere real: submitted events were read back, participants, proofs and lots found.
    reached = {label for (label, status) in seen if status == 200}
    assert {
        "POST /v1/events",
        "GET /v1/events/{event_id}",
        "GET /v1/participants/{participant_id}",
        "GET /v1/log/proof/inclusion",
    } <= reached, sorted(seen.items())
    assert any(label.startswith("GET /v1/lots/{lot_id}") for label in reached), sorted(seen.items())
