"""From a logged Adamas event to EPCIS 2.0 events (pure: everything it needs comes in a ``Facts``).

Custody maps to ObjectEvents and TransformationEvents, certificates to TransactionEvents, attestations to
``certificationInfo`` and ``correct`` to an error declaration plus its corrective event (docs/epcis.md has
the table). Registry events (participants, keys, sites, country standing, sanctions, backfill windows) are
master data, not EPCIS events: they map to nothing. A lot is one instance and its own class of one: its URI
is in ``epcList`` (so ``MATCH_epc`` finds it) and in ``quantityList`` with its carats (UN/ECE ``CTM``).
Every event carries, in the ``adamas`` namespace, its Adamas id, type and actor, its leaf index and the
signed envelope itself, so that anyone can check it against the log: recompute the leaf hash and verify
its inclusion proof.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from adamas.crypto import canonicalize
from adamas.epcis.hashing import event_hash
from adamas.epcis.identifiers import NAMESPACE, PREFIX, ext, to_uri
from adamas.model.values import format_time_ns

__all__ = ["REGISTRY_TYPES", "Facts", "LoggedEvent", "to_epcis"]

CARAT: Final = "CTM"
REGISTRY_TYPES: Final = frozenset(
    {
        "genesis",
        "participant.register",
        "participant.status",
        "key.add",
        "key.revoke",
        "site.register",
        "country.status",
        "sanction.set",
        "ledger.backfill",
    }
)


@dataclass(frozen=True)
class LoggedEvent:
    """An event as the log holds it: leaf index, envelope, and the logged time (``recordTime``)."""

    index: int
    envelope: Mapping[str, Any]
    record_ns: int

    @property
    def body(self) -> Mapping[str, Any]:
        """The signed body."""
        body: Mapping[str, Any] = self.envelope["body"]
        return body


@dataclass(frozen=True)
class Facts:
    """What the mapping needs beyond the event itself, read from the ledger's state by the caller."""

    site_country: dict[str, str] = field(default_factory=dict)
    lot_carats: dict[str, str] = field(default_factory=dict)
    shipments: dict[str, tuple[str, str]] = field(default_factory=dict)
    """shipment id -> (sender, addressee)"""
    certificate_lots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    corrected: dict[str, LoggedEvent] = field(default_factory=dict)
    """event id -> the logged event it names, for the events that ``correct`` events correct"""


def _number(carats: str) -> float | int:
    value = Decimal(carats)
    return int(value) if value == value.to_integral_value() else float(value)


