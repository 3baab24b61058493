"""A KP certificate as a document: the view read from the ledger, and the printable HTML with its QR code.

Expected values come from the signed ``certificate.issue`` body of the scripted world, not from the view
itself; the QR code is read back from the SVG in the page (module by module, and decoded with zxing-cpp
where it is installed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import segno

from adamas import InputError, Ledger, NotFoundError
from adamas.ledger.certificate_doc import (
    KP_STATEMENT,
    CertificateView,
    certificate_view,
)
from adamas.sim import World, demo_world
from adamas.web.certificate_print import qr_payload, render_html
from conftest import basic_world

OpenLedger = Callable[[str], Ledger]
NUMBER = "BW-2026-000042"
VERIFY = "https://verify.adamas.example/certificate"
HOSTILE = "<script>alert('x')</script> & \"quoted\" <img src=x onerror=alert(1)>"


def _view(ledger: Ledger, number: str) -> CertificateView:
    with ledger.engine.connect() as conn:
        return certificate_view(conn, number)


def _submit_all(ledger: Ledger, world: World) -> None:
    outcomes = ledger.submit(world.events)
    assert [o.error.code for o in outcomes if o.error is not None] == []


def _issue(world: World, number: str) -> tuple[int, dict[str, Any]]:
    """Leaf index (= position in the script) and body of the ``certificate.issue`` of ``number``."""
    (found,) = [
        (i, e["body"])
        for i, e in enumerate(world.events)
        if e["body"]["type"] == "certificate.issue" and e["body"]["certificate"]["number"] == number
    ]
    return found


@pytest.fixture
def demo(db_url: str, open_ledger: OpenLedger) -> tuple[Ledger, World]:
    world, _ = demo_world()
    ledger = open_ledger(db_url)
    _submit_all(ledger, world)
    return ledger, world


# --- the view -----------------------------------------------------------------------------------------------


def test_view_of_the_demo_certificate(demo: tuple[Ledger, World]) -> None:
    ledger, world = demo
    view = _view(ledger, NUMBER.lower())  # numbers are looked up case-insensitively
    leaf, body = _issue(world, NUMBER)
    c = body["certificate"]

    assert view.number == NUMBER
    assert view.status == "confirmed"
    assert (view.issuing_authority.id, view.issuing_authority.country) == (body["actor"], "BW")
    assert (view.exporter.id, view.exporter.name, view.exporter.country) == (
        c["exporter"],
        "De Beers Global Sightholder Sales, Gaborone",
        "BW",
    )
    assert (view.importer.id, view.importer.name, view.importer.country_name) == (
        c["importer"],
        "Antwerp Rough Trading",
        "Belgium",
    )
    assert (view.exporting_country, view.importing_country) == (
        c["exporting_country"],
        c["importing_country"],
    )
    assert [(o.country, o.carats) for o in view.origin] == [("BW", Decimal("898.80"))]
    assert (view.origin_label, view.mixed_origin) == ("BW", False)
    assert (view.carats, view.value, view.currency) == (Decimal(c["carats"]), Decimal("139000.00"), "USD")
    assert (view.parcels, view.hs_code, view.shipment) == (c["parcels"], c["hs_code"], c["shipment"])
    assert (view.issued, view.expires) == (c["issued"], c["expires"])
    assert [(lot.id, lot.carats, lot.origin, lot.holder) for lot in view.lots] == [
        ("JW-2026-0001-B", Decimal("898.80"), ("BW",), "antwerp-rough")
    ]
    assert (view.event, view.leaf_index, view.key_id) == (body["id"], leaf, body["key"])
    assert view.leaf_hash == ledger.receipt(leaf).leaf_hash.hex()
    assert view.used_by == "shp-bw-be-0002"
    assert view.confirmation == {"parcels": 1, "received_carats": "898.80", "seal_intact": True}
    as_json = view.to_json()
    assert (as_json["carats"], as_json["value"], as_json["leaf_index"]) == (
        "898.80",
        {"amount": "139000.00", "currency": "USD"},
        leaf,
    )


def test_unknown_and_malformed_numbers(demo: tuple[Ledger, World]) -> None:
    ledger, _ = demo
    with pytest.raises(NotFoundError) as missing:
        _view(ledger, "BW-2026-999999")
    assert missing.value.code == "certificate.unknown"
    with pytest.raises(InputError):
        _view(ledger, "<b>")


def _two_country_world() -> World:
    """Botswana rough and Canadian rough (imported under a KP certificate) merged, then certified for
    Belgium as one mixed-origin parcel; a second certificate issued and voided."""
    w = basic_world()
    bw = w.actors["bw-authority"]
    ca = w.authority("CA")
    w.register(ca, "ca-miner", "CA", ["mine_operator", "exporter"])
    w.site(ca, "diavik", "mine", "CA", "ca-miner")
    w.produce("ca-miner", "CA-LOT", "diavik", "40.00")
    w.issue_certificate(
        ca,
        "CA-2026-7",
        exporter="ca-miner",
        importer="trader",
        exporting="CA",
        importing="BW",
        lots=["CA-LOT"],
        carats="40.00",
        origin={"CA": "40.00"},
        value="9000.00",
        shipment="shp-ca-bw",
    )
    w.ship("ca-miner", "shp-ca-bw", ["CA-LOT"], "trader", certificate="CA-2026-7")
    w.confirm_certificate(bw, "CA-2026-7", "40.00", 1)
    w.receive("trader", "shp-ca-bw", {"CA-LOT": "40.00"})
    w.produce("miner", "BW-LOT", "mine-a", "60.00")
    w.ship("miner", "shp-bw-local", ["BW-LOT"], "trader")
    w.receive("trader", "shp-bw-local", {"BW-LOT": "60.00"})
    w.merge("trader", ["BW-LOT", "CA-LOT"], "MIX-LOT")
    w.issue_certificate(
        bw,
        "BW-2026-MIX-1",
        exporter="trader",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["MIX-LOT"],
        carats="100.00",
        origin={"BW": "60.00", "CA": "40.00"},
        value="20000.00",
        shipment="shp-mix",
        hs_code="7102.31",
    )
    w.produce("miner", "BW-VOID", "mine-b", "5.00")
    w.issue_certificate(
        bw,
        "BW-2026-VOID-1",
        exporter="miner",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["BW-VOID"],
        carats="5.00",
        origin={"BW": "5.00"},
        value="700.00",
        shipment="shp-void",
    )
    w.sign(bw, "certificate.void", number="BW-2026-VOID-1", reason=f"issued in error {HOSTILE}")
    return w


def test_mixed_origin_issued_and_void(sqlite_url: str, open_ledger: OpenLedger) -> None:
    ledger = open_ledger(sqlite_url)
    w = _two_country_world()
    _submit_all(ledger, w)

    mixed = _view(ledger, "BW-2026-MIX-1")
    assert mixed.status == "issued"
    assert (mixed.origin_label, mixed.mixed_origin) == ("mixed", True)
    assert [(o.country, o.country_name, o.carats) for o in mixed.origin] == [
        ("BW", "Botswana", Decimal("60.00")),
        ("CA", "Canada", Decimal("40.00")),
    ]
    assert [(lot.id, lot.origin) for lot in mixed.lots] == [("MIX-LOT", ("BW", "CA"))]
    page = render_html(mixed, verify_url=VERIFY)
    assert "Mixed: Botswana (BW) 60.00 ct, Canada (CA) 40.00 ct" in page
    assert "Botswana (BW)</td><td class='num'>60.00" in page
    assert "Canada (CA)</td><td class='num'>40.00" in page
    assert "7102.31 &mdash; Non-industrial diamonds" in page

    used = _view(ledger, "CA-2026-7")
    assert used.status == "confirmed"

    void = _view(ledger, "BW-2026-VOID-1")
    assert void.status == "void"
    assert void.void_reason == f"issued in error {HOSTILE}"
    page = render_html(void, verify_url=VERIFY)
    assert "VOID &mdash; this certificate backs no shipment" in page
    assert "<script" not in page and "<img" not in page


def test_used_before_confirmation(sqlite_url: str, open_ledger: OpenLedger) -> None:
    ledger = open_ledger(sqlite_url)
    w, _ = demo_world()
    confirm = next(i for i, e in enumerate(w.events) if e["body"]["type"] == "certificate.confirm")
    assert {o.status for o in ledger.submit(w.events[:confirm])} == {"accepted"}
    assert _view(ledger, NUMBER).status == "used"


# --- the page -----------------------------------------------------------------------------------------------


def _qr_modules(page: str) -> list[list[int]]:
    """The QR code's dark modules read back from the inline SVG path (border included)."""
    svgs = re.findall(r"<svg\b[^>]*>.*?</svg>", page, re.S)
    assert len(svgs) == 1
    match = re.search(r'viewBox="0 0 (\d+) (\d+)".*?<path[^>]*\bd="([^"]+)"', svgs[0], re.S)
    assert match is not None
    width, height, path = int(match[1]), int(match[2]), match[3]
    grid = [[0] * width for _ in range(height)]
    x = y = 0.0
    for command, a, b in re.findall(r"([A-Za-z])\s*(-?[\d.]+)(?:[ ,]+(-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        elif command == "h":
            for column in range(int(x), int(x + float(a))):
                grid[int(y)][column] = 1
            x += float(a)
        else:
            raise AssertionError(f"unexpected path command {command}")
    return grid


def _decode(grid: list[list[int]]) -> list[str]:
    """Decode the module grid as an image with zxing-cpp (skipped where it is not installed)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    scale = 4
    pixels = bytearray()
    for row in grid:
        line = b"".join((b"\x00" if dark else b"\xff") * scale for dark in row)
        pixels += line * scale
    image = memoryview(bytes(pixels)).cast("B", (len(grid) * scale, len(grid[0]) * scale))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def test_page_shows_the_annex_i_fields(demo: tuple[Ledger, World]) -> None:
    ledger, world = demo
    view = _view(ledger, NUMBER)
    page = render_html(view, verify_url=VERIFY)
    leaf, body = _issue(world, NUMBER)
    c = body["certificate"]
    assert page.startswith("<!DOCTYPE html>")
    for text in (
        "Kimberley Process Certificate",
        KP_STATEMENT,
        NUMBER,
        "KP authority of BW",
        "De Beers Global Sightholder Sales, Gaborone",
        "Antwerp Rough Trading",
        "Botswana (BW)",
        "Belgium (BE)",
        "898.80 ct",
        "139000.00 USD",
        "<dt>Number of parcels</dt><dd>1</dd>",
        "7102.10 &mdash; Diamonds, unsorted",
        c["issued"],
        c["expires"],
        c["shipment"],
        "<code>JW-2026-0001-B</code>",
        "Status: confirmed",
        f"leaf index\n<strong>{leaf}</strong>",
        body["id"],
        body["key"],
        view.leaf_hash,
    ):
        assert text in page, text
    # Self-contained: no script, no external asset, nothing fetched.
    for banned in ("<script", "<link", "<img", "@import", "src=", "url("):
        assert banned not in page, banned


def test_qr_code_encodes_the_verification_url_and_leaf(demo: tuple[Ledger, World]) -> None:
    ledger, world = demo
    view = _view(ledger, NUMBER)
    leaf, _ = _issue(world, NUMBER)
    expected = f"{VERIFY}?number={NUMBER}&leaf={leaf}"
    assert qr_payload(view, VERIFY) == expected
    assert qr_payload(view, VERIFY + "?lang=en") == f"{VERIFY}?lang=en&number={NUMBER}&leaf={leaf}"
    page = render_html(view, verify_url=VERIFY)
    grid = _qr_modules(page)
    reference = segno.make(expected, error="m", micro=False)
    border = (len(grid) - int(reference.symbol_size(scale=1, border=0)[0])) // 2
    assert border == 4
    assert [row[border:-border] for row in grid[border:-border]] == [list(r) for r in reference.matrix]
    assert f'<a href="{VERIFY}?number={NUMBER}&amp;leaf={leaf}">' in page
    assert _decode(grid) == [expected]


def test_hostile_strings_are_escaped(sqlite_url: str, open_ledger: OpenLedger) -> None:
    ledger = open_ledger(sqlite_url)
    w = basic_world()
    bw = w.actors["bw-authority"]
    w.register(bw, "evil-exporter", "BW", ["exporter", "mine_operator"], name=HOSTILE)
    w.site(bw, "evil-mine", "mine", "BW", "evil-exporter")
    w.produce("evil-exporter", "EVIL-LOT", "evil-mine", "10.00")
    w.issue_certificate(
        bw,
        "BW-EVIL-1",
        exporter="evil-exporter",
        importer="be-importer",
        exporting="BW",
        importing="BE",
        lots=["EVIL-LOT"],
        carats="10.00",
        origin={"BW": "10.00"},
        value="100.00",
        shipment="shp-evil",
    )
    _submit_all(ledger, w)
    view = _view(ledger, "BW-EVIL-1")
    assert view.exporter.name == HOSTILE
    page = render_html(view, verify_url='javascript:alert(1)"><script>alert(2)</script>')
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    assert "javascript:" in page and 'href="javascript' not in page  # shown, never a link
    # The QR still carries the URL exactly as given, escaped only in the page's text.
    expected = f'javascript:alert(1)"><script>alert(2)</script>?number=BW-EVIL-1&leaf={view.leaf_index}'
    reference = segno.make(expected, error="m", micro=False)
    grid = _qr_modules(page)
    assert [row[4:-4] for row in grid[4:-4]] == [list(r) for r in reference.matrix]
