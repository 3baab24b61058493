"""From EPCIS 2.0 events to signed Adamas envelopes: the inverse of ``mapping``.

The importer holds one participant's key and signs every event it maps as that participant: an EPCIS event
is a claim, and in Adamas a claim is worth what its signer is. An event that names another Adamas actor
(``adamas:actor``) is refused rather than signed in someone else's name; the ledger's rules then judge the
signed events like any others. Which Adamas event an EPCIS event becomes is ``reading``'s business. What
cannot be mapped is refused with the event's position, its eventID, a code and the field at fault.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from adamas.crypto import KeyPair
from adamas.epcis.hashing import document_namespaces, event_hash
from adamas.epcis.identifiers import ext, from_uri, to_uri
from adamas.epcis.reading import EpcisEvent, adamas_fields, cbv_word, plain, unmappable, utc
from adamas.errors import AdamasError, InputError
from adamas.ledger import Ledger, Mode, Outcome
from adamas.model.signing import sign_body

__all__ = ["ImportRefusal", "ImportReport", "import_document", "to_bodies"]

_EVENT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")


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


def _body_id(ev: EpcisEvent, eventid: str) -> str:
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
                raise unmappable("an EPCIS event is a JSON object", None)
            ev = EpcisEvent(raw, prefixes)
            declaration = ev.get("errorDeclaration")
            # A declaration is the correcting party's claim, whoever signed the event it declares wrong.
            named = plain(declaration).get("actor") if isinstance(declaration, Mapping) else ev.ext("actor")
            if named is not None and named != to_uri("party", actor):
                raise unmappable(
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
                    "time": utc(raw.get("eventTime")),
                }
                body_.update(adamas_fields(ev))
            out.append((position, body_))
        except AdamasError as exc:
            refusals.append(
                ImportRefusal(position, eventid or hashes[position] or None, exc.code, exc.message, exc.field)
            )
    return out, refusals


def _correction(
    ev: EpcisEvent,
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
        raise unmappable("the declared event is not an Adamas event (no adamas:event)", ext("event"))
    declared = plain(dict(declaration))
    correction = declared.get("correction")
    ident = from_uri(correction, "event", field="errorDeclaration") if correction else None
    body: dict[str, Any] = {
        "type": "correct",
        "id": ident
        or "epcis-"
        + hashlib.sha256(f"{target}:{declaration.get('declarationTime')}".encode()).hexdigest()[:40],
        "actor": actor,
        "time": utc(declaration.get("declarationTime"), "errorDeclaration.declarationTime"),
        "event": target,
        "reason": declared.get("reason") or cbv_word(declaration.get("reason")) or "error declaration",
    }
    corrective_ids = declaration.get("correctiveEventIDs") or []
    if not corrective_ids:
        # Without a corrective event, Adamas knows only that the event should not count: a withdrawal.
        if cbv_word(declaration.get("reason")) != "did_not_occur":
            raise unmappable(
                "an error declaration without a corrective event must give the reason did_not_occur",
                "errorDeclaration.reason",
            )
        return body
    found = [i for i in corrective_ids if i in by_id]
    if len(found) != 1 or len(corrective_ids) != 1:
        raise unmappable(
            "an error declaration names exactly one corrective event, sent in the same document",
            "errorDeclaration.correctiveEventIDs",
        )
    corrective = EpcisEvent(events[by_id[found[0]]], prefixes)
    replacement = {"type": "", "id": target, "actor": actor, "time": utc(corrective.get("eventTime"))}
    replacement.update(adamas_fields(corrective))
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
