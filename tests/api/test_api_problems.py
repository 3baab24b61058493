"""Every malformed or refused request is an RFC 9457 problem in the one shape, with a 4xx status, the
Adamas code and the field at fault; never a 500. One table of named bad requests, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from served import Served, demo_fixture, problem  # noqa: F401 - demo_fixture is the fixture `demo`

from adamas import (
    AdamasError,
    ConflictError,
    InputError,
    Ledger,
    NotFoundError,
    RuleError,
    StorageError,
    VerificationError,
)
from adamas.api import create_app
from adamas.api.errors import BatchRefusedError, TooLargeError, UnsupportedMediaTypeError, status_of
from adamas.sim import demo_world

JSONL = {"content-type": "application/jsonl"}
DEEP = b"[" * 100_000 + b"]" * 100_000

# name: (method, path, request options, status, code, field)
BAD_REQUESTS: dict[str, tuple[str, str, dict[str, Any], int, str, str | None]] = {
    "unknown lot": ("GET", "/v1/lots/NO-SUCH-LOT", {}, 404, "lot.not_found", "lot"),
    "unknown lot's history": ("GET", "/v1/lots/NO-SUCH-LOT/history", {}, 404, "lot.not_found", "lot"),
    "unknown lot's trace": ("GET", "/v1/lots/NO-SUCH-LOT/trace", {}, 404, "lot.not_found", "lot"),
    "bad trace direction": (
        "GET",
        "/v1/lots/PS-0042-001/trace",
        {"params": {"direction": "up"}},
        400,
        "request.invalid",
        "direction",
    ),
    "limit zero": (
        "GET",
        "/v1/lots/PS-0042-001/history",
        {"params": {"limit": 0}},
        400,
        "request.invalid",
        "limit",
    ),
    "limit too large": (
        "GET",
        "/v1/lots/PS-0042-001/history",
        {"params": {"limit": 1001}},
        400,
        "request.invalid",
        "limit",
    ),
    "limit not a number": (
        "GET",
        "/v1/participants/debswana/events",
        {"params": {"limit": "ten"}},
        400,
        "request.invalid",
        "limit",
    ),
    "cursor of nothing": (
        "GET",
        "/v1/lots/PS-0042-001/history",
        {"params": {"cursor": "garbage!"}},
        400,
        "page.cursor",
        "cursor",
    ),
    "cursor of another list": (
        "GET",
        "/v1/lots/PS-0042-001/trace",
        {"params": {"cursor": "WyJoaXN0b3J5IiwzXQ", "direction": "forward"}},
        400,
        "page.cursor",
        "cursor",
    ),
    "unknown participant": (
        "GET",
        "/v1/participants/nobody",
        {},
        404,
        "participant.not_found",
        "participant",
    ),
    "unknown participant's events": (
        "GET",
        "/v1/participants/nobody/events",
        {},
        404,
        "participant.not_found",
        "participant",
    ),
    "unknown event": ("GET", "/v1/events/evt-none", {}, 404, "event.not_found", "event"),
    "unknown certificate": ("GET", "/v1/certificates/BW-2099-1", {}, 404, "certificate.unknown", "number"),
    "not a certificate number": (
        "GET",
        "/v1/certificates/not%20one",
        {},
        400,
        "certificate.bad_number",
        "number",
    ),
    "unknown certificate to verify": (
        "GET",
        "/v1/certificates/BW-2099-1/verify",
        {},
        404,
        "certificate.unknown",
        "number",
    ),
    "bad evidence kind": ("GET", "/v1/evidence/planet/mars", {}, 400, "request.invalid", "kind"),
    "tile path not canonical": ("GET", "/log/tile/0/x000/000.p/5", {}, 400, "log.tile_path", "path"),
    "tile level out of range": ("GET", "/log/tile/64/000", {}, 400, "log.tile_path", "path"),
    "tile width 256 as partial": ("GET", "/log/tile/0/000.p/256", {}, 400, "log.tile_path", "path"),
    "full tile beyond the tree": ("GET", "/log/tile/0/000", {}, 404, "log.node_missing", "path"),
    "partial tile wider than the tree": ("GET", "/log/tile/0/000.p/200", {}, 404, "log.node_missing", "path"),
    "entry bundle beyond the tree": ("GET", "/log/tile/entries/001", {}, 404, "log.node_missing", "path"),
    "checkpoint of a size never signed": (
        "GET",
        "/log/checkpoints/007",
        {},
        404,
        "log.no_checkpoint",
        "size",
    ),
    "inclusion of a leaf beyond the tree": (
        "GET",
        "/v1/log/proof/inclusion",
        {"params": {"index": 500}},
        400,
        "log.index_out_of_range",
        "index",
    ),
    "inclusion in a size beyond the tree": (
        "GET",
        "/v1/log/proof/inclusion",
        {"params": {"index": 1, "size": 500}},
        400,
        "log.size_order",
        "size",
    ),
    "inclusion without an index": ("GET", "/v1/log/proof/inclusion", {}, 400, "request.invalid", "index"),
    "negative index": (
        "GET",
        "/v1/log/proof/inclusion",
        {"params": {"index": -1}},
        400,
        "request.invalid",
        "index",
    ),
    "consistency backwards": (
        "GET",
        "/v1/log/proof/consistency",
        {"params": {"old": 30, "new": 3}},
        400,
        "log.size_order",
        "old",
    ),
    "consistency beyond the tree": (
        "GET",
        "/v1/log/proof/consistency",
        {"params": {"old": 3, "new": 500}},
        400,
        "log.size_order",
        "new",
    ),
    "unknown route": ("GET", "/v2/anything", {}, 404, "http.not_found", None),
    "wrong method": ("DELETE", "/v1/events", {}, 405, "http.method_not_allowed", None),
    "body not JSON": ("POST", "/v1/events", {"content": b"{nope"}, 400, "request.malformed", "body"),
    "body an object, not an array": (
        "POST",
        "/v1/events",
        {"json": {"body": {}}},
        400,
        "request.malformed",
        "body",
    ),
    "body nested beyond reason": ("POST", "/v1/events", {"content": DEEP}, 400, "request.malformed", "body"),
    "duplicate member names": (
        "POST",
        "/v1/events",
        {"content": b'[{"sig": "a", "sig": "b"}]'},
        400,
        "envelope.malformed",
        "sig",
    ),
    "bad mode": (
        "POST",
        "/v1/events",
        {"json": [], "params": {"mode": "maybe"}},
        400,
        "request.invalid",
        "mode",
    ),
    "unsupported media type": (
        "POST",
        "/v1/events",
        {"content": b"<xml/>", "headers": {"content-type": "application/xml"}},
        415,
        "request.media_type",
        "Content-Type",
    ),
    "JSON line not JSON": (
        "POST",
        "/v1/events",
        {"content": b"{nope\n", "headers": JSONL},
        422,
        "batch.refused",
        None,
    ),
    "JSON line nested beyond reason": (
        "POST",
        "/v1/events",
        {"content": DEEP, "headers": JSONL},
        422,
        "batch.refused",
        None,
    ),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_is_a_problem(demo: Served, name: str) -> None:
    method, path, options, status, code, field = BAD_REQUESTS[name]
    size = demo.client.get("/healthz").json()["log"]["size"]
    problem(demo.client.request(method, path, **options), status, code, field)
    assert demo.client.get("/healthz").json()["log"]["size"] == size


def test_a_refused_json_line_names_its_position_and_code(demo: Served) -> None:
    body = problem(
        demo.client.post("/v1/events", content=b"\n\n{nope\n", headers=JSONL), 422, "batch.refused", None
    )
    assert [(r["position"], r["id"], r["code"]) for r in body["refusals"]] == [
        (0, None, "envelope.malformed")
    ]


@pytest.fixture(name="limited")
def limited_fixture(tmp_path: Path) -> Iterator[TestClient]:
    world, _ = demo_world()
    url = f"sqlite:///{tmp_path / 'limited.db'}"
    with Ledger.open(url, create=True) as ledger:
        ledger.submit(world.events[:3])
    with TestClient(create_app(url, max_body_bytes=1000, max_batch=2)) as client:
        yield client


def test_body_beyond_the_limit_is_413(limited: TestClient) -> None:
    body = problem(
        limited.post("/v1/events", content=b"[" + b" " * 2000 + b"]"), 413, "request.too_large", "body"
    )
    assert body["context"] == {"expected": 1000, "actual": 2002}


def test_chunked_body_beyond_the_limit_is_413(limited: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"["
        for _ in range(30):
            yield b" " * 100
        yield b"]"

    problem(limited.post("/v1/events", content=chunks()), 413, "request.too_large", "body")


def test_batch_beyond_the_limit_is_413(limited: TestClient) -> None:
    body = problem(limited.post("/v1/events", json=[{}, {}, {}]), 413, "batch.too_large", "body")
    assert body["context"] == {"expected": 2, "actual": 3}


def test_storage_failure_is_503_without_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    world, _ = demo_world()
    url = f"sqlite:///{folder / 'gone.db'}"
    with Ledger.open(url, create=True) as ledger:
        ledger.submit(world.events[:3])
    with TestClient(create_app(url)) as client:
        assert client.get("/healthz").status_code == 200
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
        client.app.state.ledger.engine.dispose()  # type: ignore[attr-defined]
        body = problem(client.get("/healthz"), 503, "storage.error", None)
        assert "Traceback" not in body["detail"]


ERRORS: dict[str, tuple[AdamasError, int]] = {
    "input": (InputError("x"), 400),
    "too large": (TooLargeError("x"), 413),
    "media type": (UnsupportedMediaTypeError("x"), 415),
    "rule": (RuleError("x"), 422),
    "batch refused": (BatchRefusedError([]), 422),
    "verification": (VerificationError("x"), 422),
    "not found": (NotFoundError("x"), 404),
    "conflict": (ConflictError("x"), 409),
    "storage": (StorageError("x"), 503),
    "root": (AdamasError("x"), 500),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_every_class_of_the_error_tree_has_its_status(name: str) -> None:
    error, status = ERRORS[name]
    assert status_of(error)[0] == status


def test_a_subclass_defined_elsewhere_takes_its_parents_status() -> None:
    class WitnessRefusedError(VerificationError):
        pass

    assert status_of(WitnessRefusedError("x"))[0] == 422
