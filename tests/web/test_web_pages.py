"""The web pages in a real headless Chromium against a real uvicorn server over the demo world, with every
request outside the test server blocked: a clean stone's passport verifies step by step on the device, an
altered envelope fails exactly its step, a certificate's QR code leads to its page, search, keyboard use,
no console error on any page; each page's screenshot is saved under tests/web/screenshots/ (git-ignored)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, update
from web_helpers import (
    CONCERN,
    DESKTOP,
    PHONE,
    browser_on,
    chromium,
    demo_ledger,
    screenshot,
    serving,
    verify,
)

from adamas import Ledger
from adamas.api import create_app
from adamas.ledger.certificate_doc import certificate_view
from adamas.store import schema
from adamas.store.database import normalize_url
from adamas.web.certificate_print import render_html

sync_api = pytest.importorskip("playwright.sync_api")

CERTIFICATE = "BW-2026-000042"
PAGES = {
    "home": "/",
    "passport": "/lots/PS-0042-001",
    "certificate": f"/certificates/{CERTIFICATE}",
    "country": "/countries/BW",
    "monitor": "/flags",
    "monitor-filtered": "/flags?severity=high&status=open",
    "participant": "/participants/debswana",
    "search": "/search?q=0042",
}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_api.sync_playwright() as running:
        yield running


@dataclass
class Clean:
    """The demo world, cosigned by one witness, served at ``base``; ``star`` is the polished stone."""

    base: str
    star: str
    db: str


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clean]:
    folder = tmp_path_factory.mktemp("clean")
    db = f"sqlite:///{folder / 'ledger.db'}"
    with demo_ledger(db, folder) as star, serving(create_app(db)) as base:
        yield Clean(base, star, db)


def test_a_clean_stones_passport_passes_every_verification_step(playwright: Any, clean: Clean) -> None:
    with browser_on(playwright, chromium(), clean.base) as browser:
        page = browser.open(f"/lots/{clean.star}")
        assert page.get_attribute("main", "data-verification") is None  # nothing runs before the press
        verdict, checks = verify(page)
        screenshot(page, "passport-verified-phone")
        assert verdict == "passed", checks
        assert checks and all(state == "passed" for state, _ in checks), checks
        texts = "\n".join(text for _, text in checks)
        assert "Checkpoint signed by the log key" in texts
        assert "Cosignature of witness witness.example/w1" in texts
        # Every event of the lineage: the manufacture of the stone, the mines' registrations, the genesis.
        for event in ("evt-0000024", "evt-0000014", "evt-0000015", "evt-0000001"):
            for step in ("canonical bytes", "signature by", "in the log at leaf"):
                assert any(event in t and step in t for t in texts.splitlines()), (event, step)
        assert browser.blocked == [] and browser.errors == []


def test_the_vendored_ed25519_verifies_where_webcrypto_lacks_it(playwright: Any, clean: Clean) -> None:
    with browser_on(playwright, chromium(), clean.base) as browser:
        page = browser.open(None)
        # A browser without Ed25519 in WebCrypto (as Chromium was before version 137).
        page.add_init_script(
            """const original = crypto.subtle.importKey.bind(crypto.subtle);
            crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
              (algorithm && (algorithm === "Ed25519" || algorithm.name === "Ed25519"))
                ? Promise.reject(new DOMException("Unrecognized name", "NotSupportedError"))
                : original(format, key, algorithm, ...rest);"""
        )
        page.goto(f"{clean.base}/lots/{clean.star}")
        verdict, checks = verify(page)
        assert page.inner_text("#verify-engine") == "Ed25519 by @noble/ed25519"
        assert verdict == "passed", checks
        assert browser.blocked == [] and browser.errors == []


@pytest.mark.parametrize(
    ("alteration", "failing_step"),
    [
        # Canonical bytes with another carat weight: only the signature can tell.
        (
            lambda env: env.replace(b'"300.00","id":"JW-2026-0001-A"', b'"310.00","id":"JW-2026-0001-A"'),
            "signature",
        ),
        # The same content with a space: the bytes are no longer RFC 8785's.
        (lambda env: env.replace(b'"loss":"1.20"', b'"loss": "1.20"'), "canonical bytes"),
    ],
    ids=["body-changed", "not-canonical"],
)
def test_an_altered_envelope_fails_exactly_its_step(
    playwright: Any, db_url: str, tmp_path: Path, alteration: Any, failing_step: str
) -> None:
    with demo_ledger(db_url, tmp_path, witnessed=False) as star:
        engine = create_engine(normalize_url(db_url))
        events = schema.events
        with engine.begin() as conn:
            stored = conn.execute(
                select(events.c.envelope).where(events.c.event_id == "evt-0000018")
            ).scalar_one()
            altered = alteration(bytes(stored))
            assert altered != bytes(stored)
            conn.execute(update(events).where(events.c.event_id == "evt-0000018").values(envelope=altered))
        engine.dispose()
        with serving(create_app(db_url)) as base, browser_on(playwright, chromium(), base) as browser:
            page = browser.open(f"/lots/{star}")
            verdict, checks = verify(page)
            screenshot(page, f"passport-tampered-{failing_step.replace(' ', '-')}")
            assert page.inner_text("#verify-verdict").startswith("VERIFICATION FAILED")
            assert browser.blocked == []
    assert verdict == "failed"
    failed = [i for i, (state, _) in enumerate(checks) if state == "failed"]
    assert len(failed) == 1, checks
    index = failed[0]
    assert "evt-0000018" in checks[index][1] and failing_step in checks[index][1], checks[index]
    # Everything before it held, and nothing after it ran: it is the last line.
    assert all(state in ("passed", "skipped") for state, _ in checks[:index])
    assert index == len(checks) - 1


def test_a_certificates_qr_code_leads_to_its_page_which_verifies(playwright: Any, clean: Clean) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    with Ledger.open(clean.db) as ledger, ledger.engine.connect() as conn:
        view = certificate_view(conn, CERTIFICATE)
    printed = render_html(view, verify_url=f"{clean.base}/certificates/verify")
    with browser_on(playwright, chromium(), clean.base, DESKTOP) as browser:
        page = browser.open(None)
        page.set_content(printed)
        found = zxingcpp.read_barcodes(image_module.open(io.BytesIO(page.screenshot(full_page=True))))
        (qr,) = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
        assert qr == f"{clean.base}/certificates/verify?number={CERTIFICATE}&leaf={view.leaf_index}"
        page.goto(qr)
        assert page.url == f"{clean.base}/certificates/{CERTIFICATE}?leaf={view.leaf_index}"
        assert CERTIFICATE in page.inner_text("h1")
        text = page.inner_text("main")
        for shown in ("De Beers Global Sightholder Sales", "Antwerp Rough Trading", "898.80", "7102.10"):
            assert shown in text
        assert "JW-2026-0001-B" in text and "printed code names leaf" not in text
        verdict, checks = verify(page)
        screenshot(page, "certificate-verified-desktop")
        assert verdict == "passed", checks
        assert any(view.event in t and "signature" in t for _, t in checks)
        assert browser.blocked == [] and browser.errors == []


def test_search_goes_straight_to_an_exact_match_and_lists_partial_ones(playwright: Any, clean: Clean) -> None:
    with browser_on(playwright, chromium(), clean.base) as browser:
        page = browser.open("/")
        page.fill("#q", clean.star)
        page.press("#q", "Enter")
        page.wait_for_url(f"{clean.base}/lots/{clean.star}")
        page.fill("#q", CERTIFICATE.lower())
        page.press("#q", "Enter")
        page.wait_for_url(f"{clean.base}/certificates/{CERTIFICATE}")
        page.fill("#q", "Debswana")
        page.press("#q", "Enter")
        page.wait_for_url(f"{clean.base}/search?q=Debswana")
        page.click("text=Debswana Diamond Company")
        page.wait_for_url(f"{clean.base}/participants/debswana")
        page.fill("#q", "0042")
        page.press("#q", "Enter")
        links = [a.get_attribute("href") for a in page.query_selector_all("main a")]
        assert f"/lots/{clean.star}" in links and f"/certificates/{CERTIFICATE}" in links
        page.fill("#q", "no-such-thing-anywhere")
        page.press("#q", "Enter")
        page.wait_for_url("**/search?q=no-such-thing-anywhere")
        assert "Nothing matches" in page.inner_text("main")
        assert browser.blocked == [] and browser.errors == []


def test_the_passport_works_from_the_keyboard(playwright: Any, clean: Clean) -> None:
    with browser_on(playwright, chromium(), clean.base) as browser:
        page = browser.open(f"/lots/{clean.star}")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        # Tab to the Verify button and press it with the keyboard.
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "verify-button":
                break
        else:
            raise AssertionError("the Verify button cannot be reached with Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("main[data-verification=passed]", timeout=60_000)
        # A lot in the lineage graph is a link reached with Tab and followed with Enter.
        page.goto(f"{clean.base}/lots/{clean.star}")
        for _ in range(200):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('svg.lineage') !== null"):
                break
        else:
            raise AssertionError("no lot of the lineage graph can be reached with Tab")
        target = page.evaluate("document.activeElement.getAttribute('href')")
        page.keyboard.press("Enter")
        page.wait_for_url(clean.base + target)
        assert page.inner_text("h1").startswith("Lot ")
        assert browser.blocked == [] and browser.errors == []


@pytest.mark.parametrize(("viewport", "size"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_every_page_loads_without_a_console_error_or_an_outside_request(
    playwright: Any, clean: Clean, viewport: str, size: dict[str, int]
) -> None:
    with browser_on(playwright, chromium(), clean.base, size) as browser:
        for name, path in PAGES.items():
            page = browser.open(path)
            assert page.title().endswith("· Adamas"), path
            assert page.query_selector("main") is not None, path
            # Readable without scrolling sideways on a phone (the lineage graph scrolls in its own box).
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, overflow)
            screenshot(page, f"{name}-{viewport}")
            page.close()
        assert browser.blocked == [] and browser.errors == []


def test_a_monitor_finds_the_flag_and_follows_its_evidence(playwright: Any, clean: Clean) -> None:
    with browser_on(playwright, chromium(), clean.base, DESKTOP) as browser:
        page = browser.open("/")
        page.click("text=concern")  # open flags by detector, on the home page
        page.wait_for_url(f"{clean.base}/flags?detector=concern&status=open")
        assert len(page.query_selector_all("li.flag")) == 1
        page.fill("input[name=country]", "BE")
        page.select_option("select[name=severity]", "medium")
        page.click("form.filters button")
        page.wait_for_url("**/flags?**country=BE**")
        (flag,) = page.query_selector_all("li.flag")
        assert CONCERN in flag.inner_text()
        flag.query_selector("summary").click()
        assert "field notes" not in flag.inner_text()  # only its hash is logged
        assert "sha256" in flag.inner_text() and CONCERN in flag.query_selector("dl.evidence").inner_text()
        screenshot(page, "monitor-flag-desktop")
        page.select_option("select[name=severity]", "high")
        page.click("form.filters button")
        page.wait_for_url("**/flags?**severity=high**")
        assert page.query_selector_all("li.flag") == [] and "No flag matches" in page.inner_text("main")
        page.go_back()
        page.click("li.flag .links >> text=antwerp-rough")
        page.wait_for_url(f"{clean.base}/participants/antwerp-rough")
        assert "Antwerp Rough Trading" in page.inner_text("h1")
        page.go_back()
        page.click("li.flag .links >> text=BE")
        page.wait_for_url(f"{clean.base}/countries/BE")
        assert CONCERN in page.inner_text("main")
        # The witness's status is on the console too.
        page.goto(f"{clean.base}/flags")
        assert "cosigns the newest checkpoint" in page.inner_text("main")
        assert browser.blocked == [] and browser.errors == []
