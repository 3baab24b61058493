"""The one exception tree of Adamas.

Every error carries a stable ``code`` (for example ``custody.not_holder``), a human ``message`` and, where
one input field is at fault, that ``field``; extra context travels as keyword attributes in ``context``.
Faces (CLI, API) render these; nothing below them knows about exit codes or HTTP statuses.

    AdamasError
    ├── InputError          the input is malformed: not JSON, wrong shape, bad value
    ├── RuleError           a well-formed event breaks a rule of EVENTS.md (custody, mass, actor, ...)
    ├── VerificationError   a signature, proof, checkpoint or note does not verify
    ├── NotFoundError       a lot, participant, event or key that is not in the ledger
    ├── ConflictError       an id already taken with different content
    └── StorageError        the database failed or holds something inconsistent
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AdamasError",
    "ConflictError",
    "InputError",
    "NotFoundError",
    "RuleError",
    "StorageError",
    "VerificationError",
]


class AdamasError(Exception):
    """Root of every error Adamas raises on purpose."""

    default_code = "adamas.error"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, **context: Any
    ) -> None:
        super().__init__(message)
        self.code: str = code or self.default_code
        self.message: str = message
        self.field: str | None = field
        self.context: dict[str, Any] = context

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: code, message, field (if any) and context."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.context:
            out["context"] = self.context
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class InputError(AdamasError):
    """The input is malformed: not JSON, the wrong shape, or a value of the wrong form."""

    default_code = "event.schema"


class RuleError(AdamasError):
    """A well-formed event that breaks one of the hard rules of EVENTS.md."""

    default_code = "rule.violated"


class VerificationError(AdamasError):
    """A signature, proof, checkpoint or signed note that does not verify."""

    default_code = "verification.failed"


class NotFoundError(AdamasError):
    """Something asked for by id that the ledger does not hold."""

    default_code = "not_found"


class ConflictError(AdamasError):
    """An id already used for different content."""

    default_code = "conflict"


class StorageError(AdamasError):
    """The database failed, or holds data that contradicts the log."""

    default_code = "storage.error"
