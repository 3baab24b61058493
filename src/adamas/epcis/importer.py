"""From EPCIS 2.0 events to signed Adamas envelopes: the inverse of ``mapping``.

The importer holds one participant's key and signs every event it maps as that participant: an EPCIS event
is a claim, and in Adamas a claim is worth what its signer is. An event that names another Adamas actor
(``adamas:actor``) is refused rather than signed in someone else's name; the ledger's rules then judge the
signed events like any others. Which Adamas event an EPCIS event becomes is decided by its standard fields
(event type, action, bizStep, disposition, the lists); Adamas details that EPCIS has no field for (stones,
values, the grading report, the certificate's Annex I data) come from the ``adamas`` extension namespace.
What cannot be mapped is refused with the event's position, its eventID, a code and the field at fault.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from adamas.crypto import KeyPair
from adamas.epcis.hashing import document_namespaces, event_hash
from adamas.epcis.identifiers import NAMESPACE, PREFIX, ext, from_uri, to_uri
from adamas.epcis.times import utc_text
from adamas.errors import AdamasError, InputError
from adamas.ledger import Ledger, Mode, Outcome
from adamas.model.signing import sign_body

__all__ = ["ImportRefusal", "ImportReport", "import_document", "to_bodies"]

_EVENT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_CBV_WORD: Final = re.compile(r"^(?:https://ref\.gs1\.org/cbv/[A-Za-z]+-|urn:epcglobal:cbv:[a-z]+:)(.+)$")


@dataclass(frozen=True)
class ImportRefusal:
    """An EPCIS event that was not turned into an Adamas event, and why."""

    position: int
    event_id: str | None
    code: str
    message: str
    field: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, shaped like a ledger refusal."""
        return {
            "status": "unmappable",
            "position": self.position,
            "eventID": self.event_id,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did: the EPCIS events refused before signing, and the ledger's outcome per envelope."""

    refusals: tuple[ImportRefusal, ...]
    outcomes: tuple[Outcome, ...]
    positions: tuple[int, ...] = field(default=())
    """the EPCIS event position of each outcome"""

    @property
    def ok(self) -> bool:
        """True when every event was mapped and accepted (or was already logged)."""
        return not self.refusals and all(o.ok for o in self.outcomes)


def _unmappable(message: str, name: str | None, code: str = "epcis.unmappable") -> InputError:
    return InputError(message, code=code, field=name)


def _word(value: Any) -> str | None:
    """A CBV term as its bare word, whichever form it was written in."""
    if not isinstance(value, str):
        return None
    found = _CBV_WORD.match(value)
    return found.group(1) if found else value


def _plain(obj: Any) -> Any:
    """Extension content back to Adamas fields: ``adamas:`` taken off every key."""
    if isinstance(obj, Mapping):
        return {str(k).removeprefix(f"{PREFIX}:"): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def _money(amount: Any, name: str) -> dict[str, str]:
    if not isinstance(amount, str):
        raise _unmappable(f"{name} must be a decimal string (USD)", name)
    return {"amount": amount, "currency": "USD"}


def _utc(text: Any, field: str = "eventTime") -> str:
    """An EPCIS time as an RFC 3339 UTC instant with ``Z`` (unchanged when it already is one)."""
    if text is None:
        raise _unmappable(f"{field} is required", field)
    return utc_text(text, field)


def _renamed(obj: Any, ours: set[str]) -> Any:
    """``obj`` with every key in the Adamas namespace spelt ``adamas:<name>``, whatever prefix it used."""
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            head, sep, local = str(key).partition(":")
            out[f"{PREFIX}:{local}" if sep and head in ours else key] = _renamed(value, ours)
        return out
    if isinstance(obj, list):
        return [_renamed(v, ours) for v in obj]
    return obj


class _Event:
    """One EPCIS event being read, with the helpers that turn its fields into Adamas values."""

    def __init__(self, event: Mapping[str, Any], prefixes: Mapping[str, str]) -> None:
        # Extensions may use any prefix bound to the Adamas namespace; read them all as ``adamas:``.
        ours = {p for p, iri in prefixes.items() if iri == NAMESPACE}
        self.raw: dict[str, Any] = _renamed(event, ours)

    def get(self, name: str) -> Any:
        return self.raw.get(name)

    def ext(self, name: str, *, required: bool = False) -> Any:
        value = _plain(self.raw.get(ext(name)))
        if value is None and required:
            raise _unmappable(f"{ext(name)} is required for this event", ext(name))
        return value

    def lots(self, name: str, *, exactly_one: bool = False) -> list[str]:
        items = self.raw.get(name)
        if not isinstance(items, list) or not items:
            raise _unmappable(f"{name} must list the lots", name)
        ids = [from_uri(u, "lot", field=name) for u in items]
        if exactly_one and len(ids) != 1:
            raise _unmappable(f"{name} must name exactly one lot", name)
        return ids

    def quantities(self, name: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.raw.get(name) or []:
            if not isinstance(item, Mapping):
                raise _unmappable(f"{name} holds quantity elements", name)
            if item.get("uom") != "CTM" or "quantity" not in item:
                raise _unmappable(f"{name}: quantities must be in carats (uom CTM)", f"{name}.uom")
            try:
                carats = Decimal(str(item["quantity"]))
            except InvalidOperation as exc:
                raise _unmappable(f"{name}: quantity is not a number", f"{name}.quantity") from exc
            out[from_uri(item.get("epcClass"), "lot", field=f"{name}.epcClass")] = f"{carats:.2f}"
        return out

    def carats(self, name: str, lot: str) -> str:
        found = self.quantities(name).get(lot)
        if found is None:
            raise _unmappable(f"{name} gives no carats for {to_uri('lot', lot)}", name)
        return found

    def details(self) -> dict[str, dict[str, Any]]:
        ilmd = self.raw.get("ilmd") or {}
        items = _plain(ilmd.get(ext("lots")) if isinstance(ilmd, Mapping) else None) or []
        return {from_uri(d.get("lot"), "lot", field="ilmd"): dict(d) for d in items if isinstance(d, Mapping)}

    def transaction(self, kind: str, *, required: bool = True) -> str | None:
        for item in self.raw.get("bizTransactionList") or []:
            if isinstance(item, Mapping) and _word(item.get("type")) == {"kp": "cert"}.get(kind, "desadv"):
                return from_uri(item.get("bizTransaction"), kind, field="bizTransactionList")
        if required:
            raise _unmappable(
                f"bizTransactionList must name the {kind} (urn:adamas:{kind}:...)", "bizTransactionList"
            )
        return None

    def party(self, name: str) -> str:
        key = name[: -len("List")]
        items = [i for i in self.raw.get(name) or [] if isinstance(i, Mapping)]
        for wanted in ("possessing_party", "owning_party"):
            for item in items:
                if _word(item.get("type")) == wanted:
                    return from_uri(item.get(key), "party", field=name)
        raise _unmappable(f"{name} must name the possessing or owning party", name)


def _fields(ev: _Event) -> dict[str, Any]:
    """The type and type-specific fields of the Adamas event an EPCIS event maps to."""
    kind, action = ev.get("type"), ev.get("action")
    step, disposition = _word(ev.get("bizStep")), _word(ev.get("disposition"))
    if kind == "ObjectEvent" and action == "ADD" and step == "commissioning":
        (lot,) = ev.lots("epcList", exactly_one=True)
        ilmd = _plain(ev.get("ilmd") or {})
        where = (ev.get("readPoint") or ev.get("bizLocation") or {}).get("id")
        spec: dict[str, Any] = {
            "id": lot,
            "kind": ilmd.get("kind", "rough_parcel"),
            "carats": ev.carats("quantityList", lot),
            "stones": ilmd.get("stones"),
            "value": _money(ilmd.get("value"), f"ilmd.{ext('value')}"),
            "site": from_uri(where, "site", field="readPoint"),
        }
        if spec["stones"] is None:
            raise _unmappable("the stone count is required (ilmd adamas:stones)", f"ilmd.{ext('stones')}")
        for name, key in (("mined_from", "minedFrom"), ("mined_to", "minedTo")):
            if ilmd.get(key):
                spec[name] = ilmd[key]
        return {"type": "lot.register", "lot": spec}
    if kind == "ObjectEvent" and action == "OBSERVE":
        if step == "shipping":
            out: dict[str, Any] = {
                "type": "lot.ship",
                "shipment": ev.transaction("shipment"),
                "lots": ev.lots("epcList"),
                "to": ev.party("destinationList"),
            }
            certificate = ev.transaction("kp", required=False)
            if certificate:
                out["certificate"] = certificate
            if ev.ext("seal"):
                out["seal"] = ev.ext("seal")
            if ev.ext("declaredValue"):
                out["value"] = _money(ev.ext("declaredValue"), ext("declaredValue"))
            return out
        if step == "receiving":
            lots = ev.lots("epcList")
            return {
                "type": "lot.receive",
                "shipment": ev.transaction("shipment"),
                "lots": [{"id": i, "carats": ev.carats("quantityList", i)} for i in lots],
                "seal_intact": ev.ext("sealIntact", required=True),
            }
        if step == "inspecting" and ev.ext("report") is not None:
            (lot,) = ev.lots("epcList", exactly_one=True)
            return {"type": "lot.grade", "lot": lot, "report": ev.ext("report")}
        if step == "inspecting" and ev.ext("claim") is not None:
            subject = ev.ext("subject", required=True)
            kind_, sep, ident = str(subject).removeprefix("urn:adamas:").partition(":")
            if not sep or kind_ not in ("lot", "site", "party", "country", "event"):
                raise _unmappable("adamas:subject must be an Adamas URI", ext("subject"))
            return {
                "type": "attest",
                "subject": {"kind": {"party": "participant"}.get(kind_, kind_), "id": ident},
                "claim": ev.ext("claim"),
                "statement": ev.ext("statement", required=True),
                "evidence": ev.ext("evidence") or [],
            }
        if step == "retail_selling":
            (lot,) = ev.lots("epcList", exactly_one=True)
            out = {"type": "lot.sell", "lot": lot}
            if ev.ext("price"):
                out["price"] = _money(ev.ext("price"), ext("price"))
            if ev.ext("buyerRef"):
                out["buyer_ref"] = ev.ext("buyerRef")
            return out
        if step == "holding" and disposition in ("unavailable", "available"):
            (lot,) = ev.lots("epcList", exactly_one=True)
            kind_ = "lot.freeze" if disposition == "unavailable" else "lot.release"
            return {"type": kind_, "lot": lot, "reason": ev.ext("reason", required=True)}
    if kind == "TransformationEvent":
        return _transformation(ev, step)
    if kind == "TransactionEvent":
        number = ev.transaction("kp")
        if action == "ADD":
            cert = dict(ev.ext("certificate", required=True))
            cert.update(
                number=number, lots=ev.lots("epcList"), value=_money(cert.get("value"), ext("certificate"))
            )
            return {"type": "certificate.issue", "certificate": cert}
        if action == "OBSERVE":
            return {
                "type": "certificate.confirm",
                "number": number,
                "received_carats": ev.ext("receivedCarats", required=True),
                "parcels": ev.ext("parcels", required=True),
                "seal_intact": ev.ext("sealIntact", required=True),
            }
        if action == "DELETE":
            return {"type": "certificate.void", "number": number, "reason": ev.ext("reason", required=True)}
    raise _unmappable(
        f"no Adamas event type for a {kind} with action {action} and bizStep {step}",
        "bizStep" if kind in ("ObjectEvent", "TransformationEvent") else "type",
    )


def _transformation(ev: _Event, step: str | None) -> dict[str, Any]:
    inputs = ev.lots("inputEPCList")
    outputs = ev.lots("outputEPCList")
    details = ev.details()
    carats = ev.quantities("outputQuantityList")

    def part(lot: str, *names: str) -> dict[str, Any]:
        spec: dict[str, Any] = {"id": lot}
        extra = details.get(lot, {})
        for name in names:
            if name == "carats":
                if lot in carats:
                    spec["carats"] = carats[lot]
            elif name == "value":
                if extra.get("value"):
                    spec["value"] = _money(extra["value"], "ilmd")
            elif extra.get(name) is not None:
                spec[name] = extra[name]
        return spec

    if step == "commissioning":
        (lot,) = ev.lots("inputEPCList", exactly_one=True)
        into = [
            {**part(o, "carats"), "kind": details.get(o, {}).get("kind", "polished"), "stones": 1}
            for o in outputs
            if not details.get(o, {}).get("remainder")
        ]
        out: dict[str, Any] = {"type": "lot.manufacture", "lot": lot, "into": into}
        remainder = [
            {**part(o, "carats"), "kind": details[o].get("kind", "rough_parcel")}
            for o in outputs
            if details.get(o, {}).get("remainder")
        ]
        if remainder:
            out["remainder"] = remainder
        return out
    if step == "assembling":
        (jewel,) = outputs if len(outputs) == 1 else (None,)
        if jewel is None:
            raise _unmappable("an assembly makes exactly one jewel", "outputEPCList")
        description = details.get(jewel, {}).get("description")
        if not description:
            raise _unmappable("the jewel needs a description (ilmd adamas:description)", "ilmd")
        return {
            "type": "lot.assemble",
            "lots": inputs,
            "into": {"id": jewel, "kind": "jewel", "description": description},
        }
    if step == "repackaging" and len(inputs) == 1:
        out = {
            "type": "lot.split",
            "lot": inputs[0],
            "into": [part(o, "carats", "stones", "value") for o in outputs],
        }
        if any("carats" not in p for p in out["into"]):
            raise _unmappable("outputQuantityList must give every part's carats", "outputQuantityList")
        if ev.ext("loss"):
            out["loss"] = ev.ext("loss")
        return out
    if step == "repackaging" and len(outputs) == 1:
        return {"type": "lot.merge", "lots": inputs, "into": part(outputs[0], "carats", "stones", "value")}
    raise _unmappable(f"no Adamas event type for a TransformationEvent with bizStep {step}", "bizStep")


def _body_id(ev: _Event, eventid: str) -> str:
    """The Adamas event id: the one the event carries (``adamas:event``), else one derived from its eventID,
    so that importing the same document twice logs nothing twice."""
    given = ev.ext("event")
    if isinstance(given, str) and _EVENT_ID.match(given):
        return given
    return "epcis-" + hashlib.sha256(eventid.encode()).hexdigest()[:40]


def to_bodies(
    document: Mapping[str, Any], *, actor: str
) -> tuple[list[tuple[int, dict[str, Any]]], list[ImportRefusal]]:
    """Unsigned Adamas bodies (with their event positions) for the events of an EPCIS document, and the
    events refused; ``actor`` is the participant who will sign."""
    if document.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        raise InputError("not an EPCISDocument", code="epcis.bad_document", field="type")
    body = document.get("epcisBody") or {}
    if document.get("type") == "EPCISQueryDocument":
        body = ((body.get("queryResults") or {}).get("resultsBody")) or {}
    events = body.get("eventList")
    if not isinstance(events, list):
        raise InputError("epcisBody.eventList is missing", code="epcis.bad_document", field="epcisBody")
    prefixes = document_namespaces(document.get("@context"))
    hashes = [event_hash(e, prefixes) if isinstance(e, Mapping) and "type" in e else "" for e in events]
    by_id = {
        e.get("eventID") or h: i
        for i, (e, h) in enumerate(zip(events, hashes, strict=True))
        if isinstance(e, Mapping)
    }
    corrective = {
        by_id[c]
        for e in events
        if isinstance(e, Mapping) and isinstance(e.get("errorDeclaration"), Mapping)
        for c in e["errorDeclaration"].get("correctiveEventIDs") or []
        if c in by_id
    }
    out: list[tuple[int, dict[str, Any]]] = []
    refusals: list[ImportRefusal] = []
    for position, raw in enumerate(events):
        if position in corrective:
            continue  # it travels as the replacement of the correction that names it
        eventid = raw.get("eventID") if isinstance(raw, Mapping) else None
        try:
            if not isinstance(raw, Mapping):
                raise _unmappable("an EPCIS event is a JSON object", None)
            ev = _Event(raw, prefixes)
            declaration = ev.get("errorDeclaration")
            # A declaration is the correcting party's claim, whoever signed the event it declares wrong.
            named = _plain(declaration).get("actor") if isinstance(declaration, Mapping) else ev.ext("actor")
            if named is not None and named != to_uri("party", actor):
                raise _unmappable(
                    f"the event is {named}'s; the importer signs as {to_uri('party', actor)}",
                    ext("actor"),
                    code="epcis.actor_mismatch",
                )
            if isinstance(declaration, Mapping):
                body_ = _correction(
                    ev, declaration, events=events, by_id=by_id, prefixes=prefixes, actor=actor
                )
            else:
                body_ = {
                    "type": "",
                    "id": _body_id(ev, str(eventid or hashes[position])),
                    "actor": actor,
                    "time": _utc(raw.get("eventTime")),
                }
                body_.update(_fields(ev))
            out.append((position, body_))
        except AdamasError as exc:
            refusals.append(
                ImportRefusal(position, eventid or hashes[position] or None, exc.code, exc.message, exc.field)
            )
    return out, refusals


def _correction(
    ev: _Event,
    declaration: Mapping[str, Any],
    *,
    events: Sequence[Any],
    by_id: Mapping[str, int],
    prefixes: Mapping[str, str],
    actor: str,
) -> dict[str, Any]:
    """A ``correct`` event from an error declaration on an Adamas event (and its corrective event, if any)."""
    target = ev.ext("event")
    if not isinstance(target, str):
        raise _unmappable("the declared event is not an Adamas event (no adamas:event)", ext("event"))
    plain = _plain(dict(declaration))
    correction = plain.get("correction")
    ident = from_uri(correction, "event", field="errorDeclaration") if correction else None
    body: dict[str, Any] = {
        "type": "correct",
        "id": ident
        or "epcis-"
        + hashlib.sha256(f"{target}:{declaration.get('declarationTime')}".encode()).hexdigest()[:40],
        "actor": actor,
        "time": _utc(declaration.get("declarationTime"), "errorDeclaration.declarationTime"),
        "event": target,
        "reason": plain.get("reason") or _word(declaration.get("reason")) or "error declaration",
    }
    for eventid in declaration.get("correctiveEventIDs") or []:
        if eventid in by_id:
            corrective = _Event(events[by_id[eventid]], prefixes)
            replacement = {
                "type": "",
                "id": target,
                "actor": actor,
                "time": _utc(corrective.get("eventTime")),
            }
            replacement.update(_fields(corrective))
            body["replacement"] = replacement
    return body


def import_document(
    ledger: Ledger, document: Mapping[str, Any], *, key: KeyPair, actor: str, mode: Mode = "atomic"
) -> ImportReport:
    """Map an EPCIS document's events to Adamas events signed by ``actor`` with ``key``, and submit them.

    ``atomic``: an unmappable event stops the whole import, nothing is submitted. ``proceed``: the mappable
    events are submitted (and judged one by one), and each unmappable one is reported.
    """
    bodies, refusals = to_bodies(document, actor=actor)
    if refusals and mode == "atomic":
        return ImportReport(tuple(refusals), ())
    envelopes = []
    for _, body in bodies:
        if "replacement" in body:
            body["replacement"] = {**body["replacement"], "v": 1, "key": key.id}
        envelopes.append(sign_body(body, key))
    outcomes = ledger.submit(envelopes, mode=mode) if envelopes else []
    return ImportReport(tuple(refusals), tuple(outcomes), tuple(p for p, _ in bodies))
