"""The scheduled monthly refresh (DESIGN §1, §6.2 item 10, §12): its steps, listed once in STEPS.

One refresh reports one month M for one area: the 12 months to M against the 12 before, M against
the same month a year before, c-chart exceptions per theme for the area and per current ward, and
what the newest extract revised. It reuses the annual run's ingest, gates and SQL models (one
definition of each theme) and adds the models in sql/monthly/.

Every refresh is kept in a persistent DuckDB warehouse (pipeline/runs/monthly_warehouse.py). When the
month's files have not arrived the refresh stops as "waiting for data" and writes nothing; a month
it reads that the inputs leave empty stops it (the annual run's gates, pipeline.checks.gates), so a missing
month is never reported as zero. flows/monthly_refresh.py runs STEPS as Prefect tasks inside
`refresh_transaction`; `run_monthly` runs the same list without Prefect (tests, scripting). The
month's files are written by pipeline/runs/monthly_outputs.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.checks import gates
from pipeline.errors import InputError
from pipeline.publish import output_folders
from pipeline.reference import reference_tables
from pipeline.runs import annual, monthly_outputs, monthly_warehouse, run_record
from pipeline.runs.monthly_warehouse import PUBLISHED, SUPERSEDED, UNCHANGED
from pipeline.runs.steps import Step, run_steps
from pipeline.settings import periods
from pipeline.settings.config import SQL_DIR, RunConfig, load_config, resolve_periods
from pipeline.settings.config_sections import AreaSelection, MonthlySettings
from pipeline.sources.files import InputFile
from pipeline.transform import assessment, db

MONTHLY_SQL_DIR = SQL_DIR / "monthly"
WORK_DB = "svna_monthly_work.duckdb"
# the existing models a refresh builds on (with everything upstream of them)
UPSTREAM_MODELS = ("int_offences_classified", "int_mps_counts_classified", "int_mps_counts_current",
                   "int_offences_current", "quarantine_summary")
REPORT_MODELS = ("mth_rolling_summary", "mth_control_limits", "mth_exceptions")
WAITING = "waiting_for_data"


# ---------------------------------------------------------------- settings

def monthly_dir(cfg: RunConfig) -> Path:
    return cfg.output / "monthly"


def load_monthly_config(config_path: str | Path, output: str | None = None) -> RunConfig:
    """A run config read for the refresh: its `period` is not used (each refresh sets its own), nor
    `areas:` (a refresh reports the focus area alone)."""
    cfg = load_config(config_path, {"period": {"rolling_12m_to": "2000-01"}, "output": output})
    return replace(cfg, areas=AreaSelection())


def with_month(cfg: RunConfig, month: date) -> RunConfig:
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
    month = periods.due_month(today or date.today(), settings.publication_lag_months) if requested == "due" \
        else periods.parse_month(requested)
    if cov.earliest and month < cov.earliest:
        raise InputError(str(cfg.config_path), "--month", f"the month must be one the inputs cover (from "
                         f"{cov.earliest:%Y-%m})", f"{month:%Y-%m}")
    behind = {key: last for key, last in cov.latest.items() if last < month}
    if behind:
        names = {"mps_counts": "the MPS count files", "record_extract": "the record extract"}

        def describe(key: str) -> str:
            source, level = key.split(" ")
            return f"{names.get(source, source)} for the {level}"

        detail = "; ".join(f"{describe(key)}: to {last:%B %Y}"
                           + (f", extract of {cov.extracts[key]}" if cov.extracts.get(key) else ", no extract date")
                           for key, last in sorted(behind.items()))
        return month, (f"Waiting for data: the files for {month:%B %Y} have not arrived yet ({detail}). "
                       "Nothing was published; the refresh will report the month once they are in the input folders.")
    return month, None


def coverage_start(con: duckdb.DuckDBPyConnection, month: date, settings: MonthlySettings) -> date:
    """The first month the refresh reads: the control chart's baseline and the two 12-month windows to
    `month`, from the first month every source covers (earlier months are reported as not covered,
    never as zero)."""
    first = con.execute("select max(first_month) from (select min(month_start) as first_month from mth_source_months "
                        "where unit_level in ('area', 'comparator') group by source, unit_level)").fetchone()[0]
    return max(periods.add_months(month, -settings.baseline_months), first or month)


# ---------------------------------------------------------------- the refresh

@dataclass
class Refresh:
    """One refresh in progress: its inputs, its work folder, and what its steps returned."""

    cfg: RunConfig
    run_id: str
    work: Path                      # <output>/monthly/.work-<run_id>: removed when the refresh ends
    requested: str | None = None    # --month: YYYY-MM, "latest" (None) or "due"
    today: date | None = None       # what "due" counts from (a scheduled run: the day it was due)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    timings: dict[str, float] = field(default_factory=dict)
    files: list[InputFile] = field(default_factory=list)
    month: date | None = None
    waiting: str | None = None      # why the refresh waits for data (nothing is published)
    aggregates: dict[str, Any] = field(default_factory=dict)  # area-level figures for logs and artifacts
    status: str | None = None       # from the warehouse: published | unchanged | superseded
    kept_run: str | None = None     # the run the warehouse keeps for these inputs
    output: Path | None = None

    @property
    def settings(self) -> MonthlySettings:
        return self.cfg.monthly

    @property
    def database(self) -> Path:
        return self.work / WORK_DB

    @property
    def target(self) -> Path:
        return monthly_dir(self.cfg) / f"{self.month:%Y-%m}"

    def result(self) -> RefreshResult:
        """What the refresh did: published, unchanged, superseded or waiting for data."""
        label, name, warehouse = f"{self.month:%Y-%m}", self.cfg.area_name, self.settings.warehouse
        if self.waiting:
            return RefreshResult(WAITING, label, self.waiting, warehouse=warehouse, timings=self.timings)
        if self.status == SUPERSEDED:
            status, output, message = self.status, None, (
                f"{name} {self.month:%B %Y}: recorded as run {self.kept_run}, but a newer extract of this month is "
                "already published; outputs unchanged.")
        elif self.output is None:   # these inputs' refresh is already the one published
            status, output, message = self.status, self.target, (
                f"{name} {self.month:%B %Y}: already refreshed from these inputs (run {self.kept_run}); nothing changed.")
        else:
            status, output, message = PUBLISHED, self.output, (
                f"{name} {self.month:%B %Y}: refresh {self.kept_run} published to {self.output}")
        return RefreshResult(status, label, message, self.kept_run, output, warehouse, self.timings, self.aggregates)


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


def build_step(refresh: Refresh) -> list[str]:
    annual.await_build_imports(refresh.cfg)   # started by the ingest step
    with db.connect(refresh.database, settings=refresh.cfg.duckdb) as con:
        return build(con, refresh.cfg, refresh.run_id)


def choose_step(refresh: Refresh) -> tuple[date, str | None]:
    """The month to report, or why the refresh waits for its files."""
    with db.connect(refresh.database, read_only=True) as con:
        return choose_month(con, refresh.cfg, refresh.requested, refresh.settings, refresh.today)


def check_step(refresh: Refresh) -> str | None:
    """The annual run's gates (pipeline.checks.gates) over every month the refresh reads. Raises the gate's
    InputError; but a scheduled run (`due`) whose only missing month is the one it reports returns a
    waiting message instead: the next delivery should bring it, and a run that found nothing to
    publish is not a failure. An earlier gap will not fill itself by waiting, so it stops even a
    scheduled run."""
    month, settings = refresh.month, refresh.settings
    with db.connect(refresh.database, read_only=True) as con:
        try:
            gates.check_inputs(con, with_month(refresh.cfg, month), start=coverage_start(con, month, settings))
        except InputError as error:
            if refresh.requested == "due" and error.examples == [f"{month:%Y-%m}"]:  # the coverage gate lists the missing months
                return (f"Waiting for data: {month:%B %Y} not in the inputs yet ({error.file} has no data for it, "
                        f"column '{error.column}'). Nothing was published; the refresh will report the month once "
                        "it is delivered.")
            raise
    return None


def report_step(refresh: Refresh) -> dict:
    """Build the month's tables; returns aggregates for logs and artifacts (area level only)."""
    with db.connect(refresh.database, settings=refresh.cfg.duckdb) as con:
        set_run_variables(con, refresh.cfg, refresh.run_id)
        register_functions(con)
        build_report(con, refresh.cfg, refresh.month, refresh.settings)
        summary = con.execute("""select theme, rolling_12m_count, previous_12m_count, rolling_pct_change, month_count,
                                        same_month_last_year_count, comparator_rolling_pct_change
                                 from mth_rolling_summary where unit_level = 'area'""").fetchall()
        exceptions = con.execute("select unit_level, rule, count(*) from mth_exceptions group by all order by all").fetchall()
    return {"area_summary": [dict(zip(("theme", "rolling_12m", "previous_12m", "pct_change", "month", "same_month_last_year",
                                       "comparator_pct_change"), row)) for row in summary],
            "exceptions": [dict(zip(("level", "rule", "count"), row)) for row in exceptions]}


