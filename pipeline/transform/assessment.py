"""The annual assessment as plain functions: ingest, build, check, publish.

The Prefect flow in flows/ only orchestrates these; each is callable on its own (and in tests).
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, date, datetime

import duckdb

from pipeline import __version__
from pipeline.reference import analysis_reference, areas, reference_tables
from pipeline.settings.config import PROJECT_ROOT, RunConfig
from pipeline.sources import registry
from pipeline.sources.files import InputFile
from pipeline.transform import db

DB_NAME = "svna.duckdb"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def code_version() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"svna {__version__}" + (f" ({sha})" if sha else "")


def ingest(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> list[InputFile]:
    """Read every input into raw tables; record lineage (audit_inputs) and malformed lines (raw_rejects).

    A file is read once per role however often the config names it (audit_inputs.times_listed); a
    byte-identical copy under another name is listed in audit_inputs (duplicate_of) but never loaded. Malformed lines keep their line number, rule and a detail such as a field count,
    never the raw text (it may hold personal data).
    """
    kinds = registry.kinds()
    for kind in kinds.values():  # every kind's, so that every SQL model runs whichever inputs a run has
        kind.create_raw_tables(con)
    con.execute("create table if not exists raw_rejects (source_file varchar, source_row integer, "
                "input_table varchar, rule varchar, detail varchar)")
    files: list[InputFile] = []
    seen: dict[tuple[str, str], InputFile] = {}
    for spec in cfg.inputs:
        files += kinds[spec.kind].ingest(con, spec, cfg, seen)
    con.execute("create or replace table audit_inputs (path varchar, kind varchar, role varchar, size bigint, "
                "sha256 varchar, encoding varchar, rows_read bigint, rows_malformed bigint, duplicate_of varchar, "
                "times_listed integer)")
    for f in files:
        con.execute("insert into audit_inputs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [str(f.path), f.kind, f.role, f.size, f.sha256, f.encoding, f.rows_read, len(f.malformed),
                     f.duplicate_of, f.times_listed])
        for line, rule, detail in f.malformed:
            con.execute("insert into raw_rejects values (?, ?, ?, ?, ?)", [str(f.path), line, f.role, rule, detail])
    return files


def build(con: duckdb.DuckDBPyConnection, cfg: RunConfig, run_id: str, select: list[str] | None = None) -> list[str]:
    """Seeds, macros, run parameters and every SQL model, staging -> intermediate -> marts (or only
    `select` and the models they read); the models of input kinds the run has none of are left empty."""
    prepare(con, cfg, run_id)
    present = {spec.kind for spec in cfg.inputs}
    absent = {m for kind in registry.kinds().values() if kind.name not in present for m in kind.staging_models}
    return db.run_models(con, select=select, upstream=True, absent=absent)


def run_variables(cfg: RunConfig, run_id: str) -> dict:
    """The run's parameters as the SQL models read them (getvariable), for every kind of run."""
    return {
        "run_id": run_id, "area_name": cfg.area_name, "area_code": cfg.area_code,
        "comparator_name": cfg.comparator_name, "date_basis": cfg.date_basis,
        "significance_alpha": cfg.significance_alpha, "significance_min_total": cfg.significance_min_total,
        "current_days": (cfg.current.end - cfg.current.start).days + 1,
        "previous_days": (cfg.previous.end - cfg.previous.start).days + 1,
        "run_date": date.today(),  # a recorded date after it is quarantined (future_recorded_date)
    }


def prepare(con: duckdb.DuckDBPyConnection, cfg: RunConfig, run_id: str, reference: bool = True) -> None:
    """What the models read besides the raw tables: seeds, macros, run variables, periods and (unless
    `reference` is false, reusing tables already loaded) the reference tables."""
    db.load_seeds(con)
    db.load_macros(con)
    db.set_variables(con, run_variables(cfg, run_id))
    con.execute("create or replace table periods (period_role varchar, period_label varchar, period_start date, period_end date)")
    for role, period in (("current", cfg.current), ("previous", cfg.previous)):
        con.execute("insert into periods values (?, ?, ?, ?)", [role, period.label, period.start, period.end])
    if reference:
        reference_tables.load_reference(con, cfg)
        analysis_reference.load_analysis_reference(con, cfg)
        areas.load_area_reference(con, cfg)
