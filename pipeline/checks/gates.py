"""The checks that stop a run, in one order for every run kind (annual, monthly, each multi-area unit):
the inputs cover every month read, every area listed is in the inputs, every row is reconciled (and
dates are not month-first)."""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.errors import InputError
from pipeline.reference import areas
from pipeline.settings.config import RunConfig
from pipeline.settings.periods import add_months
from pipeline.sources import registry


def check_inputs(con: duckdb.DuckDBPyConnection, cfg: RunConfig, start: date | None = None) -> None:
    """Raise the first failing gate's InputError. `start`: the first month the coverage gate checks
    (default the previous period's start; the monthly refresh reads from earlier)."""
    check_coverage(con, cfg, start=start)
    areas.check_areas(con, cfg)
    check_reconciliation(con, cfg)


def run_totals(con: duckdb.DuckDBPyConnection) -> dict:
    """What run.json reports of a passed check: the reconciliation totals and the crimes placed by
    each location method (aggregates only)."""
    rows = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_superseded), sum(rows_quarantined) "
                       "from quarantine_summary").fetchone()
    located = con.execute("select location_method, crimes, crimes_pct from location_summary "
                          "where crimes > 0 order by crimes desc").fetchall()
    totals = dict(zip(("rows_in", "rows_loaded", "rows_superseded", "rows_quarantined"), (int(r or 0) for r in rows)))
    return {**totals, "location_methods": [{"method": m, "crimes": int(n), "pct": pct} for m, n, pct in located]}

def _months(start: date, end: date) -> set[str]:
    """Every month from `start`'s to `end`'s, as YYYY-MM."""
    first, count = start.replace(day=1), (end.year - start.year) * 12 + end.month - start.month + 1
    return {f"{add_months(first, n):%Y-%m}" for n in range(count)}


def check_coverage(con: duckdb.DuckDBPyConnection, cfg: RunConfig, start: date | None = None) -> None:
    """Stop when the inputs do not cover both periods: a partial year would pass for a fall in crime.

    `start` (default the previous period's start) is the first month checked: the monthly refresh
    checks every month it reads from the inputs' first month on (pipeline/runs/monthly.py)."""
    start = start or cfg.previous.start
    needed = _months(start, cfg.current.end)
    span = (f"{cfg.previous.label} and {cfg.current.label} ({start} to {cfg.current.end})" if start == cfg.previous.start
            else f"{start:%B %Y} to {cfg.current.end:%B %Y} (the months the {cfg.current.end:%B %Y} refresh reads)")
    area_sources = 0
    for kind in registry.in_run(cfg):
        coverage = kind.coverage
        if coverage is None:
            continue
        params = {"area": cfg.area_name} if "$area" in coverage.months_sql else {}
        present = {row[0] for row in con.execute(coverage.months_sql, params).fetchall()}
        if coverage.comparator_only and not present:
            continue  # files for the comparator only
        area_sources += 1
        missing = sorted(needed - present)
        # a small input can have quiet months; it must still span both periods end to end
        if coverage.volume_sql and missing and con.execute(coverage.volume_sql).fetchone()[0] < registry.QUIET_BELOW:
            missing = [m for m in missing if m in (min(needed), max(needed))]
        if missing:
            files = ", ".join(sorted({str(p.name) for i in cfg.inputs if i.kind == kind.name
                                      for p in i.paths.get(kind.main_role, [])}))
            raise InputError(files, coverage.column,
                             f"the {kind.name} inputs must cover every month of {span}",
                             f"{len(missing)} month(s) with no data for {cfg.area_name}", examples=missing)
    for kind in registry.in_run(cfg):
        if kind.coverage and kind.coverage.extra:
            kind.coverage.extra(con, cfg, needed, span)
    if not area_sources:
        found = next((text for kind in registry.in_run(cfg) if kind.coverage and kind.coverage.found_without_area
                      for text in [kind.coverage.found_without_area(con, cfg)] if text), "no rows for that area")
        raise InputError("inputs", "LookUp_BoroughName", f"the inputs must include data for the area '{cfg.area_name}'",
                         found)


