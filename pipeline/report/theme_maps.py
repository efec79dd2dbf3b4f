"""The maps and funnel plots a run draws into maps/ (pipeline/publish/maps.py, funnel_chart.py), put
inline into report.html for each priority theme, so the page still makes no request of any kind.

The maps are svna's own SVGs (ward and grid ids prefixed by the map's name, text as text), inlined as
they are; the funnel plots are matplotlib SVGs whose ids repeat from one chart to the next and whose
style sheet would apply to the whole page, so their ids get the file's name in front, the style sheet
and metadata go, and a title is added. A file that refers to anything outside itself (an href or src
not starting with '#' or 'data:') or holds a script is not inlined: the report lists it as in maps/.
"""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup, escape

from pipeline.publish.catalog import MARKING
from pipeline.report.provenance import source_note

# (file stem prefix, what it shows, the reader's caption)
MAPS = (("ward", "rate map", ("Rate per 1,000 residents by current ward (counts where every ward has few), "
                             "with ward names.")),
        ("gi_star", "hot and cold spots", ("Getis-Ord Gi* hot and cold spots on a grid: cells with more (or fewer) "
                                           "crimes around them than chance would give, after allowing for many "
                                           "tests.")),
        ("hotspot_change", "hot spot change", ("Hot spots that are new this period, persistent (hot in both) or "
                                               "former (hot last period only).")),
        ("funnel_wards", "funnel plot", ("Each ward's rate against its residents; wards outside the curves differ "
                                         "by more than chance alone would explain.")))
OUTSIDE = re.compile(r"""(?:href|src)\s*=\s*["'](?!#|data:)""", re.IGNORECASE)
UNSAFE = re.compile(r"<script|<foreignObject|\son[a-z]+\s*=", re.IGNORECASE)
PROLOGUE = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)
TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
# each file carries the marking for when it is used on its own; on the page it is in every page's
# header and footer, and a second copy inside a map would read as a third marking on a printed page
OWN_MARKING = re.compile(r"<text\b[^>]*>\s*" + re.escape(str(escape(MARKING))) + r"\s*</text>")


def self_contained(svg: str) -> bool:
    """No reference outside the file, no script or event handler."""
    return not OUTSIDE.search(svg) and not UNSAFE.search(svg)


def _inline(svg: str, kind: str) -> Markup:
    """svna's own map file, checked by self_contained (its input text was escaped when it was drawn)."""
    body = PROLOGUE.sub("", svg)
    return Markup(body.replace("<svg ", f'<svg class="svna-map {kind}" ', 1))  # noqa: S704


ID = re.compile(r'\bid="([^"]+)"')
REF = re.compile(r'(href="#|url\(#)([^")]+)')
DROPPED = re.compile(r"<metadata>.*?</metadata>|<style[^>]*>.*?</style>", re.DOTALL)


def _own_ids(svg: str, prefix: str, title: str) -> Markup:
    """A matplotlib SVG made safe to sit beside others in one page: ids prefixed, no style sheet."""
    ids = set(ID.findall(svg))
    body = DROPPED.sub("", PROLOGUE.sub("", svg))
    body = ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', body)
    body = REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}" if m.group(2) in ids else m.group(0), body)
    body = re.sub(r"<svg\b([^>]*)>", lambda m: f'<svg class="svna-map funnel" role="img"{m.group(1)}>'
                  f"<title>{escape(title)}</title>", body, count=1)
    return Markup(body)  # noqa: S704


def _without_marking(svg: str) -> str:
    return OWN_MARKING.sub("", svg, count=1)


def theme_maps(maps_dir: Path, theme: str, label: str, source: str | None) -> tuple[list[dict], list[str]]:
    """The figures for one theme ({kind, figure, caption, source}) and the names of maps left in maps/."""
    figures, left = [], []
    for prefix, kind, caption in MAPS:
        path = Path(maps_dir) / f"{prefix}_{theme}.svg"
        if not path.is_file():
            continue
        svg = _without_marking(path.read_text(encoding="utf-8"))
        if not self_contained(svg):
            left.append(path.name)
            continue
        if prefix.startswith("funnel"):
            figure = _own_ids(svg, path.stem, f"{label}: funnel plot of ward rates against residents")
        else:
            figure = _inline(svg, prefix)
        title = TITLE.search(svg)
        figures.append({"kind": kind, "figure": figure, "caption": caption, "source": source_note(source),
                        "title": title.group(1) if title else f"{label}: {kind}"})
    return figures, left
