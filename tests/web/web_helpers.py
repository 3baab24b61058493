"""Helpers of the web page tests: a real uvicorn server over a ledger, a witness that cosigns it, and a
headless Debian Chromium whose every request outside the test server is blocked and recorded.

Not a conftest.py, so that ``conftest`` stays the one at the top of tests/ (as tests/api/served.py does).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adamas import Ledger
from adamas.log import Cosigner, Verifier
from adamas.risk import scan
from adamas.sim import demo_world
from adamas.witness import Witness, WitnessState
from adamas.witness.http import create_app as witness_app
from serving import serving

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
"""Where every page's screenshot goes (git-ignored), to look at by eye."""
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WITNESS = "witness.example/w1"
CONCERN = "Parcels re-exported within days of import, at prices far from the norm."


def chromium() -> str:
    """Debian's Chromium; missing, the test is skipped, or failed when CI=true."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Chromium is not installed: .ci/run installs the chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@contextlib.contextmanager
def demo_ledger(url: str, state_dir: Path, *, witnessed: bool = True) -> Iterator[str]:
    """The demo world stored at ``url`` with a monitor's concern about a trader (off the stone's lineage)
    and its risk flag raised, and, when ``witnessed``, cosigned by a witness served on loopback; yield the
    id of the demo's polished stone."""
    world, star = demo_world()
    world.attest(
        "kp-civil-society",
        "participant",
        "antwerp-rough",
        "concern",
        statement=CONCERN,
        evidence="field notes, Antwerp, March 2026",
    )
    with contextlib.ExitStack() as stack:
        # The ledger logs the scripted world as it happens: its clock is the world's.
        with Ledger.open(url, create=True, clock=world.clock) as ledger:
            outcomes = ledger.submit(world.events)
            assert all(o.ok for o in outcomes), [o.to_json() for o in outcomes if not o.ok]
            assert len(scan(ledger).new) == 1  # the concern
            if witnessed:
                state = WitnessState.open(str(state_dir / "witness.db"))
                stack.callback(state.close)
                cosigner = Cosigner.generate(WITNESS)
                witness = Witness(cosigner, {ledger.origin: [Verifier.from_vkey(ledger.vkey)]}, state)
                witness_url = stack.enter_context(serving(witness_app(witness)))
                ledger.add_witness(WITNESS, cosigner.verifier.vkey, witness_url)
                (result,) = ledger.request_cosignatures()
                assert result.ok, result.to_json()
        yield star


@dataclass
class Browser:
    """A browser context on ``base``: pages opened with ``open`` record console errors and uncaught
    exceptions, and any request to another origin is blocked and recorded in ``blocked``."""

    context: Any
    base: str
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str | None = "/") -> Any:
        """A new page at ``base + path`` (left blank when ``path`` is None)."""
        page = self.context.new_page()
        page.on(
            "console",
            lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        if path is not None:
            page.goto(self.base + path)
        return page


@contextlib.contextmanager
def browser_on(
    playwright: Any, executable: str, base: str, viewport: dict[str, int] = PHONE
) -> Iterator[Browser]:
    """A headless Chromium context on ``base`` with every other origin blocked."""
    browser = playwright.chromium.launch(
        executable_path=executable,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )
    try:
        context = browser.new_context(viewport=viewport)
        session = Browser(context, base)

        def route(r: Any) -> None:
            if r.request.url.startswith(base + "/"):
                r.continue_()
            else:
                session.blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        yield session
        context.close()
    finally:
        browser.close()


def verify(page: Any) -> tuple[str, list[tuple[str, str]]]:
    """Press Verify and wait for the verdict; return it and every check line as (state, text)."""
    page.click("#verify-button")
    page.wait_for_selector("main[data-verification=passed], main[data-verification=failed]", timeout=60_000)
    checks = [
        (li.get_attribute("data-check") or "", li.inner_text())
        for li in page.query_selector_all("[data-check]")
    ]
    return page.get_attribute("main", "data-verification") or "", checks


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot under ``SCREENSHOTS``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
