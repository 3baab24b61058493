"""The audit's lean envelope check: a custody entry proved canonical and valid by one match on its bytes.

A canonical envelope is the canonical body in a fixed frame (``adamas.model.events._frame``), and a
canonical body has one spelling: members sorted, no white space, strings escaped one way. So for the custody
event types (which register no key), the set of canonical bodies that the schema accepts can be written,
conservatively, as one regular expression over the body's bytes: ids with the schema's own patterns, choices
as alternatives, decimals and integers within their bounds, times on real calendar days within the allowed
years, free text as printable ASCII without quote or backslash (which JSON writes as is). Whatever the
expression matches, ``parse_envelope`` accepts with the entry as its canonical form; whatever it does not
match (an escape in a string, a 29th of February, a null for an optional field, another event type,
anything malformed) is *unsure*, and the caller falls back to the full parse, which also names any fault.
So the lean check is only ever a shortcut to an acceptance, never to a verdict of its own; a differential
test holds it to ``parse_envelope`` (tests/test_audit_lean.py).

What it saves, per entry: decoding the JSON, encoding it again for the canonical-form check, and building the
event model (two thirds of the audit worker's time besides Ed25519; docs/benchmarks.md).
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from adamas.model.events import MAX_ENVELOPE_BYTES
from adamas.model.records import POLISHED_KINDS, ROUGH_KINDS
from adamas.model.values import EVENT_ID, KEY_ID, LOT_ID, PLAIN_ID, SHA256_HEX

__all__ = ["Lean", "lean"]

Lean = tuple[str, str, str, bytes, bytes]
"""``(type, actor, key id, body bytes, raw signature)`` of an entry the lean check accepts."""

_HEAD: Final = b'{"body":'
_SIG: Final = b',"sig":"'
_TAIL: Final = b'"}'
_BASE64: Final = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_TYPE: Final = re.compile(rb',"type":"([a-z.]{1,64})"')
_MAX_ITEMS: Final = 1000
"""``Reader.array``'s default bound on the length of an array."""


def _string(pattern: re.Pattern[str]) -> str:
    return f'"(?:{pattern.pattern})"'


def _text(max_len: int) -> str:
    # Printable ASCII but '"' and '\': the characters JSON (and RFC 8785) writes unescaped.
    return f'"[ !#-\\[\\]-~]{{0,{max_len}}}"'


def _choice(options: frozenset[str]) -> str:
    return '"(?:' + "|".join(re.escape(o) for o in sorted(options)) + ')"'


def _carats(*, allow_zero: bool = False) -> str:
    # At most 8 digits before the point: below MAX_CARATS (100,000,000.00 ct); positive unless allowed.
    if allow_zero:
        return '"(?:0|[1-9][0-9]{0,7})(?:\\.[0-9]{1,2})?"'
    return '"(?:[1-9][0-9]{0,7}(?:\\.[0-9]{1,2})?|0\\.(?:[1-9][0-9]?|0[1-9]))"'


# At most 12 digits before the point: below MAX_MONEY (1,000,000,000,000.00 USD).
_MONEY: Final = '\\{"amount":"(?:0|[1-9][0-9]{0,11})(?:\\.[0-9]{1,2})?","currency":"USD"\\}'
# From 1 to 999,999,999: within MAX_STONES.
_STONES: Final = "[1-9][0-9]{0,8}"
_BOOLEAN: Final = "(?:true|false)"
# RFC 3339 UTC in the years 1970-2199 (within MIN_TIME_NS..MAX_TIME_NS), on a day every such year has:
# 29 and 30 in every month but February, 31 in the long months; a 29th of February is left to the full parse.
_TIME: Final = (
    '"(?:19[7-9][0-9]|2[01][0-9][0-9])-'
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    'T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?Z"'
)
_PLAIN: Final = _string(PLAIN_ID)
_LOT: Final = _string(LOT_ID)


def _array(item: str, group: str) -> str:
    """A non-empty array of ``item``, captured as ``group`` for the checks of ``_items``."""
    return f"\\[(?P<{group}>{item}(?:,{item})*)\\]"


def _object(members: dict[str, tuple[str, bool]]) -> str:
    """A canonical JSON object of ``members`` (name: (value expression, required)), in RFC 8785 order.

    Optional members before the first required one carry their comma after them, the others before them, so
    that every combination of present members is spelled with exactly one comma between two members.
    """
    names = sorted(members)  # ASCII names: code-point order is RFC 8785's UTF-16 order
    first = next(i for i, name in enumerate(names) if members[name][1])
    out = []
    for i, name in enumerate(names):
        value, required = members[name]
        member = f'"{re.escape(name)}":{value}'
        if i < first:
            out.append(f"(?:{member},)?")
        elif i == first:
            out.append(member)
        else:
            out.append(f",{member}" if required else f"(?:,{member})?")
    return "\\{" + "".join(out) + "\\}"


def _body(type_: str, fields: dict[str, tuple[str, bool]]) -> re.Pattern[bytes]:
    header = {
        "v": ("1", True),
        "type": (f'"{re.escape(type_)}"', True),
        "id": (_string(EVENT_ID), True),
        "actor": ('"(?P<actor>' + PLAIN_ID.pattern + ')"', True),
        "key": ('"(?P<key>' + KEY_ID.pattern + ')"', True),
        "time": (_TIME, True),
    }
    return re.compile(_object({**header, **fields}).encode("ascii"))


