"""The scheduled monthly refresh as plain functions (DESIGN §1, §6.2 item 10, §12).

One refresh reports one month M for one area: the 12 months to M against the 12 before, M against
the same month a year before, c-chart exceptions per theme for the area and per current ward, and
what the newest extract revised. It reuses the annual run's ingest and SQL models (one definition
of each theme) and adds the models in sql/monthly/.

Every refresh is kept in a persistent DuckDB warehouse, keyed by area, refresh month, extract and
run id. A refresh whose inputs (file checksums), month and settings match one already there changes
nothing and adds nothing; a refresh of the same month from a newer extract supersedes the older
one. When the month's files have not arrived the refresh stops as "waiting for data" and writes
nothing; a month it reads that the inputs leave empty stops it (the annual run's coverage gate,
check_month_coverage), so a missing month is never reported as zero. flows/monthly_refresh.py
wraps these steps as Prefect tasks; tests call them directly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline import (
    assessment,
    db,
    monthly_report,
    output_folders,
    reference_tables,
    report,
    run_record,
)
from pipeline.catalog import MARKING
from pipeline.config import SQL_DIR, RunConfig, load_config
from pipeline.config_sections import MonthlySettings
from pipeline.errors import InputError

MONTHLY_SQL_DIR = SQL_DIR / "monthly"
MARKER = output_folders.MARKER  # svna only ever replaces or deletes folders holding this file
WORK_DB = "svna_monthly_work.duckdb"
EXCEL_NAME = "svna_monthly_pack.xlsx"
PUBLISHED_TABLES = ("rolling_summary", "monthly_exceptions", "revisions")
# the existing models a refresh builds on (with everything upstream of them)
UPSTREAM_MODELS = ("int_offences_classified", "int_mps_counts_classified", "int_mps_counts_current",
                   "int_offences_current", "quarantine_summary")
REPORT_MODELS = ("mth_rolling_summary", "mth_control_limits", "mth_exceptions")

WAITING = "waiting_for_data"
PUBLISHED = "published"
UNCHANGED = "unchanged"
SUPERSEDED = "superseded"   # recorded in the warehouse, but an extract newer than it is already published


# ---------------------------------------------------------------- settings

def monthly_dir(cfg: RunConfig) -> Path:
    return cfg.output / "monthly"


def parse_month(text: str, where: str = "command line", column: str = "--month") -> date:
    try:
        year, month = (int(part) for part in str(text).strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InputError(where, column, "expected a month written YYYY-MM", str(text)) from None


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def due_month(today: date, lag_months: int) -> date:
    """The month a scheduled run should report: `lag_months` months before the run's month (the MPS
    files for month M are published during month M + 1)."""
    return add_months(date(today.year, today.month, 1), -lag_months)


def load_monthly_config(config_path: str | Path, output: str | None = None) -> RunConfig:
    """A run config read for the refresh: its `period` is not used (each refresh sets its own)."""
    return load_config(config_path, {"period": {"rolling_12m_to": "2000-01"}, "output": output})


def with_month(cfg: RunConfig, month: date) -> RunConfig:
    from pipeline.config import resolve_periods

    current, previous = resolve_periods({"rolling_12m_to": f"{month:%Y-%m}"})
    return replace(cfg, current=current, previous=previous)


# ---------------------------------------------------------------- models

def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Poisson tail probabilities for the c-chart's p-values (DuckDB has none): scipy, vectorised."""
    import pyarrow as pa
    from scipy import stats

    def upper(count, centre):  # P(X >= count | centre)
        c, lam = count.to_numpy(zero_copy_only=False), centre.to_numpy(zero_copy_only=False)
        return pa.array(stats.poisson.sf(c - 1, lam), type=pa.float64(), from_pandas=True)

    def lower(count, centre):  # P(X <= count | centre)
        c, lam = count.to_numpy(zero_copy_only=False), centre.to_numpy(zero_copy_only=False)
        return pa.array(stats.poisson.cdf(c, lam), type=pa.float64(), from_pandas=True)

    for name, fn in (("poisson_upper_p", upper), ("poisson_lower_p", lower)):
        db.create_python_function(con, name, fn, ["DOUBLE", "DOUBLE"], "DOUBLE")


