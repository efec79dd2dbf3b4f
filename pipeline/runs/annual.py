"""The annual assessment as five steps (STEPS), each opening the run's DuckDB file in the work folder by path.

flows/annual_assessment.py runs them as Prefect tasks inside `output_transaction`; `run_annual`
runs the same list without Prefect (tests, benchmarks, scripting). Outputs are built in `<output>.partial` and
swapped into place only when every step has succeeded, so a failed run leaves the last good outputs.
"""

from __future__ import annotations

import faulthandler
import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.checks import gates, validation
from pipeline.publish import disclosure, output_folders, run_files
from pipeline.report import provenance
from pipeline.runs import run_record
from pipeline.runs.steps import Step, run_steps
from pipeline.settings.config import RunConfig
from pipeline.sources import registry
from pipeline.sources.files import InputFile
from pipeline.transform import assessment, db

# The heavy libraries of the later steps, imported on a background thread while this one is busy in
# DuckDB or waiting for Prefect's server (both leave the GIL free), so a step finds them loaded instead
# of paying for them in line (Great Expectations alone takes 2 s or more). Stages run one after
# another (a stage's thread first waits for the one before), and a step awaits the stage it imports
# from before it starts, so two threads never import the same modules at the same time.
STATS_IMPORTS = ("scipy.stats",)                       # the build: the significance tests, every run
GEO_IMPORTS = ("geopandas", "esda.getisord")           # the build: reference files, Gi* (runs with geography)
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


def warm_imports(*stages: tuple[str, ...]) -> None:
    """Start importing each stage's names on a background thread (once per stage and process), each
    stage after the ones started before it."""
    for names in stages:
        if names not in _warming and not all(n in sys.modules for n in names):
            before = list(_warming.values())
            _warming[names] = threading.Thread(target=_import_after, args=(before, names), name="svna-imports",
                                               daemon=True)
            _warming[names].start()


def _import_after(before: list[threading.Thread], names: tuple[str, ...]) -> None:
    for thread in before:
        thread.join()
    _import_all(names)


def await_imports(names: tuple[str, ...]) -> None:
    thread = _warming.get(names)
    if thread is not None:
        thread.join()


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
    timings: dict[str, float] = field(default_factory=dict)   # step -> seconds

    @property
    def database(self) -> Path:
        return self.work / assessment.DB_NAME


def has_geography(cfg: RunConfig) -> bool:
    """Whether the run reads boundaries or places rows on the map (geopandas, esda): not a count-only run
    (count files, no reference data), which never imports them."""
    return bool(cfg.reference) or any(kind.located for kind in registry.in_run(cfg))


def warm_run_imports(cfg: RunConfig | None = None) -> None:
    """Start the imports of a run's later steps, stage after stage (see STATS_IMPORTS); the geographic
    ones only if the run (when known) has geography."""
    geography = cfg is None or has_geography(cfg)
    warm_imports(STATS_IMPORTS, *([GEO_IMPORTS] if geography else []), PUBLISH_IMPORTS)


def await_build_imports(cfg: RunConfig) -> None:
    """Wait for what the build imports: scipy.stats always, geopandas and esda with geography."""
    await_imports(STATS_IMPORTS)
    if has_geography(cfg):
        await_imports(GEO_IMPORTS)


def ingest_step(run: Run) -> list[InputFile]:
    warm_run_imports(run.cfg)
    with db.connect(run.database, settings=run.cfg.duckdb) as con:
        return assessment.ingest(con, run.cfg)


def build_step(run: Run) -> list[str]:
    await_build_imports(run.cfg)
    with db.connect(run.database, settings=run.cfg.duckdb) as con:
        return assessment.build(con, run.cfg, run.run_id)


def check_step(run: Run) -> dict:
    """The gates that stop a run (pipeline.checks.gates); returns the reconciliation totals and the crimes
    placed by each location method (aggregates only)."""
    with db.connect(run.database, settings=run.cfg.duckdb) as con:
        gates.check_inputs(con, run.cfg)
        # run.json's checks.extracts: each extract's file name and date, as the report names them
        return {**gates.run_totals(con), "extracts": provenance.extracts_used(con)}


