"""GET /v1/flags and GET /v1/lots/{id}/risk on a minimal app holding a ledger, as the API service does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from live import LiveLedger

from adamas.errors import AdamasError, InputError, NotFoundError
from adamas.risk import scan
from conftest import basic_world


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    live = LiveLedger(db_url, basic_world())
    w = live.world
    for lot, carats, arrived in (
        ("LA", "100.00", "99.00"),
        ("LB", "50.00", "49.00"),
        ("LC", "10.00", "10.00"),
    ):
        w.produce("miner", lot, "mine-a", carats)
        w.ship("miner", f"s-{lot.lower()}", [lot], "trader")
        w.receive("trader", f"s-{lot.lower()}", {lot: arrived})
    live.flush()
    scan(live.ledger)
    app = FastAPI()
    app.state.ledger = live.ledger

    @app.exception_handler(AdamasError)
    def _problem(request: Request, exc: AdamasError) -> JSONResponse:
        # The API service maps the error tree to problem+json; this stand-in keeps the status and code.
        status = 400 if isinstance(exc, InputError) else 404 if isinstance(exc, NotFoundError) else 422
        return JSONResponse({"code": exc.code, "detail": exc.message}, status_code=status)

    from adamas.api.routes.risk import router

    app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client
    live.close()


def test_flags_are_paged_with_a_cursor_and_filtered(client: TestClient) -> None:
    everything = client.get("/v1/flags").json()
    assert everything["next"] is None and len(everything["items"]) == 2
    first = client.get("/v1/flags", params={"limit": 1}).json()
    second = client.get("/v1/flags", params={"limit": 1, "cursor": first["next"]}).json()
    assert [f["id"] for f in first["items"] + second["items"]] == [f["id"] for f in everything["items"]]
    assert second["next"] is None
    by_lot = client.get(
        "/v1/flags", params={"lot": "LB", "detector": "weight", "country": "BW", "open": "true"}
    )
    assert [f["lots"] for f in by_lot.json()["items"]] == [["LB"]]


def test_a_lots_risk(client: TestClient) -> None:
    risk = client.get("/v1/lots/LA/risk").json()
    assert risk["taint"]["share"] == 1.0 and risk["reasons"][0]["detector"] == "weight"
    assert client.get("/v1/lots/LC/risk").json()["score"] == 0.0


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        pytest.param("/v1/flags", {"detector": "nope"}, 400, "risk.bad_detector", id="unknown-detector"),
        pytest.param("/v1/lots/NOPE/risk", {}, 404, "lot.not_found", id="unknown-lot"),
        pytest.param("/v1/flags", {"cursor": ""}, 400, "risk.bad_cursor", id="empty-cursor"),
    ],
)
def test_bad_requests_are_adamas_errors(
    client: TestClient, path: str, params: dict[str, str], status: int, code: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert response.json()["code"] == code
