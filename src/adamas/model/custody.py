"""Custody rules: production, splits, merges, shipments, receipts, manufacturing, grading, assembly, sales,
freezes (EVENTS.md, "Custody"). Every check of an event runs before its first change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from adamas.model.checks import (
    STATE_CODES,
    actor_of,
    carry,
    check_time_order,
    existing_lot,
    flag,
    held_lot,
    is_admin,
    new_lot_id,
    percent,
    refuse,
    registered,
    require_role,
)
from adamas.model.events import Event, OutputSpec
from adamas.model.kp import check_export, check_import, check_production, crosses_kp_border
from adamas.model.origin import mix
from adamas.model.records import POLISHED_KINDS, ROUGH_KINDS, Lot, Shipment, evolve
from adamas.model.state import State
from adamas.model.values import Hundredths, format_hundredths

__all__ = ["CUSTODY_HANDLERS"]

MAX_SPLIT_LOSS_PER_MILLE: Final = 10  # 1% of the parent
REFUSED_YIELD_PERCENT: Final = 70
FLAGGED_YIELD_PERCENT: Final = 55
RECEIVE_TOLERANCE_PER_MILLE: Final = 1  # 0.1%
GRADE_TOLERANCE: Final = 1  # 0.01 ct


def _widest(lots: Sequence[Lot]) -> dict[str, Hundredths]:
    """Largest-stone bounds of goods put together (merged or set): per site, the largest of any input."""
    out: dict[str, Hundredths] = {}
    for lot in lots:
        for site in lot.origin:
            out[site] = max(out.get(site, 0), lot.largest_stone(site))
    return dict(sorted(out.items()))


def _lot_register(event: Event, state: State) -> None:
    spec = event.fields["lot"]
    require_role(event, state, "mine_operator")
    site = state.site(spec["site"])
    if site is None:
        raise refuse("site.unknown", f"there is no site {spec['site']}", "lot.site")
    if site.kind != "mine":
        raise refuse("site.not_mine", f"site {site.id} is a {site.kind}; only a mine produces", "lot.site")
    if site.operator != event.actor:
        raise refuse("actor.not_authorized", f"site {site.id} is operated by {site.operator}", "lot.site")
    check_production(state, event, site.country, site.zone)
    if spec["kind"] == "rough_stone" and spec["stones"] != 1:
        raise refuse("event.schema", "a rough_stone lot is one stone", "lot.stones")
    for name in ("mined_from", "mined_to"):
        if spec[name] is not None and spec[name][1] > event.time_ns:
            raise refuse("event.schema", f"lot.{name} is after the event's time", f"lot.{name}")
    if spec["mined_from"] and spec["mined_to"] and spec["mined_from"][1] > spec["mined_to"][1]:
        raise refuse("event.schema", "lot.mined_from is after lot.mined_to", "lot.mined_from")
    new_lot_id(state, spec["id"], "lot.id", set())
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
            largest={site.id: spec["carats"]},
        )
    )


def _consume(state: State, lot: Lot, event: Event) -> None:
    state.put_lot(evolve(lot, state="consumed", last_time_ns=event.time_ns))


def _lot_split(event: Event, state: State) -> None:
    parent = held_lot(event, state, event.fields["lot"], "lot")
    if parent.kind not in ROUGH_KINDS:
        raise refuse(
            "custody.kind_mismatch",
            f"lot {parent.id} is {parent.kind}; only rough is split "
            "(polished stones are manufactured, jewels assembled)",
            "lot",
        )
    into: list[OutputSpec] = event.fields["into"]
    loss: Hundredths = event.fields["loss"]
    taken: set[str] = set()
    for i, part in enumerate(into):
        new_lot_id(state, part.id, f"into[{i}].id", taken)
    total = sum(p.carats or 0 for p in into) + loss
    if total != parent.carats:
        raise refuse(
            "mass.not_conserved",
            f"the parts and the loss weigh {format_hundredths(total)} ct; lot {parent.id} weighs "
            f"{format_hundredths(parent.carats)} ct",
            "into",
            expected=format_hundredths(parent.carats),
            actual=format_hundredths(total),
        )
    if loss * 1000 > parent.carats * MAX_SPLIT_LOSS_PER_MILLE:
        raise refuse(
            "mass.not_conserved",
            f"a loss of {format_hundredths(loss)} ct is {percent(loss, parent.carats)} of the lot; "
            "at most 1% may be lost in a split",
            "loss",
        )
    counts = _split_counts(parent, into)
    origins = carry(parent, [p.carats or 0 for p in into], loss)
    _consume(state, parent, event)
    for part, origin, count in zip(into, origins, counts, strict=True):
        carats = part.carats or 0
        state.put_lot(
            Lot(
                id=part.id,
                kind="rough_stone" if parent.kind == "rough_stone" or count == 1 else "rough_parcel",
                carats=carats,
                stones=count,
                holder=event.actor,
                state="held",
                origin=origin,
                parents=(parent.id,),
                event=event.id,
                last_time_ns=event.time_ns,
                value=part.value,
                largest={site: min(parent.largest_stone(site), carats) for site in sorted(origin)},
            )
        )


def _split_counts(parent: Lot, into: Sequence[OutputSpec]) -> list[int | None]:
    """The stone count of each part: stones are conserved where goods are not cut (docs/time.md, "Stones").

    A parent of known count: the parts' counts sum to it exactly; one part that gives none takes what the
    others leave (at least one stone); parts of two or more that give none share the rest, their counts
    unknown. A parent of unknown count: the parts declare none (a count cannot come from nowhere).
    """
    given = [p.stones for p in into]
    missing = [i for i, count in enumerate(given) if count is None]
    declared = sum(c for c in given if c is not None)
    if parent.stones is None:
        if declared:
            raise refuse(
                "mass.not_conserved",
                f"the stone count of lot {parent.id} is unknown, so its parts cannot declare one",
                "into",
            )
        return [None] * len(into)
    if declared + len(missing) > parent.stones or (not missing and declared != parent.stones):
        raise refuse(
            "mass.not_conserved",
            f"the parts hold {declared} stones"
            + (f" and {len(missing)} more parts" if missing else "")
            + f"; lot {parent.id} has {parent.stones}: a split neither creates nor loses stones",
            "into",
            expected=parent.stones,
            actual=declared,
        )
    if len(missing) == 1:
        return [parent.stones - declared if c is None else c for c in given]
    return list(given)


def _kind_class(kind: str) -> str:
    return "rough" if kind in ROUGH_KINDS else kind


def _lot_merge(event: Event, state: State) -> None:
    ids: Sequence[str] = event.fields["lots"]
    if len(ids) < 2:
        raise refuse("event.schema", "a merge takes at least two lots", "lots")
    lots = [held_lot(event, state, lot_id, f"lots[{i}]") for i, lot_id in enumerate(ids)]
    classes = {_kind_class(lot.kind) for lot in lots}
    if len(classes) != 1 or "jewel" in classes:
        raise refuse(
            "custody.kind_mismatch",
            "a merge takes lots of one kind class (rough with rough, polished with polished)",
            "lots",
            kinds=sorted({lot.kind for lot in lots}),
        )
    into: OutputSpec = event.fields["into"]
    new_lot_id(state, into.id, "into.id", set())
    total = sum(lot.carats for lot in lots)
    if into.carats is not None and into.carats != total:
        raise refuse(
            "mass.not_conserved",
            f"into.carats is {format_hundredths(into.carats)}; the lots weigh {format_hundredths(total)}",
            "into.carats",
            expected=format_hundredths(total),
            actual=format_hundredths(into.carats),
        )
    counts = [lot.stones for lot in lots]
    stones = sum(c for c in counts if c is not None) if all(c is not None for c in counts) else None
    if into.stones is not None and into.stones != stones:
        raise refuse(
            "mass.not_conserved",
            f"into.stones is {into.stones}; the lots hold "
            + (f"{stones} stones" if stones is not None else "stones of unknown count")
            + ": a merge neither creates nor loses stones",
            "into.stones",
            expected=stones,
            actual=into.stones,
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
            largest=_widest(lots),
        )
    )


def _lot_ship(event: Event, state: State) -> None:
    fields = event.fields
    actor = actor_of(event, state)
    lots = [held_lot(event, state, lot_id, f"lots[{i}]") for i, lot_id in enumerate(fields["lots"])]
    if state.shipment(fields["shipment"]) is not None:
        raise refuse(
            "custody.shipment_exists", f"shipment id {fields['shipment']} is already taken", "shipment"
        )
    to = registered(state, fields["to"], "to")
    if to.id == actor.id:
        raise refuse("event.schema", "a lot is shipped to someone else", "to")
    if not to.active:
        raise refuse("actor.suspended", f"{to.id} is {to.status}; nothing may be shipped to it", "to")
    certificate = None
    if crosses_kp_border(actor, to) and any(lot.kind in ROUGH_KINDS for lot in lots):
        if "exporter" not in actor.roles:
            raise refuse(
                "actor.not_authorized",
                f"rough leaves {actor.country} only with an exporter; {actor.id} is not one",
                "actor",
            )
        if "importer" not in to.roles:
            raise refuse(
                "actor.not_authorized",
                f"rough enters {to.country} only through an importer; {to.id} is not one",
                "to",
            )
        certificate = check_export(event, state, actor, to, lots)
    if certificate is not None:
        state.put_certificate(evolve(certificate, used_by=fields["shipment"]))
    for lot in lots:
        state.put_lot(
            evolve(lot, state="in_transit", shipment=fields["shipment"], last_time_ns=event.time_ns)
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
        raise refuse("custody.unknown_shipment", f"there is no shipment {fields['shipment']}", "shipment")
    if shipment.to != event.actor:
        raise refuse(
            "actor.not_authorized", f"shipment {shipment.id} is addressed to {shipment.to}", "shipment"
        )
    if shipment.received_event is not None:
        raise refuse("custody.already_received", f"shipment {shipment.id} was received already", "shipment")
    weighed = dict(fields["lots"])
    if set(weighed) != set(shipment.lots):
        raise refuse(
            "custody.shipment_mismatch",
            f"shipment {shipment.id} holds lots {', '.join(shipment.lots)}; the receipt names "
            f"{', '.join(weighed)}",
            "lots",
        )
    lots = []
    for i, lot_id in enumerate(shipment.lots):
        lot = existing_lot(state, lot_id, f"lots[{i}]")
        if lot.state == "frozen":
            raise refuse("custody.frozen", f"lot {lot.id} is frozen by an authority", f"lots[{i}]")
        check_time_order(event, lot, f"lots[{i}]")
        lots.append(lot)
    check_import(event, state, shipment, lots)
    for lot in lots:
        arrived = weighed[lot.id]
        details = dict(lot.details)
        if abs(arrived - lot.carats) * 1000 > lot.carats * RECEIVE_TOLERANCE_PER_MILLE:
            details["weighed_on_arrival"] = format_hundredths(arrived)
            flag(
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
            evolve(
                lot,
                state="held",
                holder=event.actor,
                shipment=None,
                last_time_ns=event.time_ns,
                details=details,
            )
        )
    if not fields["seal_intact"]:
        flag(
            state,
            event,
            "receive.seal_broken",
            f"shipment {shipment.id} arrived with a broken seal",
            seal=shipment.seal,
        )
    state.put_shipment(evolve(shipment, received_event=event.id))


def _lot_manufacture(event: Event, state: State) -> None:
    require_role(event, state, "manufacturer")
    rough = held_lot(event, state, event.fields["lot"], "lot")
    if rough.kind not in ROUGH_KINDS:
        raise refuse(
            "custody.kind_mismatch", f"lot {rough.id} is {rough.kind}; only rough is manufactured", "lot"
        )
    into: list[OutputSpec] = event.fields["into"]
    remainder: list[OutputSpec] = event.fields["remainder"]
    taken: set[str] = set()
    for name, specs in (("into", into), ("remainder", remainder)):
        for i, spec in enumerate(specs):
            new_lot_id(state, spec.id, f"{name}[{i}].id", taken)
    polished = sum(p.carats or 0 for p in into)
    rest = sum(p.carats or 0 for p in remainder)
    if polished + rest > rough.carats:
        raise refuse(
            "mass.not_conserved",
            f"the outputs weigh {format_hundredths(polished + rest)} ct, more than the "
            f"{format_hundredths(rough.carats)} ct of rough lot {rough.id}",
            "into",
            expected=f"<= {format_hundredths(rough.carats)}",
            actual=format_hundredths(polished + rest),
        )
    if polished * 100 > rough.carats * REFUSED_YIELD_PERCENT:
        raise refuse(
            "mass.implausible_yield",
            f"a polished yield of {percent(polished, rough.carats)} of the rough is implausible "
            "(more than 70%)",
            "into",
            yield_percent=percent(polished, rough.carats),
        )
    if polished * 100 > rough.carats * FLAGGED_YIELD_PERCENT:
        flag(
            state,
            event,
            "manufacture.high_yield",
            f"polished yield {percent(polished, rough.carats)} of lot {rough.id} is above 55%: "
            "a substitution signal",
            lot=rough.id,
            yield_percent=percent(polished, rough.carats),
        )
    outputs = [*into, *remainder]
    origins = carry(rough, [p.carats or 0 for p in outputs], rough.carats - polished - rest)
    _consume(state, rough, event)
    for spec, origin in zip(outputs, origins, strict=True):
        assert spec.kind is not None and spec.carats is not None
        # A polished output is one stone of exactly its weight; a remainder is bounded by the rough too.
        polished_stone = spec.kind in POLISHED_KINDS
        largest = {
            site: spec.carats if polished_stone else min(rough.largest_stone(site), spec.carats)
            for site in sorted(origin)
        }
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
                largest=largest,
            )
        )


def _lot_grade(event: Event, state: State) -> None:
    require_role(event, state, "grading_lab")
    lot = held_lot(event, state, event.fields["lot"], "lot")
    if lot.kind not in POLISHED_KINDS:
        raise refuse(
            "custody.kind_mismatch", f"lot {lot.id} is {lot.kind}; a lab grades polished stones", "lot"
        )
    report = dict(event.fields["report"])
    if abs(report["carats"] - lot.carats) > GRADE_TOLERANCE:
        flag(
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
        flag(
            state,
            event,
            "grade.not_natural",
            f"report {report['number']} finds lot {lot.id} is not a natural diamond (substitution)",
            lot=lot.id,
        )
    report["carats"] = format_hundredths(report["carats"])
    details = dict(lot.details)
    details["grading"] = {k: v for k, v in report.items() if v is not None}
    state.put_lot(evolve(lot, details=details, last_time_ns=event.time_ns))


def _lot_assemble(event: Event, state: State) -> None:
    ids: Sequence[str] = event.fields["lots"]
    lots = [held_lot(event, state, lot_id, f"lots[{i}]") for i, lot_id in enumerate(ids)]
    for i, lot in enumerate(lots):
        if lot.kind not in POLISHED_KINDS:
            raise refuse(
                "custody.kind_mismatch",
                f"lot {lot.id} is {lot.kind}; a jewel is set with polished stones",
                f"lots[{i}]",
            )
    into: OutputSpec = event.fields["into"]
    new_lot_id(state, into.id, "into.id", set())
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
            largest=_widest(lots),
        )
    )


def _lot_sell(event: Event, state: State) -> None:
    require_role(event, state, "retailer")
    lot = held_lot(event, state, event.fields["lot"], "lot")
    if lot.kind not in POLISHED_KINDS | {"jewel"}:
        raise refuse(
            "custody.kind_mismatch",
            f"lot {lot.id} is {lot.kind}; a retailer sells polished stones and jewels",
            "lot",
        )
    state.put_lot(evolve(lot, state="sold", last_time_ns=event.time_ns))


def _may_freeze(event: Event, state: State, lot: Lot) -> None:
    actor = actor_of(event, state)
    if is_admin(actor):
        return
    holder = state.participant(lot.holder)
    country = holder.country if holder is not None else None
    if "authority" not in actor.roles or actor.country != country:
        raise refuse(
            "actor.not_authorized",
            f"only the authority of {country} (where lot {lot.id} is) or the administrator may do this",
            "lot",
        )


def _lot_freeze(event: Event, state: State) -> None:
    lot = existing_lot(state, event.fields["lot"], "lot")
    _may_freeze(event, state, lot)
    if lot.state in ("consumed", "sold", "frozen"):
        code, what = STATE_CODES[lot.state]
        raise refuse(code, f"lot {lot.id} {what}", "lot")
    check_time_order(event, lot, "lot")
    state.put_lot(evolve(lot, state="frozen", frozen_from=lot.state, last_time_ns=event.time_ns))


def _lot_release(event: Event, state: State) -> None:
    lot = existing_lot(state, event.fields["lot"], "lot")
    _may_freeze(event, state, lot)
    if lot.state != "frozen":
        raise refuse("custody.not_frozen", f"lot {lot.id} is not frozen", "lot")
    check_time_order(event, lot, "lot")
    state.put_lot(evolve(lot, state=lot.frozen_from or "held", frozen_from=None, last_time_ns=event.time_ns))


CUSTODY_HANDLERS: Final[dict[str, Callable[[Event, State], None]]] = {
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