def record_step(refresh: Refresh) -> tuple[str, str]:
    """Keep the refresh in the warehouse; returns (status, the run id kept)."""
    with db.connect(refresh.database, settings=refresh.cfg.duckdb) as con:
        set_run_variables(con, refresh.cfg, refresh.run_id)
        set_report_variables(con, refresh.month, refresh.settings)
        return monthly_warehouse.record_refresh(con, refresh.cfg, refresh.month, refresh.settings, refresh.run_id,
                                                refresh.started)


def nothing_to_publish(refresh: Refresh) -> bool:
    """Superseded by a newer extract, or these inputs' refresh is already the one published."""
    return refresh.status == SUPERSEDED or (
        refresh.status == UNCHANGED and monthly_outputs.published_run_id(refresh.target) == refresh.kept_run)


def publish_step(refresh: Refresh) -> Path:
    cfg, settings = refresh.cfg, refresh.settings
    manifest = {
        "run_id": refresh.kept_run, "kind": "monthly_refresh", "refresh_month": f"{refresh.month:%Y-%m}", "area":
        {"name": cfg.area_name, "code": cfg.area_code}, "comparator": cfg.comparator_name,
        "warehouse": str(settings.warehouse), "config_path": str(cfg.config_path), "config_hash": cfg.config_hash,
        "code_version": assessment.code_version(), "status": refresh.status,
        "inputs": [f.as_dict() for f in refresh.files],
        "timings_seconds": {k: round(v, 3) for k, v in refresh.timings.items()},
        "settings": {k: str(v) for k, v in settings.__dict__.items()},
    }
    return monthly_outputs.publish_refresh(cfg, monthly_dir(cfg), refresh.kept_run, manifest)


