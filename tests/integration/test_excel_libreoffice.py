"""The demo run's data pack as a reader without Excel sees it (issue 20, item 8): converted to PDF by
LibreOffice Calc headless, its Contents pages carry every headline and sheet description whole, on lines
of normal length (not piled a few characters a line into a narrow column, not cut off by a short row);
and no sheet of the pack shows a % change on a base under 10."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import openpyxl
import pytest

from pipeline.publish.catalog import MARKING
from pipeline.publish.excel_pack import EXCEL_NAME, PUBLIC_EXCEL_NAME
from tests.helpers.pack_checks import change_cells_on_small_bases

pytestmark = pytest.mark.integration
CONTENTS_PAGES = 8          # more than the demo's Contents needs; pages of other sheets are left out by title
CONVERT_TIMEOUT_S = 240     # a cold LibreOffice start on a busy 2-core machine takes ~10 s


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def packs(out):
    return [p for p in (out / EXCEL_NAME, out / "public" / PUBLIC_EXCEL_NAME) if p.exists()]


def words(text: str) -> str:
    return " ".join(text.split())


def contents_pdf_text(pack, tmp_path) -> list[str]:
    """The text of each printed page of the Contents sheet, LibreOffice's own PDF export."""
    from pypdf import PdfReader

    soffice = soffice_path()
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is not installed in CI: .ci/run installs libreoffice-calc-nogui with apt-get")
        pytest.skip("LibreOffice not installed (apt-get install libreoffice-calc-nogui); the check runs in CI")
    out = tmp_path / "pdf"
    # a profile of its own: parallel runs sharing ~/.config/libreoffice block or fail each other
    profile = (tmp_path / "lo-profile").as_uri()
    pages = '{"PageRange":{"type":"string","value":"1-' + str(CONTENTS_PAGES) + '"}}'
    done = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                           "--convert-to", f"pdf:calc_pdf_Export:{pages}", "--outdir", str(out), str(pack)],
                          capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S)
    pdf = out / (pack.stem + ".pdf")
    assert done.returncode == 0 and pdf.exists(), done.stderr[-2000:]
    texts = [page.extract_text() or "" for page in PdfReader(pdf).pages]
    contents = [t for t in texts if re.search(r"^.*\bContents\s*$", t.splitlines()[0] if t else "", re.M)]
    assert contents and texts[0] in contents, texts[0][:500]
    return contents


@pytest.mark.parametrize("tier", ["restricted", "public"])
def test_contents_page_is_legible_in_libreoffice(shared_demo_run, tmp_path, tier):
    found = [p for p in packs(shared_demo_run.out) if ("public" in p.name) == (tier == "public")]
    if not found:
        pytest.skip(f"the demo run writes no {tier} pack")
    pack = found[0]
    sheet = openpyxl.load_workbook(pack)["Contents"]
    cells = [words(c.value) for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    long_texts = [c for c in cells if len(c) > 40 and "OFFICIAL" not in c]
    assert len(long_texts) >= 10          # the headlines and the sheets' descriptions
    pages = contents_pdf_text(pack, tmp_path)
    text = words(" ".join(pages))
    missing = [c for c in long_texts if c not in text]
    assert missing == [], f"{len(missing)} Contents texts not whole in the PDF, e.g. {missing[:2]}"
    assert all(MARKING in p or "OFFICIAL" in p for p in pages)
    # wrapped in a wide cell, a paragraph prints on long lines: not a word or two a line
    lines = [line.strip() for p in pages for line in p.splitlines() if len(line.strip()) > 0]
    body = sorted(len(line) for line in lines if not line.startswith("OFFICIAL"))
    assert body[len(body) // 2] >= 40, body
    long_lines = [line for line in lines if len(line) >= 80]
    assert len(long_lines) >= 10, lines[:20]


def test_no_sheet_shows_a_pct_change_on_a_base_under_10(shared_demo_run):
    for pack in packs(shared_demo_run.out):
        book = openpyxl.load_workbook(pack, read_only=True)
        assert change_cells_on_small_bases(book) == [], pack.name
