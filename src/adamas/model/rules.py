"""The hard rules of EVENTS.md: who may sign what, and what each event may do to the state.

``authenticate`` checks the signer (key, signature, revocation, clock, standing); ``apply`` checks the
type's rules and then changes the state. Every check of an event runs before its first change, so a refused
event changes nothing; each refusal is a ``RuleError`` (or ``VerificationError`` for signatures) with a
stable code from EVENTS.md, a message a person understands, and the field at fault.

Codes beyond the examples of EVENTS.md (its list is open) are documented in ``docs/refusals.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Final

from adamas.crypto import verify
from adamas.errors import RuleError, VerificationError
from adamas.model.checks import actor_of, flag, is_admin, may_register, refuse, registered
from adamas.model.corrections import CORRECTION_HANDLERS
from adamas.model.custody import CUSTODY_HANDLERS
from adamas.model.events import Envelope, Event
from adamas.model.kp import KP_HANDLERS
from adamas.model.oversight import OVERSIGHT_HANDLERS
from adamas.model.records import Backfill, Key, LedgerSettings, Participant, Site
from adamas.model.state import State
from adamas.model.timing import CLOCK_SKEW_NS, DAY_NS, admit_time, check_key_time
from adamas.model.values import format_time_ns

__all__ = ["CLOCK_SKEW_NS", "apply", "authenticate"]


def authenticate(
    envelope: Envelope, state: State, *, now_ns: int | None = None, sig_ok: bool | None = None
) -> Event:
    """Check that the envelope is signed by a valid, unrevoked key of an active actor, at an admissible time;
    return its event marked with the backfill window that admitted it, if any.

    The event's ``logged_ns`` (stamped by the ledger) is the clock the time checks use; ``now_ns`` stands in
    for it when the event has none. ``sig_ok`` is the result of an earlier signature check against this key,
    when the caller verified a whole batch ahead of time; ``None`` verifies here.
    """
    event = envelope.event
    if event.logged_ns is None and now_ns is not None:
        event = replace(event, logged_ns=now_ns)
    if event.type == "genesis":
        _authenticate_genesis(envelope, state, sig_ok)
    else:
        if state.administrator() is None:
            raise RuleError("the ledger has no genesis event yet", code="ledger.no_genesis", field="type")
        key = state.key(event.key)
        if key is None or key.participant != event.actor:
            owner = f" (it belongs to {key.participant})" if key is not None else ""
            raise VerificationError(
                f"key {event.key} is not a registered key of {event.actor}{owner}",
                code="envelope.unknown_key",
                field="key",
            )
        if sig_ok is None:
            sig_ok = verify(key.public_key, envelope.body_bytes, envelope.sig)
        if not sig_ok:
            raise VerificationError(
                f"the signature does not verify under key {event.key} of {event.actor}",
                code="envelope.bad_signature",
                field="sig",
            )
        check_key_time(event, key, state)
    event = admit_time(event, state)
    if event.type != "genesis":
        actor = state.participant(event.actor)
        if actor is None or not actor.active:
            status = actor.status if actor is not None else "unknown"
            raise RuleError(
                f"{event.actor} is {status} and may sign nothing", code="actor.suspended", field="actor"
            )
    return event


def _authenticate_genesis(envelope: Envelope, state: State, sig_ok: bool | None) -> None:
    event = envelope.event
    if state.administrator() is not None:
        raise RuleError("the ledger already has its genesis event", code="actor.not_authorized", field="type")
    admin = event.fields["administrator"]
    if admin.id != event.actor:
        raise RuleError(
            "the genesis event is signed by the administrator it creates",
            code="actor.not_authorized",
            field="actor",
        )
    keys = {k.id: k for k in admin.keys}
    if event.key not in keys:
        raise VerificationError(
            "the genesis event is signed by one of the administrator's own keys",
            code="envelope.unknown_key",
            field="key",
        )
    if sig_ok is None:
        sig_ok = verify(keys[event.key].public_key, envelope.body_bytes, envelope.sig)
    if not sig_ok:
        raise VerificationError(
            "the genesis signature does not verify", code="envelope.bad_signature", field="sig"
        )


def apply(event: Event, state: State) -> None:
    """Check the event's own rules against ``state`` and, if all hold, apply its effect."""
    _HANDLERS[event.type](event, state)