def _exceptions(refresh: Refresh, aggregates: dict) -> str:
    return (f"Built the rolling summary and control charts; {sum(e['count'] for e in aggregates['exceptions'])} "
            "exception(s)")


STEPS = (
    annual.INGEST_STEP,
    Step("build", "build-models", build_step,
         summary=lambda refresh, models: f"Built {len(models)} SQL models (up to the monthly series)"),
    Step("choose", "choose-month", choose_step, keep=("month", "waiting"), stop=lambda refresh: bool(refresh.waiting),
         summary=lambda refresh, chosen: chosen[1] or f"Reporting {chosen[0]:%B %Y} for {refresh.cfg.area_name}"),
    Step("check", "check-inputs", check_step, keep="waiting", stop=lambda refresh: bool(refresh.waiting),
         summary=lambda refresh, waiting: waiting or f"Checked: the inputs cover every month the {refresh.month:%B %Y} "
         "refresh reads, and every row is reconciled"),
    Step("report", "build-month-tables", report_step, keep="aggregates", summary=_exceptions),
    Step("record", "record-in-warehouse", record_step, keep=("status", "kept_run"), retry_on_io_error=True,
         stop=nothing_to_publish,
         summary=lambda refresh, kept: f"Warehouse {refresh.settings.warehouse}: {kept[0]} (run {kept[1]})"),
    Step("publish", "publish-outputs", publish_step, keep="output", summary=lambda refresh, out: f"Published {out}"),
)


@contextmanager
def refresh_transaction(config_path: str | Path, month: str | None = None, output: str | None = None,
                        run_id: str | None = None, today: date | None = None) -> Iterator[Refresh]:
    """One refresh at a time under <output>/monthly (its lock), in a work folder of its own that is
    removed when the refresh ends; earlier refreshes' leftovers are removed first. Refuses, before any
    work, a folder svna did not write."""
    cfg = load_monthly_config(config_path, output)
    refresh = Refresh(cfg, run_id or assessment.new_run_id(), Path(), month, today)
    monthly_outputs.ensure_own_folder(cfg.output, cfg)
    base = monthly_dir(cfg)
    monthly_outputs.ensure_own_folder(base, cfg)
    run_record.output(base)
    with output_folders.output_lock(base):   # <output>/monthly.lock: one refresh at a time; stale locks cleared
        monthly_outputs.remove_leftovers(base)
        refresh.work = base / f".work-{refresh.run_id}"
        refresh.work.mkdir()
        output_folders.write_marker(refresh.work, refresh.run_id)
        run_record.made(refresh.work, refresh.run_id)
        try:
            yield refresh
        finally:
            shutil.rmtree(refresh.work, ignore_errors=True)


def run_monthly(config_path: str | Path, month: str | None = None, output: str | None = None,
                run_id: str | None = None, today: date | None = None) -> RefreshResult:
    """One monthly refresh end to end without Prefect (tests, scripting): STEPS, as
    flows/monthly_refresh.py runs them."""
    with refresh_transaction(config_path, month, output, run_id, today) as refresh:
        run_steps(STEPS, refresh)
    return refresh.result()