def run_selected_models(con: duckdb.DuckDBPyConnection, targets: tuple[str, ...]) -> list[str]:
    """Build `targets` and what they need (annual layers + sql/monthly), in dependency order, with the
    runner's unique-key checks; returns the names built."""
    return db.run_models(con, select=list(targets), upstream=True, layers=db.LAYER_ORDER)


def set_report_variables(con: duckdb.DuckDBPyConnection, month: date, settings: MonthlySettings) -> None:
    db.set_variables(con, {
        "report_month": month,
        "baseline_months": settings.baseline_months,
        "min_baseline_months": settings.min_baseline_months,
        "fdr_alpha": settings.fdr_alpha,
    })
    themes = [r[0] for r in con.execute("select theme from seed_themes").fetchall()] \
        if "*" in settings.seasonal_themes else list(settings.seasonal_themes)
    con.execute("set variable seasonal_themes = cast(? as varchar[])", [themes])


def set_run_variables(con: duckdb.DuckDBPyConnection, cfg: RunConfig, run_id: str) -> None:
    """The run parameters the models read (DuckDB variables last one connection: set in every step)."""
    db.set_variables(con, assessment.run_variables(cfg, run_id))


def build(con: duckdb.DuckDBPyConnection, cfg: RunConfig, run_id: str) -> list[str]:
    """Seeds, macros, run parameters, reference geography and the models up to the monthly series."""
    db.load_seeds(con)
    db.load_macros(con)
    set_run_variables(con, cfg, run_id)
    con.execute("create or replace table periods (period_role varchar, period_label varchar, period_start date, "
                "period_end date)")
    reference_tables.load_reference(con, cfg)
    register_functions(con)
    return run_selected_models(con, UPSTREAM_MODELS + ("mth_reported_series",))


def build_report(con: duckdb.DuckDBPyConnection, cfg: RunConfig, month: date, settings: MonthlySettings) -> list[str]:
    """The month's rolling summary, control limits and exceptions (periods table for the annual models' habits)."""
    cfg = with_month(cfg, month)
    con.execute("delete from periods")
    for role, period in (("current", cfg.current), ("previous", cfg.previous)):
        con.execute("insert into periods values (?, ?, ?, ?)", [role, period.label, period.start, period.end])
    set_report_variables(con, month, settings)
    return db.run_models(con, select=list(REPORT_MODELS), layers=db.LAYER_ORDER)  # upstream built by build()


# ---------------------------------------------------------------- which month

@dataclass
class Coverage:
    """What the inputs cover: the latest complete month of each source feeding the refresh."""

    latest: dict[str, date]       # "record_extract area" -> last complete month
    earliest: date | None
    extracts: dict[str, str]      # same keys -> newest extract date (text)

    @property
    def latest_complete(self) -> date | None:
        return min(self.latest.values()) if self.latest else None


def coverage(con: duckdb.DuckDBPyConnection) -> Coverage:
    rows = con.execute("""
        select source, unit_level, min(month_start), max(month_start), arg_max(extract_date, month_start)
        from mth_source_months where unit_level in ('area', 'comparator')
        group by all order by all""").fetchall()
    latest = {f"{s} {level}": last for s, level, _, last, _ in rows}
    extracts = {f"{s} {level}": str(ext) for s, level, _, _, ext in rows}
    earliest = max((first for _, level, first, _, _ in rows if level == "area"), default=None)
    return Coverage(latest, earliest, extracts)


