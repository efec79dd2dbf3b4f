"""The Tasking Group's report.html: one self-contained page per run (styles, charts and maps inline,
no network request of any kind), printable on A4 with the protective marking on every page.

Everything shown is read from the run's tables in one DuckDB schema: `main` for the restricted tier,
`public` for the disclosure-controlled tier, where a suppressed cell is NULL and listed in
`public.disclosure_log(table_name, row_key, column_name, rule)` (row_key: the table's `-- unique_key:`
values joined with " | " in header order). A suppressed cell shows as "[c]". Sentences come from
pipeline.narrative / narrative_analyses (no metric is re-defined here); a table the inputs could not
give, or an empty one, gets a sentence instead of a section.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import jinja2
from markupsafe import Markup, escape

from pipeline import db, narrative
from pipeline import narrative_analyses as analyses
from pipeline.catalog import MARKING, marking
from pipeline.config import RunConfig

REPORT_NAME = "report.html"
TEMPLATES = Path(__file__).parent / "templates"
# Okabe-Ito (colour-blind safe) for series; cividis (light to dark) for maps and the heatmap
SERIES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
CIVIDIS = ("#fde838", "#c3b369", "#8a8779", "#575c6d", "#00204d")
EMPTY_FILL = "#ffffff"
SUPPRESSED_FILL = "#d9d9d9"
# tables read from main when the tier's schema does not hold them: definitions and geography, no counts
SHARED_PREFIXES = ("seed_", "ref_")
SHARED_TABLES = ("periods",)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MARKDOWN_ESCAPED = re.compile(r"\\([\\`*_\[\]{}|~#!])")


class Suppressed:
    """A cell the public tier withheld (disclosure control): shown as [c], never as a number."""

    def __repr__(self) -> str:
        return "[c]"


SUPPRESSED = Suppressed()


def plain(sentence: str) -> str:
    """A narrative sentence (Markdown-safe: narrative.md_text) back to plain text; the template escapes it."""
    return html.unescape(MARKDOWN_ESCAPED.sub(r"\1", sentence))


# ---------------------------------------------------------------- reading the tier's tables

class Tables:
    """The tier's tables, with suppressed cells replaced by SUPPRESSED."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str):
        self.con, self.schema = con, schema
        self.present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = ?", [schema]).fetchall()}
        self.keys = {name: model.unique_key for name, model in db.load_models(("marts",)).items()}
        self.suppressed: set[tuple[str, str, str]] = set()
        if schema != "main" and "disclosure_log" in self.present:
            self.suppressed = {(t, k, c) for t, k, c in con.execute(
                "select table_name, row_key, column_name from disclosure_log").fetchall()}

    def has(self, name: str) -> bool:
        return name in self.present

    def rows(self, name: str, where: str = "true", params: list | None = None, order: str = "") -> list[dict]:
        """Rows of a table in the tier (none when it is absent); `where`/`order` are ours, values bound."""
        if not self.has(name):
            return []
        cursor = self.con.execute(f"select * from {db.sql_identifier(name)} where {where} {order}", params or [])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
        if self.suppressed:
            key = self.keys.get(name, ())
            for row in rows:
                row_key = " | ".join("" if row.get(k) is None else str(row[k]) for k in key)
                for column in names:
                    if (name, row_key, column) in self.suppressed:
                        row[column] = SUPPRESSED
        return rows


@contextmanager
def tier_scope(con: duckdb.DuckDBPyConnection, schema: str) -> Iterator[None]:
    """Unqualified names (ours and the narrative's) resolve in the tier's schema only; definitions and
    geography it lacks are temporary views of main's, so no restricted count can leak into the public tier."""
    if schema == "main":
        yield
        return
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"not a schema name: {schema!r}")
    catalog = con.execute("select current_database()").fetchone()[0]
    previous = con.execute("select current_setting('search_path')").fetchone()[0]
    own = {r[0] for r in con.execute("select table_name from information_schema.tables where table_catalog = ? "
                                     "and table_schema = ?", [catalog, schema]).fetchall()}
    shared = [r[0] for r in con.execute("select table_name from information_schema.tables where table_catalog = ? "
                                        "and table_schema = 'main'", [catalog]).fetchall()
              if (r[0].startswith(SHARED_PREFIXES) or r[0] in SHARED_TABLES) and r[0] not in own]
    con.execute("set search_path = ?", [schema])
    try:
        for name in shared:
            con.execute(f"create or replace temp view {db.sql_identifier(name)} as select * from "
                        f"{db.sql_identifier(catalog)}.main.{db.sql_identifier(name)}")
        yield
    finally:
        for name in shared:
            con.execute(f"drop view if exists temp.main.{db.sql_identifier(name)}")
        con.execute("set search_path = ?", [previous])


