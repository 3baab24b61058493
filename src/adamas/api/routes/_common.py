"""What the route modules share: the problem responses to document, and page parameters."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Query

from adamas.api.errors import PROBLEM_JSON
from adamas.api.models import Problem
from adamas.ledger.pages import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT

__all__ = ["Cursor", "Limit", "problems"]

_DESCRIPTIONS: Final = {
    400: "Malformed request (problem+json with the code and the field at fault).",
    404: "Not in the ledger.",
    409: "Conflict.",
    413: "Request body or batch beyond the limits.",
    415: "Unsupported media type.",
    422: "Refused: a rule, or a verification, failed.",
    503: "The database is unreachable.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these statuses (and 503), each a problem+json ``Problem``."""
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS[status], "content": {PROBLEM_JSON: {}}}
        for status in (*statuses, 503)
    }


Cursor = Annotated[
    str | None,
    Query(max_length=512, description="The `next` of the previous page; absent for the first page."),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT, description="Items per page.")]
DEFAULT_LIMIT: Final = DEFAULT_PAGE_LIMIT