def choose_month(con: duckdb.DuckDBPyConnection, cfg: RunConfig, requested: str | None,
                 settings: MonthlySettings, today: date | None = None) -> tuple[date, str | None]:
    """(month, waiting message): the month to report and, when its files have not arrived, why not.

    `requested`: YYYY-MM; None or "latest" = the latest month every source covers completely;
    "due" = the month a scheduled run should report (publication_lag_months before today).
    """
    cov = coverage(con)
    if not cov.latest or not any(key.endswith(" area") for key in cov.latest):
        files = ", ".join(sorted({p.name for i in cfg.inputs for ps in i.paths.values() for p in ps})[:4])
        raise InputError(files or "inputs", "LookUp_BoroughName", f"the inputs must include data for the area "
                         f"'{cfg.area_name}' (a record extract or borough-level MPS counts)", "no rows for that area")
    if requested in (None, "", "latest"):
        return cov.latest_complete, None
    month = due_month(today or date.today(), settings.publication_lag_months) if requested == "due" \
        else parse_month(requested)
    if cov.earliest and month < cov.earliest:
        raise InputError(str(cfg.config_path), "--month", f"the month must be one the inputs cover (from "
                         f"{cov.earliest:%Y-%m})", f"{month:%Y-%m}")
    behind = {key: last for key, last in cov.latest.items() if last < month}
    if behind:
        names = {"mps_counts": "the MPS count files", "record_extract": "the record extract"}

        def describe(key: str) -> str:
            source, level = key.split(" ")
            return f"{names.get(source, source)} for the {level}"

        detail = "; ".join(f"{describe(key)}: to {last:%B %Y}, extract of {cov.extracts[key]}"
                           for key, last in sorted(behind.items()))
        return month, (f"Waiting for data: the files for {month:%B %Y} have not arrived yet ({detail}). "
                       "Nothing was published; the refresh will report the month once they are in the input folders.")
    return month, None


def check_month_coverage(con: duckdb.DuckDBPyConnection, cfg: RunConfig, month: date, settings: MonthlySettings,
                         scheduled: bool = False) -> str | None:
    """The annual run's coverage gate (assessment.check_coverage) over every month the refresh reads:
    the control chart's baseline and the two 12-month windows to `month`, from the first month every
    source covers (earlier months are reported as not covered, never as zero). A month with no data
    inside that span would otherwise be published as 0 ("down 100%") and flood the exceptions.

    Raises the gate's InputError (file, column, missing months). A scheduled run (`scheduled`) whose
    only missing month is the one it reports returns a waiting message instead: the next delivery
    should bring it, and a run that found nothing to publish is not a failure. An earlier gap will
    not fill itself by waiting, so it stops even a scheduled run."""
    first = con.execute("select max(first_month) from (select min(month_start) as first_month from mth_source_months "
                        "where unit_level in ('area', 'comparator') group by source, unit_level)").fetchone()[0]
    start = max(add_months(month, -settings.baseline_months), first or month)
    try:
        assessment.check_coverage(con, with_month(cfg, month), start=start)
    except InputError as error:
        if scheduled and error.examples == [f"{month:%Y-%m}"]:  # the gate lists the missing months
            return (f"Waiting for data: {month:%B %Y} not in the inputs yet ({error.file} has no data for it, column "
                    f"'{error.column}'). Nothing was published; the refresh will report the month once it is delivered.")
        raise
    return None


# ---------------------------------------------------------------- warehouse

WAREHOUSE_SCHEMA = """
create table if not exists refresh_runs (
    run_id varchar primary key, area_code varchar, area_name varchar, refresh_month date, extract_date date,
    extracts varchar, inputs_hash varchar, config_path varchar, config_hash varchar, code_version varchar,
    started_at timestamp, finished_at timestamp, seconds double);
create table if not exists refresh_inputs (
    run_id varchar, path varchar, kind varchar, role varchar, sha256 varchar, rows_read bigint, duplicate_of varchar);
create table if not exists series_values (
    area_code varchar, source varchar, unit_level varchar, unit_code varchar, unit_name varchar, theme varchar,
    month_start date, count bigint, extract_date date, extract_file varchar, extract_sha256 varchar,
    run_id varchar, primary key (area_code, source, unit_level, unit_code, theme, month_start, extract_sha256));
create or replace view current_refreshes as
    select * from refresh_runs
    qualify row_number() over (partition by area_code, refresh_month
                               order by extract_date desc, finished_at desc, run_id desc) = 1;
"""


def sql_string(value: Path | str) -> str:
    """A quoted SQL string literal, for the statements that cannot bind a parameter."""
    return "'" + str(value).replace("'", "''") + "'"


def warehouse_area_key(cfg: RunConfig) -> str:
    return cfg.area_code or cfg.area_name


