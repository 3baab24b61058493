"""The printed Kimberley Process certificate: one self-contained HTML page with a QR code.

:func:`render_html` prints a :class:`~adamas.ledger.certificate_doc.CertificateView` as one page (inline CSS
and inline SVG, no script, no external asset; every value escaped) whose QR code encodes
``{verify_url}?number=...&leaf=...``. ``adamas serve`` answers that URL at ``/certificates/verify`` (and so
at ``/certificates/{number}``), so ``--verify-url https://<server>/certificates/verify`` makes the code lead
to the certificate's page.

No PDF: the pure-Python PDF writers use core fonts limited to Latin-1 unless given a Unicode TrueType font,
which would have to be shipped or installed as a system package; the HTML page prints to PDF from any
browser.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Final
from urllib.parse import urlencode, urlsplit

import segno

from adamas.ledger.certificate_doc import KP_STATEMENT, CertificateView, Party, country_name

__all__ = ["qr_payload", "render_html"]


def _dec(value: Decimal) -> str:
    return f"{value:.2f}"


# --- the page --------------------------------------------------------------------------------------------


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
