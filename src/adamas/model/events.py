"""Envelopes and event bodies of EVENTS.md, parsed strictly into typed values.

Parsing checks form only (types, patterns, required and unknown fields); whether an event may happen is the
business of :mod:`adamas.model.rules`. Every refusal here is an ``InputError`` with code ``event.schema``
(or an ``envelope.*`` code for the envelope itself) and the dotted path of the offending field.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from adamas.crypto.canonical import canonicalize_plain
from adamas.errors import InputError
from adamas.model.records import (
    ATTEST_CLAIMS,
    ATTEST_SUBJECTS,
    COUNTRY_STATUSES,
    HS_CODES,
    LOT_KINDS,
    PARTICIPANT_STATUSES,
    POLISHED_KINDS,
    ROLES,
    ROUGH_KINDS,
    SITE_KINDS,
)
from adamas.model.values import (
    CERTIFICATE_NUMBER,
    COUNTRIES,
    EVENT_ID,
    KEY_ID,
    SHA256_HEX,
    SIGNED_DECIMAL,
    Hundredths,
    Reader,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_ENVELOPE_BYTES",
    "SUPPORTED_TYPES",
    "Envelope",
    "Event",
    "KeySpec",
    "OutputSpec",
    "ParticipantSpec",
    "check_depth",
    "parse_body",
    "parse_envelope",
]

MAX_ENVELOPE_BYTES: Final = 65_535
MAX_DEPTH: Final = 32
"""JSON nested deeper than this (objects and arrays) is refused before it is decoded (docs/limits.md)."""
_STRINGS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}")
TEXT_MAX: Final = 2_000


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A key as registered: its id and raw public key."""

    id: str
    public_key: bytes


@dataclass(frozen=True, slots=True)
class ParticipantSpec:
    """A participant as described in ``genesis`` or ``participant.register``."""

    id: str
    name: str
    country: str | None
    roles: frozenset[str]
    keys: tuple[KeySpec, ...]


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """A lot an event creates (split part, merge result, manufactured stone, jewel)."""

    id: str
    carats: Hundredths | None
    stones: int | None = None
    value: Hundredths | None = None
    kind: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A parsed, typed event body; ``fields`` holds the type-specific values by their EVENTS.md names."""

    type: str
    id: str
    actor: str
    key: str
    time: str
    time_ns: int
    fields: dict[str, Any]
    logged_ns: int | None = None
    """The ledger's logged time for this event (set by the ledger, never signed; None: not known)."""
    backfill: str | None = None
    """The ``ledger.backfill`` window that admitted it past the backdating allowance, if any."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed envelope: the event, its signature, and the canonical bytes that are signed and logged."""

    event: Event
    sig: str
    body: dict[str, Any]
    body_bytes: bytes
    leaf: bytes
    signature: bytes = b""
    """The signature's raw bytes (decoded once, here; 64 of them when it can be an Ed25519 signature)."""


