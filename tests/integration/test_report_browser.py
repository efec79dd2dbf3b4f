"""report.html from the synthetic demo run, opened in Debian chromium (Playwright) with the network shut:
no request leaves the file, no console error, the figures on the page are theme_summary's, the page
is accessible in structure, and it prints to A4 PDF with the marking on every page."""

from __future__ import annotations

import io
import itertools
import os

import duckdb
import pytest

from pipeline.publish.catalog import MARKING
from pipeline.report.annual_report import REPORT_NAME
from pipeline.settings.config import load_config
from tests.helpers.browser import chromium_path, open_offline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(shared_demo_run):
    root, out, _ = shared_demo_run        # the suite's one demo run (tests/integration/conftest.py)
    cfg = load_config(root / "config" / "demo.yaml", demo=True)
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield cfg, out, con
    con.close()


@pytest.fixture(scope="module")
def browser_page(demo):
    if chromium_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed in CI: .ci/run installs it with apt-get before make test")
        pytest.skip("chromium not installed (apt-get install chromium); the browser checks run in CI")
    with open_offline(demo[1] / REPORT_NAME) as seen:
        yield seen


def test_every_run_writes_report_html_and_mirrors_it(demo):
    cfg, out, _ = demo
    page = (out / REPORT_NAME).read_text()
    assert page.startswith("<!DOCTYPE html>") and MARKING in page
    if cfg.reports:
        assert (cfg.reports / REPORT_NAME).read_text() == page


def test_the_page_makes_no_request_and_logs_no_error(browser_page):
    assert browser_page.blocked == []
    assert browser_page.failed == []
    assert browser_page.console_errors == []


def test_key_figures_on_the_page_are_theme_summarys(demo, browser_page):
    page = browser_page.page
    rows = demo[2].execute("select theme, count, previous_count from theme_summary").fetchall()
    assert len(rows) == 10
    for theme, count, previous in rows:
        cells = page.locator(f'tr[data-theme="{theme}"] td').all_inner_texts()
        assert cells[:2] == [f"{count:,}", f"{previous:,}"], theme
    vwi = next(r for r in rows if r[0] == "vwi")
    findings = page.locator("#findings li").all_inner_texts()
    assert any(f.startswith(f"There were {vwi[1]:,} VWI offences") for f in findings)


def test_the_page_is_accessible_in_structure(browser_page):
    page = browser_page.page
    assert page.locator("h1").count() == 1
    levels = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])")
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))      # no level skipped
    assert page.evaluate("[...document.querySelectorAll('svg')].filter(s => !s.querySelector(':scope > title')).length") == 0
    assert page.evaluate("[...document.querySelectorAll('th')].filter(t => !t.getAttribute('scope')).length") == 0
    assert page.locator("svg.map").count() >= 8                          # a ward map for each theme with offences
    assert page.locator("#theme-vwi svg.chart").count() == 3             # trend, seasonality, day x hour


def test_it_prints_on_a4_with_the_marking_on_every_page(browser_page):
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(browser_page.page.pdf(format="A4", print_background=True)))
    assert len(pdf.pages) >= 10
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2             # A4: 210 x 297 mm in points
    for number, sheet in enumerate(pdf.pages, start=1):
        assert sheet.extract_text().count(MARKING) == 2, f"page {number}: header and footer"
