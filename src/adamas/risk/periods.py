"""Calendar periods as the KP reports them: a year (``2023``), a half (``2023-H1``), a quarter (``2023-Q3``).

Events fall into periods by their declared time (when the thing happened, EVENTS.md "Time"), in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from adamas.errors import InputError

__all__ = ["period_bounds", "period_of", "periods_overlap", "previous_periods"]


def period_of(time_ns: int, granularity: str) -> str:
    """The period of ``granularity`` (year, half, quarter) holding ``time_ns``."""
    moment = datetime.fromtimestamp(time_ns / 1e9, tz=UTC)
    if granularity == "year":
        return str(moment.year)
    if granularity == "half":
        return f"{moment.year}-H{1 if moment.month <= 6 else 2}"
    if granularity == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    raise InputError(f"unknown period granularity {granularity!r}", code="risk.bad_period", field="period")


def _parse(period: str) -> tuple[int, int, int]:
    """(year, first month, months) of a period string."""
    try:
        if len(period) == 4:
            return int(period), 1, 12
        year, part = period.split("-")
        if part[0] == "H" and part[1:] in ("1", "2"):
            return int(year), 1 + 6 * (int(part[1:]) - 1), 6
        if part[0] == "Q" and part[1:] in ("1", "2", "3", "4"):
            return int(year), 1 + 3 * (int(part[1:]) - 1), 3
    except (ValueError, IndexError):
        pass
    raise InputError(
        f"a period is YYYY, YYYY-H1..H2 or YYYY-Q1..Q4; got {period!r}",
        code="risk.bad_period",
        field="period",
    )


def period_bounds(period: str) -> tuple[int, int]:
    """[start, end) of a period in epoch nanoseconds."""
    year, month, months = _parse(period)
    start = datetime(year, month, 1, tzinfo=UTC)
    end_month = month + months
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000_000, int(end.timestamp()) * 1_000_000_000


def periods_overlap(a: str, b: str) -> bool:
    """True when two periods share any instant."""
    a0, a1 = period_bounds(a)
    b0, b1 = period_bounds(b)
    return a0 < b1 and b0 < a1


def previous_periods(period: str, count: int) -> list[str]:
    """The ``count`` periods of the same granularity just before ``period``, oldest first."""
    year, month, months = _parse(period)
    out: list[str] = []
    for _ in range(count):
        month -= months
        if month < 1:
            month += 12
            year -= 1
        if months == 12:
            out.append(str(year))
        elif months == 6:
            out.append(f"{year}-H{(month - 1) // 6 + 1}")
        else:
            out.append(f"{year}-Q{(month - 1) // 3 + 1}")
    return out[::-1]
