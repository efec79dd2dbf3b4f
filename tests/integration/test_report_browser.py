"""report.html from the synthetic demo run, opened in Debian chromium (Playwright) with the network shut:
no request leaves the file, no console error, the figures on the page are theme_summary's, the page
is accessible in structure, and it prints to A4 PDF with the marking on every page."""

from __future__ import annotations

import io
import itertools
import json
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


# ---------------------------------------------------------------- the one-page summary (issue 20)

def _open(browser_page, report):
    """Another page in the browser the module already runs (Playwright's sync API allows one at a time),
    every request but the report itself aborted and recorded."""
    url, blocked = report.resolve().as_uri(), []

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page = browser_page.page.context.new_page()
    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, blocked


def _pdf_pages(page) -> list[str]:
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    return [p.extract_text().replace("\ufb01", "fi").replace("\ufb02", "fl") for p in pdf.pages]   # no ligatures


def _summary_alone_pages(page) -> int:
    """The summary with only the title above it: its A4 pages (one, or it spills)."""
    page.evaluate("""() => { const main = document.querySelector('main');
        [...main.children].filter(e => !e.matches('h1, p.meta, #summary-page')).forEach(e => e.remove()); }""")
    return len(_pdf_pages(page))


@pytest.mark.parametrize("tier", ["restricted", "public"])
def test_the_summary_prints_as_one_a4_page_and_ends_the_first(demo, browser_page, tier):
    page, blocked = _open(browser_page, demo[1] / ("public" if tier == "public" else "") / REPORT_NAME)
    pages = _pdf_pages(page)
    assert "Period and extracts" in pages[0] and "Summary for the Tasking Group" in pages[0]
    # the break is after it: the next page opens with the core measures (the demo has them), then key findings
    assert "The Serious Violence Duty's core measures" in pages[1] and "Period and extracts" not in pages[1]
    assert _summary_alone_pages(page) == 1
    assert blocked == []
    page.close()


def test_the_summary_has_its_parts(demo, browser_page):
    _, out, con = demo
    page = browser_page.page
    summary = page.locator("#summary-page")
    headline = summary.locator("p.headline").inner_text()
    sv = con.execute("select count from theme_summary s join seed_themes t using (theme) "
                     "where s.is_focus and t.label like 'Serious violence%'").fetchone()[0]
    assert f"there were {sv:,} serious violence offences" in headline and "Source: the record extract" in headline
    themes = con.execute("select theme, count from theme_summary s join seed_themes t using (theme) "
                         "where s.is_focus and t.overall = 'false'").fetchall()
    rows = summary.locator("table.ranked tbody tr")
    assert rows.count() == len(themes)
    counts = [int(c.replace(",", "")) for c in rows.locator("td:nth-child(2)").all_inner_texts()]
    assert sorted(counts) == sorted(n for _, n in themes)
    # ranked as the priorities table ranks them (the demo has one), themes it does not rank after, by count
    ranked = [r[0] for r in con.execute("select theme from priorities where level = 'theme' and priority_rank is "
                                        "not null order by priority_rank").fetchall()]
    count_of = dict(themes)
    expected = ranked + sorted((t for t in count_of if t not in ranked), key=lambda t: -count_of[t])
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.rankTheme)") == expected
    residents = con.execute("select any_value(residents) from area_comparison where is_focus").fetchone()[0]
    vwi = next(n for t, n in themes if t == "vwi")
    assert summary.locator('tr[data-rank-theme="vwi"] td').nth(1).inner_text() == f"{1000 * vwi / residents:.2f}"
    arrows = summary.locator("table.ranked .arrow").all_inner_texts()
    assert set(arrows) <= set("▲△▼▽▶▷") and all(arrows)
    # top wards: numbered on the map, the same wards listed, none of them with no crimes
    assert summary.locator("svg.map g.label").count() == summary.locator("ol.top-wards li").count() == 5
    top = con.execute("select ward_name, count from ward_hotspots h join seed_themes t using (theme) "
                      "where t.label like 'Serious violence%' order by count desc, ward_name limit 5").fetchall()
    assert summary.locator("ol.top-wards li").all_inner_texts() == [f"{n}: {c:,}" for n, c in top]
    # the period and every extract used, with its date, as run.json names them
    text = summary.inner_text()
    assert "1 January 2023 to 31 December 2023" in text
    manifest = json.loads((out / "run.json").read_text())
    extracts = manifest["checks"]["extracts"]
    assert {e["source"] for e in extracts} == {"record_extract", "mps_counts"}
    for e in extracts:
        assert e["file"] in text and e["extract_date"]
    assert "extracted 15 January 2024" in text and "extracted January 2024" in text