def _quantities(items: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    return [
        {"epcClass": to_uri("lot", lot), "quantity": _number(carats), "uom": CARAT}
        for lot, carats in items
        if carats is not None
    ]


def _lots(ids: list[str]) -> list[str]:
    return [to_uri("lot", i) for i in ids]


def _parties(sender: str, receiver: str) -> dict[str, Any]:
    return {
        "sourceList": [
            {"type": t, "source": to_uri("party", sender)} for t in ("owning_party", "possessing_party")
        ],
        "destinationList": [
            {"type": t, "destination": to_uri("party", receiver)}
            for t in ("owning_party", "possessing_party")
        ],
    }


def _prefixed(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An Adamas object as extension content: every key in the ``adamas`` namespace."""
    return {ext(k): _prefixed(v) if isinstance(v, Mapping) else v for k, v in obj.items() if v is not None}


def _base(event: LoggedEvent, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every event has: its declared time (in UTC) and the ledger's logged time."""
    return {
        "type": kind,
        "eventTime": body["time"],
        "eventTimeZoneOffset": "+00:00",
        "recordTime": format_time_ns(event.record_ns),
    }


def _trailer(event: LoggedEvent) -> dict[str, Any]:
    """What lets anyone check the EPCIS event against the log: the Adamas event, its leaf, its envelope."""
    body = event.body
    return {
        ext("event"): body["id"],
        ext("type"): body["type"],
        ext("actor"): to_uri("party", body["actor"]),
        ext("leafIndex"): event.index,
        ext("envelope"): canonicalize(dict(event.envelope)).decode("utf-8"),
    }


def to_epcis(event: LoggedEvent, facts: Facts) -> list[dict[str, Any]]:
    """The EPCIS events (JSON-LD, no ``eventID`` yet) of one logged Adamas event; none for registry events."""
    body = event.body
    if body["type"] in REGISTRY_TYPES:
        return []
    if body["type"] == "correct":
        return _correct(event, facts)
    mapped = _custody(event, body, facts)
    return [] if mapped is None else [{**mapped, **_trailer(event)}]


def _custody(event: LoggedEvent, body: Mapping[str, Any], facts: Facts) -> dict[str, Any] | None:
    kind = body["type"]
    if kind == "lot.register":
        return _register(event, body, facts)
    if kind in ("lot.split", "lot.merge", "lot.manufacture", "lot.assemble"):
        return _transformation(event, body, facts)
    if kind in ("lot.ship", "lot.receive"):
        return _movement(event, body, facts)
    if kind.startswith("certificate."):
        return _certificate(event, body, facts)
    out = _base(event, "ObjectEvent", body)
    if kind == "lot.grade":
        report = body["report"]
        out.update(
            epcList=_lots([body["lot"]]),
            action="OBSERVE",
            bizStep="inspecting",
            disposition="conformant" if report.get("natural", True) else "non_conformant",
        )
        out[ext("report")] = _prefixed(report)
    elif kind == "lot.sell":
        out.update(epcList=_lots([body["lot"]]), action="OBSERVE", bizStep="retail_selling")
        out["disposition"] = "retail_sold"
        if body.get("price"):
            out[ext("price")] = body["price"]["amount"]
        if body.get("buyer_ref"):
            out[ext("buyerRef")] = body["buyer_ref"]
    elif kind in ("lot.freeze", "lot.release"):
        out.update(epcList=_lots([body["lot"]]), action="OBSERVE", bizStep="holding")
        out["disposition"] = "unavailable" if kind == "lot.freeze" else "available"
        out[ext("reason")] = body["reason"]
    elif kind == "attest":
        subject = body["subject"]
        subject_kind = {"participant": "party"}.get(subject["kind"], subject["kind"])
        out.update(
            epcList=_lots([subject["id"]]) if subject["kind"] == "lot" else [],
            action="OBSERVE",
            bizStep="inspecting",
        )
        # The attestation is itself the certificate: its event in the log, and the evidence it names.
        out["certificationInfo"] = [to_uri("event", body["id"])] + [
            item["uri"] for item in body.get("evidence", []) if item.get("uri")
        ]
        if subject["kind"] == "site":
            out["readPoint"] = {"id": to_uri("site", subject["id"])}
        out[ext("subject")] = to_uri(subject_kind, subject["id"])
        out[ext("claim")] = body["claim"]
        out[ext("statement")] = body["statement"]
        out[ext("evidence")] = [_prefixed(item) for item in body.get("evidence", [])]
    else:
        return None
    return out


def _register(event: LoggedEvent, body: Mapping[str, Any], facts: Facts) -> dict[str, Any]:
    lot = body["lot"]
    site = to_uri("site", lot["site"])
    out = _base(event, "ObjectEvent", body)
    out.update(
        epcList=_lots([lot["id"]]),
        quantityList=_quantities([(lot["id"], lot["carats"])]),
        action="ADD",
        bizStep="commissioning",
        disposition="active",
        readPoint={"id": site},
        bizLocation={"id": site},
    )
    ilmd = {
        "kind": lot["kind"],
        "stones": lot["stones"],
        "value": lot["value"]["amount"],
        "mine": site,
        "country": facts.site_country.get(lot["site"]),
        "minedFrom": lot.get("mined_from"),
        "minedTo": lot.get("mined_to"),
    }
    out["ilmd"] = _prefixed(ilmd)
    return out


def _transformation(event: LoggedEvent, body: Mapping[str, Any], facts: Facts) -> dict[str, Any]:
    kind = body["type"]
    out = _base(event, "TransformationEvent", body)
    into = body["into"] if isinstance(body["into"], list) else [body["into"]]
    outputs = [*into, *body.get("remainder", [])]
    inputs = [body["lot"]] if kind in ("lot.split", "lot.manufacture") else list(body["lots"])
    if kind == "lot.split":
        total = sum((Decimal(p["carats"]) for p in into), Decimal(body.get("loss", "0")))
        in_carats: list[tuple[str, str | None]] = [(body["lot"], f"{total:.2f}")]
    else:
        in_carats = [(i, facts.lot_carats.get(i)) for i in inputs]
    out_carats = [(o["id"], o.get("carats")) for o in outputs]
    if kind in ("lot.merge", "lot.assemble") and "carats" not in into[0]:
        known = [c for _, c in in_carats]
        if all(c is not None for c in known):
            out_carats = [(into[0]["id"], f"{sum(Decimal(c) for c in known if c is not None):.2f}")]
    out.update(
        inputEPCList=_lots(inputs),
        inputQuantityList=_quantities(in_carats),
        outputEPCList=_lots([o["id"] for o in outputs]),
        outputQuantityList=_quantities(out_carats),
        bizStep={"lot.manufacture": "commissioning", "lot.assemble": "assembling"}.get(kind, "repackaging"),
    )
    if not out["inputQuantityList"]:
        del out["inputQuantityList"]
    if not out["outputQuantityList"]:
        del out["outputQuantityList"]
    details = [
        _prefixed(
            {
                "lot": to_uri("lot", o["id"]),
                "kind": o.get("kind"),
                "stones": o.get("stones"),
                "value": o["value"]["amount"] if o.get("value") else None,
                "description": o.get("description"),
                "remainder": True if o in body.get("remainder", []) else None,
            }
        )
        for o in outputs
    ]
    out["ilmd"] = {ext("lots"): details}
    if body.get("loss"):
        out[ext("loss")] = body["loss"]
    return out


def _movement(event: LoggedEvent, body: Mapping[str, Any], facts: Facts) -> dict[str, Any]:
    out = _base(event, "ObjectEvent", body)
    shipment = body["shipment"]
    transactions = [{"type": "desadv", "bizTransaction": to_uri("shipment", shipment)}]
    if body["type"] == "lot.ship":
        sender, receiver = body["actor"], body["to"]
        lots = list(body["lots"])
        out.update(epcList=_lots(lots), action="OBSERVE", bizStep="shipping", disposition="in_transit")
        if body.get("certificate"):
            transactions.insert(0, {"type": "cert", "bizTransaction": to_uri("kp", body["certificate"])})
    else:
        sender, receiver = facts.shipments.get(shipment, (body["actor"], body["actor"]))
        lots = [item["id"] for item in body["lots"]]
        out.update(
            epcList=_lots(lots),
            quantityList=_quantities([(i["id"], i["carats"]) for i in body["lots"]]),
            action="OBSERVE",
            bizStep="receiving",
            disposition="in_progress",
        )
    out["bizTransactionList"] = transactions
    out.update(_parties(sender, receiver))
    if body["type"] == "lot.ship":
        if body.get("seal"):
            out[ext("seal")] = body["seal"]
        if body.get("value"):
            out[ext("declaredValue")] = body["value"]["amount"]
    else:
        out[ext("sealIntact")] = body["seal_intact"]
    return out


def _certificate(event: LoggedEvent, body: Mapping[str, Any], facts: Facts) -> dict[str, Any] | None:
    kind = body["type"]
    out = _base(event, "TransactionEvent", body)
    if kind == "certificate.issue":
        cert = body["certificate"]
        number, lots = cert["number"], list(cert["lots"])
        out.update(action="ADD", bizStep="accepting")
        parties = _parties(cert["exporter"], cert["importer"])
        out["sourceList"], out["destinationList"] = parties["sourceList"][:1], parties["destinationList"][:1]
        out[ext("certificate")] = _prefixed({**cert, "lots": None, "value": cert["value"]["amount"]})
    elif kind in ("certificate.confirm", "certificate.void"):
        number = body["number"]
        lots = list(facts.certificate_lots.get(number, ()))
        if kind == "certificate.confirm":
            out.update(action="OBSERVE", bizStep="receiving")
            out[ext("receivedCarats")] = body["received_carats"]
            out[ext("parcels")] = body["parcels"]
            out[ext("sealIntact")] = body["seal_intact"]
        else:
            out.update(action="DELETE", bizStep="void_shipping")
            out[ext("reason")] = body["reason"]
    else:
        return None
    out["epcList"] = _lots(lots)
    out["bizTransactionList"] = [{"type": "cert", "bizTransaction": to_uri("kp", number)}]
    return out


def _correct(event: LoggedEvent, facts: Facts) -> list[dict[str, Any]]:
    """An error declaration on the corrected event (same eventID: the declaration is outside the hash) and,
    when there is a replacement, the corrective event that takes its place."""
    body = event.body
    original = facts.corrected.get(body["event"])
    if original is None:
        return []
    declared = to_epcis(original, facts)
    if not declared:
        return []
    out: list[dict[str, Any]] = []
    corrective: dict[str, Any] | None = None
    replacement = body.get("replacement")
    if replacement is not None:
        mapped = _custody(event, replacement, facts)
        if mapped is not None:
            corrective = {**mapped, **_trailer(event), ext("corrects"): to_uri("event", body["event"])}
    declaration = {
        "declarationTime": body["time"],
        "reason": "incorrect_data" if replacement is not None else "did_not_occur",
        ext("correction"): to_uri("event", body["id"]),
        ext("actor"): to_uri("party", body["actor"]),
        ext("reason"): body["reason"],
        ext("leafIndex"): event.index,
    }
    if corrective is not None:
        declaration["correctiveEventIDs"] = [event_hash(corrective, {PREFIX: NAMESPACE})]
    first = {**declared[0], "recordTime": format_time_ns(event.record_ns), "errorDeclaration": declaration}
    out.append(first)
    if corrective is not None:
        out.append(corrective)
    return out