def _sentence(fn, *args) -> str:
    """A narrative sentence, or '' when its table is not in the tier or one of its figures was
    suppressed (NULL): the clause is left out, as narrative does for a figure it does not have."""
    try:
        return plain(fn(*args))
    except (duckdb.CatalogException, duckdb.BinderException, TypeError):
        return ""


# ---------------------------------------------------------------- formatting (template filters)

def fmt_number(value, decimals: int = 0) -> str:
    if value is SUPPRESSED:
        return "[c]"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{decimals}f}"


def fmt_pct(value, decimals: int = 1) -> str:
    text = fmt_number(value, decimals)
    return text if text in ("[c]", "–") else text + "%"


def fmt_signed_pct(value) -> str:
    text = fmt_pct(value)
    return ("+" + text) if isinstance(value, (int, float)) and value > 0 else text


def fmt_change_pct(value, base) -> str:
    """A % change, or '–' on a base under narrative.MIN_BASE (volatile; the narrative quotes none either)."""
    if value is SUPPRESSED or base is SUPPRESSED:
        return "[c]"
    if base is None or base < narrative.MIN_BASE:
        return "–"
    return fmt_signed_pct(value)


def fmt_flag(value) -> str:
    return {"significant_increase": "significant increase", "significant_decrease": "significant decrease",
            "no_significant_change": "no significant change", "too_few_to_test": "too few to test",
            None: "–"}.get(value, str(value).replace("_", " ")) if value is not SUPPRESSED else "[c]"


def _value(v) -> float | None:
    """A number for a chart, or None (missing or suppressed)."""
    return None if v is None or v is SUPPRESSED else float(v)


# ---------------------------------------------------------------- charts (inline SVG)

def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
                  f'class="chart"><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
                  + "".join(body) + "</svg>")


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list]], y_label: str) -> Markup:
    """Grouped bars, one group per label; a missing or suppressed value gets no bar and a '[c]'/'–' mark."""
    width, height, left, bottom, top = 720, 260, 56, 40, 28
    values = [v for _, vs in series for v in map(_value, vs) if v is not None]
    peak = _ticks(max(values, default=0) or 1)[-1]
    plot_w, plot_h = width - left - 10, height - top - bottom
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    body = [f'<text x="{left}" y="14" class="axis">{escape(y_label)}</text>']
    for tick in _ticks(peak):
        y = top + plot_h - tick / peak * plot_h
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{fmt_number(tick)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series):
            raw = vs[i] if i < len(vs) else None
            v = _value(raw)
            x = x0 + s * bar_w
            if v is None:
                mark = "[c]" if raw is SUPPRESSED else "–"
                body.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4}" class="axis" '
                            f'text-anchor="middle">{mark}</text>')
                continue
            h = v / peak * plot_h
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.95:.1f}" height="{h:.1f}" '
                        f'fill="{SERIES[s % len(SERIES)]}"><title>{escape(name)}, {escape(label)}: '
                        f'{fmt_number(v, 1 if v % 1 else 0)}</title></rect>')
        body.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 16}" class="axis" '
                    f'text-anchor="middle">{escape(label)}</text>')
    for s, (name, _) in enumerate(series):  # legend
        x = left + s * 160
        body.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{SERIES[s % len(SERIES)]}"/>'
                    f'<text x="{x + 14}" y="{height - 5}" class="axis">{escape(name)}</text>')
    desc = "; ".join(f"{name}: " + ", ".join(f"{lab} {fmt_number(v if v is SUPPRESSED else _value(v))}"
                                             for lab, v in zip(labels, vs)) for name, vs in series)
    return _svg(width, height, title, desc, body)


