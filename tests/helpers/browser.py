"""Open a report.html in Debian chromium through Playwright with the network shut: every request that
is not the file itself is aborted and recorded (used by the browser tests and tests/report_screenshots.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

VIEWPORT = {"width": 1200, "height": 800}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class OfflinePage:
    page: object
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@contextmanager
def open_offline(report: Path) -> Iterator[OfflinePage]:
    """The report in a fresh chromium (never Playwright's own download), every non-file request aborted."""
    from playwright.sync_api import sync_playwright

    url = Path(report).resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=["--no-sandbox", "--disable-background-networking"])
        try:
            context = browser.new_context(viewport=VIEWPORT, java_script_enabled=True)
            page = context.new_page()
            seen = OfflinePage(page)

            def route(r):
                if r.request.url == url:
                    r.continue_()
                else:
                    seen.blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page.on("requestfailed", lambda req: seen.failed.append(req.url))
            page.on("console", lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: seen.console_errors.append(str(exc)))
            page.goto(url, wait_until="load")
            yield seen
        finally:
            browser.close()