def test_the_maps_svna_draws_are_inline_and_load_nothing(browser_page):
    page = browser_page.page
    grid = page.locator("#theme-vwi .mapgrid figure")
    assert sorted(grid.evaluate_all("fs => fs.map(f => f.dataset.map)")) == \
        ["funnel plot", "hot and cold spots", "hot spot change", "rate map"]
    assert page.locator("#theme-vwi svg.svna-map").count() == 4
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids))                                  # no id twice in the page
    # nothing on the page points outside it: every href/src is an anchor or a data: URI
    refs = page.evaluate("""[...document.querySelectorAll('[href], [src], [*|href]')].flatMap(e =>
        ['href', 'src', 'xlink:href'].map(a => e.getAttribute(a)).filter(v => v !== null))""")
    outside = [r for r in refs if not r.startswith(("#", "data:"))]
    assert refs and not outside, outside
    assert browser_page.blocked == [] and browser_page.failed == []
    # the maps drawn for the key themes only; the all-crime section has none
    assert page.locator("#theme-all_crime .mapgrid").count() == 0


def test_every_figure_and_sentence_names_one_source(browser_page):
    page = browser_page.page
    names = ("record extract", "MPS files", "data.police.uk")
    captions = page.locator("main figure figcaption").all_inner_texts()
    assert captions and all(any(n in c for n in names) for c in captions), \
        [c for c in captions if not any(n in c for n in names)]
    for item in page.locator("#findings li").all():
        source = item.locator(".src").inner_text()
        assert sum(n in source for n in names) == 1, item.inner_text()
    for lead in page.locator("section.theme p.lead").all():
        assert sum(n in lead.locator(".src").inner_text() for n in names) == 1
    # a comparator's change is its own sentence from its own source, never inside the area's
    vwi = page.locator("#findings li").filter(has_text="VWI offences, an increase").first.inner_text()
    assert "For the MPS" not in vwi and "(record extract)" in vwi


def test_plain_english_glossary_and_only_the_caveats_that_apply(browser_page):
    page = browser_page.page
    terms = page.locator("dl.glossary dt").all_inner_texts()
    assert {"Record extract", "MPS files", "Rate per 1,000", "Hot spot"} <= set(terms)
    assert "[c]" not in terms                                   # restricted tier: nothing is withheld
    assert "data.police.uk limited mode" not in page.locator("#definitions").inner_text()   # no such input
    reader = page.locator("main").inner_text()
    for jargon in ("change_flag", "p_value", "temporal_profile", "reference.", "disclosure_log", "tables/",
                   "extract of None", "1 homicide offences"):
        assert jargon not in reader, jargon
    assert page.locator("#exceptions").count() == 0            # an annual run has no monthly exceptions


# ---------------------------------------------------------------- the real Merton 2022 count files

@pytest.fixture(scope="module")
def merton_report(tmp_path_factory, browser_page):
    """Merton 2022 from the real MPS ward files (two extracts, the newer wins) and borough files: count-only."""
    from tests.helpers.merton import WARD_FILE_2022, WARD_FILE_PRE_2022, merton_config
    from tests.helpers.shared_data import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("the real Merton files are not here (../shared/data)")
    from pipeline.runs.annual import run_annual

    root = tmp_path_factory.mktemp("merton-report")
    borough = (f"  - kind: mps_counts\n    paths: [{SHARED_DATA}/mps_counts/borough/*extract2023-08.csv]\n"
               "comparator: {name: Metropolitan Police Service}\n")
    config = merton_config(root, [WARD_FILE_2022, WARD_FILE_PRE_2022], previous_wards=True, extra_inputs=borough)
    run_annual(load_config(config, {"output": str(root / "out")}))
    return root / "out"


def test_merton_count_only_summary_is_one_page_and_says_what_it_cannot_show(merton_report, browser_page):
    page, blocked = _open(browser_page, merton_report / REPORT_NAME)
    assert blocked == []
    summary = page.locator("#summary-page")
    headline = summary.locator("p.headline").inner_text()
    assert headline.startswith("In Merton in 2022, there were 1,421 VWI offences, an increase of 16%")  # published
    assert "Source: the MPS files" in headline
    assert "Serious violence (London VRU definition) is not available from these inputs" in summary.inner_text()
    missing = summary.locator("ul.not-available li").all_inner_texts()
    assert len(missing) == 3 and all("MPS count files carry no" in m or "needs" in m for m in missing)
    assert set(summary.locator("td.src").all_inner_texts()) == {"MPS files"}
    # both ward extracts are named with their month; the run's figures come from them
    text = summary.inner_text()
    assert "extract2023-04.csv, extracted April 2023" in text and "extract2022-09.csv, extracted September 2022" in text
    # re-based 2021 ward counts are marked as estimates; no ward of none is listed
    vwi = page.locator("#theme-vwi")
    assert vwi.locator("td .est").count() > 0
    assert "0" not in [c.strip() for c in vwi.locator("table").last.locator("tbody td:nth-child(2)").all_inner_texts()]
    assert vwi.locator(".mapgrid figure").count() >= 2               # rate map and hot spots, inline
    pages = _pdf_pages(page)
    assert "Period and extracts" in pages[0] and "Period and extracts" not in pages[1]
    assert _summary_alone_pages(page) == 1
    page.close()