def _ticks(peak: float) -> list[float]:
    step = 10 ** math.floor(math.log10(peak)) if peak >= 1 else 1
    while peak / step > 5:
        step *= 2
    return [step * i for i in range(math.ceil(peak / step) + 1)]  # the last tick is at or above the peak


def _classes(values: list[float], most: int = 5) -> list[tuple[float, float]]:
    """Up to `most` classes over the non-zero values (zero is a class of its own, unshaded); on small counts
    there are fewer classes, each a range of whole counts, so a legend never reads '0.0 to 0.0'."""
    distinct = sorted({v for v in values if v > 0})
    if not distinct:
        return []
    n = min(most, len(distinct))
    bounds, start = [], 0
    for k in range(1, n + 1):
        end = max(start, round(k * len(distinct) / n) - 1)
        bounds.append((distinct[start], distinct[end]))
        start = end + 1
    return bounds


def heatmap(title: str, cells: dict[tuple[int, int], object]) -> Markup:
    """Day of week x hour: cividis shades; a suppressed cell is grey and marked."""
    width, height, left, top, size = 720, 250, 40, 20, 27
    values = [_value(v) for v in cells.values() if _value(v) is not None]
    classes = _classes(values)
    body = []
    for hour in range(0, 24, 3):
        body.append(f'<text x="{left + hour * size + size / 2}" y="{top - 6}" class="axis" '
                    f'text-anchor="middle">{hour:02d}</text>')
    for d in range(7):
        body.append(f'<text x="{left - 6}" y="{top + d * size + 18}" class="axis" text-anchor="end">{DAY_NAMES[d]}</text>')
        for hour in range(24):
            raw = cells.get((d + 1, hour))
            fill, shown = _fill(raw, classes), fmt_number(raw if raw is SUPPRESSED else _value(raw), 1)
            body.append(f'<rect x="{left + hour * size}" y="{top + d * size}" width="{size - 1}" height="{size - 1}" '
                        f'fill="{fill}" class="cell"><title>{DAY_NAMES[d]} {hour:02d}:00: {shown}</title></rect>')
    body += _legend(classes, left, top + 7 * size + 14, decimals=1)
    desc = f"Crimes by day of week and hour, {len(classes)} shading classes; darker is more."
    return _svg(width, height, title, desc, body)


def _fill(raw, classes: list[tuple[float, float]]) -> str:
    if raw is SUPPRESSED:
        return SUPPRESSED_FILL
    v = _value(raw)
    if not v:
        return EMPTY_FILL
    for i, (_, high) in enumerate(classes):
        if v <= high:
            return _shade(i, len(classes))
    return _shade(len(classes) - 1, len(classes))


def _shade(i: int, n: int) -> str:
    return CIVIDIS[round(i * (len(CIVIDIS) - 1) / max(n - 1, 1))] if n > 1 else CIVIDIS[2]


def _legend(classes: list[tuple[float, float]], x: int, y: int, decimals: int = 0) -> list[str]:
    items = [(EMPTY_FILL, "none")] + [(_shade(i, len(classes)), _range(low, high, decimals))
                                      for i, (low, high) in enumerate(classes)]
    body = []
    for i, (fill, text) in enumerate(items):
        body.append(f'<rect x="{x + i * 110}" y="{y}" width="12" height="12" fill="{fill}" class="cell"/>'
                    f'<text x="{x + i * 110 + 16}" y="{y + 10}" class="axis">{escape(text)}</text>')
    return body


def _range(low: float, high: float, decimals: int) -> str:
    if low == high:
        return fmt_number(low, decimals if low % 1 else 0)
    return f"{fmt_number(low, decimals)} to {fmt_number(high, decimals)}"


