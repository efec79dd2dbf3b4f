"""The monthly refresh's persistent warehouse (DESIGN §12): every refresh kept, keyed by area, refresh
month, extract and run id. A refresh whose inputs (file checksums), month and settings match one already
there adds nothing; a refresh of the same month from a newer extract supersedes the older one."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipeline.settings.config import RunConfig
from pipeline.settings.config_sections import MonthlySettings
from pipeline.transform import assessment, db

PUBLISHED = "published"
UNCHANGED = "unchanged"
SUPERSEDED = "superseded"   # recorded in the warehouse, but an extract newer than it is already published


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


def record_refresh(con: duckdb.DuckDBPyConnection, cfg: RunConfig, month: date, settings: MonthlySettings,
                   run_id: str, started: datetime) -> tuple[str, str]:
    """Write the refresh built in `con` (its run and report variables set) into the warehouse in one
    transaction; returns (status, run_id).

    UNCHANGED (and the existing run id) when the same inputs were already refreshed for this month;
    SUPERSEDED when an extract newer than this one is already the month's current refresh.
    """
    area = warehouse_area_key(cfg)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    digest = inputs_hash(con, cfg, month, settings)
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
    db.run_models(con, select=["mth_revisions"], layers=db.LAYER_ORDER)   # its key checked, as every model's
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
