"""The request body limit, as ASGI middleware: a body beyond ``max_bytes`` is a 413 problem.

A declared ``Content-Length`` over the limit is answered before the body is read; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the limit, so no request can make the
service hold more than ``max_bytes`` of it.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adamas.api.errors import TooLargeError, adamas_problem

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _error(self, size: int | None) -> TooLargeError:
        context: dict[str, Any] = {"expected": self.max_bytes}
        if size is not None:
            context["actual"] = size
        return TooLargeError(
            f"the request body exceeds the limit of {self.max_bytes} bytes", field="body", **context
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                if declared is not None and declared > self.max_bytes:
                    await adamas_problem(self._error(declared))(scope, receive, send)
                    return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised into the route reading the body; the app's error handlers answer 413.
                    raise self._error(None)
            return message

        await self.app(scope, counted, send)