def parse_envelope(data: bytes | str | dict[str, Any]) -> Envelope:
    """Parse one envelope from JSON text (or an already decoded object); refuse anything malformed.

    Text that is already the canonical envelope (as ``adamas sign`` writes it) is decoded once, by a compiled
    decoder, and its body's canonical bytes are the ones that proved it canonical. Any other spelling is
    decoded by the standard library as before this fast path existed, and a second time to refuse duplicate
    member names, which canonical text cannot hold: the fast path only ever takes text whose value every
    JSON decoder reads alike, so it never changes what is accepted or how a refusal reads.
    """
    raw: bytes | None = None
    canonical: tuple[dict[str, Any], bytes] | None = None
    if isinstance(data, dict):
        obj: Any = data
    else:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        if len(raw) > 4 * MAX_ENVELOPE_BYTES:
            raise InputError("the envelope is far larger than 65,535 bytes", code="envelope.too_large")
        check_depth(raw)
        canonical = _decode_canonical(raw)
        obj = canonical[0] if canonical is not None else _loads(raw, strict=False)
    if not isinstance(obj, dict):
        raise InputError('an envelope is a JSON object {"body": ..., "sig": ...}', code="envelope.malformed")
    unknown = obj.keys() - {"body", "sig"}
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"{name!r} is not an envelope field", code="envelope.malformed", field=name)
    sig = obj.get("sig")
    if not isinstance(sig, str) or not 80 <= len(sig) <= 100:
        raise InputError("sig must be a base64 Ed25519 signature", code="envelope.malformed", field="sig")
    # Only the canonical base64 spelling: otherwise unused trailing bits would give one signed event
    # several distinct leaves.
    signature = _canonical_base64(sig)
    if signature is None:
        raise InputError(
            "sig must be canonical standard padded base64", code="envelope.malformed", field="sig"
        )
    body = obj.get("body")
    if not isinstance(body, dict):
        raise InputError("body must be a JSON object", code="envelope.malformed", field="body")
    body_bytes: bytes | None
    if canonical is not None:
        body_bytes = canonical[1]
    else:
        try:
            body_bytes = canonicalize_plain(body)
        except InputError:
            body_bytes = None  # not plain: the schema below refuses it with the precise field
        except RecursionError as exc:
            raise _too_deep() from exc
        if raw is not None and (body_bytes is None or raw.strip() != _frame(body_bytes, sig)):
            _loads(raw, strict=True)
    event = parse_body(body)
    # The schema admits only plain values (no floats, bounded integers, ASCII member names), for which
    # canonicalize_plain writes exactly RFC 8785; text that is not Unicode (a lone surrogate) is all else.
    if body_bytes is None:
        where = _not_unicode(body) or "body"
        raise InputError(f"{where} holds text that is not valid Unicode (a lone surrogate)", field=where)
    leaf = _frame(body_bytes, sig)
    if len(leaf) > MAX_ENVELOPE_BYTES:
        raise InputError(
            f"the canonical envelope has {len(leaf)} bytes; at most {MAX_ENVELOPE_BYTES} are allowed",
            code="envelope.too_large",
            size=len(leaf),
        )
    return Envelope(event=event, sig=sig, body=body, body_bytes=body_bytes, leaf=leaf, signature=signature)


def _frame(body_bytes: bytes, sig: str) -> bytes:
    """The canonical envelope around a canonical body.

    RFC 8785 sorts the members ("body" < "sig") and a base64 string needs no escaping, so the canonical
    envelope is the canonical body spliced into a fixed frame: one canonicalization instead of two.
    """
    return b'{"body":' + body_bytes + b',"sig":"' + sig.encode("ascii") + b'"}'


def check_depth(raw: bytes) -> None:
    """Refuse JSON text whose objects and arrays nest deeper than ``MAX_DEPTH`` (``envelope.too_deep``).

    Cheap for ordinary envelopes: only text holding more than ``MAX_DEPTH`` brackets is scanned.
    """
    if raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:
        return
    depth = 0
    for byte in _STRINGS.sub(b"", raw):
        if byte in b"{[":
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep()
        elif byte in b"}]":
            depth -= 1


def _too_deep() -> InputError:
    return InputError(
        f"the JSON nests objects and arrays more than {MAX_DEPTH} deep", code="envelope.too_deep"
    )


def _not_unicode(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or member name) that cannot be encoded as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for name, item in value.items():
            here = f"{path}.{name}" if path else str(name)
            if _not_unicode(name) is not None:
                return here
            items.append((here, item))
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    for here, item in items:
        found = _not_unicode(item, here)
        if found is not None:
            return found
    return None


