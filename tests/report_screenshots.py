"""Screenshots of a report.html for the README (docs/report_first_screen.png, docs/report_theme.png),
taken in chromium with the network shut. Run by `make screenshots`, never by the tests, so a test run
does not rewrite committed files.

    python tests/report_screenshots.py data/processed/demo/report.html
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.browser import open_offline

DOCS = ROOT / "docs"
THEME = "#theme-vwi"


def main(report: Path) -> list[Path]:
    first, theme = DOCS / "report_first_screen.png", DOCS / "report_theme.png"
    with open_offline(report) as seen:
        if seen.blocked or seen.failed or seen.console_errors:
            raise SystemExit(f"{report}: requests blocked {seen.blocked}, failed {seen.failed}, "
                             f"console errors {seen.console_errors}")
        seen.page.screenshot(path=str(first))
        # the theme's ward map and table: scroll so the heading sits under the sticky marking banner
        seen.page.evaluate(f"window.scrollTo(0, document.querySelector('{THEME} h3:nth-of-type(4)').offsetTop - 40)")
        seen.page.screenshot(path=str(theme))
    for path in (first, theme):  # a 64-colour palette keeps the committed PNGs small
        from PIL import Image

        Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
    return [first, theme]


if __name__ == "__main__":
    for path in main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "data/processed/demo/report.html")):
        print(f"{path} ({path.stat().st_size // 1024} KB)")