def ward_map(con: duckdb.DuckDBPyConnection, title: str, counts: dict[str, object]) -> Markup | None:
    """Current wards (ref_wards) shaded by count, as inline SVG paths from DuckDB spatial; None when the
    run has no ward geometry."""
    try:
        db.load_spatial(con)
        shapes = con.execute("select ward_code, coalesce(ward_name, ward_code), st_assvg(geom, false, 0), "
                             "st_xmin(geom), st_xmax(geom), st_ymin(geom), st_ymax(geom) from ref_wards "
                             "where geom is not null and not st_isempty(geom) "
                             "order by ward_code").fetchall()
    except duckdb.Error:
        return None
    if not shapes:
        return None
    xmin, xmax = min(s[3] for s in shapes), max(s[4] for s in shapes)
    ymin, ymax = min(s[5] for s in shapes), max(s[6] for s in shapes)
    classes = _classes([v for v in map(_value, counts.values()) if v is not None])
    pad = (xmax - xmin) * 0.02
    body = []
    for code, name, path, *_ in shapes:
        raw = counts.get(code)
        body.append(f'<path d="{escape(path)}" fill="{_fill(raw, classes)}" class="ward">'
                    f'<title>{escape(name)}: {fmt_number(raw if raw is SUPPRESSED else _value(raw))}</title></path>')
    view = f"{xmin - pad:.0f} {-ymax - pad:.0f} {xmax - xmin + 2 * pad:.0f} {ymax - ymin + 2 * pad:.0f}"
    desc = f"Map of the {len(shapes)} current wards shaded by count in {len(classes)} classes; darker is more."
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view}" role="img" class="map">'
                  f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>{"".join(body)}</svg>') + legend_html(classes)


def legend_html(classes: list[tuple[float, float]]) -> Markup:
    """The map's key as an HTML list beside the SVG, so its text keeps its size whatever the map's scale."""
    items = [(EMPTY_FILL, "none")] + [(_shade(i, len(classes)), _range(low, high, 0))
                                      for i, (low, high) in enumerate(classes)]
    return Markup('<ul class="key" aria-label="Key: crimes per ward">' + "".join(
        f'<li><span class="swatch" style="background:{fill}"></span>{escape(text)}</li>' for fill, text in items)
        + "</ul>")


# ---------------------------------------------------------------- the report's sections

