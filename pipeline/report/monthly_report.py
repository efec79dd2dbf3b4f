"""The monthly refresh's report.html (restricted tier) from the warehouse rows of one refresh run."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline import seeds
from pipeline.narrative.phrases import records
from pipeline.publish.catalog import MARKING
from pipeline.report.annual_report import environment, plain
from pipeline.report.svg_charts import line_chart
from pipeline.settings.config import RunConfig

# What an analyst checks first for each kind of exception (sql/monthly/mth_exceptions.sql), said after the reason.
LOOK_AT = {
    "above_upper_limit": "the month's crimes by ward, day and hour, and any single incident, operation or recording "
                         "change that could account for the rise",
    "below_lower_limit": "whether the month's data are complete (a late or partial extract) before reading a fall",
    "eight_above_centre": "a sustained rise: which wards and victim groups carry it, and whether a change in recording "
                          "or in police activity started it",
    "eight_below_centre": "a sustained fall: whether it follows an intervention worth noting, or a change in recording",
    "two_of_three_above_warning": "an early warning: the wards behind it, and next month's figure before acting",
    "two_of_three_below_warning": "an early warning of a fall: next month's figure, and whether recording is complete",
}
WARD_LOOK_AT = "for a ward, where in it the crimes were (the annual run's hot-spot map) and its last 12 months"


def look_at(rule: str, unit_level: str) -> str:
    """'What to look at: ...' for an exception: its rule's checks (and the ward's map for a ward)."""
    where = f"; {WARD_LOOK_AT}" if unit_level == "ward" else ""
    return f"What to look at: {LOOK_AT.get(rule, 'the series and its recent months')}{where}"


def exception_lines(wh: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """The refresh's exceptions, the area's first, each with its reason and what to look at."""
    exceptions = records(wh, "select * from monthly_exceptions where run_id = ? order by unit_level <> 'area', "
                              "direction, reason", [run_id])
    for e in exceptions:
        e["look_at"] = look_at(e["rule"], e["unit_level"])
    return exceptions


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
                       "caption": f"{plain(e['reason'])}. {e['look_at']}."})
    return charts


def write_monthly_report(wh: duckdb.DuckDBPyConnection, run_id: str, cfg: RunConfig, path: Path) -> Path:
    """The monthly refresh's report.html (restricted tier) from the warehouse rows of `run_id`: the
    rolling 12 months, the exceptions with their control charts, definitions and caveats."""
    area_name, month = wh.execute("select area_name, refresh_month from refresh_runs where run_id = ?",
                                  [run_id]).fetchone()
    labels = {r["theme"]: (r["label"], int(r["sort_order"])) for r in seeds.themes()}
    summary = [r for r in records(wh, "select * from rolling_summary where run_id = ? and unit_level = 'area'", [run_id])]
    for r in summary:
        r["label"], r["sort_order"] = labels.get(r["theme"], (r["theme"], 99))
    summary.sort(key=lambda r: r["sort_order"])
    exceptions = exception_lines(wh, run_id)
    for e in exceptions:
        e["label"] = labels.get(e["theme"], (e["theme"], 99))[0]
    context = {
        "tier": "restricted", "marking": MARKING, "area": area_name, "periods": {}, "run_id": run_id,
        "comparator": cfg.comparator_name,
        "title": f"Serious violence: {area_name}, monthly refresh for {month:%B %Y}",
        "findings": [], "summary": [], "themes": [], "quality": {}, "metrics": [], "gaps": [],
        "theme_definitions": [(r["theme"], r["label"], r["record_extract_definition"], r["mps_counts_definition"])
                              for r in seeds.themes()],
        "caveats": seeds.read_seed("caveats"),
        "monthly": {"month_label": f"{month:%B %Y}", "summary": summary,
                    "exceptions": [f"{plain(e['reason'])}. {e['look_at']}" for e in exceptions],
                    "charts": _monthly_charts(wh, exceptions, month)},
    }
    path = Path(path)
    path.write_text(environment().get_template("report.html.j2").render(**context), encoding="utf-8")
    return path