def _part(*, carats_required: bool) -> str:
    """``events._part``: a split part or a merge result."""
    return _object(
        {
            "id": (_LOT, True),
            "carats": (_carats(), carats_required),
            "stones": (_STONES, False),
            "value": (_MONEY, False),
        }
    )


def _output(kinds: frozenset[str], *, one_stone: bool) -> str:
    """``events._output``: a manufactured output (a polished output is one stone)."""
    return _object(
        {
            "id": (_LOT, True),
            "kind": (_choice(kinds), True),
            "carats": (_carats(), True),
            "stones": ("1" if one_stone else _STONES, False),
        }
    )


_SHAPES: Final[dict[bytes, re.Pattern[bytes]]] = {
    name.encode("ascii"): _body(name, fields)
    for name, fields in {
        "lot.register": {
            "lot": (
                _object(
                    {
                        "kind": (_choice(ROUGH_KINDS), True),
                        "id": (_LOT, True),
                        "carats": (_carats(), True),
                        "stones": (_STONES, True),
                        "value": (_MONEY, True),
                        "site": (_PLAIN, True),
                        "mined_from": (_TIME, False),
                        "mined_to": (_TIME, False),
                    }
                ),
                True,
            )
        },
        "lot.split": {
            "lot": (_LOT, True),
            "into": (_array(_part(carats_required=True), "parts"), True),
            "loss": (_carats(allow_zero=True), False),
        },
        "lot.merge": {
            "lots": (_array(_LOT, "ids"), True),
            "into": (_part(carats_required=False), True),
        },
        "lot.ship": {
            "shipment": (_PLAIN, True),
            "lots": (_array(_LOT, "ids"), True),
            "to": (_PLAIN, True),
            "certificate": (_text(40), False),
            "seal": (_text(200), False),
            "value": (_MONEY, False),
        },
        "lot.receive": {
            "shipment": (_PLAIN, True),
            "lots": (_array(_object({"id": (_LOT, True), "carats": (_carats(), True)}), "received"), True),
            "seal_intact": (_BOOLEAN, True),
        },
        "lot.manufacture": {
            "lot": (_LOT, True),
            "into": (_array(_output(POLISHED_KINDS, one_stone=True), "parts"), True),
            "remainder": ("(?:\\[\\]|" + _array(_output(ROUGH_KINDS, one_stone=False), "rest") + ")", False),
        },
        "lot.grade": {
            "lot": (_LOT, True),
            "report": (
                _object(
                    {
                        "number": (_text(64), True),
                        "carats": (_carats(), True),
                        "color": (_text(32), False),
                        "clarity": (_text(32), False),
                        "cut": (_text(32), False),
                        "measurements": (_text(64), False),
                        "fingerprint": (_text(256), False),
                        "natural": (_BOOLEAN, True),
                    }
                ),
                True,
            ),
        },
        "lot.assemble": {
            "lots": (_array(_LOT, "ids"), True),
            "into": (
                _object({"id": (_LOT, True), "kind": ('"jewel"', True), "description": (_text(2000), True)}),
                True,
            ),
        },
        "lot.sell": {
            "lot": (_LOT, True),
            "price": (_MONEY, False),
            "buyer_ref": (_string(SHA256_HEX), False),
        },
    }.items()
}
_ID_MEMBER: Final = re.compile(rb'"id":"([^"]*)"')


def _items(match: re.Match[bytes]) -> bool:
    """The array checks the expression cannot make: at most 1,000 items, and distinct ids where the schema
    asks for them (``Reader.ids``, ``lot.receive``'s lots)."""
    present = match.re.groupindex  # the array groups of this event type (only those can be set)
    if "ids" in present:
        names = match.group("ids").split(b",")
        if len(names) > _MAX_ITEMS or len(set(names)) != len(names):
            return False
    if "received" in present:
        names = _ID_MEMBER.findall(match.group("received"))
        if len(names) > _MAX_ITEMS or len(set(names)) != len(names):
            return False
    for name in ("parts", "rest"):
        items = match.group(name) if name in present else None
        if items is not None and items.count(b'"id":"') > _MAX_ITEMS:
            return False
    return True


def lean(entry: bytes) -> Lean | None:
    """The type, signer, key id, signed body bytes and signature of ``entry`` when it is certainly the
    canonical form of a valid custody envelope (``parse_envelope`` would accept it, its ``leaf`` being
    ``entry``); None when unsure: then only the full parse can tell."""
    if len(entry) > MAX_ENVELOPE_BYTES or not entry.startswith(_HEAD) or not entry.endswith(_TAIL):
        return None
    cut = entry.rfind(_SIG)
    if cut < 0:
        return None
    body, sig = entry[len(_HEAD) : cut], entry[cut + len(_SIG) : -len(_TAIL)]
    # ``parse_envelope``'s rules for sig: 80 to 100 characters of canonical standard padded base64.
    if not 80 <= len(sig) <= 100 or _BASE64.fullmatch(sig) is None:
        return None
    try:
        signature = binascii.a2b_base64(sig, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    if binascii.b2a_base64(signature, newline=False) != sig:
        return None
    found = _TYPE.search(body)
    shape = None if found is None else _SHAPES.get(found.group(1))
    match = None if shape is None else shape.fullmatch(body)
    if match is None or not _items(match):
        return None
    type_ = found.group(1).decode("ascii") if found is not None else ""
    return type_, match.group("actor").decode("ascii"), match.group("key").decode("ascii"), body, signature
