"""A Kimberley Process certificate as a document: its view, and a printable HTML page with a QR code.

:func:`certificate_view` reads one certificate with everything the KPCS core document's Annex I asks a
certificate to show (unique number with the ISO prefix of the issuing country, issuing authority, exporter
and importer, country of origin or "mixed" with the countries listed, carat weight, value in US$, number of
parcels, HS code, dates of issue and expiry) plus what the ledger adds: the exact lots, the status, and the
leaf index of the ``certificate.issue`` event, which is the validation a customs officer checks against the
log. The printed page is a face of this view: ``adamas.web.certificate_print.render_html``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal

import iso3166
from sqlalchemy import Connection, select

from adamas.errors import InputError, NotFoundError
from adamas.log.hashing import leaf_hash
from adamas.model.values import CERTIFICATE_NUMBER, cents_to_decimal, format_time_ns
from adamas.store import schema
from adamas.store.rows import certificate_from_row, load, lot_from_row

__all__ = [
    "HS_DESCRIPTIONS",
    "KP_STATEMENT",
    "CertificateLot",
    "CertificateStatus",
    "CertificateView",
    "OriginCountry",
    "Party",
    "certificate_view",
    "country_name",
]

CertificateStatus = Literal["issued", "used", "confirmed", "void"]

KP_STATEMENT: Final = (
    "The rough diamonds in this shipment have been handled in accordance with the provisions of the "
    "Kimberley Process Certification Scheme for rough diamonds."
)
HS_DESCRIPTIONS: Final = {
    "7102.10": "Diamonds, unsorted",
    "7102.21": "Industrial diamonds, unworked or simply sawn, cleaved or bruted",
    "7102.31": "Non-industrial diamonds, unworked or simply sawn, cleaved or bruted",
}


def country_name(code: str | None) -> str | None:
    """The English short name of an ISO 3166-1 alpha-2 code (``EU``: European Union)."""
    if code is None:
        return None
    if code == "EU":
        return "European Union"
    country = iso3166.countries_by_alpha2.get(code)
    return country.apolitical_name if country is not None else code


def _dec(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class Party:
    """A participant named on the certificate: issuing authority, exporter or importer."""

    id: str
    name: str
    country: str | None
    country_name: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "name": self.name, "country": self.country, "country_name": self.country_name}


@dataclass(frozen=True, slots=True)
class OriginCountry:
    """Carats of the shipment mined in one country."""

    country: str
    country_name: str | None
    carats: Decimal

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (carats as a decimal string)."""
        return {"country": self.country, "country_name": self.country_name, "carats": _dec(self.carats)}


@dataclass(frozen=True, slots=True)
class CertificateLot:
    """A lot the certificate covers, as it stands now."""

    id: str
    kind: str
    carats: Decimal
    stones: int | None
    origin: tuple[str, ...]
    state: str
    holder: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "carats": _dec(self.carats),
            "stones": self.stones,
            "origin": list(self.origin),
            "state": self.state,
            "holder": self.holder,
        }


