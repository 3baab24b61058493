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

__all__ = ["app_from_env", "serve"]


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
) -> None:
    """Serve the ledger at ``db`` over HTTP until interrupted."""
    settings = Settings(db, read_db, cors_origin, max_body_bytes, max_batch)
    options = {"host": host, "port": port, "access_log": access_log, "log_level": "info"}
    if workers > 1:
        os.environ.update(settings.to_env())
        uvicorn.run("adamas.api.server:app_from_env", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    app = create_app(
        db, read_db=read_db, cors_origin=cors_origin, max_body_bytes=max_body_bytes, max_batch=max_batch
    )
    uvicorn.run(app, **options)  # type: ignore[arg-type]
