"""Adamas identifiers as URIs, the JSON-LD context of exported documents, and the extension namespace.

Lots, participants, sites, shipments, certificates and events are named ``urn:adamas:<kind>:<id>``: the same
URI in every ledger, mirror, export and import, so an identifier survives a round trip through any EPCIS
repository unchanged (docs/epcis.md explains why not GS1 Digital Link). Adamas-specific fields travel in the
extension namespace ``https://adamas.example/epcis/ns/`` under the prefix ``adamas``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from adamas.errors import InputError

__all__ = ["CONTEXT", "EPCIS_CONTEXT", "NAMESPACE", "PREFIX", "from_uri", "to_uri"]

EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NAMESPACE: Final = "https://adamas.example/epcis/ns/"
PREFIX: Final = "adamas"
CONTEXT: Final[list[Any]] = [EPCIS_CONTEXT, {PREFIX: NAMESPACE}]
KINDS: Final = ("lot", "party", "site", "shipment", "kp", "event", "country")
_URI: Final = re.compile(
    r"^urn:adamas:(lot|party|site|shipment|kp|event|country):([A-Za-z0-9][A-Za-z0-9._:-]{0,127})$"
)


def to_uri(kind: str, ident: str) -> str:
    """The URI of an Adamas identifier: ``to_uri("lot", "JW-0001")`` is ``urn:adamas:lot:JW-0001``."""
    return f"urn:adamas:{kind}:{ident}"


def from_uri(uri: Any, kind: str, *, field: str) -> str:
    """The Adamas id a URI of ``kind`` names; refuses anything else, naming ``field``."""
    found = _URI.match(uri) if isinstance(uri, str) else None
    if found is None or found.group(1) != kind:
        raise InputError(
            f"{uri!r} is not an Adamas {kind} URI (urn:adamas:{kind}:<id>)",
            code="epcis.bad_identifier",
            field=field,
        )
    return found.group(2)


def ext(name: str) -> str:
    """The compact name of an extension field: ``ext("leafIndex")`` is ``adamas:leafIndex``."""
    return f"{PREFIX}:{name}"