def inputs_hash(con: duckdb.DuckDBPyConnection, cfg: RunConfig, month: date, settings: MonthlySettings) -> str:
    """Same month, same input bytes, same definitions-relevant settings -> same hash."""
    files = con.execute("select kind, role, sha256 from audit_inputs where duplicate_of is null "
                        "order by kind, role, sha256").fetchall()
    relevant = {k: v for k, v in cfg.raw.items() if k not in ("output", "reports", "period", "inputs", "reference")}
    payload = json.dumps({"month": f"{month:%Y-%m}", "files": files, "config": relevant,
                          "settings": {k: str(v) for k, v in settings.__dict__.items() if k != "warehouse"}},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def record_extract_sha(con: duckdb.DuckDBPyConnection) -> str:
    """One identity for a record extract delivery: every record-level file's checksum together."""
    shas = [r[0] for r in con.execute("select sha256 from audit_inputs where kind = 'record_extract' "
                                      "and duplicate_of is null order by sha256").fetchall()]
    return hashlib.sha256("".join(shas).encode()).hexdigest() if shas else ""


def _copy_into_warehouse(con: duckdb.DuckDBPyConnection, table: str, query: str, params: list | None = None) -> None:
    """Create the warehouse table from the first refresh's rows (same columns), then append."""
    exists = con.execute("select count(*) from duckdb_tables() where database_name = 'wh' and table_name = ?",
                         [table]).fetchone()[0]
    if exists:
        con.execute(f"insert into wh.{table} by name {query}", params or [])
    else:
        con.execute(f"create table wh.{table} as {query}", params or [])


REVISIONS_SQL = (MONTHLY_SQL_DIR / "mth_revisions.sql")


def record_refresh(work_db: Path, cfg: RunConfig, month: date, settings: MonthlySettings, run_id: str,
                   started: datetime) -> tuple[str, str]:
    """Write the refresh into the warehouse in one transaction; returns (status, run_id).

    UNCHANGED (and the existing run id) when the same inputs were already refreshed for this month;
    SUPERSEDED when an extract newer than this one is already the month's current refresh.
    """
    area = warehouse_area_key(cfg)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with db.connect(work_db, settings=cfg.duckdb) as con:
        digest = inputs_hash(con, cfg, month, settings)
        set_run_variables(con, cfg, run_id)
        set_report_variables(con, month, settings)
        work_catalog = con.execute("select current_database()").fetchone()[0]
        con.execute(f"attach {sql_string(settings.warehouse)} as wh")  # ATTACH takes no parameters
        con.execute("use wh")
        con.execute(WAREHOUSE_SCHEMA)
        con.execute(f"use {work_catalog}")
        previous = _existing_run_wh(con, area, month, digest)
        if previous:
            return UNCHANGED, previous
        db.set_variables(con, {"warehouse_area": area, "record_extract_sha256": record_extract_sha(con)})
        con.execute(f"create or replace temp table refresh_series as {_series_with_extract_sql()}")
        con.execute(f"create or replace table mth_revisions as {REVISIONS_SQL.read_text()}")
        # the refresh's extract is the one the reported month came from; `extracts` lists every file behind
        # the 24 months compared
        extract_date = con.execute("select max(extract_date) from refresh_series where month_start = ? and "
                                   "unit_level = 'area'", [month]).fetchone()[0]
        extracts = con.execute("""
            select string_agg(distinct label, '; ' order by label) from (
                select regexp_extract(extract_file, '[^/]+$') || ' (' || strftime(extract_date, '%Y-%m-%d') || ')' as label
                from refresh_series
                where month_start > ?::date - interval 24 month and month_start <= ?)""", [month, month]).fetchone()[0]
        con.execute("begin transaction")
        try:
            finished = datetime.now(UTC)
            con.execute("insert into wh.refresh_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, area, cfg.area_name, month, extract_date, extracts, digest, str(cfg.config_path),
                         cfg.config_hash, assessment.code_version(), started.replace(tzinfo=None),
                         finished.replace(tzinfo=None), round((finished - started).total_seconds(), 3)])
            con.execute("insert into wh.refresh_inputs select ?, path, kind, role, sha256, rows_read, duplicate_of "
                        "from audit_inputs", [run_id])
            con.execute("insert or ignore into wh.series_values by name "
                        "select * exclude (stored) from refresh_series")
            for table, model in (("rolling_summary", "mth_rolling_summary"), ("monthly_exceptions", "mth_exceptions"),
                                 ("revisions", "mth_revisions")):
                _copy_into_warehouse(con, table, f"select * from {model}")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        newest = con.execute("select run_id from wh.current_refreshes where area_code = ? and refresh_month = ?",
                             [area, month]).fetchone()[0]
    return (PUBLISHED if newest == run_id else SUPERSEDED), run_id