# --- participants, keys, sites --------------------------------------------------------------------------


def _genesis(event: Event, state: State) -> None:
    admin = event.fields["administrator"]
    if event.fields.get("backdate_allowance_days") is not None:
        state.put_settings(LedgerSettings(event.fields["backdate_allowance_days"] * DAY_NS))
    state.put_participant(
        Participant(admin.id, admin.name, admin.country, admin.roles, "active", None, event.id)
    )
    for k in admin.keys:
        state.put_key(Key(k.id, admin.id, k.public_key, event.id))


def _check_new_keys(state: State, keys: Iterable[Any], field: str) -> None:
    for k in keys:
        if state.key(k.id) is not None:
            raise refuse("key.exists", f"key {k.id} is already registered", field)


def _participant_register(event: Event, state: State) -> None:
    spec = event.fields["participant"]
    actor = actor_of(event, state)
    if not may_register(actor, spec.roles, spec.country):
        raise refuse(
            "actor.not_authorized",
            f"{actor.id} may not register a participant with roles {', '.join(sorted(spec.roles))} "
            f"in {spec.country}: the administrator registers authorities and monitors, an authority "
            "registers the other roles in its own country",
            "participant.roles",
        )
    if state.participant(spec.id) is not None:
        raise refuse("participant.exists", f"participant {spec.id} is already registered", "participant.id")
    _check_new_keys(state, spec.keys, "participant.keys")
    state.put_participant(
        Participant(spec.id, spec.name, spec.country, spec.roles, "active", actor.id, event.id)
    )
    for k in spec.keys:
        state.put_key(Key(k.id, spec.id, k.public_key, event.id))


def _participant_status(event: Event, state: State) -> None:
    target = registered(state, event.fields["participant"], "participant")
    actor = actor_of(event, state)
    if is_admin(target) or not may_register(actor, target.roles, target.country):
        raise refuse(
            "actor.not_authorized", f"{actor.id} may not change the status of {target.id}", "participant"
        )
    if target.status == "revoked":
        raise refuse("participant.revoked", f"{target.id} is revoked for good", "participant")
    state.put_participant(replace(target, status=event.fields["status"]))


def _may_manage_keys(actor: Participant, target: Participant) -> bool:
    return actor.id in (target.id, target.registrar) or (target.registrar is None and is_admin(actor))


def _key_add(event: Event, state: State) -> None:
    target = registered(state, event.fields["participant"], "participant")
    actor = actor_of(event, state)
    if not _may_manage_keys(actor, target):
        raise refuse(
            "actor.not_authorized", f"only {target.id} or its registrar may add its keys", "participant"
        )
    spec = event.fields["new_key"]
    _check_new_keys(state, [spec], "new_key.id")
    state.put_key(Key(spec.id, target.id, spec.public_key, event.id))


