"""Reading EPCIS events as Adamas events: which Adamas event type an EPCIS event is, and its fields.

The type follows from the standard fields (event type, action, bizStep, disposition, the lists), as
docs/epcis.md tabulates; Adamas details that EPCIS has no field for (stones, values, the grading report, the
certificate's Annex I data) come from the ``adamas`` extension namespace, under whatever prefix the document
binds to it. Anything that does not fit raises an ``InputError`` naming the EPCIS field at fault.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from adamas.epcis.identifiers import NAMESPACE, PREFIX, ext, from_uri, to_uri
from adamas.epcis.times import utc_text
from adamas.errors import InputError

__all__ = ["EpcisEvent", "adamas_fields", "cbv_word", "plain", "unmappable", "utc"]

_CBV_WORD: Final = re.compile(r"^(?:https://ref\.gs1\.org/cbv/[A-Za-z]+-|urn:epcglobal:cbv:[a-z]+:)(.+)$")


def unmappable(message: str, name: str | None, code: str = "epcis.unmappable") -> InputError:
    return InputError(message, code=code, field=name)


def cbv_word(value: Any) -> str | None:
    """A CBV term as its bare word, whichever form it was written in."""
    if not isinstance(value, str):
        return None
    found = _CBV_WORD.match(value)
    return found.group(1) if found else value


def plain(obj: Any) -> Any:
    """Extension content back to Adamas fields: ``adamas:`` taken off every key."""
    if isinstance(obj, Mapping):
        return {str(k).removeprefix(f"{PREFIX}:"): plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def _money(amount: Any, name: str) -> dict[str, str]:
    if not isinstance(amount, str):
        raise unmappable(f"{name} must be a decimal string (USD)", name)
    return {"amount": amount, "currency": "USD"}


def utc(text: Any, field: str = "eventTime") -> str:
    """An EPCIS time as an RFC 3339 UTC instant with ``Z`` (unchanged when it already is one)."""
    if text is None:
        raise unmappable(f"{field} is required", field)
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


class EpcisEvent:
    """One EPCIS event being read, with the helpers that turn its fields into Adamas values."""

    def __init__(self, event: Mapping[str, Any], prefixes: Mapping[str, str]) -> None:
        # Extensions may use any prefix bound to the Adamas namespace; read them all as ``adamas:``.
        ours = {p for p, iri in prefixes.items() if iri == NAMESPACE}
        self.raw: dict[str, Any] = _renamed(event, ours)

    def get(self, name: str) -> Any:
        return self.raw.get(name)

    def ext(self, name: str, *, required: bool = False) -> Any:
        value = plain(self.raw.get(ext(name)))
        if value is None and required:
            raise unmappable(f"{ext(name)} is required for this event", ext(name))
        return value

    def lots(self, name: str, *, exactly_one: bool = False) -> list[str]:
        items = self.raw.get(name)
        if not isinstance(items, list) or not items:
            raise unmappable(f"{name} must list the lots", name)
        ids = [from_uri(u, "lot", field=name) for u in items]
        if exactly_one and len(ids) != 1:
            raise unmappable(f"{name} must name exactly one lot", name)
        return ids

    def quantities(self, name: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.raw.get(name) or []:
            if not isinstance(item, Mapping):
                raise unmappable(f"{name} holds quantity elements", name)
            if item.get("uom") != "CTM" or "quantity" not in item:
                raise unmappable(f"{name}: quantities must be in carats (uom CTM)", f"{name}.uom")
            try:
                carats = Decimal(str(item["quantity"]))
            except InvalidOperation as exc:
                raise unmappable(f"{name}: quantity is not a number", f"{name}.quantity") from exc
            out[from_uri(item.get("epcClass"), "lot", field=f"{name}.epcClass")] = f"{carats:.2f}"
        return out

    def carats(self, name: str, lot: str) -> str:
        found = self.quantities(name).get(lot)
        if found is None:
            raise unmappable(f"{name} gives no carats for {to_uri('lot', lot)}", name)
        return found

    def details(self) -> dict[str, dict[str, Any]]:
        ilmd = self.raw.get("ilmd") or {}
        items = plain(ilmd.get(ext("lots")) if isinstance(ilmd, Mapping) else None) or []
        return {from_uri(d.get("lot"), "lot", field="ilmd"): dict(d) for d in items if isinstance(d, Mapping)}

    def transaction(self, kind: str, *, required: bool = True) -> str | None:
        for item in self.raw.get("bizTransactionList") or []:
            if isinstance(item, Mapping) and cbv_word(item.get("type")) == {"kp": "cert"}.get(kind, "desadv"):
                return from_uri(item.get("bizTransaction"), kind, field="bizTransactionList")
        if required:
            raise unmappable(
                f"bizTransactionList must name the {kind} (urn:adamas:{kind}:...)", "bizTransactionList"
            )
        return None

    def party(self, name: str) -> str:
        key = name[: -len("List")]
        items = [i for i in self.raw.get(name) or [] if isinstance(i, Mapping)]
        for wanted in ("possessing_party", "owning_party"):
            for item in items:
                if cbv_word(item.get("type")) == wanted:
                    return from_uri(item.get(key), "party", field=name)
        raise unmappable(f"{name} must name the possessing or owning party", name)


def adamas_fields(ev: EpcisEvent) -> dict[str, Any]:
    """The type and type-specific fields of the Adamas event an EPCIS event maps to; ``InputError`` when
    none does or a field it needs is missing."""
    kind, action = ev.get("type"), ev.get("action")
    step, disposition = cbv_word(ev.get("bizStep")), cbv_word(ev.get("disposition"))
    if kind == "ObjectEvent" and action == "ADD" and step == "commissioning":
        (lot,) = ev.lots("epcList", exactly_one=True)
        ilmd = plain(ev.get("ilmd") or {})
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
            raise unmappable("the stone count is required (ilmd adamas:stones)", f"ilmd.{ext('stones')}")
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
                raise unmappable("adamas:subject must be an Adamas URI", ext("subject"))
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
    raise unmappable(
        f"no Adamas event type for a {kind} with action {action} and bizStep {step}",
        "bizStep" if kind in ("ObjectEvent", "TransformationEvent") else "type",
    )


def _transformation(ev: EpcisEvent, step: str | None) -> dict[str, Any]:
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
            raise unmappable("an assembly makes exactly one jewel", "outputEPCList")
        description = details.get(jewel, {}).get("description")
        if not description:
            raise unmappable("the jewel needs a description (ilmd adamas:description)", "ilmd")
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
            raise unmappable("outputQuantityList must give every part's carats", "outputQuantityList")
        if ev.ext("loss"):
            out["loss"] = ev.ext("loss")
        return out
    if step == "repackaging" and len(outputs) == 1:
        return {"type": "lot.merge", "lots": inputs, "into": part(outputs[0], "carats", "stones", "value")}
    raise unmappable(f"no Adamas event type for a TransformationEvent with bizStep {step}", "bizStep")
