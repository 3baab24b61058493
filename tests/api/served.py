"""Fixtures and checks of the HTTP service tests: the demo world's ledger behind an in-process app.

Test modules import the fixtures they use (``from served import demo_fixture``: the fixture ``demo``); this
is not a conftest.py, so that the tests' own ``conftest`` stays the one at the top.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adamas import Ledger
from adamas.api import create_app
from adamas.sim import World, demo_world


@dataclass
class Served:
    """An app over a ledger holding ``world``, and a client of it."""

    client: TestClient
    app: FastAPI
    world: World
    url: str
    vkey: str
    star: str = ""


ANY_FIELD: Any = object()


def problem(response: Any, status: int, code: str, field: str | None = ANY_FIELD) -> dict[str, Any]:
    """Check that ``response`` is the one problem shape, with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code", "field"} <= body.keys(), body
    assert body["type"] == f"urn:adamas:problem:{code}"
    assert (body["status"], body["code"]) == (status, code), body
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not ANY_FIELD:
        assert body["field"] == field, body
    return body


def serve_world(url: str, world: World, upto: int | None = None) -> Iterator[Served]:
    """Store the first ``upto`` events of ``world`` (all by default), then serve the ledger."""
    with Ledger.open(url, create=True) as ledger:
        outcomes = ledger.submit(world.events[:upto])
        assert all(o.status == "accepted" for o in outcomes), [o.to_json() for o in outcomes if not o.ok]
        vkey = ledger.vkey
    app = create_app(url)
    with TestClient(app) as client:
        yield Served(client, app, world, url, vkey)


@pytest.fixture(name="demo")
def demo_fixture(db_url: str) -> Iterator[Served]:
    """The demo world, served."""
    world, star = demo_world()
    for served in serve_world(db_url, world):
        served.star = star
        yield served


def walk_pages(client: TestClient, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of a paged list, following ``next`` from the first page."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next"]
        if cursor is None:
            return pages
        assert len(pages) < 10_000
