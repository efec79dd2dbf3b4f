"""Prefect flow `annual_assessment`: the analyst's yearly SNA run.

Its tasks are the steps listed in pipeline/runs/annual.py (STEPS), in that order; they pass the run (its
config and work folder), never DuckDB connections. Only aggregates reach logs and artifacts: no
row-level or personal data.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.steps import as_tasks
from pipeline.runs import annual
from pipeline.runs.steps import run_steps
from pipeline.settings.config import RunConfig, load_config
from pipeline.transform import assessment, db

TASKS = as_tasks(annual.STEPS)


@task(name="load-config")
def load_run_config(config_path: str, period: dict | None, output: str | None, demo: bool = False,
                    tiers: list[str] | None = None) -> RunConfig:
    return load_config(config_path, {"period": period, "output": output, "tiers": tiers}, demo=demo)


def report_artifacts(db_path: Path) -> None:
    """Aggregate-only artifacts: the headline table and the per-file reconciliation."""
    with db.connect(db_path, read_only=True) as con:
        summary = con.execute("select theme, period_label, count, previous_count, pct_change, change_flag "
                              "from theme_summary").fetchall()
        files = con.execute("select regexp_extract(source_file, '[^/]+$') as file, input_table, rows_in, rows_loaded, "
                            "rows_superseded, rows_quarantined, reconciled from quarantine_summary").fetchall()
        located = con.execute("select location_method, crimes, crimes_pct from location_summary where crimes > 0 "
                              "order by crimes desc").fetchall()
    create_table_artifact(key="theme-summary", table=[
        dict(zip(("theme", "period", "count", "previous", "pct_change", "flag"), row)) for row in summary])
    create_table_artifact(key="reconciliation", table=[
        dict(zip(("file", "table", "rows_in", "loaded", "superseded", "quarantined", "reconciled"), row)) for row in files],
        description="rows in = loaded + superseded + quarantined, per input file")
    if located:
        create_table_artifact(key="location-methods", table=[
            dict(zip(("method", "crimes", "pct"), row)) for row in located],
            description="how record-level crimes were placed on the current wards")
    totals = [sum(row[i] for row in files) for i in (2, 3, 4, 5)]
    create_markdown_artifact(key="run-totals", markdown=(
        f"**Reconciliation**: {totals[0]:,} rows in = {totals[1]:,} loaded + {totals[2]:,} superseded + "
        f"{totals[3]:,} quarantined"))


@flow(name="annual_assessment", log_prints=True)
def annual_assessment(config_path: str, period: dict | None = None, output: str | None = None,
                      demo: bool = False, tiers: list[str] | None = None) -> str:
    """Ingest, validate, compute and publish one area's annual SNA; returns the output folder.
    `demo` (set by `svna demo`) allows the fixed demo key on svna's own synthetic extract only;
    `tiers` (--tier) replaces the config's `tiers:` (restricted, public)."""
    cfg = load_run_config(config_path, period, output, demo, tiers)
    get_run_logger().info("%s: %s compared with %s", cfg.area_name, cfg.current.label, cfg.previous.label)
    with annual.output_transaction(cfg) as run:     # builds in <output>.partial, swaps in on success
        run_steps(annual.STEPS, run, call=TASKS)
    out = cfg.output
    report_artifacts(out / assessment.DB_NAME)
    print(f"Outputs written to {out}")
    return str(out)
