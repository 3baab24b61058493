"""Checks shared by the rule modules: refusals, actors, lots in custody, origin carrying, flags.

Each check raises a ``RuleError`` with a stable code and the field at fault, or returns what it found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from adamas.errors import RuleError
from adamas.model.events import Event
from adamas.model.origin import apportion
from adamas.model.records import Flag, Lot, Participant
from adamas.model.state import State
from adamas.model.values import Hundredths

__all__ = [
    "STATE_CODES",
    "actor_of",
    "carry",
    "check_time_order",
    "existing_lot",
    "flag",
    "held_lot",
    "is_admin",
    "may_register",
    "new_lot_id",
    "percent",
    "refuse",
    "registered",
    "require_role",
]


def refuse(code: str, message: str, field: str | None = None, **context: Any) -> RuleError:
    return RuleError(message, code=code, field=field, **context)


def actor_of(event: Event, state: State) -> Participant:
    actor = state.participant(event.actor)
    assert actor is not None  # authenticate() has run
    return actor


def require_role(event: Event, state: State, role: str, field: str = "actor") -> Participant:
    actor = actor_of(event, state)
    if role not in actor.roles:
        raise refuse(
            "actor.not_authorized", f"{event.type} needs the role {role}; {actor.id} does not hold it", field
        )
    return actor


def is_admin(p: Participant) -> bool:
    return "administrator" in p.roles


def may_register(registrar: Participant, roles: Iterable[str], country: str | None) -> bool:
    """Administrator for authorities and monitors; an authority for other roles in its own country."""
    roles = set(roles)
    if roles & {"authority", "monitor"}:
        return is_admin(registrar)
    return "authority" in registrar.roles and registrar.country == country


def existing_lot(state: State, lot_id: str, field: str) -> Lot:
    lot = state.lot(lot_id)
    if lot is None:
        raise refuse("custody.unknown_lot", f"there is no lot {lot_id}", field)
    return lot


def new_lot_id(state: State, lot_id: str, field: str, taken: set[str]) -> None:
    if lot_id in taken or state.lot(lot_id) is not None:
        raise refuse("custody.lot_exists", f"lot id {lot_id} is already taken", field)
    taken.add(lot_id)


STATE_CODES: Final = {
    "in_transit": ("custody.in_transit", "is in transit"),
    "frozen": ("custody.frozen", "is frozen by an authority"),
    "consumed": ("custody.consumed", "was consumed by an earlier event"),
    "sold": ("custody.sold", "was sold to a consumer"),
}


def held_lot(event: Event, state: State, lot_id: str, field: str) -> Lot:
    """A lot the actor holds and may move or transform now."""
    lot = existing_lot(state, lot_id, field)
    if lot.state != "held":
        code, what = STATE_CODES[lot.state]
        raise refuse(code, f"lot {lot_id} {what}", field, state=lot.state)
    if lot.holder != event.actor:
        raise refuse(
            "custody.not_holder",
            f"lot {lot_id} is held by {lot.holder}, not {event.actor}",
            field,
            holder=lot.holder,
        )
    check_time_order(event, lot, field)
    return lot


def check_time_order(event: Event, lot: Lot, field: str) -> None:
    if event.time_ns < lot.last_time_ns:
        raise refuse(
            "event.time_order",
            f"time {event.time} is before the last event of lot {lot.id}; events on a lot cannot go "
            "back in time",
            "time",
        )


def carry(parent: Lot, parts: Sequence[Hundredths], loss: Hundredths) -> list[dict[str, Hundredths]]:
    """Origins of ``parts`` taken from ``parent`` with ``loss`` carats lost (not returned)."""
    shares = apportion(parent.origin, [*parts, loss])
    return shares[: len(parts)]


def percent(part: Hundredths, whole: Hundredths) -> str:
    return f"{part * 100 / whole:.1f}%"


def flag(
    state: State, event: Event, code: str, message: str, lot: str | None = None, **evidence: Any
) -> None:
    state.flag(Flag(event=event.id, code=code, message=message, lot=lot, evidence=evidence))


def registered(state: State, participant_id: str, field: str) -> Participant:
    p = state.participant(participant_id)
    if p is None:
        raise refuse("participant.unknown", f"there is no participant {participant_id}", field)
    return p
