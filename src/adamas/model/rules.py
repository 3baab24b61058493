"""The hard rules of EVENTS.md: who may sign what, and what each event may do to the state.

``authenticate`` checks the signer (key, signature, revocation, clock, standing); ``apply`` checks the
type's rules and then changes the state. Every check of an event runs before its first change, so a refused
event changes nothing; each refusal is a ``RuleError`` (or ``VerificationError`` for signatures) with a
stable code from EVENTS.md, a message a person understands, and the field at fault.

Codes beyond the examples of EVENTS.md (its list is open) are documented in ``docs/refusals.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Final

from adamas.crypto import verify
from adamas.errors import RuleError, VerificationError
from adamas.model.events import Envelope, Event, OutputSpec
from adamas.model.origin import apportion, mix
from adamas.model.records import POLISHED_KINDS, ROUGH_KINDS, Flag, Key, Lot, Participant, Shipment, Site
from adamas.model.state import State
from adamas.model.values import Hundredths, format_hundredths

__all__ = ["CLOCK_SKEW_NS", "apply", "authenticate"]

CLOCK_SKEW_NS: Final = 5 * 60 * 1_000_000_000
MAX_SPLIT_LOSS_PER_MILLE: Final = 10  # 1% of the parent
REFUSED_YIELD_PERCENT: Final = 70
FLAGGED_YIELD_PERCENT: Final = 55
RECEIVE_TOLERANCE_PER_MILLE: Final = 1  # 0.1%
GRADE_TOLERANCE: Final = 1  # 0.01 ct


def authenticate(envelope: Envelope, state: State, *, now_ns: int | None, sig_ok: bool | None = None) -> None:
    """Check that the envelope is signed by a valid, unrevoked key of an active actor, not from the future.

    ``sig_ok`` is the result of an earlier signature check against this key, when the caller verified a
    whole batch ahead of time; ``None`` verifies here.
    """
    event = envelope.event
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
        if key.revoked_ns is not None and event.time_ns >= key.revoked_ns:
            raise RuleError(
                f"key {event.key} was revoked with effect before this event's time {event.time}",
                code="envelope.key_revoked",
                field="key",
            )
    if now_ns is not None and event.time_ns > now_ns + CLOCK_SKEW_NS:
        raise RuleError(
            f"time {event.time} is more than 5 minutes ahead of the ledger's clock",
            code="envelope.clock_skew",
            field="time",
        )
    if event.type != "genesis":
        actor = state.participant(event.actor)
        if actor is None or not actor.active:
            status = actor.status if actor is not None else "unknown"
            raise RuleError(
                f"{event.actor} is {status} and may sign nothing", code="actor.suspended", field="actor"
            )


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


# --- helpers --------------------------------------------------------------------------------------------


def _refuse(code: str, message: str, field: str | None = None, **context: Any) -> RuleError:
    return RuleError(message, code=code, field=field, **context)


def _actor(event: Event, state: State) -> Participant:
    actor = state.participant(event.actor)
    assert actor is not None  # authenticate() has run
    return actor


def _require_role(event: Event, state: State, role: str, field: str = "actor") -> Participant:
    actor = _actor(event, state)
    if role not in actor.roles:
        raise _refuse(
            "actor.not_authorized", f"{event.type} needs the role {role}; {actor.id} does not hold it", field
        )
    return actor


def _is_admin(p: Participant) -> bool:
    return "administrator" in p.roles


def _may_register(registrar: Participant, roles: Iterable[str], country: str | None) -> bool:
    """Administrator for authorities and monitors; an authority for other roles in its own country."""
    roles = set(roles)
    if roles & {"authority", "monitor"}:
        return _is_admin(registrar)
    return "authority" in registrar.roles and registrar.country == country


def _existing_lot(state: State, lot_id: str, field: str) -> Lot:
    lot = state.lot(lot_id)
    if lot is None:
        raise _refuse("custody.unknown_lot", f"there is no lot {lot_id}", field)
    return lot


def _new_lot_id(state: State, lot_id: str, field: str, taken: set[str]) -> None:
    if lot_id in taken or state.lot(lot_id) is not None:
        raise _refuse("custody.lot_exists", f"lot id {lot_id} is already taken", field)
    taken.add(lot_id)


_STATE_CODES: Final = {
    "in_transit": ("custody.in_transit", "is in transit"),
    "frozen": ("custody.frozen", "is frozen by an authority"),
    "consumed": ("custody.consumed", "was consumed by an earlier event"),
    "sold": ("custody.sold", "was sold to a consumer"),
}


def _held_lot(event: Event, state: State, lot_id: str, field: str) -> Lot:
    """A lot the actor holds and may move or transform now."""
    lot = _existing_lot(state, lot_id, field)
    if lot.state != "held":
        code, what = _STATE_CODES[lot.state]
        raise _refuse(code, f"lot {lot_id} {what}", field, state=lot.state)
    if lot.holder != event.actor:
        raise _refuse(
            "custody.not_holder",
            f"lot {lot_id} is held by {lot.holder}, not {event.actor}",
            field,
            holder=lot.holder,
        )
    _check_time_order(event, lot, field)
    return lot


def _check_time_order(event: Event, lot: Lot, field: str) -> None:
    if event.time_ns < lot.last_time_ns:
        raise _refuse(
            "event.time_order",
            f"time {event.time} is before the last event of lot {lot.id}; events on a lot cannot go "
            "back in time",
            "time",
        )


def _carry(parent: Lot, parts: Sequence[Hundredths], loss: Hundredths) -> list[dict[str, Hundredths]]:
    """Origins of ``parts`` taken from ``parent`` with ``loss`` carats lost (not returned)."""
    shares = apportion(parent.origin, [*parts, loss])
    return shares[: len(parts)]


def _percent(part: Hundredths, whole: Hundredths) -> str:
    return f"{part * 100 / whole:.1f}%"


def _flag(
    state: State, event: Event, code: str, message: str, lot: str | None = None, **evidence: Any
) -> None:
    state.flag(Flag(event=event.id, code=code, message=message, lot=lot, evidence=evidence))


# --- participants, keys, sites --------------------------------------------------------------------------


def _genesis(event: Event, state: State) -> None:
    admin = event.fields["administrator"]
    state.put_participant(
        Participant(admin.id, admin.name, admin.country, admin.roles, "active", None, event.id)
    )
    for k in admin.keys:
        state.put_key(Key(k.id, admin.id, k.public_key, event.id))


def _check_new_keys(state: State, keys: Iterable[Any], field: str) -> None:
    for k in keys:
        if state.key(k.id) is not None:
            raise _refuse("key.exists", f"key {k.id} is already registered", field)


def _participant_register(event: Event, state: State) -> None:
    spec = event.fields["participant"]
    actor = _actor(event, state)
    if not _may_register(actor, spec.roles, spec.country):
        raise _refuse(
            "actor.not_authorized",
            f"{actor.id} may not register a participant with roles {', '.join(sorted(spec.roles))} "
            f"in {spec.country}: the administrator registers authorities and monitors, an authority "
            "registers the other roles in its own country",
            "participant.roles",
        )
    if state.participant(spec.id) is not None:
        raise _refuse("participant.exists", f"participant {spec.id} is already registered", "participant.id")
    _check_new_keys(state, spec.keys, "participant.keys")
    state.put_participant(
        Participant(spec.id, spec.name, spec.country, spec.roles, "active", actor.id, event.id)
    )
    for k in spec.keys:
        state.put_key(Key(k.id, spec.id, k.public_key, event.id))


def _registered(state: State, participant_id: str, field: str) -> Participant:
    p = state.participant(participant_id)
    if p is None:
        raise _refuse("participant.unknown", f"there is no participant {participant_id}", field)
    return p


def _participant_status(event: Event, state: State) -> None:
    target = _registered(state, event.fields["participant"], "participant")
    actor = _actor(event, state)
    if _is_admin(target) or not _may_register(actor, target.roles, target.country):
        raise _refuse(
            "actor.not_authorized", f"{actor.id} may not change the status of {target.id}", "participant"
        )
    if target.status == "revoked":
        raise _refuse("participant.revoked", f"{target.id} is revoked for good", "participant")
    state.put_participant(replace(target, status=event.fields["status"]))


def _may_manage_keys(actor: Participant, target: Participant) -> bool:
    return actor.id in (target.id, target.registrar) or (target.registrar is None and _is_admin(actor))


def _key_add(event: Event, state: State) -> None:
    target = _registered(state, event.fields["participant"], "participant")
    actor = _actor(event, state)
    if not _may_manage_keys(actor, target):
        raise _refuse(
            "actor.not_authorized", f"only {target.id} or its registrar may add its keys", "participant"
        )
    spec = event.fields["new_key"]
    _check_new_keys(state, [spec], "new_key.id")
    state.put_key(Key(spec.id, target.id, spec.public_key, event.id))


def _key_revoke(event: Event, state: State) -> None:
    target = _registered(state, event.fields["participant"], "participant")
    actor = _actor(event, state)
    if not _may_manage_keys(actor, target):
        raise _refuse(
            "actor.not_authorized", f"only {target.id} or its registrar may revoke its keys", "participant"
        )
    key = state.key(event.fields["key_id"])
    if key is None or key.participant != target.id:
        raise _refuse("key.unknown", f"{target.id} has no key {event.fields['key_id']}", "key_id")
    if key.revoked_ns is not None:
        raise _refuse("key.revoked", f"key {key.id} is already revoked", "key_id")
    effective_ns = event.fields["effective_ns"]
    if (
        effective_ns < event.time_ns
        and actor.id != target.registrar
        and not (target.registrar is None and _is_admin(actor))
    ):
        raise _refuse(
            "actor.not_authorized",
            "only the registrar may revoke a key with effect in the past (a compromise)",
            "effective",
        )
    state.put_key(replace(key, revoked_ns=effective_ns))


def _site_register(event: Event, state: State) -> None:
    spec = event.fields["site"]
    actor = _actor(event, state)
    if "authority" not in actor.roles or actor.country != spec["country"]:
        raise _refuse(
            "actor.not_authorized",
            f"only the authority of {spec['country']} registers its sites",
            "site.country",
        )
    if state.site(spec["id"]) is not None:
        raise _refuse("site.exists", f"site {spec['id']} is already registered", "site.id")
    operator = _registered(state, spec["operator"], "site.operator")
    if operator.country != spec["country"]:
        raise _refuse(
            "site.operator_country",
            f"operator {operator.id} is registered in {operator.country}, the site is in {spec['country']}",
            "site.operator",
        )
    state.put_site(Site(event=event.id, **spec))


# --- custody --------------------------------------------------------------------------------------------


def _lot_register(event: Event, state: State) -> None:
    spec = event.fields["lot"]
    _require_role(event, state, "mine_operator")
    site = state.site(spec["site"])
    if site is None:
        raise _refuse("site.unknown", f"there is no site {spec['site']}", "lot.site")
    if site.kind != "mine":
        raise _refuse("site.not_mine", f"site {site.id} is a {site.kind}; only a mine produces", "lot.site")
    if site.operator != event.actor:
        raise _refuse("actor.not_authorized", f"site {site.id} is operated by {site.operator}", "lot.site")
    if spec["kind"] == "rough_stone" and spec["stones"] != 1:
        raise _refuse("event.schema", "a rough_stone lot is one stone", "lot.stones")
    for name in ("mined_from", "mined_to"):
        if spec[name] is not None and spec[name][1] > event.time_ns:
            raise _refuse("event.schema", f"lot.{name} is after the event's time", f"lot.{name}")
    if spec["mined_from"] and spec["mined_to"] and spec["mined_from"][1] > spec["mined_to"][1]:
        raise _refuse("event.schema", "lot.mined_from is after lot.mined_to", "lot.mined_from")
    _new_lot_id(state, spec["id"], "lot.id", set())
    state.put_lot(
        Lot(
            id=spec["id"],
            kind=spec["kind"],
            carats=spec["carats"],
            stones=spec["stones"],
            holder=event.actor,
            state="held",
            origin={site.id: spec["carats"]},
            parents=(),
            event=event.id,
            last_time_ns=event.time_ns,
            value=spec["value"],
        )
    )


def _consume(state: State, lot: Lot, event: Event) -> None:
    state.put_lot(replace(lot, state="consumed", last_time_ns=event.time_ns))


def _lot_split(event: Event, state: State) -> None:
    parent = _held_lot(event, state, event.fields["lot"], "lot")
    if parent.kind not in ROUGH_KINDS:
        raise _refuse(
            "custody.kind_mismatch",
            f"lot {parent.id} is {parent.kind}; only rough is split "
            "(polished stones are manufactured, jewels assembled)",
            "lot",
        )
    into: list[OutputSpec] = event.fields["into"]
    loss: Hundredths = event.fields["loss"]
    taken: set[str] = set()
    for i, part in enumerate(into):
        _new_lot_id(state, part.id, f"into[{i}].id", taken)
    total = sum(p.carats or 0 for p in into) + loss
    if total != parent.carats:
        raise _refuse(
            "mass.not_conserved",
            f"the parts and the loss weigh {format_hundredths(total)} ct; lot {parent.id} weighs "
            f"{format_hundredths(parent.carats)} ct",
            "into",
            expected=format_hundredths(parent.carats),
            actual=format_hundredths(total),
        )
    if loss * 1000 > parent.carats * MAX_SPLIT_LOSS_PER_MILLE:
        raise _refuse(
            "mass.not_conserved",
            f"a loss of {format_hundredths(loss)} ct is {_percent(loss, parent.carats)} of the lot; "
            "at most 1% may be lost in a split",
            "loss",
        )
    stones = [p.stones for p in into if p.stones is not None]
    if parent.stones is not None and sum(stones) > parent.stones:
        raise _refuse(
            "mass.not_conserved",
            f"the parts hold {sum(stones)} stones; lot {parent.id} has {parent.stones}",
            "into",
        )
    origins = _carry(parent, [p.carats or 0 for p in into], loss)
    _consume(state, parent, event)
    for part, origin in zip(into, origins, strict=True):
        state.put_lot(
            Lot(
                id=part.id,
                kind="rough_stone" if parent.kind == "rough_stone" or part.stones == 1 else "rough_parcel",
                carats=part.carats or 0,
                stones=part.stones,
                holder=event.actor,
                state="held",
                origin=origin,
                parents=(parent.id,),
                event=event.id,
                last_time_ns=event.time_ns,
                value=part.value,
            )
        )


def _kind_class(kind: str) -> str:
    return "rough" if kind in ROUGH_KINDS else kind


def _lot_merge(event: Event, state: State) -> None:
    ids: Sequence[str] = event.fields["lots"]
    if len(ids) < 2:
        raise _refuse("event.schema", "a merge takes at least two lots", "lots")
    lots = [_held_lot(event, state, lot_id, f"lots[{i}]") for i, lot_id in enumerate(ids)]
    classes = {_kind_class(lot.kind) for lot in lots}
    if len(classes) != 1 or "jewel" in classes:
        raise _refuse(
            "custody.kind_mismatch",
            "a merge takes lots of one kind class (rough with rough, polished with polished)",
            "lots",
            kinds=sorted({lot.kind for lot in lots}),
        )
    into: OutputSpec = event.fields["into"]
    _new_lot_id(state, into.id, "into.id", set())
    total = sum(lot.carats for lot in lots)
    if into.carats is not None and into.carats != total:
        raise _refuse(
            "mass.not_conserved",
            f"into.carats is {format_hundredths(into.carats)}; the lots weigh {format_hundredths(total)}",
            "into.carats",
            expected=format_hundredths(total),
            actual=format_hundredths(into.carats),
        )
    counts = [lot.stones for lot in lots]
    stones = (
        into.stones
        if into.stones is not None
        else (sum(c for c in counts if c is not None) if all(c is not None for c in counts) else None)
    )
    for lot in lots:
        _consume(state, lot, event)
    kind = "rough_parcel" if classes == {"rough"} else lots[0].kind
    state.put_lot(
        Lot(
            id=into.id,
            kind=kind,
            carats=total,
            stones=stones,
            holder=event.actor,
            state="held",
            origin=mix(lot.origin for lot in lots),
            parents=tuple(ids),
            event=event.id,
            last_time_ns=event.time_ns,
            value=into.value,
        )
    )


def _lot_ship(event: Event, state: State) -> None:
    fields = event.fields
    actor = _actor(event, state)
    lots = [_held_lot(event, state, lot_id, f"lots[{i}]") for i, lot_id in enumerate(fields["lots"])]
    if state.shipment(fields["shipment"]) is not None:
        raise _refuse(
            "custody.shipment_exists", f"shipment id {fields['shipment']} is already taken", "shipment"
        )
    to = _registered(state, fields["to"], "to")
    if to.id == actor.id:
        raise _refuse("event.schema", "a lot is shipped to someone else", "to")
    if not to.active:
        raise _refuse("actor.suspended", f"{to.id} is {to.status}; nothing may be shipped to it", "to")
    cross_border = actor.country != to.country
    if cross_border and any(lot.kind in ROUGH_KINDS for lot in lots):
        if "exporter" not in actor.roles:
            raise _refuse(
                "actor.not_authorized",
                f"rough leaves {actor.country} only with an exporter; {actor.id} is not one",
                "actor",
            )
        if "importer" not in to.roles:
            raise _refuse(
                "actor.not_authorized",
                f"rough enters {to.country} only through an importer; {to.id} is not one",
                "to",
            )
        # Certificates arrive with the certificate.* events; until then no certificate can back a shipment.
        number = fields["certificate"]
        raise _refuse(
            "certificate.required",
            f"rough crossing from {actor.country} to {to.country} needs an issued Kimberley Process "
            + ("certificate" if number is None else f"certificate; {number} is not one"),
            "certificate",
        )
    for lot in lots:
        state.put_lot(
            replace(lot, state="in_transit", shipment=fields["shipment"], last_time_ns=event.time_ns)
        )
    state.put_shipment(
        Shipment(
            id=fields["shipment"],
            sender=actor.id,
            to=to.id,
            lots=tuple(fields["lots"]),
            event=event.id,
            certificate=fields["certificate"],
            seal=fields["seal"],
        )
    )


def _lot_receive(event: Event, state: State) -> None:
    fields = event.fields
    shipment = state.shipment(fields["shipment"])
    if shipment is None:
        raise _refuse("custody.unknown_shipment", f"there is no shipment {fields['shipment']}", "shipment")
    if shipment.to != event.actor:
        raise _refuse(
            "actor.not_authorized", f"shipment {shipment.id} is addressed to {shipment.to}", "shipment"
        )
    if shipment.received_event is not None:
        raise _refuse("custody.already_received", f"shipment {shipment.id} was received already", "shipment")
    weighed = dict(fields["lots"])
    if set(weighed) != set(shipment.lots):
        raise _refuse(
            "custody.shipment_mismatch",
            f"shipment {shipment.id} holds lots {', '.join(shipment.lots)}; the receipt names "
            f"{', '.join(weighed)}",
            "lots",
        )
    lots = []
    for i, lot_id in enumerate(shipment.lots):
        lot = _existing_lot(state, lot_id, f"lots[{i}]")
        if lot.state == "frozen":
            raise _refuse("custody.frozen", f"lot {lot.id} is frozen by an authority", f"lots[{i}]")
        _check_time_order(event, lot, f"lots[{i}]")
        lots.append(lot)
    for lot in lots:
        arrived = weighed[lot.id]
        details = dict(lot.details)
        if abs(arrived - lot.carats) * 1000 > lot.carats * RECEIVE_TOLERANCE_PER_MILLE:
            details["weighed_on_arrival"] = format_hundredths(arrived)
            _flag(
                state,
                event,
                "receive.weight_mismatch",
                f"lot {lot.id} weighed {format_hundredths(arrived)} ct on arrival; it left with "
                f"{format_hundredths(lot.carats)} ct",
                lot=lot.id,
                expected=format_hundredths(lot.carats),
                actual=format_hundredths(arrived),
            )
        state.put_lot(
            replace(
                lot,
                state="held",
                holder=event.actor,
                shipment=None,
                last_time_ns=event.time_ns,
                details=details,
            )
        )
    if not fields["seal_intact"]:
        _flag(
            state,
            event,
            "receive.seal_broken",
            f"shipment {shipment.id} arrived with a broken seal",
            seal=shipment.seal,
        )
    state.put_shipment(replace(shipment, received_event=event.id))


def _lot_manufacture(event: Event, state: State) -> None:
    _require_role(event, state, "manufacturer")
    rough = _held_lot(event, state, event.fields["lot"], "lot")
    if rough.kind not in ROUGH_KINDS:
        raise _refuse(
            "custody.kind_mismatch", f"lot {rough.id} is {rough.kind}; only rough is manufactured", "lot"
        )
    into: list[OutputSpec] = event.fields["into"]
    remainder: list[OutputSpec] = event.fields["remainder"]
    taken: set[str] = set()
    for name, specs in (("into", into), ("remainder", remainder)):
        for i, spec in enumerate(specs):
            _new_lot_id(state, spec.id, f"{name}[{i}].id", taken)
    polished = sum(p.carats or 0 for p in into)
    rest = sum(p.carats or 0 for p in remainder)
    if polished + rest > rough.carats:
        raise _refuse(
            "mass.not_conserved",
            f"the outputs weigh {format_hundredths(polished + rest)} ct, more than the "
            f"{format_hundredths(rough.carats)} ct of rough lot {rough.id}",
            "into",
            expected=f"<= {format_hundredths(rough.carats)}",
            actual=format_hundredths(polished + rest),
        )
    if polished * 100 > rough.carats * REFUSED_YIELD_PERCENT:
        raise _refuse(
            "mass.implausible_yield",
            f"a polished yield of {_percent(polished, rough.carats)} of the rough is implausible "
            "(more than 70%)",
            "into",
            yield_percent=_percent(polished, rough.carats),
        )
    if polished * 100 > rough.carats * FLAGGED_YIELD_PERCENT:
        _flag(
            state,
            event,
            "manufacture.high_yield",
            f"polished yield {_percent(polished, rough.carats)} of lot {rough.id} is above 55%: "
            "a substitution signal",
            lot=rough.id,
            yield_percent=_percent(polished, rough.carats),
        )
    outputs = [*into, *remainder]
    origins = _carry(rough, [p.carats or 0 for p in outputs], rough.carats - polished - rest)
    _consume(state, rough, event)
    for spec, origin in zip(outputs, origins, strict=True):
        assert spec.kind is not None and spec.carats is not None
        state.put_lot(
            Lot(
                id=spec.id,
                kind=spec.kind,
                carats=spec.carats,
                stones=spec.stones
                or (1 if spec.kind in POLISHED_KINDS or spec.kind == "rough_stone" else None),
                holder=event.actor,
                state="held",
                origin=origin,
                parents=(rough.id,),
                event=event.id,
                last_time_ns=event.time_ns,
            )
        )


def _lot_grade(event: Event, state: State) -> None:
    _require_role(event, state, "grading_lab")
    lot = _held_lot(event, state, event.fields["lot"], "lot")
    if lot.kind not in POLISHED_KINDS:
        raise _refuse(
            "custody.kind_mismatch", f"lot {lot.id} is {lot.kind}; a lab grades polished stones", "lot"
        )
    report = dict(event.fields["report"])
    if abs(report["carats"] - lot.carats) > GRADE_TOLERANCE:
        _flag(
            state,
            event,
            "grade.weight_mismatch",
            f"report {report['number']} says {format_hundredths(report['carats'])} ct; lot {lot.id} weighs "
            f"{format_hundredths(lot.carats)} ct",
            lot=lot.id,
            expected=format_hundredths(lot.carats),
            actual=format_hundredths(report["carats"]),
        )
    if not report["natural"]:
        _flag(
            state,
            event,
            "grade.not_natural",
            f"report {report['number']} finds lot {lot.id} is not a natural diamond (substitution)",
            lot=lot.id,
        )
    report["carats"] = format_hundredths(report["carats"])
    details = dict(lot.details)
    details["grading"] = {k: v for k, v in report.items() if v is not None}
    state.put_lot(replace(lot, details=details, last_time_ns=event.time_ns))


def _lot_assemble(event: Event, state: State) -> None:
    ids: Sequence[str] = event.fields["lots"]
    lots = [_held_lot(event, state, lot_id, f"lots[{i}]") for i, lot_id in enumerate(ids)]
    for i, lot in enumerate(lots):
        if lot.kind not in POLISHED_KINDS:
            raise _refuse(
                "custody.kind_mismatch",
                f"lot {lot.id} is {lot.kind}; a jewel is set with polished stones",
                f"lots[{i}]",
            )
    into: OutputSpec = event.fields["into"]
    _new_lot_id(state, into.id, "into.id", set())
    for lot in lots:
        _consume(state, lot, event)
    state.put_lot(
        Lot(
            id=into.id,
            kind="jewel",
            carats=sum(lot.carats for lot in lots),
            stones=sum(lot.stones or 1 for lot in lots),
            holder=event.actor,
            state="held",
            origin=mix(lot.origin for lot in lots),
            parents=tuple(ids),
            event=event.id,
            last_time_ns=event.time_ns,
            details={"description": into.description},
        )
    )


def _lot_sell(event: Event, state: State) -> None:
    _require_role(event, state, "retailer")
    lot = _held_lot(event, state, event.fields["lot"], "lot")
    if lot.kind not in POLISHED_KINDS | {"jewel"}:
        raise _refuse(
            "custody.kind_mismatch",
            f"lot {lot.id} is {lot.kind}; a retailer sells polished stones and jewels",
            "lot",
        )
    state.put_lot(replace(lot, state="sold", last_time_ns=event.time_ns))


def _may_freeze(event: Event, state: State, lot: Lot) -> None:
    actor = _actor(event, state)
    if _is_admin(actor):
        return
    holder = state.participant(lot.holder)
    country = holder.country if holder is not None else None
    if "authority" not in actor.roles or actor.country != country:
        raise _refuse(
            "actor.not_authorized",
            f"only the authority of {country} (where lot {lot.id} is) or the administrator may do this",
            "lot",
        )


def _lot_freeze(event: Event, state: State) -> None:
    lot = _existing_lot(state, event.fields["lot"], "lot")
    _may_freeze(event, state, lot)
    if lot.state in ("consumed", "sold", "frozen"):
        code, what = _STATE_CODES[lot.state]
        raise _refuse(code, f"lot {lot.id} {what}", "lot")
    _check_time_order(event, lot, "lot")
    state.put_lot(replace(lot, state="frozen", frozen_from=lot.state, last_time_ns=event.time_ns))


def _lot_release(event: Event, state: State) -> None:
    lot = _existing_lot(state, event.fields["lot"], "lot")
    _may_freeze(event, state, lot)
    if lot.state != "frozen":
        raise _refuse("custody.not_frozen", f"lot {lot.id} is not frozen", "lot")
    _check_time_order(event, lot, "lot")
    state.put_lot(replace(lot, state=lot.frozen_from or "held", frozen_from=None, last_time_ns=event.time_ns))


_HANDLERS: Final[dict[str, Callable[[Event, State], None]]] = {
    "genesis": _genesis,
    "participant.register": _participant_register,
    "participant.status": _participant_status,
    "key.add": _key_add,
    "key.revoke": _key_revoke,
    "site.register": _site_register,
    "lot.register": _lot_register,
    "lot.split": _lot_split,
    "lot.merge": _lot_merge,
    "lot.ship": _lot_ship,
    "lot.receive": _lot_receive,
    "lot.manufacture": _lot_manufacture,
    "lot.grade": _lot_grade,
    "lot.assemble": _lot_assemble,
    "lot.sell": _lot_sell,
    "lot.freeze": _lot_freeze,
    "lot.release": _lot_release,
}
