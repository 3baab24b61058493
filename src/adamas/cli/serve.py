"""The HTTP service: adamas serve."""

from __future__ import annotations

from typing import Annotated

import typer

from adamas.cli._app import app
from adamas.cli._common import DEFAULT_DB, DbOption, fail
from adamas.errors import AdamasError, InputError


@app.command()
def serve(  # noqa: PLR0917 - one parameter per option, as Typer reads them
    db: DbOption = DEFAULT_DB,
    read_db: Annotated[
        str | None,
        typer.Option(
            "--read-db",
            envvar="ADAMAS_READ_DB",
            help="Answer queries, proofs and tiles from this database (a replica of --db).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    cors_origin: Annotated[
        str | None, typer.Option("--cors-origin", help="Allow browsers on this origin (CORS is off without).")
    ] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body.")] = 8 * 1024 * 1024,
    max_batch: Annotated[int, typer.Option(help="Most envelopes in one batch.")] = 10_000,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    limit_concurrency: Annotated[
        int, typer.Option(help="Open connections a worker serves; past it, 503 at once.")
    ] = 1000,
    timeout_keep_alive: Annotated[
        int, typer.Option(help="Seconds an idle keep-alive connection stays open.")
    ] = 5,
) -> None:
    """Serve the ledger over HTTP: capture and query API, and the log as C2SP tlog-tiles under /log/."""
    from adamas.api import serve as run

    if workers < 1:
        fail(InputError("--workers must be at least 1", code="serve.bad_workers", field="workers"))
    try:
        run(
            db,
            host=host,
            port=port,
            workers=workers,
            read_db=read_db,
            cors_origin=cors_origin,
            max_body_bytes=max_body_bytes,
            max_batch=max_batch,
            access_log=access_log,
            limits={"limit_concurrency": limit_concurrency, "timeout_keep_alive": timeout_keep_alive},
        )
    except AdamasError as exc:
        fail(exc)