def validate_step(run: Run) -> dict:
    """Great Expectations suites over the built tables; Data Docs go to <work>/validation."""
    await_imports(PUBLISH_IMPORTS)
    with db.connect(run.database, settings=run.cfg.duckdb) as con:
        return validation.validate(con, run.cfg, run.work)


def publish_step(run: Run) -> list[Path]:
    with db.connect(run.database, settings=run.cfg.duckdb) as con:
        return run_files.publish(con, run.cfg, run.work, run.timings) + [run.database]


def _read_files(run: Run, files: list[InputFile]) -> str:
    return f"Read {len(files)} input file(s), {sum(f.rows_read for f in files):,} rows"


def _checked(run: Run, totals: dict) -> str:
    line = ("Reconciled: {rows_in:,} rows in = {rows_loaded:,} loaded + {rows_superseded:,} superseded + "
            "{rows_quarantined:,} quarantined").format(**totals)
    if totals["location_methods"]:
        line += "\nLocated: " + ", ".join(f"{m['crimes']:,} {m['method']} ({m['pct']}%)" for m in totals["location_methods"])
    return line


INGEST_STEP = Step("ingest", "ingest-inputs", ingest_step, keep="files", retry_on_io_error=True, summary=_read_files)
# The run from its inputs to the checked marts: the annual run's first steps, and each multi-area unit.
BUILD_STEPS = (
    INGEST_STEP,
    Step("build", "build-models", build_step,
         summary=lambda run, models: f"Built {len(models)} SQL models (staging -> intermediate -> marts)"),
    Step("check", "check-inputs", check_step, keep="checks", summary=_checked),
)
STEPS = BUILD_STEPS + (
    Step("validate", "validate-outputs", validate_step, keep="validation",
         summary=lambda run, s: f"Great Expectations: {len(s['suites'])} suites passed (suite version {s['suite_version']})"),
    Step("publish", "publish-outputs", publish_step, keep="outputs",
         summary=lambda run, outputs: f"Wrote {len(outputs)} output files"),
)


@contextmanager
def output_transaction(cfg: RunConfig, run_id: str | None = None, kind: type[Run] = Run, **fields) -> Iterator[Run]:
    """Build the run in `<output>.partial` and swap it in only when every step has succeeded (then the
    manifest is written and reports/ mirrored); on any failure the half-built folder is discarded and
    the last good outputs stay. Refuses, before any work, a folder svna did not write. Yields a `kind`
    (Run, or a run kind's own subclass with `fields`)."""
    enable_crash_stacks()
    output_folders.check_targets(cfg)
    run_record.output(cfg.output)
    with output_folders.output_lock(cfg.output):
        run = kind(cfg, run_id or assessment.new_run_id(), Path(), **fields)
        run.work = output_folders.staging_dir(cfg.output, run.run_id)
        public_failure = None
        try:
            try:
                yield run
                outcome = "success"
            except disclosure.PublicTierError as exc:
                # the restricted tier is complete and kept; the public one was removed (run_files.publish)
                public_failure, outcome = exc, f"restricted tier only: {exc}"
                run.outputs = exc.outputs or [p for p in run.work.rglob("*") if p.is_file()]
            run_files.write_manifest(run.work, cfg, run.run_id, run.files, run.timings, run.started, outcome,
                                   run.outputs, run.validation, run.checks)
        except BaseException:
            output_folders.discard(run.work)
            raise
        output_folders.swap_into_place(run.work, cfg.output)
        run_record.published(cfg.output)
        if cfg.reports:
            run_files.copy_reports(cfg.output, cfg.reports, run.run_id)
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
    """The annual assessment end to end without Prefect (tests, benchmarks, scripting): STEPS, as
    flows/annual_assessment.py runs them. Returns the output folder."""
    with output_transaction(cfg, run_id) as run:
        run_steps(STEPS, run)
    return cfg.output
