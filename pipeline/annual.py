"""The annual assessment as four steps, each opening the run's DuckDB file by path.

`run_annual` runs them in order without Prefect (tests, scripting); flows/annual_assessment.py
wraps the same steps as Prefect tasks. Outputs are built in `<output>.partial` and swapped into
place only when every step has succeeded, so a failed run leaves the last good outputs untouched.
"""

from __future__ import annotations

import faulthandler
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pipeline import assessment, db, output_folders, publish, validation
from pipeline.config import RunConfig
from pipeline.sources.files import InputFile


def ingest_step(cfg: RunConfig, db_path: Path) -> list[InputFile]:
    with db.connect(db_path, settings=cfg.duckdb) as con:
        return assessment.ingest(con, cfg)


def build_step(cfg: RunConfig, db_path: Path, run_id: str) -> list[str]:
    with db.connect(db_path, settings=cfg.duckdb) as con:
        return assessment.build(con, cfg, run_id)


def check_step(cfg: RunConfig, db_path: Path) -> dict:
    """Batch checks that stop the run; returns the reconciliation totals and the crimes placed by
    each location method (aggregates only)."""
    with db.connect(db_path, settings=cfg.duckdb) as con:
        assessment.check_coverage(con, cfg)
        assessment.check_reconciliation(con, cfg)
        rows = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_superseded), sum(rows_quarantined) "
                           "from quarantine_summary").fetchone()
        located = con.execute("select location_method, crimes, crimes_pct from location_summary "
                              "where crimes > 0 order by crimes desc").fetchall()
    totals = dict(zip(("rows_in", "rows_loaded", "rows_superseded", "rows_quarantined"), (int(r or 0) for r in rows)))
    return {**totals, "location_methods": [{"method": m, "crimes": int(n), "pct": pct} for m, n, pct in located]}


def validate_step(cfg: RunConfig, work: Path) -> dict:
    """Great Expectations suites over the built tables; Data Docs go to <work>/validation."""
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        return validation.validate(con, cfg, work)


def publish_step(cfg: RunConfig, work: Path) -> list[Path]:
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        return publish.publish(con, cfg, work) + [work / assessment.DB_NAME]


def enable_crash_stacks() -> None:
    """A native crash (segfault, abort) prints every thread's Python stack to stderr instead of
    ending the run silently; SIGUSR1 prints them on demand (a run that seems hung)."""
    if faulthandler.is_enabled():
        return
    try:
        faulthandler.enable(file=sys.__stderr__, all_threads=True)
        import signal

        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    except (AttributeError, ValueError, OSError, RuntimeError):
        pass  # no usable stderr (embedded or redirected): nothing to write a stack to


STEPS = {"ingest": ingest_step, "build": build_step, "check": check_step, "validate": validate_step,
         "publish": publish_step}


def run_annual(cfg: RunConfig, run_id: str | None = None, steps: dict | None = None) -> Path:
    """The annual assessment end to end; returns the output folder.

    `steps` replaces step functions by name with wrappers taking the same arguments: the
    Prefect flow passes its tasks here, so the sequence is defined once.
    """
    enable_crash_stacks()
    steps = {**STEPS, **(steps or {})}
    run_id = run_id or assessment.new_run_id()
    started = datetime.now(UTC)
    timings: dict[str, float] = {}

    def timed(name: str, *args):
        t0 = time.perf_counter()
        result = steps[name](*args)
        timings[name] = time.perf_counter() - t0
        return result

    output_folders.check_targets(cfg)    # before any work: never replace a folder svna did not write
    with output_folders.output_lock(cfg.output):
        work = output_folders.staging_dir(cfg.output, run_id)
        db_path = work / assessment.DB_NAME
        try:
            files = timed("ingest", cfg, db_path)
            timed("build", cfg, db_path, run_id)
            checks = timed("check", cfg, db_path)
            validation = timed("validate", cfg, work)
            outputs = timed("publish", cfg, work)
            publish.write_manifest(work, cfg, run_id, files, timings, started, "success", outputs, validation, checks)
        except BaseException:
            output_folders.discard(work)
            raise
        output_folders.swap_into_place(work, cfg.output)
        if cfg.reports:
            publish.copy_reports(cfg.output, cfg.reports, run_id)
    return cfg.output
