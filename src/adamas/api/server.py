"""Running the service with uvicorn: ``serve`` (what ``adamas serve`` calls).

With one worker the app is built here, in this process, so a ledger that cannot be opened fails before
the port is bound. With several, uvicorn starts each worker from an import string: the settings travel in
environment variables (``adamas.api.settings.ENV``) and each worker builds its app with ``app_from_env``.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from adamas.api.app import create_app
from adamas.api.settings import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY_BYTES, Settings

__all__ = ["CONNECTION_LIMITS", "app_from_env", "serve"]

# uvicorn's protections against slow and abusive clients (docs/operations.md, "Limits"): past
# ``limit_concurrency`` open connections and requests a worker answers 503 at once instead of queueing
# without bound; an idle keep-alive connection is closed after ``timeout_keep_alive`` seconds; a request
# line plus headers over ``h11_max_incomplete_event_size`` bytes is refused (400) before it is parsed; the
# kernel queues at most ``backlog`` connections not yet accepted. The parser is h11, not httptools: httptools
# takes headers of any size (a 4 MB header was read whole), h11 stops at the limit.
CONNECTION_LIMITS: dict[str, int | str] = {
    "http": "h11",
    "limit_concurrency": 1000,
    "timeout_keep_alive": 5,
    "h11_max_incomplete_event_size": 16 * 1024,
    "backlog": 2048,
}


def app_from_env() -> FastAPI:
    """The app of a worker process, from the settings ``serve`` put in the environment."""
    s = Settings.from_env()
    return create_app(
        s.db,
        read_db=s.read_db,
        cors_origin=s.cors_origin,
        max_body_bytes=s.max_body_bytes,
        max_batch=s.max_batch,
    )


def serve(
    db: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    read_db: str | None = None,
    cors_origin: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_batch: int = DEFAULT_MAX_BATCH,
    access_log: bool = True,
    limits: dict[str, int | str] | None = None,
) -> None:
    """Serve the ledger at ``db`` over HTTP until interrupted (``limits``: overrides of CONNECTION_LIMITS)."""
    settings = Settings(db, read_db, cors_origin, max_body_bytes, max_batch)
    options = {"host": host, "port": port, "access_log": access_log, "log_level": "info"}
    options.update({**CONNECTION_LIMITS, **(limits or {})})
    if workers > 1:
        os.environ.update(settings.to_env())
        uvicorn.run("adamas.api.server:app_from_env", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    app = create_app(
        db, read_db=read_db, cors_origin=cors_origin, max_body_bytes=max_body_bytes, max_batch=max_batch
    )
    uvicorn.run(app, **options)  # type: ignore[arg-type]