def check_reconciliation(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Per input file: rows read = rows in = loaded + superseded + quarantined; some rows pass; the
    quarantined share is within quarantine_threshold_pct; and dates are not month-first."""
    bad = con.execute("select source_file, input_table, rows_read, rows_in, rows_loaded, rows_superseded, "
                      "rows_quarantined from quarantine_summary where not reconciled").fetchall()
    if bad:
        f = bad[0]
        raise RuntimeError(f"Row counts do not reconcile for {f[0]} ({f[1]}): read {f[2]}, in {f[3]}, loaded {f[4]}, "
                           f"superseded {f[5]}, quarantined {f[6]}. Nothing was published.")
    dead = con.execute("select source_file, input_table, rows_in from quarantine_summary "
                       "where rows_in > 0 and rows_loaded + rows_superseded = 0 order by source_file, input_table").fetchall()
    if dead:
        f = dead[0]
        column, rules, examples = _quarantine_examples(con, f[0], f[1])
        raise InputError(f[0], column, "a file must have rows that pass the row checks",
                         f"all {f[2]} {f[1]} rows quarantined ({rules})", examples=examples)
    _check_date_order(con)
    over = con.execute("select source_file, input_table, rows_quarantined, rows_in, quarantined_pct from quarantine_summary "
                       "where quarantined_pct > ? "
                       # offences first: victims and suspects of a quarantined offence are quarantined with it
                       "order by input_table <> 'offences', quarantined_pct desc, source_file, input_table",
                       [cfg.quarantine_threshold_pct]).fetchall()
    if over:
        f = over[0]
        column, rules, examples = _quarantine_examples(con, f[0], f[1])
        raise InputError(f[0], column, f"at most {cfg.quarantine_threshold_pct:g}% of rows may fail row checks "
                         "(quarantine_threshold_pct in the config)",
                         f"{f[2]} of {f[3]} rows ({f[4]}%) quarantined ({rules})", examples=examples)


MONTH_FIRST = r"\s*(0?[1-9]|1[0-2])/(1[3-9]|2[0-9]|3[01])/[0-9]{4}.*"  # 01/13/2023: only month-first reads it
SLASH_DATE = r"\s*[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}.*"


def _check_date_order(con: duckdb.DuckDBPyConnection) -> None:
    """A file whose dates are month-first (mm/dd/yyyy) reads days 1-12 as the wrong month without any
    error: refuse the whole file when at least 3 rows and 10% of its slash dates can only be month-first."""
    rows = con.execute("""
        select source_file, count(*) filter (where regexp_full_match(recorded_date_raw, $month_first)) as month_first,
               count(*) filter (where regexp_full_match(recorded_date_raw, $slash_date)) as slash
        from stg_offences group by source_file
        having month_first >= 3 and month_first >= 0.1 * slash order by source_file""",
                       {"month_first": MONTH_FIRST, "slash_date": SLASH_DATE}).fetchall()
    if rows:
        file, month_first, slash = rows[0]
        examples = con.execute("select crime_ref, recorded_date_raw from stg_offences where source_file = ? and "
                               "regexp_full_match(recorded_date_raw, ?) order by source_row limit 5",
                               [file, MONTH_FIRST]).fetchall()
        raise InputError(file, "recorded_date", "dates must be day-first (dd/mm/yyyy), ISO or Excel serials: in a "
                         "month-first file every date with a day of 1-12 would be read as the wrong month",
                         f"{month_first} of {slash} dd/mm-style dates that can only be month-first (mm/dd/yyyy)",
                         examples=[f"{ref or 'no crime reference'}: {value}" for ref, value in examples])


def _quarantine_examples(con: duckdb.DuckDBPyConnection, source_file: str, input_table: str) -> tuple[str, str, list[str]]:
    """For an error message: the failing column(s) (most failed first), the rule counts, and up to five
    quarantined rows (crime reference and failing value only, never the record)."""
    rules = con.execute("select rule, coalesce(any_value(failing_column), '-'), count(*) from quarantine "
                        "where source_file = ? and input_table = ? group by rule order by 3 desc, 1",
                        [source_file, input_table]).fetchall()
    if not rules:
        return "-", "no rule recorded", []
    columns = list(dict.fromkeys(column for _, column, _ in rules if column != "-")) or ["-"]
    rows = con.execute("""
        select q.crime_ref, q.failing_column, q.failing_value, q.source_row
        from quarantine q
        join (select rule, count(*) as n from quarantine where source_file = $file and input_table = $table group by rule) r
          using (rule)
        where q.source_file = $file and q.input_table = $table
        order by r.n desc, q.rule, q.source_row
        limit 5""", {"file": source_file, "table": input_table}).fetchall()
    examples = []
    for ref, column, value, line in rows:
        value = "blank" if value is None else value
        label = ref or f"line {line}"
        examples.append(f"{label}: {value}" if len(columns) == 1 or not column else f"{label}: {column} {value}")
    return ", ".join(columns[:4]), "; ".join(f"{rule}: {n}" for rule, _, n in rules[:5]), examples
