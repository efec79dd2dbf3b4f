"""Publishing a run's files: both tiers' tables (pipeline/publish/table_files.py), Excel packs (pipeline/publish/excel_pack.py),
headlines and reports, and run.json."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.narrative import sentences
from pipeline.publish import catalog, disclosure, disclosure_audit, funnel_chart, output_folders, spatial_outputs
from pipeline.publish.excel_pack import EXCEL_NAME, PUBLIC_EXCEL_NAME, write_excel
from pipeline.publish.table_files import in_schema, write_csv, write_tables
from pipeline.report import annual_report
from pipeline.report.report_tables import tier_scope
from pipeline.settings.config import RunConfig
from pipeline.transform import assessment

PUBLIC_DIR = "public"   # <output>/public/: the public tier (disclosure-controlled)
DISCLOSURE_LOG = "disclosure_log.csv"   # public/: which cells are suppressed; the restricted one beside it also says why


def write_manifest(out_dir: Path, cfg: RunConfig, run_id: str, files, timings: dict, started: datetime,
                   outcome: str, outputs: list[Path], validation: dict | None = None,
                   checks: dict | None = None) -> Path:
    manifest = {
        "run_id": run_id,
        "outcome": outcome,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "code_version": assessment.code_version(),
        "config_path": str(cfg.config_path),
        "config_hash": cfg.config_hash,
        "config": cfg.raw,
        "area": {"name": cfg.area_name, "code": cfg.area_code},
        "periods": {role: {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()}
                    for role, p in (("current", cfg.current), ("previous", cfg.previous))},
        "date_basis": cfg.date_basis,
        "inputs": [f.as_dict() for f in files],
        "validation": validation,
        "checks": checks,  # reconciliation totals and crimes by location method
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "outputs": sorted(str(p.relative_to(out_dir)) for p in outputs),
    }
    audit = out_dir / f"{disclosure_audit.TABLE}.csv"
    if audit.exists():   # the public tier's disclosure audit (pipeline/publish/disclosure_audit.py)
        manifest["disclosure_audit"] = disclosure_audit.summary_of_file(audit)
    path = out_dir / "run.json"
    path.write_text(json.dumps(manifest, indent=2, default=str))
    return path



@contextmanager
def timed(timings: dict | None, part: str) -> Iterator[None]:
    """Adds the block's seconds to timings["publish.<part>"] (run.json's timings_seconds), when given."""
    start = time.perf_counter()
    try:
        yield
    finally:
        if timings is not None:
            key = f"publish.{part}"
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def publish(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path, timings: dict | None = None) -> list[Path]:
    """Both tiers; the restricted one first, so a failure in the public tier never costs it: the public
    tier's folder and schema are removed and a PublicTierError (carrying the restricted outputs) is raised.
    `timings` (the run's) gets the seconds of its parts: tables (and headlines), public tier (suppression,
    its tables and headlines), excel, maps, report (both tiers each)."""
    tiers = cfg.tiers
    outputs = []
    if "restricted" in tiers:
        with timed(timings, "tables"):
            outputs += write_tables(con, out_dir)
            headlines = out_dir / "headlines.md"
            headlines.write_text(sentences.headlines_markdown(con, cfg.comparator_name, catalog.marking("restricted")))
        with timed(timings, "excel"):
            outputs.append(write_excel(con, out_dir, headlines=headlines.read_text()))
        outputs.append(headlines)
        with timed(timings, "maps"):
            outputs += spatial_outputs.write_spatial_outputs(con, cfg, out_dir)
            outputs += funnel_chart.write_funnel_charts(con, out_dir / "maps")
        with timed(timings, "report"):
            outputs.append(annual_report.write_report(con, cfg, out_dir / annual_report.REPORT_NAME))
    if "public" in tiers:
        try:
            outputs += publish_public(con, cfg, out_dir, timings)
        except Exception as exc:
            _remove_public_tier(con, out_dir)
            failure = exc if isinstance(exc, disclosure.PublicTierError) else disclosure.PublicTierError(
                "(writing the public files)", "-", f"{type(exc).__name__}: {exc}")
            failure.outputs = outputs
            if failure is exc:
                raise
            raise failure from exc
    return outputs


def _remove_public_tier(con: duckdb.DuckDBPyConnection, out_dir: Path) -> None:
    """A half-written public tier is never left: its folder (inside this run's staging folder, which svna
    made) and its schema go, and so does the restricted disclosure log written with it."""
    import shutil

    shutil.rmtree(out_dir / PUBLIC_DIR, ignore_errors=True)
    (out_dir / DISCLOSURE_LOG).unlink(missing_ok=True)
    con.execute(f"drop schema if exists {disclosure.SCHEMA} cascade")
    con.execute(f"drop table if exists main.{disclosure.LOG_TABLE}")


def publish_public(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path, timings: dict | None = None
                   ) -> list[Path]:
    """<output>/public/: the public schema's tables, disclosure_log.csv (which cells are suppressed), the
    public data pack, headlines and report; <output>/disclosure_log.csv (restricted) adds each cell's
    rule. No maps or GeoPackage (point and fine-grid data are not published)."""
    with timed(timings, "public_tier"):
        counts = disclosure.build_public_schema(con, cfg.disclosure)
        print(f"Public tier: {disclosure.summary(counts)}")
        public = out_dir / PUBLIC_DIR
        public.mkdir(parents=True, exist_ok=True)
        outputs = write_disclosure_logs(con, out_dir)
        # the audit's ranges beside the restricted tables (not in public/): run.json carries its summary
        outputs.append(write_csv(con, disclosure_audit.TABLE, out_dir / f"{disclosure_audit.TABLE}.csv"))
        suppressed = {tuple(r) for r in con.execute(
            f"select table_name, row_key, column_name from {disclosure.SCHEMA}.{disclosure.LOG_TABLE}").fetchall()}
    with in_schema(con, disclosure.SCHEMA):
        with timed(timings, "public_tier"):
            outputs += write_tables(con, public, names=disclosure.public_tables(con))
            headlines = public / "headlines.md"
            with tier_scope(con, disclosure.SCHEMA):   # no sentence may read a restricted table
                headlines.write_text(sentences.headlines_markdown(con, cfg.comparator_name, catalog.marking("public")))
        outputs.append(headlines)
        with timed(timings, "excel"):
            outputs.append(write_excel(con, public, name=PUBLIC_EXCEL_NAME, tier="public",
                                       names=disclosure.public_tables(con), headlines=headlines.read_text(),
                                       suppressed=suppressed))
    with timed(timings, "report"):
        outputs.append(annual_report.write_report(con, cfg, public / annual_report.REPORT_NAME, tier="public",
                                                  schema=disclosure.SCHEMA))
    return outputs


def write_disclosure_logs(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """The two disclosure logs through the tables' safe CSV writer (a name starting with = is text, not a
    formula): <output>/disclosure_log.csv with each cell's rule (restricted) and public/disclosure_log.csv
    with which cells only."""
    (out_dir / PUBLIC_DIR).mkdir(parents=True, exist_ok=True)
    restricted = write_csv(con, disclosure.LOG_TABLE, out_dir / DISCLOSURE_LOG)
    with in_schema(con, disclosure.SCHEMA):
        return [restricted, write_csv(con, disclosure.LOG_TABLE, out_dir / PUBLIC_DIR / DISCLOSURE_LOG)]


def copy_reports(output: Path, reports: Path, run_id: str | None = None) -> None:
    """Mirror the human-facing outputs (data pack, report, headlines, maps) into reports/ for readers; like the
    output folder, reports/ is built beside it and replaces only a folder svna wrote."""
    import shutil

    with output_folders.output_lock(reports):
        work = output_folders.staging_dir(reports, run_id, key="reports")
        try:
            for name in (EXCEL_NAME, annual_report.REPORT_NAME, "headlines.md", "maps", PUBLIC_DIR):
                source = output / name
                if source.is_dir():
                    shutil.copytree(source, work / name)
                elif source.exists():
                    shutil.copy2(source, work / name)
        except BaseException:
            output_folders.discard(work)
            raise
        output_folders.swap_into_place(work, reports, key="reports")
