"""The annual assessment as five steps, each opening the run's DuckDB file in the work folder by path.

flows/annual_assessment.py lists them as Prefect tasks inside `output_transaction`; `run_annual`
runs the same steps without Prefect (tests, scripting). Outputs are built in `<output>.partial` and
swapped into place only when every step has succeeded, so a failed run leaves the last good outputs.
"""

from __future__ import annotations

import faulthandler
import functools
import importlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline import areas, assessment, db, disclosure, output_folders, publish, run_record, validation
from pipeline.config import RunConfig
from pipeline.sources.files import InputFile


def _timed(step):
    """Record each step's wall time in <work>/timings.json (run.json carries them): the steps run the
    same way from the flow's tasks and from run_annual."""
    @functools.wraps(step)
    def timed(cfg: RunConfig, work: Path, *args):
        run_record.step(step.__name__.removesuffix("_step"))
        started = time.perf_counter()
        try:
            return step(cfg, work, *args)
        finally:
            path = work / TIMINGS
            timings = json.loads(path.read_text()) if path.exists() else {}
            timings[step.__name__.removesuffix("_step")] = round(time.perf_counter() - started, 3)
            path.write_text(json.dumps(timings))
    return timed


TIMINGS = "timings.json"

# The heavy libraries of the later steps, imported on a background thread while this one is busy in
# DuckDB or waiting for Prefect's server (both leave the GIL free), so a step finds them loaded instead
# of paying for them in line (Great Expectations alone takes 2 s or more). Two stages, each awaited
# before the step that needs it, so the two threads never import the same modules at the same time.
BUILD_IMPORTS = ("scipy.stats", "geopandas", "esda.getisord")                # the build: reference files, Gi*
PUBLISH_IMPORTS = ("great_expectations", "matplotlib.pyplot", "xlsxwriter")  # validate and publish
_warming: dict[tuple[str, ...], threading.Thread] = {}


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            if name == "matplotlib.pyplot":
                import matplotlib

                matplotlib.use("Agg")  # never a GUI backend, and the one maps.py uses
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S110  (an import that fails here fails again, with its message, where it is used)
            pass


def warm_imports(names: tuple[str, ...]) -> None:
    """Start importing `names` on a background thread (once per stage and process)."""
    if names not in _warming and not all(n in sys.modules for n in names):
        _warming[names] = threading.Thread(target=_import_all, args=(names,), name="svna-imports", daemon=True)
        _warming[names].start()


def await_imports(names: tuple[str, ...]) -> None:
    thread = _warming.get(names)
    if thread is not None:
        thread.join()


@_timed
def ingest_step(cfg: RunConfig, work: Path) -> list[InputFile]:
    warm_imports(BUILD_IMPORTS)
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        return assessment.ingest(con, cfg)


@_timed
def build_step(cfg: RunConfig, work: Path, run_id: str) -> list[str]:
    await_imports(BUILD_IMPORTS)
    warm_imports(PUBLISH_IMPORTS)
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        return assessment.build(con, cfg, run_id)


@_timed
def check_step(cfg: RunConfig, work: Path) -> dict:
    """Batch checks that stop the run; returns the reconciliation totals and the crimes placed by
    each location method (aggregates only)."""
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        assessment.check_coverage(con, cfg)
        areas.check_areas(con, cfg)
        assessment.check_reconciliation(con, cfg)
        rows = con.execute("select sum(rows_in), sum(rows_loaded), sum(rows_superseded), sum(rows_quarantined) "
                           "from quarantine_summary").fetchone()
        located = con.execute("select location_method, crimes, crimes_pct from location_summary "
                              "where crimes > 0 order by crimes desc").fetchall()
    totals = dict(zip(("rows_in", "rows_loaded", "rows_superseded", "rows_quarantined"), (int(r or 0) for r in rows)))
    return {**totals, "location_methods": [{"method": m, "crimes": int(n), "pct": pct} for m, n, pct in located]}


@_timed
def validate_step(cfg: RunConfig, work: Path) -> dict:
    """Great Expectations suites over the built tables; Data Docs go to <work>/validation."""
    await_imports(PUBLISH_IMPORTS)
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        return validation.validate(con, cfg, work)


@_timed
def publish_step(cfg: RunConfig, work: Path) -> list[Path]:
    with db.connect(work / assessment.DB_NAME, settings=cfg.duckdb) as con:
        return publish.publish(con, cfg, work) + [work / assessment.DB_NAME]


@dataclass
class Run:
    """One annual run in progress: where it builds, and what its steps returned for run.json."""

    cfg: RunConfig
    run_id: str
    work: Path
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    files: list[InputFile] = field(default_factory=list)
    checks: dict | None = None
    validation: dict | None = None
    outputs: list[Path] = field(default_factory=list)


@contextmanager
def output_transaction(cfg: RunConfig, run_id: str | None = None) -> Iterator[Run]:
    """Build the run in `<output>.partial` and swap it in only when every step has succeeded (then the
    manifest is written and reports/ mirrored); on any failure the half-built folder is discarded and
    the last good outputs stay. Refuses, before any work, a folder svna did not write."""
    enable_crash_stacks()
    output_folders.check_targets(cfg)
    run_record.output(cfg.output)
    with output_folders.output_lock(cfg.output):
        run = Run(cfg, run_id or assessment.new_run_id(), Path())
        run.work = output_folders.staging_dir(cfg.output, run.run_id)
        public_failure = None
        try:
            try:
                yield run
                outcome = "success"
            except disclosure.PublicTierError as exc:
                # the restricted tier is complete and kept; the public one was removed (publish.publish)
                public_failure, outcome = exc, f"restricted tier only: {exc}"
                run.outputs = exc.outputs or [p for p in run.work.rglob("*") if p.is_file()]
            timings = json.loads((run.work / TIMINGS).read_text()) if (run.work / TIMINGS).exists() else {}
            (run.work / TIMINGS).unlink(missing_ok=True)
            publish.write_manifest(run.work, cfg, run.run_id, run.files, timings, run.started, outcome,
                                   run.outputs, run.validation, run.checks)
        except BaseException:
            output_folders.discard(run.work)
            raise
        output_folders.swap_into_place(run.work, cfg.output)
        run_record.published(cfg.output)
        if cfg.reports:
            publish.copy_reports(cfg.output, cfg.reports, run.run_id)
        if public_failure is not None:
            raise public_failure


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


def run_annual(cfg: RunConfig, run_id: str | None = None) -> Path:
    """The annual assessment end to end without Prefect (tests, scripting); the same steps, in the
    same order, as flows/annual_assessment.py. Returns the output folder."""
    with output_transaction(cfg, run_id) as run:
        run.files = ingest_step(cfg, run.work)
        build_step(cfg, run.work, run.run_id)
        run.checks = check_step(cfg, run.work)
        run.validation = validate_step(cfg, run.work)
        run.outputs = publish_step(cfg, run.work)
    return cfg.output