@dataclass(frozen=True, slots=True)
class CertificateView:
    """A KP certificate with its Annex I fields, its lots, its status and its place in the log.

    ``status``: ``issued`` (nothing shipped under it yet), ``used`` (it backs a shipment), ``confirmed``
    (the importing authority confirmed the shipment) or ``void``. ``leaf_index`` is the log position of the
    ``certificate.issue`` event (``event``), signed with key ``key_id``; ``leaf_hash`` is that leaf's hash.
    """

    number: str
    status: CertificateStatus
    issuing_authority: Party
    exporter: Party
    importer: Party
    exporting_country: str
    importing_country: str
    origin: tuple[OriginCountry, ...]
    carats: Decimal
    value: Decimal
    parcels: int
    hs_code: str
    issued: str
    expires: str
    shipment: str
    lots: tuple[CertificateLot, ...]
    event: str
    leaf_index: int
    key_id: str
    leaf_hash: str
    currency: str = "USD"
    used_by: str | None = None
    confirmed_event: str | None = None
    confirmation: dict[str, Any] = field(default_factory=dict)
    void_event: str | None = None
    void_reason: str | None = None

    @property
    def mixed_origin(self) -> bool:
        """True when the lots come from more than one country."""
        return len(self.origin) > 1

    @property
    def origin_label(self) -> str:
        """The country of origin as the certificate states it: its code, or ``mixed``."""
        return "mixed" if self.mixed_origin else self.origin[0].country if self.origin else ""

    @property
    def hs_description(self) -> str:
        """What the HS code covers."""
        return HS_DESCRIPTIONS.get(self.hs_code, "")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (decimals as strings)."""
        return {
            "number": self.number,
            "status": self.status,
            "issuing_authority": self.issuing_authority.to_json(),
            "exporter": self.exporter.to_json(),
            "importer": self.importer.to_json(),
            "exporting_country": self.exporting_country,
            "importing_country": self.importing_country,
            "origin": self.origin_label,
            "origin_countries": [o.to_json() for o in self.origin],
            "carats": _dec(self.carats),
            "value": {"amount": _dec(self.value), "currency": self.currency},
            "parcels": self.parcels,
            "hs_code": self.hs_code,
            "issued": self.issued,
            "expires": self.expires,
            "shipment": self.shipment,
            "lots": [lot.to_json() for lot in self.lots],
            "event": self.event,
            "leaf_index": self.leaf_index,
            "key_id": self.key_id,
            "leaf_hash": self.leaf_hash,
            "used_by": self.used_by,
            "confirmed_event": self.confirmed_event,
            "confirmation": self.confirmation,
            "void_event": self.void_event,
            "void_reason": self.void_reason,
        }


# --- reading ----------------------------------------------------------------------------------------------


def _party(rows: dict[str, Any], participant_id: str) -> Party:
    row = rows.get(participant_id)
    if row is None:
        return Party(participant_id, participant_id, None, None)
    return Party(row.id, row.name, row.country, country_name(row.country))


def certificate_view(conn: Connection, number: str) -> CertificateView:
    """The certificate ``number`` (case-insensitive) as held in the ledger behind ``conn``."""
    wanted = number.strip().upper()
    if CERTIFICATE_NUMBER.fullmatch(wanted) is None:
        raise InputError(
            f"{number!r} is not a certificate number (ISO2 prefix, '-', then A-Z, 0-9 or '-')",
            code="certificate.bad_number",
            field="number",
        )
    found = load(conn, schema.certificates, [wanted], certificate_from_row)
    if wanted not in found:
        raise NotFoundError(f"there is no certificate {wanted}", code="certificate.unknown", field="number")
    cert = found[wanted]
    parties = load(conn, schema.participants, {cert.issuer, cert.exporter, cert.importer}, lambda r: r)
    lots = load(conn, schema.lots, cert.lots, lot_from_row)
    sites = load(conn, schema.sites, {s for lot in lots.values() for s in lot.origin}, lambda r: r)
    events = schema.events
    event_ids = [e for e in (cert.event, cert.void_event) if e is not None]
    rows = {
        row.event_id: row
        for row in conn.execute(
            select(events.c.event_id, events.c.seq, events.c.key_id, events.c.envelope).where(
                events.c.event_id.in_(event_ids)
            )
        )
    }
    issue = rows[cert.event]
    void_reason = None
    if cert.void_event is not None and cert.void_event in rows:
        body = json.loads(bytes(rows[cert.void_event].envelope))["body"]
        void_reason = body.get("reason") if isinstance(body.get("reason"), str) else None
    status: CertificateStatus = "issued"
    if cert.void_event is not None:
        status = "void"
    elif cert.confirmed_event is not None:
        status = "confirmed"
    elif cert.used_by is not None:
        status = "used"
    lot_views = []
    for lot_id in cert.lots:
        lot = lots.get(lot_id)
        if lot is None:
            continue
        countries = sorted({sites[s].country if s in sites else "??" for s in lot.origin})
        lot_views.append(
            CertificateLot(
                lot.id,
                lot.kind,
                cents_to_decimal(lot.carats),
                lot.stones,
                tuple(countries),
                lot.state,
                lot.holder,
            )
        )
    return CertificateView(
        number=cert.number,
        status=status,
        issuing_authority=_party(parties, cert.issuer),
        exporter=_party(parties, cert.exporter),
        importer=_party(parties, cert.importer),
        exporting_country=cert.exporting_country,
        importing_country=cert.importing_country,
        origin=tuple(
            OriginCountry(code, country_name(code), cents_to_decimal(carats))
            for code, carats in sorted(cert.origin.items(), key=lambda item: (-item[1], item[0]))
        ),
        carats=cents_to_decimal(cert.carats),
        value=cents_to_decimal(cert.value),
        parcels=cert.parcels,
        hs_code=cert.hs_code,
        issued=format_time_ns(cert.issued_ns),
        expires=format_time_ns(cert.expires_ns),
        shipment=cert.shipment,
        lots=tuple(lot_views),
        event=cert.event,
        leaf_index=int(issue.seq),
        key_id=issue.key_id,
        leaf_hash=leaf_hash(bytes(issue.envelope)).hex(),
        used_by=cert.used_by,
        confirmed_event=cert.confirmed_event,
        confirmation=dict(cert.confirmation),
        void_event=cert.void_event,
        void_reason=void_reason,
    )