def _periods(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    try:
        return dict(con.execute("select period_role, period_label from periods").fetchall())
    except duckdb.CatalogException:
        return {}


def _theme_rows(t: Tables) -> list[dict]:
    rows = t.rows("theme_summary", "is_focus")  # other areas (areas:) are in area_comparison
    labels = {r[0]: (r[1], r[2], int(r[3])) for r in t.con.execute(
        "select theme, label, short_label, sort_order from seed_themes").fetchall()}
    for row in rows:
        row["label"], row["short_label"], row["sort_order"] = labels.get(row["theme"], (row["theme"], row["theme"], 99))
    return sorted(rows, key=lambda r: r["sort_order"])


def _paragraph(t: Tables, row: dict, periods: dict, comparator: str | None, opening: str = "") -> str:
    """The theme's drafted paragraph (narrative.theme_paragraph); in the public tier a paragraph whose
    counts were suppressed is replaced by a sentence saying so."""
    if any(row.get(c) is SUPPRESSED for c in ("count", "previous_count")):
        return f"{row['label']}: the counts are too small to publish ([c])."
    detail = (t.rows("theme_detail", "theme = ?", [row["theme"]]) or [{}])[0]
    detail = {k: (None if v is SUPPRESSED else v) for k, v in detail.items()}
    clean = {k: (None if v is SUPPRESSED else v) for k, v in row.items()}
    prev = None
    if str(row.get("definition", "")).startswith("source: record_extract") and t.has("int_theme_people_measures"):
        found = narrative._records(t.con, "select theme, victims_known_age, pct(victims_u25, victims_known_age) as "
                                   "victims_u25_pct, suspects_known_age, pct(suspects_u25, suspects_known_age) as "
                                   "suspects_u25_pct from int_theme_people_measures "
                                   "where period_role = 'previous' and theme = ?", [row["theme"]])
        prev = found[0] if found else None
    return _sentence(narrative.theme_paragraph, clean, prev, detail, periods.get("current", ""),
                     periods.get("previous", ""), comparator, opening)


def key_findings(t: Tables, themes: list[dict], periods: dict, comparator: str | None, area: str) -> list[str]:
    """What changed (and how sure: the exact test's verdict), where, for whom, in the plan's words."""
    findings = []
    for i, row in enumerate(r for r in themes if r["theme"] in analyses.SNA_THEMES or r["theme"] == "all_crime"):
        if any(row.get(c) is SUPPRESSED for c in ("count", "previous_count")):
            findings.append(f"{row['label']}: the counts are too small to publish ([c]).")
            continue
        clean = {k: (None if v is SUPPRESSED else v) for k, v in row.items()}
        lead = (narrative.count_clause(clean["count"], clean["short_label"], clean["theme"]) + ", "
                + narrative.change_phrase(clean["pct_change"], periods.get("previous", ""),
                                          clean["previous_count"], clean["count"]) + "."
                + narrative.comparator_phrase(comparator, clean["comparator_pct_change"])
                + narrative.significance_phrase(clean["change_flag"]))
        if i == 0:
            lead = f"In {area} in {periods.get('current', '')}, " + lead[0].lower() + lead[1:]
        findings.append(plain(lead))
    for theme in ("vwi", "personal_robbery"):
        label = next((r["short_label"] for r in themes if r["theme"] == theme), None)
        if label:
            findings.append(_sentence(narrative.top_wards_sentence, t.con, theme, label))
    findings.append(_sentence(analyses.disproportionality_sentence, t.con))
    findings.append(_sentence(analyses.sub_area_sentence, t.con))
    return [f for f in findings if f]


def _trend_chart(t: Tables, row: dict) -> Markup | None:
    rows = t.rows("trend", "theme = ? and area_role = 'area'", [row["theme"]],
                  "order by years_in_series desc, source = 'record_extract' desc, year_offset desc")
    if not rows:
        return None
    source = rows[0]["source"]
    years = [r for r in rows if r["source"] == source]
    return bar_chart(f"{row['label']}: crimes per year ({source.replace('_', ' ')})",
                     [r["period_label"] for r in years], [(row["area_name"], [r["count"] for r in years])], "crimes")


def _season_chart(t: Tables, row: dict, periods: dict) -> Markup | None:
    rows = t.rows("temporal_profile", "theme = ? and view = 'month_of_year'", [row["theme"]])
    if not rows or not any(_value(r["weighted_count"]) for r in rows):
        return None
    series = []
    for role in ("previous", "current"):
        by_month = {r["month_of_year"]: r["weighted_count"] for r in rows if r["period_role"] == role}
        if by_month:
            series.append((periods.get(role, role), [by_month.get(m) for m in range(1, 13)]))
    return bar_chart(f"{row['label']}: crimes by month of year", list(MONTH_NAMES), series, "crimes")


def _day_hour(t: Tables, row: dict) -> tuple[Markup | None, str]:
    rows = t.rows("temporal_profile", "theme = ? and view = 'day_hour' and period_role = 'current'", [row["theme"]])
    cells = {(r["day_of_week"], r["hour_of_day"]): r["weighted_count"] for r in rows if r["day_of_week"] is not None}
    unknown = sum(_value(r["weighted_count"]) or 0 for r in rows if r["day_of_week"] is None)
    if not any(_value(v) for v in cells.values()):
        return None, ""
    note = f"{fmt_number(unknown)} crimes had no usable time and are not in the grid." if unknown else ""
    return heatmap(f"{row['label']}: crimes by day of week and hour", cells), note


def _wards(t: Tables, row: dict) -> tuple[Markup | None, list[dict], str]:
    """Map and top-ten table from ward_hotspots (current wards), else ward_summary (wards as recorded)."""
    for table in ("ward_hotspots", "ward_summary"):
        rows = [r for r in t.rows(table, "theme = ?", [row["theme"]]) if r.get("ward_code") != "UNKNOWN"]
        if rows:
            break
    else:
        return None, [], ""
    total = sum(_value(r["count"]) or 0 for r in rows)
    ranked = sorted(rows, key=lambda r: (-(_value(r["count"]) or 0), str(r.get("ward_name") or r["ward_code"])))[:10]
    if total == 0 and not any(r["count"] is SUPPRESSED for r in rows):
        return None, [], f"No {row['short_label']} offences were recorded in any ward, so there is no map."
    svg = None
    if table == "ward_hotspots":
        svg = ward_map(t.con, f"{row['label']}: crimes by current ward, {row['period_label']}",
                       {r["ward_code"]: r["count"] for r in rows})
    return svg, ranked, "" if svg is not None or table != "ward_hotspots" else "No ward boundaries for a map."


def _people(t: Tables, row: dict) -> dict[str, list[dict]]:
    rows = t.rows("people_profile", "theme = ? and period_role = 'current' and dimension in ('age_band', 'sex')",
                  [row["theme"]], "order by person_role desc, dimension, category")
    return {role: [r for r in rows if r["person_role"] == role] for role in ("victim", "suspect")
            if any(r["person_role"] == role for r in rows)}


def _theme_section(t: Tables, row: dict, periods: dict, comparator: str | None) -> dict:
    extra = [_sentence(fn, *args) for fn, args in (
        (analyses.trend_sentence, (t.con, row["theme"], row["short_label"])),
        (analyses.knife_sentence, (t.con,)) if row["theme"] == "knife_crime" else (lambda: "", ()),
        (analyses.repeat_sentence, (t.con, row["theme"], row["short_label"], periods.get("current", ""))),
        (analyses.deprivation_sentence, (t.con, row["theme"], row["short_label"])),
        (analyses.temporal_sentence, (t.con, row["theme"], row["short_label"])),
        (narrative.top_wards_sentence, (t.con, row["theme"], row["short_label"])))]
    heat, heat_note = _day_hour(t, row)
    ward_svg, ward_rows, ward_note = _wards(t, row)
    return {"row": row, "anchor": f"theme-{row['theme']}",
            "paragraph": _paragraph(t, row, periods, comparator), "extra": [e for e in extra if e],
            "limited": str(row.get("definition", "")).startswith("source: police_uk"),
            "trend": _trend_chart(t, row), "season": _season_chart(t, row, periods), "heatmap": heat,
            "heatmap_note": heat_note, "map": ward_svg, "wards": ward_rows, "ward_note": ward_note,
            "ward_reason_column": next((c for c in ("change_note", "change_reason", "note")
                                        if ward_rows and c in ward_rows[0]), None),
            "people": _people(t, row),
            "rates": t.rows("victim_rates", "theme = ? and period_role = 'current' and dimension = 'under_25'",
                            [row["theme"]], "order by sort_age nulls last")}


def _validation(validation: dict | None) -> list[dict]:
    return [{"suite": name, **{k: s.get(k) for k in ("success", "rows", "evaluated")},
             "failed": ", ".join(s.get("failed") or []) or "none"}
            for name, s in ((validation or {}).get("suites") or {}).items()]


def _quality(t: Tables, validation: dict | None) -> dict:
    rules = (t.con.execute("select rule, count(*) as rows from quarantine group by rule order by rows desc, rule")
             .fetchall() if t.has("quarantine") else [])
    return {"reconciliation": t.rows("quarantine_summary", order="order by input_table, source_file"),
            "rules": rules, "locations": t.rows("location_summary", "crimes is distinct from 0 or rows_read > 0"),
            "police_uk_locations": t.rows("police_uk_location_summary"), "validation": _validation(validation)}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_number, pct=fmt_pct, spct=fmt_signed_pct, flag=fmt_flag, css_string=css_string,
                       basename=lambda p: Path(str(p)).name if p is not None else "")
    env.tests["suppressed"] = lambda v: v is SUPPRESSED
    env.globals.update(change_pct=fmt_change_pct, min_base=narrative.MIN_BASE)
    return env


