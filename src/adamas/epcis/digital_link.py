"""GS1 identifiers in one canonical form: the constrained GS1 Digital Link URI of the CBV 2.0 event hash.

CBV 2.0 (section 8.9, the event hash) compares identifiers in one form, however an event wrote them: an EPC
URI (``urn:epc:id:sgtin:...``), an EPC class or pattern URI, or a GS1 Digital Link URI on any host all become
``https://id.gs1.org/<AI>/<key>[/<AI>/<qualifier>]`` with the key's check digit, the finest level of
identification only (a serial, not the lot above it) and no query string. Anything else is no GS1 key:
``normalise`` returns None and the hash keeps the value as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["check_digit", "normalise"]

# Characters a canonical DL value may hold (GS1 Digital Link 1.2, table 7-1, less what must be escaped).
_DL_CHARS: Final = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"
# An EPC URI's serial / reference characters (TDS 2.0, "GS1_AI_encodable" with %-escapes).
_EPC_CHAR: Final = (
    r"(?:%2[125-9A-Fa-f]|%3[0-9A-Fa-f]|%4[1-9A-Fa-f]|%5[0-9AaFf]|%6[1-9A-Fa-f]|%7[0-9Aa]"
    r"|[!')(*+,.0-9:;=A-Za-z_-])"
)
_CPI_CHAR: Final = r"(?:%2[3dfDF]|%3[0-9]|%4[1-9A-Fa-f]|%5[0-9Aa]|[0-9A-Z-])"


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a key without it (GenSpecs 7.9.1: weights 3, 1, 3... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def _escape(value: str) -> str:
    """Percent-encode what a DL path segment may not hold raw (GS1 Digital Link, table 7-1)."""
    for char, code in (("!", "%21"), ("(", "%28"), (")", "%29"), ("*", "%2A"), ("+", "%2B"), (",", "%2C")):
        value = value.replace(char, code)
    return value.replace(":", "%3A")


def _gtin(prefix: str, item: str) -> str:
    """GTIN-14 from a company prefix and an item reference whose first digit is the indicator."""
    raw = item[0] + prefix + item[1:]
    return raw + check_digit(raw)


def _keyed(prefix: str, ref: str) -> str:
    raw = prefix + ref
    return raw + check_digit(raw)


_DL: Final = "https://id.gs1.org/"
_Builder = Callable[[list[str]], str]

# EPC URI body patterns: company prefix (6-12 digits) and references whose length fills the key, by scheme.
_EPC_SCHEMES: Final[dict[str, tuple[str, _Builder]]] = {
    "id:sgtin": (
        rf"(\d{{6,12}})\.(\d{{1,7}})\.({_EPC_CHAR}{{1,20}})",
        lambda p: f"{_DL}01/{_gtin(p[0], p[1])}/21/{_escape(p[2])}",
    ),
    "id:sscc": (r"(\d{6,12})\.(\d{5,11})", lambda p: f"{_DL}00/{_gtin(p[0], p[1])}"),
    "id:sgln": (
        rf"(\d{{6,12}})\.(\d{{0,6}})\.({_EPC_CHAR}{{1,20}})",
        lambda p: f"{_DL}414/{_keyed(p[0], p[1])}" + ("" if p[2] == "0" else f"/254/{_escape(p[2])}"),
    ),
    "id:grai": (
        rf"(\d{{6,12}})\.(\d{{0,6}})\.({_EPC_CHAR}{{1,16}})",
        lambda p: f"{_DL}8003/{_keyed('0' + p[0], p[1])}{_escape(p[2])}",
    ),
    "id:giai": (rf"(\d{{6,12}})\.({_EPC_CHAR}{{1,24}})", lambda p: f"{_DL}8004/{p[0]}{_escape(p[1])}"),
    "id:gsrn": (r"(\d{6,12})\.(\d{5,11})", lambda p: f"{_DL}8018/{_keyed(p[0], p[1])}"),
    "id:gsrnp": (r"(\d{6,12})\.(\d{5,11})", lambda p: f"{_DL}8017/{_keyed(p[0], p[1])}"),
    "id:gdti": (
        rf"(\d{{6,12}})\.(\d{{0,6}})\.({_EPC_CHAR}{{0,17}})",
        lambda p: f"{_DL}253/{_keyed(p[0], p[1])}{_escape(p[2])}",
    ),
    "id:cpi": (
        rf"(\d{{6,12}})\.({_CPI_CHAR}{{1,24}})\.(\d{{1,12}})",
        lambda p: f"{_DL}8010/{_escape(p[0] + p[1])}/8011/{p[2]}",
    ),
    "id:sgcn": (
        r"(\d{6,12})\.(\d{0,6})\.(\d{1,12})",
        lambda p: f"{_DL}255/{_keyed(p[0], p[1])}{p[2]}",
    ),
    "id:ginc": (rf"(\d{{6,12}})\.({_EPC_CHAR}{{1,24}})", lambda p: f"{_DL}401/{p[0]}{_escape(p[1])}"),
    "id:gsin": (r"(\d{6,12})\.(\d{4,10})", lambda p: f"{_DL}402/{_keyed(p[0], p[1])}"),
    "id:itip": (
        rf"(\d{{6,12}})\.(\d{{1,7}})\.(\d{{2}})\.(\d{{2}})\.({_EPC_CHAR}{{1,20}})",
        lambda p: f"{_DL}8006/{_gtin(p[0], p[1])}{p[2]}{p[3]}/21/{_escape(p[4])}",
    ),
    "id:upui": (
        rf"(\d{{6,12}})\.(\d{{1,7}})\.({_EPC_CHAR}{{1,28}})",
        lambda p: f"{_DL}01/{_gtin(p[0], p[1])}/235/{_escape(p[2])}",
    ),
    "id:pgln": (r"(\d{6,12})\.(\d{0,6})", lambda p: f"{_DL}417/{_keyed(p[0], p[1])}"),
    "class:lgtin": (
        rf"(\d{{6,12}})\.(\d{{1,7}})\.({_EPC_CHAR}{{1,20}})",
        lambda p: f"{_DL}01/{_gtin(p[0], p[1])}/10/{_escape(p[2])}",
    ),
    "idpat:sgtin": (r"(\d{6,12})\.(\d{1,7})\.\*", lambda p: f"{_DL}01/{_gtin(p[0], p[1])}"),
    "idpat:grai": (r"(\d{6,12})\.(\d{0,6})\.\*", lambda p: f"{_DL}8003/{_keyed('0' + p[0], p[1])}"),
    "idpat:gdti": (r"(\d{6,12})\.(\d{0,6})\.\*", lambda p: f"{_DL}253/{_keyed(p[0], p[1])}"),
    "idpat:sgcn": (r"(\d{6,12})\.(\d{0,6})\.\*", lambda p: f"{_DL}255/{_keyed(p[0], p[1])}"),
    "idpat:cpi": (rf"(\d{{6,12}})\.({_CPI_CHAR}{{1,24}})\.\*", lambda p: f"{_DL}8010/{_escape(p[0] + p[1])}"),
    "idpat:itip": (
        r"(\d{6,12})\.(\d{1,7})\.(\d{2})\.(\d{2})\.\*",
        lambda p: f"{_DL}8006/{_gtin(p[0], p[1])}{p[2]}{p[3]}",
    ),
    "idpat:upui": (r"(\d{6,12})\.(\d{1,7})\.\*", lambda p: f"{_DL}01/{_gtin(p[0], p[1])}"),
}
# Digits of company prefix + references, where a scheme fixes them (the key's length less its check digit).
_DIGITS: Final = {
    "sgtin": 13, "sscc": 17, "sgln": 12, "grai": 12, "gsrn": 17, "gsrnp": 17, "gdti": 12, "sgcn": 12,
    "gsin": 16, "itip": 13, "upui": 13, "pgln": 12, "lgtin": 13,
}  # fmt: skip
_EPC_RE: Final = re.compile(r"^urn:epc:(id|class|idpat):([a-z]+):(.*)$")

# GS1 Digital Link: primary keys, their short names, and the qualifiers kept in the canonical form.
_ALIASES: Final = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417", "gsrnp": "8017",
    "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402",
    "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10", "ser": "21",
}  # fmt: skip
_PRIMARY: Final = (
    "01", "8006", "8010", "414", "417", "8017", "8018", "255", "00", "253", "401", "402", "8003", "8004",
)  # fmt: skip
_CANONICAL: Final = [
    re.compile(p)
    for p in (
        r"^00/\d{18}$",
        rf"^01/\d{{14}}(/21/{_DL_CHARS}{{0,20}}|/10/{_DL_CHARS}{{0,20}}|/235/{_DL_CHARS}{{0,28}})?$",
        rf"^253/\d{{13}}{_DL_CHARS}{{0,17}}$",
        r"^255/\d{13}\d{0,12}$",
        rf"^401/{_DL_CHARS}{{0,30}}$",
        r"^402/\d{17}$",
        rf"^414/\d{{13}}(/254/{_DL_CHARS}{{0,20}})?$",
        r"^417/\d{13}$",
        rf"^8003/\d{{14}}{_DL_CHARS}{{0,16}}$",
        rf"^8004/{_DL_CHARS}{{0,30}}$",
        rf"^8006/\d{{18}}(/21/{_DL_CHARS}{{0,20}}|/10/{_DL_CHARS}{{0,20}})?$",
        r"^8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}(/8011/\d{0,12})?$",
        r"^801[78]/\d{18}$",
    )
]


def _from_epc(uri: str) -> str | None:
    found = _EPC_RE.match(uri)
    if found is None:
        return None
    kind, scheme, body = found.groups()
    spec = _EPC_SCHEMES.get(f"{kind}:{scheme}")
    if spec is None:
        return None
    parts = re.fullmatch(spec[0], body)
    if parts is None:
        return None
    groups = list(parts.groups())
    total = _DIGITS.get(scheme)
    if total is not None and len(groups[0]) + len(groups[1]) != total:
        return None
    return spec[1](groups)


def _from_digital_link(uri: str) -> str | None:
    found = re.match(r"^https?://[^/?#]+(/[^?#]*)", uri)
    if found is None:
        return None
    segments = [_ALIASES.get(s, s) for s in found.group(1).strip("/").split("/")]
    start = next((i for i, s in enumerate(segments) if s in _PRIMARY and i + 1 < len(segments)), None)
    if start is None or not re.match(r"^\d{4}", segments[start + 1]):
        return None
    key, value = segments[start], segments[start + 1]
    pairs = dict(zip(segments[start + 2 :: 2], segments[start + 3 :: 2], strict=False))
    if key == "01" and len(value) in (8, 12, 13):
        value = value.zfill(14)
    path = f"{key}/{value}"
    # Only the finest level of identification: a serial, else a lot; never the consumer product variant.
    for qualifier in ("21", "10", "235", "254", "8011"):
        if qualifier in pairs:
            path += f"/{qualifier}/{pairs[qualifier]}"
            break
    if not any(p.match(path) for p in _CANONICAL):
        return None
    return _DL + path


def normalise(uri: str) -> str | None:
    """The canonical GS1 Digital Link URI of a GS1 identifier written in any standard form; None otherwise."""
    if "." not in uri:
        return None
    return _from_epc(uri) if uri.startswith("urn:epc:") else _from_digital_link(uri)
