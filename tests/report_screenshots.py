"""Screenshots of a report.html for the README, taken in chromium with the network shut:
docs/report_first_screen.png (the top of the page), docs/report_summary.png (the whole one-page
summary), docs/report_priorities.png (the priorities and drafted tasking options) and
docs/report_theme.png (the first priority theme's inline maps). Run by `make screenshots`,
never by the tests, so a test run does not rewrite committed files.

    python tests/report_screenshots.py data/processed/demo/report.html
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.browser import open_offline

DOCS = ROOT / "docs"
# the first theme section with maps: a priority theme when the run ranks them, else the first key theme
THEME = "section.theme:has(.mapgrid)"


def main(report: Path) -> list[Path]:
    first, summary, theme = DOCS / "report_first_screen.png", DOCS / "report_summary.png", DOCS / "report_theme.png"
    priorities = DOCS / "report_priorities.png"
    with open_offline(report) as seen:
        if seen.blocked or seen.failed or seen.console_errors:
            raise SystemExit(f"{report}: requests blocked {seen.blocked}, failed {seen.failed}, "
                             f"console errors {seen.console_errors}")
        page = seen.page
        page.screenshot(path=str(first))
        # the page from its top to the summary's end (the sticky marking stays above the title), and the
        # theme from its heading through its maps
        box = page.locator("#summary-page").bounding_box()
        page.screenshot(path=str(summary), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1200, "height": box["y"] + box["height"] + 12})
        page.add_style_tag(content=".marking.top { position: static; }")
        page.locator("#priorities").screenshot(path=str(priorities))
        top = page.locator(f"{THEME} h2").first.bounding_box()["y"] + page.evaluate("window.scrollY")
        page.screenshot(path=str(theme), full_page=True, clip={"x": 0, "y": top - 10, "width": 1200, "height": 1250})
    for path in (first, summary, priorities, theme):  # a 64-colour palette keeps the committed PNGs small
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
    return [first, summary, priorities, theme]


if __name__ == "__main__":
    for path in main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "data/processed/demo/report.html")):
        print(f"{path} ({path.stat().st_size // 1024} KB)")