def _decode_canonical(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    """The decoded envelope and its body's canonical bytes when ``raw`` is exactly the canonical envelope
    (give or take JSON whitespace around it); None for any other text, which the standard library decodes.

    Canonical text holds no duplicate member, no insignificant whitespace, no escape but RFC 8785's, no
    number the canonical form would respell: its value is the same whichever JSON decoder reads it, and the
    same text the reference path would have found canonical (tests/model/test_fast_decode.py holds the two
    paths to equal envelopes and equal refusals).
    """
    try:
        obj = _FAST_DECODER.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if type(obj) is not dict or len(obj) != 2:
        return None
    body, sig = obj.get("body"), obj.get("sig")
    if type(body) is not dict or type(sig) is not str or not sig.isascii():
        return None
    try:
        body_bytes = canonicalize_plain(body)
    except InputError:
        return None
    if raw.strip(_JSON_WHITESPACE) != _frame(body_bytes, sig):
        return None
    return obj, body_bytes


_FAST_DECODER: Final = msgspec.json.Decoder()
_JSON_WHITESPACE: Final = b" \t\r\n"


def _loads(raw: bytes, *, strict: bool) -> Any:
    """Decode JSON text; ``strict`` also refuses duplicate member names."""
    try:
        if strict:
            return json.loads(raw, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
        return _DECODER.decode(raw.decode("utf-8"))
    except InputError:
        raise
    except RecursionError as exc:
        raise _too_deep() from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the envelope is not valid JSON: {exc}", code="envelope.malformed") from exc


def parse_body(body: dict[str, Any]) -> Event:
    """Parse and validate an event body (header and type-specific fields)."""
    r = Reader(body, "")
    v = r.raw("v")
    if type(v) is not int or v != 1:
        raise InputError("v must be 1 in this version of the vocabulary", field="v")
    type_ = r.req_string("type", max_len=64)
    parser = _PARSERS.get(type_)
    if parser is None:
        raise InputError(f"unknown event type {type_!r}", field="type")
    event_id = r.req_string("id", pattern=EVENT_ID, what="event id")
    actor = r.ident("actor")
    key = r.req_string("key", pattern=KEY_ID, what="key id (16 lowercase hex digits)")
    time = r.time("time")
    assert time is not None
    fields = parser(r)
    r.done()
    return Event(type=type_, id=event_id, actor=actor, key=key, time=time[0], time_ns=time[1], fields=fields)


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not JSON", code="envelope.malformed")


_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)


def _canonical_base64(text: str) -> bytes | None:
    """The bytes ``text`` spells in canonical standard padded base64; None for any other spelling."""
    if not _BASE64.fullmatch(text):
        return None
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return raw if binascii.b2a_base64(raw, newline=False).decode("ascii") == text else None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InputError(f"the JSON object has the field {name!r} twice", code="envelope.malformed")
            seen.add(name)
    return out


# --- type-specific fields -------------------------------------------------------------------------------


def _text(r: Reader, name: str, *, required: bool = True) -> str | None:
    return r.string(name, required=required, max_len=TEXT_MAX)


def _keys(r: Reader, name: str) -> tuple[KeySpec, ...]:
    from adamas.crypto import key_id, public_key_from_b64

    out = []
    for k in r.objects(name, max_len=16):
        kid = k.req_string("id", pattern=KEY_ID, what="key id")
        pub = public_key_from_b64(k.req_string("public_key", max_len=64), field=k.where("public_key"))
        if key_id(pub) != kid:
            raise InputError(
                f"{k.where('id')} is {kid}, but the key id of that public key is {key_id(pub)}",
                field=k.where("id"),
            )
        k.done()
        out.append(KeySpec(kid, pub))
    if len({k.id for k in out}) != len(out):
        raise InputError(f"{r.where(name)} lists the same key twice", field=r.where(name))
    return tuple(out)


def _participant(r: Reader, *, genesis: bool) -> ParticipantSpec:
    p = r.child("administrator" if genesis else "participant")
    pid = p.ident("id")
    name = p.req_string("name", max_len=200)
    if genesis:
        country = p.country("country") if p.has("country") else None
        roles = frozenset({"administrator"})
    else:
        country = p.country("country")
        raw_roles = p.array("roles", max_len=len(ROLES))
        # Roles are strings: a list or an object among them is refused, never hashed (found by fuzzing).
        bad = [x for x in raw_roles if not isinstance(x, str) or x not in ROLES or x == "administrator"]
        if bad:
            raise InputError(
                f"{p.where('roles')} holds {bad[0]!r}, which is not a role one can register",
                field=p.where("roles"),
            )
        roles = frozenset(raw_roles)
    keys = _keys(p, "keys")
    p.done()
    return ParticipantSpec(pid, name, country, roles, keys)


MAX_BACKDATE_ALLOWANCE_DAYS: Final = 3_650


def _genesis(r: Reader) -> dict[str, Any]:
    # ``backdate_allowance_days`` (an optional Adamas field): the ledger's backdating allowance, fixed in
    # leaf 0 so that anyone replaying the log judges ``time.backdated`` as the operator did.
    days = r.integer("backdate_allowance_days", required=False, maximum=MAX_BACKDATE_ALLOWANCE_DAYS)
    return {"administrator": _participant(r, genesis=True), "backdate_allowance_days": days}


def _participant_register(r: Reader) -> dict[str, Any]:
    return {"participant": _participant(r, genesis=False), "licence": _text(r, "licence", required=False)}


def _participant_status(r: Reader) -> dict[str, Any]:
    return {
        "participant": r.ident("participant"),
        "status": r.choice("status", PARTICIPANT_STATUSES),
        "reason": _text(r, "reason"),
    }


def _key_add(r: Reader) -> dict[str, Any]:
    from adamas.crypto import key_id, public_key_from_b64

    # EVENTS.md names the new key `key`, which is also the header's signing key id; the new key travels as
    # `new_key` (docs/refusals.md, "Choices").
    k = r.child("new_key")
    kid = k.req_string("id", pattern=KEY_ID, what="key id")
    pub = public_key_from_b64(k.req_string("public_key", max_len=64), field=k.where("public_key"))
    if key_id(pub) != kid:
        raise InputError(f"new_key.id {kid} is not the key id of that public key", field="new_key.id")
    k.done()
    return {"participant": r.ident("participant"), "new_key": KeySpec(kid, pub)}


def _key_revoke(r: Reader) -> dict[str, Any]:
    effective = r.time("effective")
    assert effective is not None
    return {
        "participant": r.ident("participant"),
        "key_id": r.req_string("key_id", pattern=KEY_ID, what="key id"),
        "reason": _text(r, "reason"),
        "effective": effective[0],
        "effective_ns": effective[1],
    }


def _coordinate(r: Reader, name: str, limit: int) -> str | None:
    value = r.string(name, required=False, pattern=SIGNED_DECIMAL, max_len=16, what="decimal coordinate")
    if value is not None and abs(float(value)) > limit:
        raise InputError(f"{r.where(name)} must be within ±{limit}", field=r.where(name))
    return value


def _site_register(r: Reader) -> dict[str, Any]:
    s = r.child("site")
    out = {
        "id": s.ident("id"),
        "name": s.req_string("name", max_len=200),
        "kind": s.choice("kind", SITE_KINDS),
        "country": s.country("country"),
        "operator": s.ident("operator"),
        "lat": _coordinate(s, "lat", 90),
        "lon": _coordinate(s, "lon", 180),
        "zone": s.string("zone", required=False, max_len=200),
        # Carats a year from the mine's licence: what the capacity detector compares production with.
        "annual_capacity": s.carats("annual_capacity", required=False),
    }
    s.done()
    return {"site": out}


def _lot_register(r: Reader) -> dict[str, Any]:
    lot = r.child("lot")
    kind = lot.choice("kind", ROUGH_KINDS)
    out = {
        "id": lot.ident("id", lot=True),
        "kind": kind,
        "carats": lot.req_carats("carats"),
        "stones": lot.integer("stones", minimum=1),
        "value": lot.money("value"),
        "site": lot.ident("site"),
        "mined_from": lot.time("mined_from", required=False),
        "mined_to": lot.time("mined_to", required=False),
    }
    lot.done()
    return {"lot": out}


def _part(p: Reader, *, carats_required: bool = True) -> OutputSpec:
    spec = OutputSpec(
        id=p.ident("id", lot=True),
        carats=p.carats("carats", required=carats_required),
        stones=p.integer("stones", required=False, minimum=1),
        value=p.money("value", required=False),
    )
    p.done()
    return spec


def _lot_split(r: Reader) -> dict[str, Any]:
    return {
        "lot": r.ident("lot", lot=True),
        "into": [_part(p) for p in r.objects("into")],
        "loss": r.carats("loss", required=False, allow_zero=True) or 0,
    }


def _lot_merge(r: Reader) -> dict[str, Any]:
    return {"lots": r.ids("lots", lot=True), "into": _part(r.child("into"), carats_required=False)}


def _lot_ship(r: Reader) -> dict[str, Any]:
    return {
        "shipment": r.ident("shipment"),
        "lots": r.ids("lots", lot=True),
        "to": r.ident("to"),
        "certificate": r.string("certificate", required=False, max_len=40),
        "seal": r.string("seal", required=False, max_len=200),
        # The shipment's declared value: what the value detector compares with its origin's norm.
        "value": r.money("value", required=False),
    }


def _lot_receive(r: Reader) -> dict[str, Any]:
    lots = []
    for p in r.objects("lots"):
        lots.append((p.ident("id", lot=True), p.req_carats("carats")))
        p.done()
    if len({lot_id for lot_id, _ in lots}) != len(lots):
        raise InputError("lots names the same lot twice", field="lots")
    return {"shipment": r.ident("shipment"), "lots": lots, "seal_intact": r.boolean("seal_intact")}


def _output(p: Reader, kinds: frozenset[str]) -> OutputSpec:
    spec = OutputSpec(
        id=p.ident("id", lot=True),
        kind=p.choice("kind", kinds),
        carats=p.req_carats("carats"),
        stones=p.integer("stones", required=False, minimum=1),
    )
    p.done()
    return spec


def _lot_manufacture(r: Reader) -> dict[str, Any]:
    into = [_output(p, POLISHED_KINDS) for p in r.objects("into")]
    for i, spec in enumerate(into):
        if spec.stones not in (None, 1):
            raise InputError("a polished output is one stone", field=f"into[{i}].stones")
    return {
        "lot": r.ident("lot", lot=True),
        "into": into,
        "remainder": [_output(p, ROUGH_KINDS) for p in r.objects("remainder", required=False, min_len=0)],
    }


def _lot_grade(r: Reader) -> dict[str, Any]:
    rep = r.child("report")
    report = {
        "number": rep.req_string("number", max_len=64),
        "carats": rep.req_carats("carats"),
        "color": rep.string("color", required=False, max_len=32),
        "clarity": rep.string("clarity", required=False, max_len=32),
        "cut": rep.string("cut", required=False, max_len=32),
        "measurements": rep.string("measurements", required=False, max_len=64),
        "fingerprint": rep.string("fingerprint", required=False, max_len=256),
        "natural": rep.boolean("natural"),
    }
    rep.done()
    return {"lot": r.ident("lot", lot=True), "report": report}


def _lot_assemble(r: Reader) -> dict[str, Any]:
    into = r.child("into")
    spec = OutputSpec(
        id=into.ident("id", lot=True),
        carats=None,
        kind=into.choice("kind", frozenset({"jewel"})),
        description=into.req_string("description", max_len=TEXT_MAX),
    )
    into.done()
    return {"lots": r.ids("lots", lot=True), "into": spec}


def _lot_sell(r: Reader) -> dict[str, Any]:
    return {
        "lot": r.ident("lot", lot=True),
        "price": r.money("price", required=False),
        "buyer_ref": r.string(
            "buyer_ref", required=False, pattern=SHA256_HEX, what="buyer reference (64 lowercase hex digits)"
        ),
    }


def _lot_freeze(r: Reader) -> dict[str, Any]:
    return {"lot": r.ident("lot", lot=True), "reason": _text(r, "reason")}


def _countries(r: Reader, name: str) -> tuple[str, ...]:
    items = r.array(name, max_len=300)
    out = []
    for i, item in enumerate(items):
        where = f"{r.where(name)}[{i}]"
        if not isinstance(item, str) or item not in COUNTRIES:
            raise InputError(
                f"{where} must be an ISO 3166-1 alpha-2 country code or EU; got {item!r}", field=where
            )
        out.append(item)
    if len(set(out)) != len(out):
        raise InputError(f"{r.where(name)} names a country twice", field=r.where(name))
    return tuple(out)


def _country_status(r: Reader) -> dict[str, Any]:
    effective = r.time("effective")
    assert effective is not None
    zones = r.array("compliant_zones", required=False, min_len=0, max_len=100)
    for i, zone in enumerate(zones):
        if not isinstance(zone, str) or not 0 < len(zone) <= 200:
            raise InputError(f"compliant_zones[{i}] must be a zone name", field=f"compliant_zones[{i}]")
    return {
        "country": r.country("country"),
        "status": r.choice("status", COUNTRY_STATUSES),
        "effective": effective[0],
        "effective_ns": effective[1],
        "reason": _text(r, "reason"),
        "compliant_zones": tuple(zones),
    }


def _lot_kinds(r: Reader) -> tuple[str, ...]:
    """The optional ``lot_kinds`` of a sanction (an Adamas addition: none means every kind)."""
    kinds = r.array("lot_kinds", required=False, min_len=1, max_len=len(LOT_KINDS))
    for i, kind in enumerate(kinds):
        if kind not in LOT_KINDS:
            raise InputError(
                f"{r.where('lot_kinds')}[{i}] is not a lot kind: {kind!r}",
                field=f"{r.where('lot_kinds')}[{i}]",
            )
    if len(set(kinds)) != len(kinds):
        raise InputError(f"{r.where('lot_kinds')} names a kind twice", field=r.where("lot_kinds"))
    return tuple(kinds)


def _sanction_set(r: Reader) -> dict[str, Any]:
    s = r.child("sanction")
    effective = s.time("effective")
    assert effective is not None
    out = {
        "id": s.ident("id"),
        "origin_countries": _countries(s, "origin_countries"),
        "importing_countries": _countries(s, "importing_countries"),
        "min_stone_carats": s.carats("min_stone_carats", required=False),
        "lot_kinds": _lot_kinds(s),
        "single_origin_required": s.boolean("single_origin_required")
        if s.has("single_origin_required")
        else False,
        "effective": effective[0],
        "effective_ns": effective[1],
        "reason": s.req_string("reason", max_len=TEXT_MAX),
    }
    s.done()
    return {"sanction": out}


def _certificate_issue(r: Reader) -> dict[str, Any]:
    c = r.child("certificate")
    number = c.req_string(
        "number", pattern=CERTIFICATE_NUMBER, what="certificate number (like BW-2026-000123)"
    )
    origin_reader = c.child("origin")
    origin: dict[str, int] = {}
    for country in origin_reader.mapping():
        if country not in COUNTRIES:
            raise InputError(
                f"certificate.origin.{country} is not a country code", field=f"certificate.origin.{country}"
            )
        origin[country] = origin_reader.req_carats(country)
    if not origin:
        raise InputError("certificate.origin names no country", field="certificate.origin")
    origin_reader.done()
    issued = c.time("issued")
    expires = c.time("expires")
    assert issued is not None and expires is not None
    out = {
        "number": number,
        "exporter": c.ident("exporter"),
        "importer": c.ident("importer"),
        "exporting_country": c.country("exporting_country"),
        "importing_country": c.country("importing_country"),
        "origin": dict(sorted(origin.items())),
        "carats": c.req_carats("carats"),
        "value": c.money("value"),
        "parcels": c.integer("parcels", minimum=1),
        "hs_code": c.choice("hs_code", HS_CODES),
        "issued": issued[0],
        "issued_ns": issued[1],
        "expires": expires[0],
        "expires_ns": expires[1],
        "shipment": c.ident("shipment"),
        "lots": c.ids("lots", lot=True),
    }
    c.done()
    return {"certificate": out}


def _certificate_confirm(r: Reader) -> dict[str, Any]:
    return {
        "number": r.req_string("number", pattern=CERTIFICATE_NUMBER, what="certificate number"),
        "received_carats": r.req_carats("received_carats"),
        "parcels": r.integer("parcels", minimum=1),
        "seal_intact": r.boolean("seal_intact"),
    }


def _certificate_void(r: Reader) -> dict[str, Any]:
    return {
        "number": r.req_string("number", pattern=CERTIFICATE_NUMBER, what="certificate number"),
        "reason": _text(r, "reason"),
    }


def _attest(r: Reader) -> dict[str, Any]:
    subject = r.child("subject")
    kind = subject.choice("kind", ATTEST_SUBJECTS)
    if kind == "country":
        subject_id = subject.country("id")
    elif kind == "event":
        subject_id = subject.req_string("id", pattern=EVENT_ID, what="event id")
    else:
        subject_id = subject.ident("id", lot=kind == "lot")
    subject.done()
    evidence = []
    for item in r.objects("evidence", required=False, min_len=0, max_len=50):
        entry = {
            "sha256": item.req_string("sha256", pattern=SHA256_HEX, what="SHA-256 (64 lowercase hex digits)")
        }
        uri = item.string("uri", required=False, max_len=2000)
        if uri is not None:
            entry["uri"] = uri
        item.done()
        evidence.append(entry)
    return {
        "subject_kind": kind,
        "subject_id": subject_id,
        "claim": r.choice("claim", ATTEST_CLAIMS),
        "statement": r.req_string("statement", max_len=TEXT_MAX),
        "evidence": tuple(evidence),
    }


def _correct(r: Reader) -> dict[str, Any]:
    replacement: Event | None = None
    raw = r.raw("replacement", required=False)
    if raw is not None:
        if not isinstance(raw, dict):
            raise InputError("replacement must be a full event body (a JSON object)", field="replacement")
        try:
            replacement = parse_body(raw)
        except InputError as exc:
            where = f"replacement.{exc.field}" if exc.field else "replacement"
            raise InputError(f"the replacement is not a valid body: {exc.message}", field=where) from exc
    return {
        "event": r.req_string("event", pattern=EVENT_ID, what="event id"),
        "reason": _text(r, "reason"),
        "replacement": replacement,
        "replacement_body": raw,
    }


def _ledger_backfill(r: Reader) -> dict[str, Any]:
    start, until, closes = r.time("from"), r.time("until"), r.time("closes")
    assert start is not None and until is not None and closes is not None
    if until[1] <= start[1]:
        raise InputError(
            "until must be after from: a window admits declared times in [from, until)", field="until"
        )
    return {
        "from": start[0],
        "from_ns": start[1],
        "until": until[0],
        "until_ns": until[1],
        "closes": closes[0],
        "closes_ns": closes[1],
        "reason": _text(r, "reason"),
        # ``window`` (an optional Adamas field): the id of an open window that this event closes early, at
        # ``closes``; its ``from`` and ``until`` repeat the window's (docs/time.md).
        "window": r.string("window", required=False, pattern=EVENT_ID, what="event id"),
    }


_PARSERS: Final[dict[str, Callable[[Reader], dict[str, Any]]]] = {
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
    "lot.release": _lot_freeze,
    "country.status": _country_status,
    "sanction.set": _sanction_set,
    "certificate.issue": _certificate_issue,
    "certificate.confirm": _certificate_confirm,
    "certificate.void": _certificate_void,
    "attest": _attest,
    "correct": _correct,
    "ledger.backfill": _ledger_backfill,
}
SUPPORTED_TYPES: Final = frozenset(_PARSERS)