def _existing_run_wh(con: duckdb.DuckDBPyConnection, area: str, month: date, digest: str) -> str | None:
    row = con.execute("select run_id from wh.refresh_runs where area_code = ? and refresh_month = ? and inputs_hash = ? "
                      "order by finished_at desc limit 1", [area, month, digest]).fetchone()
    return row[0] if row else None


def _series_with_extract_sql() -> str:
    """This refresh's reported series, each month tagged with the checksum of the extract it came from."""
    return """
        select
            getvariable('warehouse_area') as area_code, series.source, series.unit_level, series.unit_code,
            series.unit_name, series.theme, series.month_start, series.count, series.extract_date, series.extract_file,
            case when series.source = 'record_extract' then getvariable('record_extract_sha256')
                 else coalesce(audit.sha256, series.extract_file) end as extract_sha256,
            getvariable('run_id') as run_id,
            exists (select 1 from wh.series_values as stored
                    where stored.area_code = getvariable('warehouse_area') and stored.source = series.source
                      and stored.unit_level = series.unit_level and stored.unit_code = series.unit_code
                      and stored.theme = series.theme and stored.month_start = series.month_start
                      and stored.extract_sha256 = case when series.source = 'record_extract'
                          then getvariable('record_extract_sha256') else coalesce(audit.sha256, series.extract_file) end
            ) as stored
        from mth_reported_series as series
        left join (select path, any_value(sha256) as sha256 from audit_inputs group by path) as audit
          on audit.path = series.extract_file"""


# ---------------------------------------------------------------- folders

def ensure_own_folder(folder: Path, cfg: RunConfig) -> None:
    """Create `folder` (marked as svna's), or accept it if svna made it: the same rules as the annual
    run's output (pipeline.output_folders), so a user's folder, the config's or an input's is refused."""
    output_folders.check_target(folder, "output", cfg)
    folder.mkdir(parents=True, exist_ok=True)
    if not output_folders.is_marked(folder):
        output_folders.write_marker(folder, None)


def swap_month_into_place(work: Path, target: Path) -> None:
    """Replace <output>/monthly/<YYYY-MM> only if svna made it, and only once the new one is complete."""
    if target.exists() and not output_folders.is_marked(target):
        raise InputError(str(target), "output", f"svna replaces only folders it created (with a {MARKER} file)",
                         "an existing folder svna did not create")
    old = target.with_name("." + target.name + ".previous")
    if old.exists() and output_folders.is_marked(old):
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    work.rename(target)
    if old.exists():
        shutil.rmtree(old)


def remove_leftovers(base: Path) -> None:
    """Work folders of an earlier refresh that never finished (a crash): they hold pseudonymised
    rows, and holding the lock means no refresh is using them. Only svna's own (marked) ones."""
    for leftover in sorted([*base.glob(".work-*"), *base.glob(".*.partial-*")]):
        if leftover.is_dir() and not leftover.is_symlink() and output_folders.is_marked(leftover):
            shutil.rmtree(leftover)
            print(f"Removed {leftover}, left by an earlier run that did not finish.")


def published_run_id(folder: Path) -> str | None:
    try:
        return json.loads((folder / "run.json").read_text())["run_id"]
    except (OSError, ValueError, KeyError):
        return None


# ---------------------------------------------------------------- publishing

