"""The witness's HTTP face: ``POST /add-checkpoint`` exactly as C2SP tlog-witness@v1.0.0 defines it.

This is the only place where a witness's refusals become HTTP statuses:

    witness.malformed, witness.old_size   400 Bad Request
    witness.untrusted                     403 Forbidden
    witness.unknown_log                   404 Not Found
    witness.size_mismatch,
    witness.root_mismatch                 409 Conflict, body "<witness's size>\\n", text/x.tlog.size
    request body over the limit           413 Content Too Large
    witness.bad_proof                     422 Unprocessable Entity
    200: the cosignature line(s), text/plain

Other refusal bodies are one ``<code>: <message>`` line of text/plain. Requests are read whole (up to
``MAX_BODY`` bytes) and checked in a worker thread; concurrent requests are safe because the state is
updated by compare-and-swap (``adamas.witness.state``).
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from adamas.errors import AdamasError
from adamas.witness.witness import Witness

__all__ = ["MAX_BODY", "SIZE_CONTENT_TYPE", "create_app", "serve"]

MAX_BODY: Final = 256 * 1024
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
_STATUS: Final = {
    "witness.malformed": 400,
    "witness.old_size": 400,
    "witness.untrusted": 403,
    "witness.unknown_log": 404,
    "witness.size_mismatch": 409,
    "witness.root_mismatch": 409,
    "witness.bad_proof": 422,
}


def create_app(witness: Witness) -> FastAPI:
    """The ASGI application of ``witness``."""
    app = FastAPI(
        title=f"Adamas witness {witness.name}",
        summary="C2SP tlog-witness v1.0.0",
        docs_url=None,
        redoc_url=None,
    )

    @app.post("/add-checkpoint", response_class=PlainTextResponse)
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse(f"witness.too_large: the body exceeds {MAX_BODY} bytes\n", 413)
        try:
            lines = await run_in_threadpool(witness.add_checkpoint, bytes(body))
        except AdamasError as exc:
            return _refusal(exc)
        return PlainTextResponse(lines)

    @app.get("/", response_class=PlainTextResponse)
    def about() -> str:
        """The witness's vkey and the logs it witnesses (not part of the spec: a courtesy to operators)."""
        return "".join([witness.vkey + "\n", *(f"log {origin}\n" for origin in witness.origins)])

    return app


def _refusal(exc: AdamasError) -> Response:
    status = _STATUS.get(exc.code)
    if status is None:
        # Storage failures and anything unforeseen: the witness is at fault, not the request.
        return PlainTextResponse(f"{exc.code}: {exc.message}\n", 500)
    if status == 409:
        # The response body MUST be the tree size of the latest cosigned checkpoint in decimal.
        # Set as a header, not a media type, so that no charset parameter is appended to it.
        return Response(f"{exc.context['size']}\n", 409, headers={"content-type": SIZE_CONTENT_TYPE})
    return PlainTextResponse(f"{exc.code}: {exc.message}\n", status)


def serve(witness: Witness, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the witness with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(witness), host=host, port=port, log_level="warning")
