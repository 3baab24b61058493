"""Every error the HTTP service answers, as RFC 9457 problem details (``application/problem+json``).

One shape for all of them: ``type`` (``urn:adamas:problem:<code>``), ``title``, ``status``, ``detail`` (the
error's message), ``code`` (the stable Adamas code), ``field`` (the input at fault, or null) and, when the
error has any, ``context``. A refused atomic batch adds ``refusals``: one ``{position, id, code, field,
message}`` per refused envelope. HTTP statuses exist only here, mapped from the ``AdamasError`` tree:

    InputError            400   (TooLargeError 413, UnsupportedMediaTypeError 415)
    RuleError             422   (BatchRefusedError 422, with every refusal)
    VerificationError     422
    NotFoundError         404
    ConflictError         409
    StorageError          503   the database is unreachable or failing; nothing the client can fix
    (SQLAlchemy's OperationalError / InterfaceError: 503 ``storage.unavailable``, the database went away)
    AdamasError (other)   500

FastAPI's request validation (a bad query or path parameter) is a 400 ``request.invalid`` naming the
parameter; routing errors keep their status (404 ``http.not_found``, 405 ``http.method_not_allowed``); any
other exception is a 500 ``internal`` problem without a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from adamas.errors import (
    AdamasError,
    ConflictError,
    InputError,
    NotFoundError,
    RuleError,
    StorageError,
    VerificationError,
)
from adamas.ledger import Outcome

__all__ = [
    "PROBLEM_JSON",
    "BatchRefusedError",
    "TooLargeError",
    "UnsupportedMediaTypeError",
    "install_error_handlers",
    "problem_response",
    "status_of",
]

PROBLEM_JSON: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:adamas:problem:"
log = logging.getLogger("adamas.api")


class TooLargeError(InputError):
    """A request body or a batch beyond the service's limits."""

    default_code = "request.too_large"


class UnsupportedMediaTypeError(InputError):
    """A request body in a media type the endpoint does not read."""

    default_code = "request.media_type"


class BatchRefusedError(RuleError):
    """An atomic batch with at least one refused envelope: nothing of it was written."""

    default_code = "batch.refused"

    def __init__(self, outcomes: Sequence[Outcome]) -> None:
        refused = [o for o in outcomes if o.status == "refused"]
        first = refused[0].error if refused and refused[0].error is not None else None
        super().__init__(
            f"the atomic batch was refused ({len(refused)} of {len(outcomes)} envelopes); nothing was "
            "written" + (f"; first refusal: {first.code}: {first.message}" if first else ""),
            field=None,
        )
        self.refusals = [_refusal(o) for o in refused]


def _refusal(outcome: Outcome) -> dict[str, Any]:
    error = outcome.error
    assert error is not None
    return {
        "position": outcome.position,
        "id": outcome.event_id,
        "code": error.code,
        "field": error.field,
        "message": error.message,
    }


# Most specific first: the status of an error is that of the first class of its MRO listed here.
_STATUSES: Final[dict[type[AdamasError], tuple[int, str]]] = {
    TooLargeError: (413, "Request too large"),
    UnsupportedMediaTypeError: (415, "Unsupported media type"),
    BatchRefusedError: (422, "Batch refused"),
    InputError: (400, "Invalid request"),
    RuleError: (422, "Rule violated"),
    VerificationError: (422, "Verification failed"),
    NotFoundError: (404, "Not found"),
    ConflictError: (409, "Conflict"),
    StorageError: (503, "Storage unavailable"),
    AdamasError: (500, "Internal error"),
}


def status_of(error: AdamasError) -> tuple[int, str]:
    """The HTTP status and problem title for an error, by the nearest class of the tree."""
    for cls in type(error).__mro__:
        if cls in _STATUSES:
            return _STATUSES[cls]
    return 500, "Internal error"  # pragma: no cover - every AdamasError has AdamasError in its MRO


def _json_safe(value: Any) -> Any:
    """Context values as JSON (bytes in hex, anything else unknown as its string)."""
    return json.loads(json.dumps(value, default=lambda v: v.hex() if isinstance(v, bytes) else str(v)))


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    field: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An ``application/problem+json`` response in the one shape this module describes."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "field": field,
    }
    if extra:
        body.update(extra)
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def adamas_problem(error: AdamasError) -> Response:
    """The problem response for an ``AdamasError``."""
    status, title = status_of(error)
    extra: dict[str, Any] = {}
    if error.context:
        extra["context"] = _json_safe(error.context)
    if isinstance(error, BatchRefusedError):
        extra["refusals"] = error.refusals
    return problem_response(status, error.code, error.message, title=title, field=error.field, extra=extra)


async def _on_adamas_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdamasError)
    return adamas_problem(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    location = [str(part) for part in first.get("loc", ())]
    # ("query", "limit") -> "limit": the parameter's own name is the field at fault.
    field = ".".join(location[1:]) or None
    message = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
        for e in errors
    )
    return problem_response(
        400, "request.invalid", message or "invalid request", title="Invalid request", field=field
    )


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "http.not_found", 405: "http.method_not_allowed"}
    code = codes.get(exc.status_code, f"http.{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, headers=getattr(exc, "headers", None))


async def _on_storage_failure(request: Request, exc: Exception) -> Response:
    # The database went away under a request (PostgreSQL restarted, a connection cut): the transaction
    # rolled back, nothing was written, and the same request succeeds once the database is back.
    log.warning("storage unavailable answering %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503,
        "storage.unavailable",
        "the database is unavailable; nothing was written, retry later",
        title="Storage unavailable",
        headers={"retry-after": "1"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal", "the service failed to answer this request")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""
    app.add_exception_handler(AdamasError, _on_adamas_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(OperationalError, _on_storage_failure)
    app.add_exception_handler(InterfaceError, _on_storage_failure)
    app.add_exception_handler(Exception, _on_unexpected)