def _excel_safe(value):
    """Text that a spreadsheet would read as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_tables(wh: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> list[Path]:
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PUBLISHED_TABLES:
        frame = wh.execute(f"select * from {name} where run_id = ?", [run_id]).df()
        parquet, csv = tables / f"{name}.parquet", tables / f"{name}.csv"
        frame.to_parquet(parquet, index=False)
        text = frame.copy()
        for column in text.columns:
            if text[column].dtype == object or str(text[column].dtype).startswith("str"):
                text[column] = text[column].map(_excel_safe)
        text.to_csv(csv, index=False, lineterminator="\n")
        written += [parquet, csv]
    return written


def write_excel(wh: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> Path:
    """One sheet per table; text written as text (never as a formula), numbers as numbers."""
    import xlsxwriter

    from pipeline.excel_pack import page_setup

    path = out_dir / EXCEL_NAME
    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True, "remove_timezone": True})
    header = book.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "white", "text_wrap": True,
                              "valign": "top", "border": 1})
    marking = book.add_format({"bold": True, "font_color": "#C00000"})
    pct = book.add_format({"num_format": '0.0"%"'})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    for name in PUBLISHED_TABLES:
        cursor = wh.execute(f"select * exclude (run_id), run_id from {name} where run_id = ?", [run_id])
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        ws = book.add_worksheet(name)
        page_setup(ws, MARKING, name)   # as the annual pack: landscape A4, fit to width, marked on every page
        ws.write_string(0, 0, MARKING, marking)
        ws.write_row(1, 0, columns, header)
        for c, column in enumerate(columns):
            width = max([len(column)] + [len(str(r[c])) for r in rows[:200]])
            ws.set_column(c, c, min(max(width + 2, 8), 70), pct if column.endswith("pct_change") else None)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                elif isinstance(value, (date, datetime)):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
                else:
                    ws.write_number(r, c, float(value))
        ws.freeze_panes(2, 0)
        if rows:
            ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)
    book.close()
    return path


def theme_labels() -> dict[str, tuple[str, int]]:
    """theme -> (short label, sort order), from the one theme seed."""
    import csv

    with open(db.SEEDS_DIR / "themes.csv", encoding="utf-8") as f:
        return {r["theme"]: (r["short_label"], int(r["sort_order"])) for r in csv.DictReader(f)}


def headlines_markdown(wh: duckdb.DuckDBPyConnection, run_id: str, comparator_name: str | None) -> str:
    """Short drafted sentences from the refresh's own tables (every figure is a table cell)."""
    from pipeline.narrative import MIN_BASE, short_name

    run = wh.execute("select area_name, refresh_month, extracts from refresh_runs where run_id = ?", [run_id]).fetchone()
    area_name, month, extracts = run
    labels = theme_labels()
    rows = wh.execute("""
        select theme, theme, rolling_12m_count, previous_12m_count, rolling_pct_change, month_count,
               same_month_last_year_count, month_pct_change, comparator_rolling_pct_change
        from rolling_summary where run_id = ? and unit_level = 'area'""", [run_id]).fetchall()
    rows = sorted(((t, labels[t][0], *rest) for t, _, *rest in rows), key=lambda r: labels[r[0]][1])
    period = f"the 12 months to {month:%B %Y}"
    lines = [f"**{MARKING}**", "", f"# {area_name}: monthly refresh, {month:%B %Y}", "",
             f"Extracts: {extracts}. Run {run_id}.", ""]
    comparator = short_name(comparator_name) if comparator_name else None
    for theme, label, rolling, previous, pct, month_n, same_n, month_pct, comp_pct in rows:
        if rolling is None:
            continue
        sentence = f"In {period} there were {rolling:,} {label} offences" if rolling else f"In {period} there were no {label} offences"
        if previous is not None:
            diff = rolling - previous
            if previous < MIN_BASE or pct is None:
                sentence += f", compared with {previous:,} in the previous 12 months"
            elif round(pct) == 0:
                sentence += f", a similar level to the previous 12 months ({previous:,})"
            else:
                sentence += f", {'up' if diff > 0 else 'down'} {abs(pct):.0f}% ({abs(diff):,}) on the previous 12 months"
            if comparator and comp_pct is not None:
                sentence += (f"; for the {comparator} {'up' if comp_pct > 0 else 'down'} {abs(comp_pct):.0f}%"
                             if round(comp_pct) else f"; for the {comparator} a similar level")
        sentence += "."
        if month_n is not None and same_n is not None:
            if same_n >= MIN_BASE and month_pct is not None and round(month_pct):
                sentence += (f" {month:%B %Y}: {month_n:,}, {'up' if month_pct > 0 else 'down'} {abs(month_pct):.0f}% "
                             f"on {month:%B} last year ({same_n:,}).")
            else:
                sentence += f" {month:%B %Y}: {month_n:,} ({same_n:,} in {month:%B} last year)."
        lines.append(f"- {sentence}")
    exceptions = wh.execute("select reason from monthly_exceptions where run_id = ? order by unit_level <> 'area', "
                            "direction, reason", [run_id]).fetchall()
    lines += ["", "## Exceptions (control charts)", ""]
    lines += [f"- {r[0]}." for r in exceptions] or ["- None: every theme's month is within its usual range."]
    revised = wh.execute("""select count(*), count(distinct month_start), sum(abs(change)),
                                   min(month_start), max(month_start)
                            from revisions where run_id = ? and unit_level = 'area'""", [run_id]).fetchone()
    lines += ["", "## Revisions since the previous extract", ""]
    if revised[0]:
        lines.append(f"- {revised[0]:,} area counts revised across {revised[1]} months ({revised[3]:%b %Y} to "
                     f"{revised[4]:%b %Y}), {revised[2]:,} crimes moved in total; see tables/revisions.csv.")
    else:
        lines.append("- None for the area's counts.")
    return "\n".join(lines) + "\n"