def css_string(text: str) -> Markup:
    """A CSS string literal (the marking in @page margin boxes): quotes and backslashes escaped, and no
    character that could end the <style> element."""
    body = "".join(ch if ch.isalnum() or ch in " -:,.()[]" else f"\\{ord(ch):x} " for ch in str(text))
    return Markup(f'"{body}"')


def marking_for(tier: str) -> str:
    return marking(tier)


def write_report(con: duckdb.DuckDBPyConnection, cfg: RunConfig, path: Path, tier: str = "restricted",
                 schema: str = "main", validation: dict | None = None) -> Path:
    """Write the annual report.html for `tier` from the tables in `schema`. `validation`: the GX summary
    (pipeline.validation.validate); by default read from validation/summary.json beside `path`."""
    from pipeline.catalog import definitions

    if tier not in ("restricted", "public"):
        raise ValueError(f"tier must be restricted or public, not {tier!r}")
    path = Path(path)
    if validation is None and (path.parent / "validation" / "summary.json").is_file():
        validation = json.loads((path.parent / "validation" / "summary.json").read_text())
    with tier_scope(con, schema):
        t = Tables(con, schema)
        periods = _periods(con)
        themes = _theme_rows(t)
        area = themes[0]["area_name"] if themes else cfg.area_name
        theme_defs, metrics = definitions(con)
        context = {
            "tier": tier, "marking": marking_for(tier), "area": area, "periods": periods,
            "title": f"Serious violence: {area}, {periods.get('current', '')} compared with {periods.get('previous', '')}",
            "run_id": themes[0]["run_id"] if themes else "", "comparator": cfg.comparator_name,
            "findings": key_findings(t, themes, periods, cfg.comparator_name, area),
            "summary": themes, "themes": [_theme_section(t, r, periods, cfg.comparator_name) for r in themes],
            "quality": _quality(t, validation), "theme_definitions": theme_defs, "metrics": metrics,
            "caveats": con.execute("select topic, applies_to, caveat from seed_caveats").fetchall(),
            "gaps": [plain(g) for g in _guarded_list(analyses.intelligence_gaps, con)],
            "monthly": None,
        }
    path.write_text(_environment().get_template("report.html.j2").render(**context), encoding="utf-8")
    return path


