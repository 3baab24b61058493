"""Corrections (EVENTS.md, "Oversight", ``correct``): an event is never edited or deleted; a later
``correct`` event names it and, optionally, a replacement body of the same type.

This module checks who may correct what. Recomputing the state with the replacement in the original's place
is the ledger's job (it replays the log), because a correction reaches every later event: one that the
replacement would make invalid refuses the correction (``correct.conflict``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Final

from adamas.model.checks import actor_of, refuse
from adamas.model.events import Event
from adamas.model.records import Correction
from adamas.model.state import State
from adamas.model.timing import CLOCK_SKEW_NS, admit_time

__all__ = ["CORRECTION_HANDLERS", "named_lots"]

UNCORRECTABLE: Final = frozenset({"genesis", "correct"})


def named_lots(fields: dict[str, Any]) -> set[str]:
    """The lot ids an event body's fields name (inputs and outputs)."""
    out: set[str] = set()
    for name in ("lot", "lots", "into", "remainder"):
        value = fields.get(name)
        items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, str):
                out.add(item)
            elif isinstance(item, dict) and isinstance(item.get("id"), str):
                out.add(item["id"])
            elif isinstance(item, tuple) and item and isinstance(item[0], str):
                out.add(item[0])
            elif hasattr(item, "id") and isinstance(item.id, str):
                out.add(item.id)
    return out


def _correct(event: Event, state: State) -> None:
    f = event.fields
    original = state.logged_event(f["event"])
    if original is None:
        raise refuse("correct.unknown_event", f"there is no logged event {f['event']}", "event")
    if original.type in UNCORRECTABLE:
        raise refuse("correct.not_correctable", f"a {original.type} event cannot be corrected", "event")
    actor = actor_of(event, state)
    author = state.participant(original.actor)
    authority = "authority" in actor.roles and author is not None and actor.country == author.country
    if actor.id != original.actor and not authority:
        raise refuse(
            "actor.not_authorized",
            f"only {original.actor} or the authority of its country may correct {original.id}",
            "event",
        )
    replacement: Event | None = f["replacement"]
    if replacement is not None:
        for name in ("type", "id", "actor"):
            if getattr(replacement, name) != getattr(original, name):
                raise refuse(
                    "correct.mismatch",
                    f"the replacement's {name} is {getattr(replacement, name)}; the corrected event's "
                    f"is {getattr(original, name)}",
                    f"replacement.{name}",
                )
        # The replacement passes the time checks of the event it replaces, at that event's logged time: it
        # cannot carry a time the original could not have had (a replacement dated 2099, or years back).
        if original.logged_ns is not None:
            stamped = replace(replacement, logged_ns=original.logged_ns, backfill=None)
            admit_time(stamped, state, field="replacement.time")
        elif event.logged_ns is not None and replacement.time_ns > event.logged_ns + CLOCK_SKEW_NS:
            # An original logged before logged times were recorded: held to the correction's own clock.
            raise refuse(
                "envelope.clock_skew",
                f"the replacement's time {replacement.time} is ahead of the ledger's clock",
                "replacement.time",
            )
    # The history of every lot id concerned shows the correction (whether or not the lot still exists once
    # the state is recomputed: the same on the first run and on every replay).
    for lot_id in sorted(
        named_lots(original.fields) | (named_lots(replacement.fields) if replacement else set())
    ):
        state.touch(lot_id)
    state.put_correction(Correction(event.id, original.id, f["reason"] or "", f["replacement_body"]))


CORRECTION_HANDLERS: Final[dict[str, Callable[[Event, State], None]]] = {"correct": _correct}
