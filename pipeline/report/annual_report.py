"""The Tasking Group's report.html: one self-contained page per run (styles, charts and maps inline,
no network request of any kind), printable on A4 with the protective marking on every page.

This module is the annual report: its sections and the page. The tier's tables and the number filters
are in pipeline.report.report_tables, the charts and maps in pipeline.report.svg_charts, the monthly refresh's page
in pipeline.report.monthly_report. Sentences come from pipeline.narrative.sentences / narrative_analyses (no metric is
re-defined here); a table the inputs could not give, or an empty one, gets a sentence instead of a
section. Which themes the key findings cover is theme policy (sql/seeds/themes.csv).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import duckdb
import jinja2
from markupsafe import Markup

from pipeline import seeds
from pipeline.narrative import analyses, sentences
from pipeline.narrative.phrases import MIN_BASE, catalog_read_once, records
from pipeline.publish.catalog import definitions, marking
from pipeline.report import plain_text, priorities_section
from pipeline.report.provenance import SOURCE_NAMES, extracts_used, source_name, sources_in
from pipeline.report.core_measures import core_measures_context
from pipeline.report.report_tables import (
    SUPPRESSED,
    Tables,
    as_number,
    fmt_change_pct,
    fmt_flag,
    fmt_number,
    fmt_pct,
    fmt_signed_pct,
    tier_scope,
)
from pipeline.report.summary_page import headline_theme, summary_page
from pipeline.report.svg_charts import bar_chart, heatmap, ward_map
from pipeline.report.theme_maps import theme_maps
from pipeline.settings.config import RunConfig
from pipeline.sources import registry

REPORT_NAME = "report.html"
TEMPLATES = Path(__file__).parent / "templates"
MARKDOWN_ESCAPED = re.compile(r"\\([\\`*_\[\]{}|~#!])")
PRIORITY_THEMES = 5   # the priority themes whose maps are in the report
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def plain(sentence: str) -> str:
    """A narrative sentence (Markdown-safe: phrases.md_text) back to plain text; the template escapes it."""
    return html.unescape(MARKDOWN_ESCAPED.sub(r"\1", sentence))


def _sentence(fn, *args) -> str:
    """A narrative sentence, or '' when its table is not in the tier or one of its figures was
    suppressed (NULL): the clause is left out, as narrative does for a figure it does not have."""
    try:
        return plain(fn(*args))
    except (duckdb.CatalogException, duckdb.BinderException, TypeError):
        return ""


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
    """The theme's drafted paragraph (sentences.theme_paragraph); in the public tier a paragraph whose
    counts were suppressed is replaced by a sentence saying so."""
    if any(row.get(c) is SUPPRESSED for c in ("count", "previous_count")):
        return f"{row['label']}: the counts are too small to publish ([c])."
    detail = (t.rows("theme_detail", "theme = ?", [row["theme"]]) or [{}])[0]
    detail = {k: (None if v is SUPPRESSED else v) for k, v in detail.items()}
    clean = {k: (None if v is SUPPRESSED else v) for k, v in row.items()}
    prev = None
    if getattr(registry.kind_of(row), "people", False) and t.has("int_theme_people_measures"):
        found = records(t.con, "select theme, victims_known_age, pct(victims_u25, victims_known_age) as "
                        "victims_u25_pct, suspects_known_age, pct(suspects_u25, suspects_known_age) as "
                        "suspects_u25_pct from int_theme_people_measures "
                        "where period_role = 'previous' and theme = ?", [row["theme"]])
        prev = found[0] if found else None
    return _sentence(sentences.theme_paragraph, clean, prev, detail, periods.get("current", ""),
                     periods.get("previous", ""), comparator, opening)


def key_findings(t: Tables, themes: list[dict], periods: dict, comparator: str | None, area: str) -> list[dict]:
    """What changed (and how sure: the exact test's verdict), where, for whom, in the plan's words; each
    finding {text, source} from one source (the comparator's change is its own sentence, from its own)."""
    findings = []
    covered = {r["theme"] for r in seeds.themes() if "true" in (r["in_narrative"], r["overall"])}
    for i, row in enumerate(r for r in themes if r["theme"] in covered):
        if any(row.get(c) is SUPPRESSED for c in ("count", "previous_count")):
            findings.append({"text": f"{row['label']}: the counts are too small to publish ([c]).", "source": ""})
            continue
        clean = {k: (None if v is SUPPRESSED else v) for k, v in row.items()}
        lead = (sentences.count_clause(clean["count"], clean["short_label"], clean["theme"]) + ", "
                + sentences.change_phrase(clean["pct_change"], periods.get("previous", ""),
                                          clean["previous_count"], clean["count"]) + "."
                + sentences.significance_phrase(clean["change_flag"]))
        if i == 0:
            lead = f"In {area} in {periods.get('current', '')}, " + lead[0].lower() + lead[1:]
        findings.append({"text": plain(lead), "source": source_name(row.get("source"))})
        versus = plain(sentences.comparator_phrase(comparator, clean["comparator_pct_change"])).strip()
        if versus:
            findings.append({"text": versus, "source": source_name(comparator_source(t, row["theme"]))})
    wards = {r["theme"]: r for r in t.rows("ward_hotspots")}   # a theme's ward counts come from one source
    for theme in seeds.themes_where("in_ward_findings"):
        label = next((r["short_label"] for r in themes if r["theme"] == theme), None)
        if label:
            findings.append({"text": _sentence(sentences.top_wards_sentence, t.con, theme, label),
                             "source": source_name((wards.get(theme) or {}).get("source"))})
    findings.append({"text": _sentence(analyses.disproportionality_sentence, t.con),
                     "source": source_name("record_extract")})
    findings.append({"text": _sentence(analyses.sub_area_sentence, t.con),
                     "source": ", ".join(source_name(k) for k in sources_in(list(wards.values())))})
    return [f for f in findings if f["text"]]


def comparator_source(t: Tables, theme: str) -> str | None:
    """The comparator's counts: the MPS files when the run has them for the theme, else data.police.uk."""
    rows = t.rows("trend", "theme = ? and area_role = 'comparator' and year_offset = 0", [theme])
    kinds = {r["source"] for r in rows}
    return "mps_counts" if "mps_counts" in kinds or not kinds else sorted(kinds)[0]


def _trend_chart(t: Tables, row: dict) -> tuple[Markup | None, str | None]:
    """Crimes per year from the theme's own source (the count beside it) when it has two years or more,
    else from the source with the longest series; returns the chart and its source."""
    rows = t.rows("trend", "theme = ? and area_role = 'area'", [row["theme"]],
                  "order by years_in_series desc, source = 'record_extract' desc, year_offset desc")
    own = [r for r in rows if r["source"] == row.get("source")]
    if not rows:
        return None, None
    source = own[0]["source"] if len(own) >= 2 else rows[0]["source"]
    years = sorted((r for r in rows if r["source"] == source), key=lambda r: -r["year_offset"])
    return bar_chart(f"{row['label']}: crimes per year ({source_name(source)})",
                     [r["period_label"] for r in years], [(row["area_name"], [r["count"] for r in years])],
                     "crimes"), source


def _season_chart(t: Tables, row: dict, periods: dict) -> Markup | None:
    rows = t.rows("temporal_profile", "theme = ? and view = 'month_of_year'", [row["theme"]])
    if not rows or not any(as_number(r["weighted_count"]) for r in rows):
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
    unknown = sum(as_number(r["weighted_count"]) or 0 for r in rows if r["day_of_week"] is None)
    if not any(as_number(v) for v in cells.values()):
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
    total = sum(as_number(r["count"]) or 0 for r in rows)
    # the list names wards with crimes (or a suppressed count): never padded with wards of none
    ranked = sorted((r for r in rows if r["count"] is SUPPRESSED or (as_number(r["count"]) or 0) > 0),
                    key=lambda r: (-(as_number(r["count"]) or 0), str(r.get("ward_name") or r["ward_code"])))[:10]
    for r in ranked:   # MPS ward counts re-based from old wards through LSOAs are estimates
        r["estimate"] = "estimate" in str(r.get("count_basis") or "")
        r["previous_estimate"] = "estimate" in str(r.get("previous_count_basis") or "")
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


def _theme_section(t: Tables, row: dict, periods: dict, comparator: str | None, maps_dir: Path | None) -> dict:
    trend_chart, trend_source = _trend_chart(t, row)
    heat, heat_note = _day_hour(t, row)
    ward_svg, ward_rows, ward_note = _wards(t, row)
    ward_source = source_name(ward_rows[0].get("source")) if ward_rows and ward_rows[0].get("source") else None
    record = source_name("record_extract")
    # (sentence, its one source): the trend sentence says its source itself
    extra = [{"text": _sentence(fn, *args), "source": src} for fn, args, src in (
        (analyses.trend_sentence, (t.con, row["theme"], row["short_label"], row.get("source")), None),
        (analyses.knife_sentence, (t.con, row["theme"]), record),
        (analyses.repeat_sentence, (t.con, row["theme"], row["short_label"], periods.get("current", "")), record),
        (analyses.deprivation_sentence, (t.con, row["theme"], row["short_label"]), record),
        (analyses.temporal_sentence, (t.con, row["theme"], row["short_label"]), record),
        (analyses.near_repeat_sentence, (t.con, row["theme"], row["short_label"]), record),
        (sentences.top_wards_sentence, (t.con, row["theme"], row["short_label"]), ward_source))]
    versus = plain(sentences.comparator_phrase(comparator, row.get("comparator_pct_change")
                                               if row.get("comparator_pct_change") is not SUPPRESSED else None)).strip()
    if versus:
        extra.insert(0, {"text": versus, "source": source_name(comparator_source(t, row["theme"]))})
    maps, maps_left = theme_maps(maps_dir, row["theme"], row["label"], ward_rows[0].get("source") if ward_rows
                                 else row.get("source")) if maps_dir else ([], [])
    return {"row": row, "anchor": f"theme-{row['theme']}", "source": source_name(row.get("source")),
            "paragraph": _paragraph(t, row, periods, None), "extra": [e for e in extra if e["text"]],
            "trend_source": source_name(trend_source) if trend_source else "", "ward_source": ward_source,
            "maps": maps, "maps_left": maps_left,
            "limited": getattr(registry.kind_of(row), "limited", False),
            "trend": trend_chart, "season": _season_chart(t, row, periods), "heatmap": heat,
            "season_source": ", ".join(source_name(k) for k in sources_in(
                t.rows("temporal_profile", "theme = ? and view = 'month_of_year'", [row["theme"]]))),
            "heatmap_note": heat_note, "map": ward_svg, "wards": ward_rows, "ward_note": ward_note,
            "ward_reason_column": next((c for c in ("change_note", "change_reason", "note")
                                        if ward_rows and c in ward_rows[0]), None),
            "people": _people(t, row),
            "rates": t.rows("victim_rates", "theme = ? and period_role = 'current' and dimension = 'under_25'",
                            [row["theme"]], "order by sort_age nulls last")}


def _validation(validation: dict | None) -> list[dict]:
    return [{"suite": source_name(name) if name in SOURCE_NAMES else name,
             **{k: s.get(k) for k in ("success", "rows", "evaluated")},
             "failed": ", ".join(s.get("failed") or []) or "none"}
            for name, s in ((validation or {}).get("suites") or {}).items()]


def _quality(t: Tables, validation: dict | None) -> dict:
    rules = (t.con.execute("select rule, count(*) as rows from quarantine group by rule order by rows desc, rule")
             .fetchall() if t.has("quarantine") else [])
    return {"reconciliation": t.rows("quarantine_summary", order="order by input_table, source_file"),
            "rules": rules, "locations": t.rows("location_summary", "crimes is distinct from 0 or rows_read > 0"),
            "police_uk_locations": t.rows("police_uk_location_summary"), "validation": _validation(validation)}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt_number, pct=fmt_pct, spct=fmt_signed_pct, flag=fmt_flag, css_string=css_string,
                       basename=lambda p: Path(str(p)).name if p is not None else "")
    env.tests["suppressed"] = lambda v: v is SUPPRESSED
    env.globals.update(change_pct=fmt_change_pct, min_base=MIN_BASE, source_name=source_name)
    env.filters["the"] = lambda name: name if str(name).startswith("data.") else f"the {name}"
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
    (pipeline.checks.validation.validate); by default read from validation/summary.json beside `path`."""
    if tier not in ("restricted", "public"):
        raise ValueError(f"tier must be restricted or public, not {tier!r}")
    path = Path(path)
    if validation is None and (path.parent / "validation" / "summary.json").is_file():
        validation = json.loads((path.parent / "validation" / "summary.json").read_text())
    extracts = extracts_used(con)   # file names and dates, read from main before the tier's scope
    with tier_scope(con, schema), catalog_read_once(con):
        t = Tables(con, schema)
        periods = _periods(con)
        themes = _theme_rows(t)
        area = themes[0]["area_name"] if themes else cfg.area_name
        theme_defs, _ = definitions(con)
        priority = _priority_order(t)
        maps_dir = path.parent / "maps" if (path.parent / "maps").is_dir() else None
        # the priority themes' maps; without a ranking, the key themes' and the headline's (serious violence)
        headline = headline_theme(themes)[0]
        mapped = set(priority[:PRIORITY_THEMES] if priority else seeds.themes_where("in_narrative")
                     + ((headline["theme"],) if headline else ()))
        used = {e["source"] for e in extracts if e["used"]}
        traits = plain_text.run_traits(t, tier, set(sources_in(themes)) | used)
        context = {
            "tier": tier, "marking": marking_for(tier), "area": area, "periods": periods,
            "title": f"Serious violence: {area}, {periods.get('current', '')} compared with {periods.get('previous', '')}",
            "run_id": themes[0]["run_id"] if themes else "", "comparator": cfg.comparator_name,
            "findings": key_findings(t, themes, periods, cfg.comparator_name, area),
            "summary": themes, "themes": [_theme_section(t, r, periods, cfg.comparator_name,
                                                         maps_dir if r["theme"] in mapped else None) for r in themes],
            "summary_page": summary_page(t, themes, periods, area, extracts, priority),
            "glossary": plain_text.glossary(traits), "extracts": extracts,
            "quality": _quality(t, validation), "theme_definitions": theme_defs,
            "caveats": plain_text.caveats(traits),
            "priorities": priorities_section.context(t, periods, plain),
            "gaps": [plain(g) for g in _guarded_list(analyses.intelligence_gaps, con)],
            "monthly": None,
            "core_measures": core_measures_context(t),   # the Duty's core measures and the indicator set
        }
    path.write_text(environment().get_template("report.html.j2").render(**context), encoding="utf-8")
    return path


def _priority_order(t: Tables) -> list[str]:
    """The ranked themes in the order of the priorities table (issue 20, item 2) when the tier has it, else []."""
    return [r["theme"] for r in t.rows("priorities", "level = 'theme' and priority_rank is not null",
                                       order="order by priority_rank")]


def _guarded_list(fn, *args) -> list[str]:
    try:
        return fn(*args)
    except (duckdb.CatalogException, duckdb.BinderException, TypeError):
        return []