def _guarded_list(fn, *args) -> list[str]:
    try:
        return fn(*args)
    except (duckdb.CatalogException, duckdb.BinderException, TypeError):
        return []


# ---------------------------------------------------------------- the monthly refresh's report

def line_chart(title: str, months: list, counts: list, levels: dict[str, float]) -> Markup:
    """A c-chart: the monthly counts as a line, the centre and control limits as horizontal lines."""
    width, height, left, top, bottom = 720, 240, 56, 20, 44
    peak = _ticks(max([c for c in counts if c is not None] + list(levels.values()) + [1]))[-1]
    plot_w, plot_h = width - left - 10, height - top - bottom
    step = plot_w / max(len(months) - 1, 1)

    def y(v: float) -> float:
        return top + plot_h - v / peak * plot_h

    body = []
    for tick in _ticks(peak):
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>'
                    f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" class="axis" text-anchor="end">{fmt_number(tick)}</text>')
    for i, (name, value) in enumerate(levels.items()):
        dash = "" if name == "centre" else ' stroke-dasharray="6 4"'
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                    f'stroke="{SERIES[1 + i % 3]}" stroke-width="1.5"{dash}><title>{escape(name)}: '
                    f'{fmt_number(value, 1)}</title></line>'
                    f'<text x="{width - 12}" y="{y(value) - 3:.1f}" class="axis" text-anchor="end">{escape(name)}</text>')
    points = [(left + i * step, y(c)) for i, c in enumerate(counts) if c is not None]
    body.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
        SERIES[0], " ".join(f"{px:.1f},{py:.1f}" for px, py in points)))
    for i, (m, c) in enumerate(zip(months, counts)):
        if c is None:
            continue
        body.append(f'<circle cx="{left + i * step:.1f}" cy="{y(c):.1f}" r="3" fill="{SERIES[0]}">'
                    f'<title>{m:%b %Y}: {fmt_number(c)}</title></circle>')
        if i % 3 == 0 or i == len(months) - 1:
            body.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" class="axis" '
                        f'text-anchor="middle">{m:%b %y}</text>')
    desc = ", ".join(f"{m:%b %Y} {fmt_number(c)}" for m, c in zip(months, counts))
    return _svg(width, height, title, desc, body)


