"""The ``adamas`` command: a thin face over the Python API, one command per operation.

Exit codes: 0 success; 1 a refusal or a fault found (``submit`` with any refused envelope, a lot not found);
2 a usage error (bad option, unreadable file, malformed input that is not an envelope). No command prints a
Python traceback for bad input: every ``AdamasError`` becomes one line ``error: <code>: <message>``.

One module per command group; each registers its commands on the root application in ``_app``, which imports
a group's module only when that group runs or shows its help (start-up, issue 14).
"""

from __future__ import annotations

from adamas.cli._app import app
from adamas.cli._common import fail
from adamas.errors import NotFoundError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``adamas`` command."""
    try:
        app()
    except NotFoundError as exc:  # pragma: no cover - every command catches its own
        fail(exc)
