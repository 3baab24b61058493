"""The two clocks (EVENTS.md, "Time"): a declared time is admitted only near the ledger's logged time.

An event carries its signer's declared ``time`` and, once the ledger has stamped it, the ``logged_ns`` at
which the ledger accepted it (``Event.logged_ns``, never signed). ``admit_time`` refuses a declared time more
than five minutes ahead of the logged time (``envelope.clock_skew``) or further behind it than the ledger's
backdating allowance (``time.backdated``), unless an open ``ledger.backfill`` window admits it; it returns the
event marked with that window. ``check_key_time`` holds keys to the logged time: a key revoked as
compromised signs nothing logged after its revocation, a retired key nothing logged later than its
retirement plus the allowance. An event whose logged time is unknown (logged before Adamas recorded logged
times) is judged by its declared time alone, as it was then. The model is described in docs/time.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from adamas.errors import RuleError
from adamas.model.events import Event
from adamas.model.records import Key
from adamas.model.state import State
from adamas.model.values import format_time_ns

__all__ = ["CLOCK_SKEW_NS", "DAY_NS", "admit_time", "check_key_time", "days"]

CLOCK_SKEW_NS: Final = 5 * 60 * 1_000_000_000
DAY_NS: Final = 86_400 * 1_000_000_000


def days(value_ns: int) -> str:
    """A duration as a person reads it (``30 days``, ``1.5 days``)."""
    count = value_ns / DAY_NS
    return f"{count:g} day" + ("" if count == 1 else "s")


def admit_time(event: Event, state: State, *, field: str = "time") -> Event:
    """Check the declared time against the logged time; return the event marked with the backfill window
    that admits it, if it needed one. ``field`` names the time in refusals (``replacement.time``)."""
    logged = event.logged_ns
    if logged is None:
        return event
    if event.time_ns > logged + CLOCK_SKEW_NS:
        raise RuleError(
            f"time {event.time} is more than 5 minutes ahead of the ledger's clock "
            f"({format_time_ns(logged)})",
            code="envelope.clock_skew",
            field=field,
        )
    allowance = state.settings().backdate_allowance_ns
    if event.time_ns >= logged - allowance:
        return event if event.backfill is None else replace(event, backfill=None)
    for window in sorted(state.backfills(), key=lambda w: w.id):
        if window.admits(event.time_ns, logged):
            return replace(event, backfill=window.id)
    raise RuleError(
        f"time {event.time} is more than the ledger's backdating allowance of {days(allowance)} before its "
        f"logged time {format_time_ns(logged)}, and no open ledger.backfill window admits it",
        code="time.backdated",
        field=field,
        logged=format_time_ns(logged),
    )


def check_key_time(event: Event, key: Key, state: State) -> None:
    """Refuse an event that ``key`` may no longer sign (``envelope.key_revoked``).

    The declared time must be before the revocation's effective instant; a key revoked as compromised signs
    nothing checked after its revocation was logged (every event checked after it in log order is); a
    retired key signs nothing logged later than its retirement plus the backdating allowance, even inside a
    backfill window (a window imports history, it never revives a key).
    """
    if key.revoked_ns is None:
        return
    if event.time_ns >= key.revoked_ns:
        raise RuleError(
            f"key {event.key} was revoked with effect before this event's time {event.time}",
            code="envelope.key_revoked",
            field="key",
        )
    if key.compromised:
        raise RuleError(
            f"key {event.key} was revoked as compromised; it signs nothing logged after its revocation, "
            f"whatever the declared time ({event.time})",
            code="envelope.key_revoked",
            field="key",
        )
    allowance = state.settings().backdate_allowance_ns
    if event.logged_ns is not None and event.logged_ns > key.revoked_ns + allowance:
        raise RuleError(
            f"key {event.key} was retired at {format_time_ns(key.revoked_ns)}; it signs nothing logged more "
            f"than the backdating allowance of {days(allowance)} after that",
            code="envelope.key_revoked",
            field="key",
        )