def publish_refresh(cfg: RunConfig, settings: MonthlySettings, run_id: str, manifest: dict) -> Path:
    """Write <output>/monthly/<YYYY-MM>/ from the warehouse rows of `run_id`, via a temporary folder."""
    base = monthly_dir(cfg)
    month = manifest["refresh_month"]
    work = base / f".{month}.partial-{run_id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    output_folders.write_marker(work, run_id)
    run_record.made(work, run_id)
    try:
        with duckdb.connect(str(settings.warehouse), read_only=True) as wh:
            outputs = write_tables(wh, run_id, work)
            outputs.append(write_excel(wh, run_id, work))
            headlines = work / "headlines.md"
            headlines.write_text(headlines_markdown(wh, run_id, cfg.comparator_name))
            outputs.append(headlines)
            outputs.append(monthly_report.write_monthly_report(wh, run_id, cfg, work / report.REPORT_NAME))
        manifest = {**manifest, "outputs": sorted(str(p.relative_to(work)) for p in outputs)}
        (work / "run.json").write_text(json.dumps(manifest, indent=2, default=str))
        swap_month_into_place(work, base / month)
        run_record.published(base / month)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return base / month


# ---------------------------------------------------------------- the refresh

@dataclass
class RefreshResult:
    status: str                 # published | unchanged | superseded | waiting_for_data
    month: str
    message: str
    run_id: str | None = None
    output: Path | None = None
    warehouse: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    aggregates: dict[str, Any] = field(default_factory=dict)  # area-level figures for logs and artifacts


def ingest_step(cfg: RunConfig, work_db: Path, run_id: str) -> list:
    with db.connect(work_db, settings=cfg.duckdb) as con:
        files = assessment.ingest(con, cfg)
        build(con, cfg, run_id)
        assessment.check_reconciliation(con, cfg)
    return files


def choose_step(cfg: RunConfig, work_db: Path, requested: str | None, settings: MonthlySettings,
                today: date | None = None) -> tuple[date, str | None]:
    """The month to report, or why the refresh waits; stops when the inputs leave a month the refresh
    reads without data (the same coverage gate as the annual run)."""
    with db.connect(work_db, read_only=True) as con:
        month, waiting = choose_month(con, cfg, requested, settings, today)
        if waiting is None:
            waiting = check_month_coverage(con, cfg, month, settings, scheduled=requested == "due")
        return month, waiting


def report_step(cfg: RunConfig, work_db: Path, month: date, settings: MonthlySettings, run_id: str) -> dict:
    """Build the month's tables; returns aggregates for logs and artifacts (area level only)."""
    with db.connect(work_db, settings=cfg.duckdb) as con:
        set_run_variables(con, cfg, run_id)
        register_functions(con)
        build_report(con, cfg, month, settings)
        summary = con.execute("""select theme, rolling_12m_count, previous_12m_count, rolling_pct_change, month_count,
                                        same_month_last_year_count, comparator_rolling_pct_change
                                 from mth_rolling_summary where unit_level = 'area'""").fetchall()
        exceptions = con.execute("select unit_level, rule, count(*) from mth_exceptions group by all order by all").fetchall()
    return {"area_summary": [dict(zip(("theme", "rolling_12m", "previous_12m", "pct_change", "month", "same_month_last_year",
                                       "comparator_pct_change"), row)) for row in summary],
            "exceptions": [dict(zip(("level", "rule", "count"), row)) for row in exceptions]}