def _key_revoke(event: Event, state: State) -> None:
    target = registered(state, event.fields["participant"], "participant")
    actor = actor_of(event, state)
    if not _may_manage_keys(actor, target):
        raise refuse(
            "actor.not_authorized", f"only {target.id} or its registrar may revoke its keys", "participant"
        )
    key = state.key(event.fields["key_id"])
    if key is None or key.participant != target.id:
        raise refuse("key.unknown", f"{target.id} has no key {event.fields['key_id']}", "key_id")
    if key.revoked_ns is not None:
        raise refuse("key.revoked", f"key {key.id} is already revoked", "key_id")
    effective_ns = event.fields["effective_ns"]
    if (
        effective_ns < event.time_ns
        and actor.id != target.registrar
        and not (target.registrar is None and is_admin(actor))
    ):
        raise refuse(
            "actor.not_authorized",
            "only the registrar may revoke a key with effect in the past (a compromise)",
            "effective",
        )
    compromised = effective_ns < event.time_ns
    state.put_key(replace(key, revoked_ns=effective_ns, compromised=compromised))
    if compromised:
        # A compromise: what the key signed from the effective instant on stays in the log, flagged.
        for signed in state.events_signed_since(key.id, effective_ns):
            flag(
                state,
                event,
                "key.compromised",
                f"event {signed} was signed by key {key.id} of {target.id} after its compromise "
                f"(effective {event.fields['effective']})",
                compromised_event=signed,
                key=key.id,
            )


def _site_register(event: Event, state: State) -> None:
    spec = event.fields["site"]
    actor = actor_of(event, state)
    if "authority" not in actor.roles or actor.country != spec["country"]:
        raise refuse(
            "actor.not_authorized",
            f"only the authority of {spec['country']} registers its sites",
            "site.country",
        )
    if state.site(spec["id"]) is not None:
        raise refuse("site.exists", f"site {spec['id']} is already registered", "site.id")
    operator = registered(state, spec["operator"], "site.operator")
    if operator.country != spec["country"]:
        raise refuse(
            "site.operator_country",
            f"operator {operator.id} is registered in {operator.country}, the site is in {spec['country']}",
            "site.operator",
        )
    # The licensed capacity stays in the signed body (the site's register event), where detectors read it.
    state.put_site(Site(event=event.id, **{k: v for k, v in spec.items() if k != "annual_capacity"}))


def _ledger_backfill(event: Event, state: State) -> None:
    """Open a backfill window, or (``window`` given) close an open one early at ``closes``."""
    if not is_admin(actor_of(event, state)):
        raise refuse("actor.not_authorized", "only the scheme administrator opens backfill windows", "actor")
    f = event.fields
    logged = event.logged_ns if event.logged_ns is not None else event.time_ns
    if f["window"] is None:
        if f["closes_ns"] < logged:
            raise refuse(
                "backfill.closes",
                f"closes {f['closes']} is before the ledger's clock; the window would admit nothing",
                "closes",
            )
        state.put_backfill(
            Backfill(event.id, f["from_ns"], f["until_ns"], f["closes_ns"], logged, f["reason"] or "")
        )
        return
    window = next((w for w in state.backfills() if w.id == f["window"]), None)
    if window is None:
        raise refuse("backfill.unknown", f"there is no backfill window {f['window']}", "window")
    if window.closed_by is not None:
        raise refuse(
            "backfill.closed", f"backfill window {window.id} was closed by {window.closed_by}", "window"
        )
    for name in ("from", "until"):
        expected = getattr(window, f"{name}_ns")
        if f[f"{name}_ns"] != expected:
            raise refuse(
                "backfill.mismatch",
                f"{name} must repeat the {name} of window {window.id} ({format_time_ns(expected)})",
                name,
            )
    if f["closes_ns"] > window.closes_ns:
        raise refuse(
            "backfill.closes",
            f"a close cannot extend window {window.id}, which closes at {format_time_ns(window.closes_ns)}",
            "closes",
        )
    state.put_backfill(replace(window, closes_ns=f["closes_ns"], closed_by=event.id))


_HANDLERS: Final[dict[str, Callable[[Event, State], None]]] = {
    "genesis": _genesis,
    "participant.register": _participant_register,
    "participant.status": _participant_status,
    "key.add": _key_add,
    "key.revoke": _key_revoke,
    "site.register": _site_register,
    **CUSTODY_HANDLERS,
    **KP_HANDLERS,
    **OVERSIGHT_HANDLERS,
    **CORRECTION_HANDLERS,
    "ledger.backfill": _ledger_backfill,
}
