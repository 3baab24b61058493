"""A Kimberley Process certificate as a document: its view, and a printable HTML page with a QR code.

:func:`certificate_view` reads one certificate with everything the KPCS core document's Annex I asks a
certificate to show (unique number with the ISO prefix of the issuing country, issuing authority, exporter
and importer, country of origin or "mixed" with the countries listed, carat weight, value in US$, number of
parcels, HS code, dates of issue and expiry) plus what the ledger adds: the exact lots, the status, and the
leaf index of the ``certificate.issue`` event, which is the validation a customs officer checks against the
log. :func:`render_html` prints it as one self-contained page (inline CSS and inline SVG, no script, no
external asset; every value escaped) whose QR code encodes ``{verify_url}?number=...&leaf=...``.

No PDF: the pure-Python PDF writers use core fonts limited to Latin-1 unless given a Unicode TrueType font,
which would have to be shipped or installed as a system package; the HTML page prints to PDF from any
browser.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Literal
from urllib.parse import urlencode, urlsplit

import iso3166
import segno
from sqlalchemy import Connection, select

from adamas.errors import InputError, NotFoundError
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
    "qr_payload",
    "render_html",
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
            select(
                events.c.event_id, events.c.seq, events.c.key_id, events.c.leaf_hash, events.c.envelope
            ).where(events.c.event_id.in_(event_ids))
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
        leaf_hash=bytes(issue.leaf_hash).hex(),
        used_by=cert.used_by,
        confirmed_event=cert.confirmed_event,
        confirmation=dict(cert.confirmation),
        void_event=cert.void_event,
        void_reason=void_reason,
    )


# --- rendering --------------------------------------------------------------------------------------------


def qr_payload(view: CertificateView, verify_url: str) -> str:
    """What the QR code encodes: ``verify_url`` with the number and the issue event's leaf index."""
    query = urlencode({"number": view.number, "leaf": view.leaf_index})
    base = verify_url.split("#", 1)[0]
    joiner = "" if base.endswith(("?", "&")) else "&" if "?" in base else "?"
    return f"{base}{joiner}{query}"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _party_html(label: str, party: Party) -> str:
    where = f"{party.country_name} ({party.country})" if party.country else "country not recorded"
    return (
        f'<div class="party"><div class="label">{_e(label)}</div>'
        f'<div class="name">{_e(party.name)}</div>'
        f'<div class="detail">{_e(where)} &middot; participant <code>{_e(party.id)}</code></div></div>'
    )


_NONE: Final = "\u2014"


def _date(text: str) -> str:
    return text[:10]


_CSS: Final = """
@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #111; margin: 0; font-size: 10.5pt; }
main { max-width: 190mm; margin: 0 auto; padding: 8mm 0; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 8mm;
         border-bottom: 2px solid #111; padding-bottom: 4mm; }
h1 { font-size: 17pt; margin: 0 0 1mm; letter-spacing: .02em; }
h2 { font-size: 11pt; margin: 5mm 0 2mm; text-transform: uppercase; letter-spacing: .05em; }
.number { font-family: "Courier New", monospace; font-size: 15pt; font-weight: bold; }
.status { display: inline-block; padding: 1mm 3mm; border: 1.5px solid #111; font-weight: bold;
          text-transform: uppercase; margin-top: 2mm; }
.status.void { color: #b00020; border-color: #b00020; }
.void-banner { border: 3px solid #b00020; color: #b00020; font-weight: bold; font-size: 14pt;
               text-align: center; padding: 3mm; margin: 4mm 0; }
.statement { font-style: italic; margin: 3mm 0; }
.parties { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4mm; }
.party { border: 1px solid #999; padding: 2.5mm; }
.label { font-size: 8pt; text-transform: uppercase; color: #444; letter-spacing: .05em; }
.name { font-weight: bold; margin: 1mm 0; }
.detail { font-size: 9pt; color: #333; }
table { width: 100%; border-collapse: collapse; margin-top: 1mm; }
th, td { border: 1px solid #999; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; font-size: 8.5pt; text-transform: uppercase; letter-spacing: .03em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.fields { display: grid; grid-template-columns: 45mm 1fr; margin: 0; }
dl.fields dt, dl.fields dd { border-top: 1px solid #ccc; padding: 1.5mm 2mm; margin: 0; }
dl.fields dt { font-weight: bold; background: #f6f6f6; }
figure.qr { margin: 0; text-align: center; width: 42mm; flex: none; }
figure.qr svg { width: 40mm; height: 40mm; shape-rendering: crispEdges; }
figure.qr figcaption { font-size: 7pt; word-break: break-all; }
code { font-family: "Courier New", monospace; font-size: 9pt; overflow-wrap: anywhere; }
footer { border-top: 1px solid #111; margin-top: 6mm; padding-top: 2mm; font-size: 8.5pt; color: #333; }
"""


