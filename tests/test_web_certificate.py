"""The printed certificate in a real headless Chromium: its fields are visible, and a scan of the QR code
in a screenshot yields the verification URL with the certificate number and the leaf index."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adamas import Ledger
from adamas.cli import app
from adamas.sim import demo_world
from conftest import fixed_clock

CHROMIUM = "/usr/bin/chromium"


def _chromium() -> str:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Chromium is not installed: .ci/run installs the chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def test_printed_certificate_scans_back_to_the_log(tmp_path: Path) -> None:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")

    db = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    world, _ = demo_world()  # the scripted world, whose certificate BW-2026-000042 this test prints
    with Ledger.open(db, create=True, clock=fixed_clock) as ledger:
        assert all(o.ok for o in ledger.submit(world.events))
    page_file = tmp_path / "certificate.html"
    rendered = runner.invoke(
        app,
        [
            "certificate",
            "render",
            "BW-2026-000042",
            "--db",
            db,
            "--out",
            str(page_file),
            "--verify-url",
            "https://customs.example/verify",
        ],
    )
    assert rendered.exit_code == 0, rendered.output

    with sync_api.sync_playwright() as playwright:
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
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.goto(page_file.as_uri())
            text = page.inner_text("body")
            for expected in ("BW-2026-000042", "antwerp-rough", "dtc-botswana", "898.80", "7102.10"):
                assert expected in text
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()

    found = zxingcpp.read_barcodes(image_module.open(io.BytesIO(shot)))
    urls = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert urls, "no QR code found in the rendered page"
    assert urls[0].startswith("https://customs.example/verify?")
    assert "number=BW-2026-000042" in urls[0]
    assert "leaf=31" in urls[0]
