"""Validated values of the event vocabulary: ids, carats, money, times, countries.

Carats and money are held as whole hundredths (``int``) so that every sum, split and mix is exact; they are
read from and written to JSON as decimal strings with at most two places (EVENTS.md, "Values"). Times are
held as integer nanoseconds since the Unix epoch so that ordering is exact at any precision the RFC 3339
text carries.

Bounds (docs/limits.md), checked as values are parsed so that both backends store every accepted value:
times from 1970-01-01 to before 2200-01-01 (EVENTS.md); carats at most ``MAX_CARATS`` (100,000,000.00 ct),
money at most ``MAX_MONEY`` (1,000,000,000,000.00 USD), stone counts at most ``MAX_STONES`` (10^9, within
a 32-bit column). ``check_stored`` applies the same bounds to values the rules compute (a merge's sums).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import iso3166

from adamas.errors import InputError, RuleError

__all__ = [
    "MAX_CARATS",
    "MAX_MONEY",
    "MAX_STONES",
    "MAX_TIME_NS",
    "MIN_TIME_NS",
    "Hundredths",
    "Reader",
    "cents_to_decimal",
    "check_stored",
    "format_hundredths",
    "format_time_ns",
    "parse_hundredths",
    "parse_time",
]

Hundredths = int
"""An exact quantity in hundredths: centicarats for weights, cents for money."""

EVENT_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
PLAIN_ID: Final = re.compile(r"[a-z0-9][a-z0-9._:-]{1,127}")
LOT_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{1,127}")
KEY_ID: Final = re.compile(r"[0-9a-f]{16}")
DECIMAL_2: Final = re.compile(r"(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?")
SIGNED_DECIMAL: Final = re.compile(r"-?(0|[1-9][0-9]{0,2})(\.[0-9]{1,8})?")
TIME: Final = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{1,9})?Z")
SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
CERTIFICATE_NUMBER: Final = re.compile(r"([A-Z]{2})-[A-Z0-9-]{1,30}")
CURRENCIES: Final = frozenset({"USD"})
COUNTRIES: Final = frozenset(iso3166.countries_by_alpha2) | {"EU"}
MAX_STONES: Final = 10**9
MAX_CARATS: Final = 10**10
"""The largest carat weight, in hundredths: 100,000,000.00 ct."""
MAX_MONEY: Final = 10**14
"""The largest amount of money, in cents: 1,000,000,000,000.00 USD."""
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MIN_TIME_NS: Final = 0
"""1970-01-01T00:00:00Z, the earliest time an event may carry."""
MAX_TIME_NS: Final = (datetime(2200, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1) * 1000
"""2200-01-01T00:00:00Z: every time is before it (so within a signed 64-bit count of nanoseconds)."""


def parse_hundredths(
    text: str, field: str, *, allow_zero: bool = False, maximum: int = MAX_CARATS
) -> Hundredths:
    """Parse a decimal string with at most two places into hundredths, at most ``maximum``."""
    if not DECIMAL_2.fullmatch(text):
        raise InputError(
            f'{field} must be a decimal string with at most 2 decimal places, like "12.34"; got {text!r}',
            field=field,
        )
    whole, _, frac = text.partition(".")
    value = int(whole) * 100 + int((frac + "00")[:2])
    if value == 0 and not allow_zero:
        raise InputError(f"{field} must be positive; got {text!r}", field=field)
    if value > maximum:
        raise InputError(
            f"{field} must be at most {format_hundredths(maximum)}; got {text!r}",
            code="value.out_of_range",
            field=field,
        )
    return value


def check_stored(value: int | None, maximum: int, field: str) -> None:
    """Refuse a quantity the rules computed (a merge's sum) beyond the bound of its parsed form."""
    if value is not None and not 0 <= value <= maximum:
        raise RuleError(
            f"{field} would be {value}, beyond the bound of {maximum} (docs/limits.md)",
            code="value.out_of_range",
            field=field,
        )


def format_hundredths(value: Hundredths) -> str:
    """The canonical decimal string of a quantity in hundredths (always two places)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 100)
    return f"{sign}{whole}.{frac:02d}"


def cents_to_decimal(value: Hundredths) -> Decimal:
    """An exact ``Decimal`` with two places from hundredths."""
    return Decimal(value).scaleb(-2)


def parse_time(text: str, field: str) -> int:
    """Parse an RFC 3339 UTC time ending in ``Z`` (second precision or finer) into epoch nanoseconds."""
    match = TIME.fullmatch(text)
    if match is None:
        raise InputError(
            f"{field} must be an RFC 3339 UTC time like 2026-03-01T10:00:00Z; got {text!r}", field=field
        )
    day, fraction = match.group(1, 2)
    try:
        moment = datetime.fromisoformat(day)
    except ValueError as exc:
        raise InputError(f"{field} is not a real calendar time: {text!r}", field=field) from exc
    # Whole seconds since the epoch by integer arithmetic on the naive (UTC) fields: the same count as
    # subtracting the epoch, without building a timedelta (a hot path: every event has a time).
    seconds = (moment.toordinal() - _EPOCH_ORDINAL) * 86_400 + moment.hour * 3_600 + moment.minute * 60
    value = (seconds + moment.second) * 1_000_000_000
    if fraction:
        value += int((fraction[1:] + "00000000")[:9])
    if not MIN_TIME_NS <= value < MAX_TIME_NS:
        raise InputError(
            f"{field} must be from 1970-01-01T00:00:00Z and before 2200-01-01T00:00:00Z; got {text!r}",
            code="time.out_of_range",
            field=field,
        )
    return value


def format_time_ns(value: int) -> str:
    """RFC 3339 UTC text for epoch nanoseconds (fraction only when needed)."""
    seconds, nanos = divmod(value, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


_EPOCH_ORDINAL: Final = _EPOCH.toordinal()
_MISSING: Final = object()


class Reader:
    """Strict reader of one JSON object: every field checked, unknown fields refused.

    ``path`` is the dotted location of the object in the body (``lot``, ``into[2]``), so that a refusal
    names the exact offending field.
    """

    __slots__ = ("_obj", "_path", "_seen")

    def __init__(self, obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            raise InputError(f"{path or 'body'} must be a JSON object", field=path or None)
        self._obj: dict[str, Any] = obj
        self._path = path
        self._seen: set[str] = set()

    def where(self, name: str) -> str:
        """Dotted path of a field of this object."""
        return f"{self._path}.{name}" if self._path else name

    def has(self, name: str) -> bool:
        """True when the field is present (and marks it as known)."""
        self._seen.add(name)
        return name in self._obj

    def raw(self, name: str, *, required: bool = True) -> Any:
        """The raw value of a field; refuses a missing required field."""
        self._seen.add(name)
        if name not in self._obj:
            if required:
                raise InputError(f"{self.where(name)} is required", field=self.where(name))
            return None
        return self._obj[name]

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        pattern: re.Pattern[str] | None = None,
        max_len: int = 1000,
        what: str = "",
    ) -> str | None:
        """A string field, optionally matching ``pattern``."""
        # The hottest path of ingest: the field path is only spelled out for a refusal.
        self._seen.add(name)
        value = self._obj.get(name, _MISSING)
        if type(value) is str:
            if len(value) <= max_len and (pattern is None or pattern.fullmatch(value) is not None):
                return value
            where = self.where(name)
            if len(value) > max_len:
                raise InputError(f"{where} is longer than {max_len} characters", field=where)
            raise InputError(f"{where} is not a valid {what or name}: {value!r}", field=where)
        if value is _MISSING or value is None:
            if not required:
                return None
            if value is _MISSING:
                raise InputError(f"{self.where(name)} is required", field=self.where(name))
        raise InputError(f"{self.where(name)} must be a string", field=self.where(name))

    def req_string(
        self, name: str, *, pattern: re.Pattern[str] | None = None, max_len: int = 1000, what: str = ""
    ) -> str:
        """A required string field."""
        value = self.string(name, pattern=pattern, max_len=max_len, what=what)
        assert value is not None
        return value

    def ident(self, name: str, *, lot: bool = False) -> str:
        """A participant, site, shipment or (with ``lot``) lot id."""
        return self.req_string(name, pattern=LOT_ID if lot else PLAIN_ID, what="lot id" if lot else "id")

    def opt_ident(self, name: str, *, lot: bool = False) -> str | None:
        """An optional id."""
        if not self.has(name):
            return None
        return self.ident(name, lot=lot)

    def carats(self, name: str, *, required: bool = True, allow_zero: bool = False) -> Hundredths | None:
        """A carat weight: a decimal string, never a JSON number."""
        value = self.raw(name, required=required)
        if value is None and not required:
            return None
        where = self.where(name)
        if not isinstance(value, str):
            raise InputError(
                f'{where} must be a decimal string like "1.25", not a JSON {_json_kind(value)}', field=where
            )
        return parse_hundredths(value, where, allow_zero=allow_zero)

    def req_carats(self, name: str, *, allow_zero: bool = False) -> Hundredths:
        """A required carat weight."""
        value = self.carats(name, allow_zero=allow_zero)
        assert value is not None
        return value

    def money(self, name: str, *, required: bool = True) -> Hundredths | None:
        """A ``{"amount", "currency"}`` object in USD; returns cents."""
        value = self.raw(name, required=required)
        if value is None and not required:
            return None
        obj = Reader(value, self.where(name))
        amount = obj.raw("amount")
        if not isinstance(amount, str):
            raise InputError(f"{obj.where('amount')} must be a decimal string", field=obj.where("amount"))
        cents = parse_hundredths(amount, obj.where("amount"), allow_zero=True, maximum=MAX_MONEY)
        currency = obj.req_string("currency")
        if currency not in CURRENCIES:
            raise InputError(
                f"{obj.where('currency')} must be USD in version 1; got {currency!r}",
                field=obj.where("currency"),
            )
        obj.done()
        return cents

    def integer(
        self, name: str, *, required: bool = True, minimum: int = 0, maximum: int = MAX_STONES
    ) -> int | None:
        """A JSON integer (never a bool or a float) within bounds."""
        value = self.raw(name, required=required)
        if value is None and not required:
            return None
        where = self.where(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where} must be a JSON integer", field=where)
        if not minimum <= value <= maximum:
            raise InputError(f"{where} must be between {minimum} and {maximum}; got {value}", field=where)
        return value

    def boolean(self, name: str) -> bool:
        """A required JSON boolean."""
        value = self.raw(name)
        if not isinstance(value, bool):
            raise InputError(f"{self.where(name)} must be true or false", field=self.where(name))
        return value

    def time(self, name: str, *, required: bool = True) -> tuple[str, int] | None:
        """An RFC 3339 UTC time: its text and epoch nanoseconds."""
        text = self.string(name, required=required, max_len=40)
        if text is None:
            return None
        return text, parse_time(text, self.where(name))

    def country(self, name: str) -> str:
        """An ISO 3166-1 alpha-2 code, or ``EU``."""
        value = self.req_string(name, max_len=2)
        if value not in COUNTRIES:
            raise InputError(
                f"{self.where(name)} must be an ISO 3166-1 alpha-2 country code or EU; got {value!r}",
                field=self.where(name),
            )
        return value

    def choice(self, name: str, options: Sequence[str] | frozenset[str]) -> str:
        """A string that must be one of ``options``."""
        value = self.req_string(name, max_len=64)
        if value not in options:
            raise InputError(
                f"{self.where(name)} must be one of {', '.join(sorted(options))}; got {value!r}",
                field=self.where(name),
            )
        return value

    def array(self, name: str, *, required: bool = True, min_len: int = 1, max_len: int = 1000) -> list[Any]:
        """A JSON array with a length in bounds."""
        value = self.raw(name, required=required)
        if value is None and not required:
            return []
        where = self.where(name)
        if not isinstance(value, list):
            raise InputError(f"{where} must be a JSON array", field=where)
        if not min_len <= len(value) <= max_len:
            raise InputError(
                f"{where} must have {min_len} to {max_len} items; it has {len(value)}", field=where
            )
        return value

    def ids(self, name: str, *, lot: bool = False) -> tuple[str, ...]:
        """A non-empty array of distinct ids."""
        items = self.array(name)
        out: list[str] = []
        for i, item in enumerate(items):
            where = f"{self.where(name)}[{i}]"
            if not isinstance(item, str) or not (LOT_ID if lot else PLAIN_ID).fullmatch(item):
                raise InputError(f"{where} is not a valid id: {item!r}", field=where)
            out.append(item)
        if len(set(out)) != len(out):
            raise InputError(f"{self.where(name)} names the same id twice", field=self.where(name))
        return tuple(out)

    def objects(
        self, name: str, *, required: bool = True, min_len: int = 1, max_len: int = 1000
    ) -> list[Reader]:
        """An array of objects, each as a ``Reader``."""
        items = self.array(name, required=required, min_len=min_len, max_len=max_len)
        return [Reader(item, f"{self.where(name)}[{i}]") for i, item in enumerate(items)]

    def child(self, name: str) -> Reader:
        """A required nested object."""
        return Reader(self.raw(name), self.where(name))

    def done(self) -> None:
        """Refuse any field that was not read."""
        if self._seen.issuperset(self._obj):
            return  # the common case, checked without building the set of unknown names
        unknown = self._obj.keys() - self._seen
        if unknown:
            name = sorted(unknown)[0]
            raise InputError(f"{self.where(name)} is not a field of this object", field=self.where(name))

    def mapping(self) -> Mapping[str, Any]:
        """The object itself, read-only."""
        return self._obj


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "value"