def render_html(view: CertificateView, *, verify_url: str) -> str:
    """The certificate as one printable, self-contained HTML page with a QR code for verification."""
    payload = qr_payload(view, verify_url)
    qr = segno.make(payload, error="m", micro=False)
    svg = qr.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr-code", lineclass=None)
    link_ok = urlsplit(payload).scheme in ("http", "https")
    payload_html = f'<a href="{_e(payload)}">{_e(payload)}</a>' if link_ok else _e(payload)

    origin_rows = "".join(
        f"<tr><td>{_e(o.country_name)} ({_e(o.country)})</td><td class='num'>{_e(_dec(o.carats))}</td></tr>"
        for o in view.origin
    )
    origin_text = (
        "Mixed: " + ", ".join(f"{o.country_name} ({o.country}) {_dec(o.carats)} ct" for o in view.origin)
        if view.mixed_origin
        else f"{view.origin[0].country_name} ({view.origin[0].country})"
        if view.origin
        else "not recorded"
    )
    lot_rows = "".join(
        "<tr>"
        f"<td><code>{_e(lot.id)}</code></td><td>{_e(lot.kind.replace('_', ' '))}</td>"
        f"<td class='num'>{_e(_dec(lot.carats))}</td>"
        f"<td class='num'>{_e(_NONE if lot.stones is None else lot.stones)}</td>"
        f"<td>{_e(', '.join(lot.origin))}</td><td>{_e(lot.state.replace('_', ' '))}</td>"
        "</tr>"
        for lot in view.lots
    )
    fields = [
        ("Certificate number", f'<span class="number">{_e(view.number)}</span>'),
        ("Country of origin", _e(origin_text)),
        ("Exporting country", f"{_e(country_name(view.exporting_country))} ({_e(view.exporting_country)})"),
        ("Importing country", f"{_e(country_name(view.importing_country))} ({_e(view.importing_country)})"),
        ("Carat weight", f"{_e(_dec(view.carats))} ct"),
        ("Value", f"{_e(_dec(view.value))} {_e(view.currency)}"),
        ("Number of parcels", _e(view.parcels)),
        ("HS code", f"{_e(view.hs_code)} &mdash; {_e(view.hs_description)}"),
        ("Date of issue", _e(view.issued)),
        ("Date of expiry", _e(view.expires)),
        ("Shipment", f"<code>{_e(view.shipment)}</code>"),
    ]
    if view.confirmation:
        c = view.confirmation
        fields.append(
            (
                "Import confirmation",
                f"{_e(c.get('parcels'))} parcel(s), {_e(c.get('received_carats'))} ct received; seal "
                f"{'intact' if c.get('seal_intact') else 'broken'} "
                f"(event <code>{_e(view.confirmed_event)}</code>)",
            )
        )
    fields_html = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in fields)
    void_html = (
        f'<div class="void-banner">VOID &mdash; this certificate backs no shipment'
        f"{': ' + _e(view.void_reason) if view.void_reason else ''}</div>"
        if view.status == "void"
        else ""
    )
    status_class = "status void" if view.status == "void" else "status"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kimberley Process Certificate {_e(view.number)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<div>
<h1>Kimberley Process Certificate</h1>
<div class="number">{_e(view.number)}</div>
<div>Issued by {_e(view.issuing_authority.name)}, {_e(view.issuing_authority.country_name)} &middot;
{_e(_date(view.issued))} to {_e(_date(view.expires))}</div>
<div class="{status_class}">Status: {_e(view.status)}</div>
</div>
<figure class="qr">
{svg}
<figcaption>Scan to verify against the log<br>{payload_html}</figcaption>
</figure>
</header>
{void_html}
<p class="statement">{_e(KP_STATEMENT)}</p>
<section class="parties">
{_party_html("Issuing authority", view.issuing_authority)}
{_party_html("Exporter", view.exporter)}
{_party_html("Importer", view.importer)}
</section>
<h2>Particulars</h2>
<dl class="fields">{fields_html}</dl>
<h2>Origin</h2>
<table><thead><tr><th>Country of origin</th><th>Carats</th></tr></thead><tbody>{origin_rows}</tbody></table>
<h2>Lots covered</h2>
<table><thead><tr><th>Lot</th><th>Kind</th><th>Carats</th><th>Stones</th><th>Origin</th>
<th>State now</th></tr></thead><tbody>{lot_rows}</tbody></table>
<footer>
Validation: this certificate is the signed event <code>{_e(view.event)}</code> at leaf index
<strong>{_e(view.leaf_index)}</strong> of the Adamas log (leaf hash <code>{_e(view.leaf_hash)}</code>),
signed by the issuing authority's key <code>{_e(view.key_id)}</code>.
Check it with <code>adamas certificate verify {_e(view.number)}</code> or by scanning the code above.
</footer>
</main>
</body>
</html>
"""
