"""EPCIS times: RFC 3339 / ISO 8601 instants with any UTC offset (``2022-06-30T00:15:47.000-05:00``), read
as exact epoch nanoseconds. Adamas itself writes only UTC with ``Z``; EPCIS peers write any offset."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from adamas.errors import InputError
from adamas.model.values import format_time_ns

__all__ = ["parse_instant", "utc_text"]

_INSTANT: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def parse_instant(text: object, field: str) -> int:
    """Epoch nanoseconds of an RFC 3339 instant with ``Z`` or an offset; an ``InputError`` on ``field``."""
    found = _INSTANT.match(text) if isinstance(text, str) else None
    if found is None:
        raise InputError(
            f"{field} must be an RFC 3339 time with a zone, like 2026-03-01T10:00:00Z; got {text!r}",
            code="epcis.bad_time",
            field=field,
        )
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError as exc:
        raise InputError(f"{field}: {text!r} is not a real time", code="epcis.bad_time", field=field) from exc
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


def utc_text(text: object, field: str) -> str:
    """The same instant in UTC with ``Z`` (unchanged when it already is)."""
    if isinstance(text, str) and text.endswith("Z") and _INSTANT.match(text):
        return text
    return format_time_ns(parse_instant(text, field))
