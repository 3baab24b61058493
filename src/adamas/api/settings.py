"""The service's settings, and their spelling as environment variables (how ``adamas serve --workers N``
hands them to worker processes, which uvicorn starts from an import string)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from adamas.errors import InputError

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_BODY_BYTES", "ENV", "Settings"]

DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
DEFAULT_MAX_BATCH: Final = 10_000
ENV: Final = {
    "db": "ADAMAS_SERVE_DB",
    "read_db": "ADAMAS_SERVE_READ_DB",
    "cors_origin": "ADAMAS_SERVE_CORS_ORIGIN",
    "max_body_bytes": "ADAMAS_SERVE_MAX_BODY_BYTES",
    "max_batch": "ADAMAS_SERVE_MAX_BATCH",
}


@dataclass(frozen=True)
class Settings:
    """Where the ledger is, who may call from a browser, and the request limits."""

    db: str
    read_db: str | None = None
    cors_origin: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch: int = DEFAULT_MAX_BATCH

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_batch"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1", code="serve.bad_limit", field=name)

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables (unset ones left out)."""
        out = {}
        for name, variable in ENV.items():
            value = getattr(self, name)
            if value is not None:
                out[variable] = str(value)
        return out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings ``to_env`` wrote."""
        if ENV["db"] not in environ:
            raise InputError(f"{ENV['db']} is not set", code="serve.no_db", field="db")
        try:
            return cls(
                db=environ[ENV["db"]],
                read_db=environ.get(ENV["read_db"]),
                cors_origin=environ.get(ENV["cors_origin"]),
                max_body_bytes=int(environ.get(ENV["max_body_bytes"], DEFAULT_MAX_BODY_BYTES)),
                max_batch=int(environ.get(ENV["max_batch"], DEFAULT_MAX_BATCH)),
            )
        except ValueError as exc:
            raise InputError(f"bad serve setting: {exc}", code="serve.bad_limit") from exc