def record_step(cfg: RunConfig, work_db: Path, month: date, settings: MonthlySettings, run_id: str,
                started: datetime) -> tuple[str, str]:
    return record_refresh(work_db, cfg, month, settings, run_id, started)


def publish_step(cfg: RunConfig, settings: MonthlySettings, run_id: str, month: date, files: list,
                 timings: dict, status: str) -> Path:
    manifest = {
        "run_id": run_id, "kind": "monthly_refresh", "refresh_month": f"{month:%Y-%m}", "area":
        {"name": cfg.area_name, "code": cfg.area_code}, "comparator": cfg.comparator_name,
        "warehouse": str(settings.warehouse), "config_path": str(cfg.config_path), "config_hash": cfg.config_hash,
        "code_version": assessment.code_version(), "status": status,
        "inputs": [f.as_dict() for f in files], "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "settings": {k: str(v) for k, v in settings.__dict__.items()},
    }
    return publish_refresh(cfg, settings, run_id, manifest)


STEPS: dict[str, Callable] = {"ingest": ingest_step, "choose": choose_step, "report": report_step,
                              "record": record_step, "publish": publish_step}


def run_monthly(config_path: str | Path, month: str | None = None, output: str | None = None,
                run_id: str | None = None, steps: dict | None = None, today: date | None = None) -> RefreshResult:
    """One monthly refresh end to end. `steps` replaces step functions by name (the Prefect flow
    passes its tasks), so the sequence is defined once."""
    steps = {**STEPS, **(steps or {})}
    cfg = load_monthly_config(config_path, output)
    settings = cfg.monthly
    run_id = run_id or assessment.new_run_id()
    started = datetime.now(UTC)
    timings: dict[str, float] = {}

    def timed(name: str, *args):
        run_record.step(name)
        t0 = time.perf_counter()
        result = steps[name](*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return result

    ensure_own_folder(cfg.output, cfg)
    base = monthly_dir(cfg)
    ensure_own_folder(base, cfg)
    run_record.output(base)
    with output_folders.output_lock(base):   # <output>/monthly.lock: one refresh at a time; stale locks cleared
        remove_leftovers(base)
        work = base / f".work-{run_id}"
        work.mkdir()
        output_folders.write_marker(work, run_id)
        run_record.made(work, run_id)
        try:
            work_db = work / WORK_DB
            files = timed("ingest", cfg, work_db, run_id)
            chosen, waiting = timed("choose", cfg, work_db, month, settings, today)
            label = f"{chosen:%Y-%m}"
            if waiting:
                return RefreshResult(WAITING, label, waiting, warehouse=settings.warehouse, timings=timings)
            aggregates = timed("report", cfg, work_db, chosen, settings, run_id)
            status, kept_run = timed("record", cfg, work_db, chosen, settings, run_id, started)
            target = base / label
            if status == SUPERSEDED:
                return RefreshResult(status, label, f"{cfg.area_name} {chosen:%B %Y}: recorded as run {kept_run}, but a "
                                     "newer extract of this month is already published; outputs unchanged.",
                                     kept_run, None, settings.warehouse, timings, aggregates)
            if status == UNCHANGED and published_run_id(target) == kept_run:
                return RefreshResult(status, label, f"{cfg.area_name} {chosen:%B %Y}: already refreshed from these inputs "
                                     f"(run {kept_run}); nothing changed.", kept_run, target, settings.warehouse, timings,
                                     aggregates)
            out = timed("publish", cfg, settings, kept_run, chosen, files, timings, status)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return RefreshResult(PUBLISHED, label, f"{cfg.area_name} {chosen:%B %Y}: refresh {kept_run} published to {out}",
                         kept_run, out, settings.warehouse, timings, aggregates)