def _monthly_charts(wh: duckdb.DuckDBPyConnection, exceptions: list[dict], month) -> list[dict]:
    """A control chart for each area-level exception: the area's series (newest extract of each month,
    the 24 months to the refresh month) with the centre and limits the exception was judged against."""
    charts = []
    for e in (x for x in exceptions if x["unit_level"] == "area"):
        rows = wh.execute("""
            select month_start, count from series_values
            where unit_level = 'area' and unit_code = ? and theme = ?
              and month_start > ?::date - interval 24 month and month_start <= ?
              and source = (select source from series_values where unit_level = 'area' and unit_code = ? and theme = ?
                            and month_start = ? order by source = 'record_extract' desc limit 1)
            qualify row_number() over (partition by month_start order by extract_date desc, extract_sha256) = 1
            order by month_start""", [e["unit_code"], e["theme"], month, month, e["unit_code"], e["theme"], month]).fetchall()
        if not rows:
            continue
        levels = {k: float(e[k]) for k in ("ucl", "centre", "lcl") if e.get(k) is not None}
        charts.append({"svg": line_chart(f"{e['label']}: crimes per month, with the control limits",
                                         [r[0] for r in rows], [r[1] for r in rows], levels),
                       "caption": plain(e["reason"]) + "."})
    return charts


def write_monthly_report(wh: duckdb.DuckDBPyConnection, run_id: str, cfg: RunConfig, path: Path) -> Path:
    """The monthly refresh's report.html (restricted tier) from the warehouse rows of `run_id`: the
    rolling 12 months, the exceptions with their control charts, definitions and caveats."""
    area_name, month = wh.execute("select area_name, refresh_month from refresh_runs where run_id = ?",
                                  [run_id]).fetchone()
    labels = {theme: (label, order) for theme, (label, order) in _theme_labels().items()}
    summary = [r for r in _wh_rows(wh, "select * from rolling_summary where run_id = ? and unit_level = 'area'", [run_id])]
    for r in summary:
        r["label"], r["sort_order"] = labels.get(r["theme"], (r["theme"], 99))
    summary.sort(key=lambda r: r["sort_order"])
    exceptions = _wh_rows(wh, "select * from monthly_exceptions where run_id = ? order by unit_level <> 'area', "
                              "direction, reason", [run_id])
    for e in exceptions:
        e["label"] = labels.get(e["theme"], (e["theme"], 99))[0]
    context = {
        "tier": "restricted", "marking": MARKING, "area": area_name, "periods": {}, "run_id": run_id,
        "comparator": cfg.comparator_name,
        "title": f"Serious violence: {area_name}, monthly refresh for {month:%B %Y}",
        "findings": [], "summary": [], "themes": [], "quality": {}, "metrics": [], "gaps": [],
        "theme_definitions": [(r["theme"], r["label"], r["record_extract_definition"], r["mps_counts_definition"])
                              for r in _seed_rows("themes")],
        "caveats": [(r["topic"], r["applies_to"], r["caveat"]) for r in _seed_rows("caveats")],
        "monthly": {"month_label": f"{month:%B %Y}", "summary": summary,
                    "exceptions": [plain(e["reason"]) for e in exceptions],
                    "charts": _monthly_charts(wh, exceptions, month)},
    }
    path = Path(path)
    path.write_text(_environment().get_template("report.html.j2").render(**context), encoding="utf-8")
    return path


def _seed_rows(name: str) -> list[dict]:
    """A seed CSV as read by db.load_seeds (the warehouse holds no seed tables)."""
    import csv

    with open(db.SEEDS_DIR / f"{name}.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _theme_labels() -> dict[str, tuple[str, int]]:
    return {r["theme"]: (r["label"], int(r["sort_order"])) for r in sorted(_seed_rows("themes"),
                                                                          key=lambda r: int(r["sort_order"]))}


def _wh_rows(wh: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = wh.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]
