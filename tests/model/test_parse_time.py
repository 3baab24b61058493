"""``parse_time`` counts epoch nanoseconds by integer arithmetic; it agrees with datetime subtraction at
every second from 1970 to 2199, with any fraction of one to nine digits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adamas.model.values import parse_time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2199, 12, 31, 23, 59, 59)),
    st.text(alphabet="0123456789", max_size=9),
)
def test_parse_time_counts_like_datetime(moment: datetime, digits: str) -> None:
    moment = moment.replace(microsecond=0, tzinfo=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{digits}" if digits else "") + "Z"
    expected = (moment - _EPOCH) // timedelta(seconds=1) * 10**9 + int((digits + "0" * 9)[:9])
    assert parse_time(text, "time") == expected
