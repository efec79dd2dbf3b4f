"""London Datastore "MPS Borough/Ward Level Crime" wide files -> raw_mps_counts (long).

Both classifications are read: 2010-2023 (Title Case, `LookUp_BoroughName`) and 2024+ (UPPER CASE,
`BoroughName`); ward files add `WardName, WardCode`. Month columns are `YYYYMM`.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from pipeline.checks import validation_suites
from pipeline.errors import InputError
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import (
    InputFile,
    Table,
    describe_header,
    is_header_row,
    no_header_row,
    open_input,
    repeat_of,
)
from pipeline.sources.registry import Coverage, SourceKind

MONTH_COLUMN = re.compile(r"^\d{6}$")
BOROUGH_COLUMNS = ("LookUp_BoroughName", "BoroughName")
RAW_COLUMNS = ("source_file", "source_row", "extract_date", "area_level", "borough_name", "ward_code",
               "ward_name", "major_text", "minor_text", "month", "count")


def create_raw_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{c} {'integer' if c == 'source_row' else 'varchar'}" for c in RAW_COLUMNS)
    con.execute(f"create table if not exists raw_mps_counts ({columns})")


def extract_date_of(path: Path, months: list[str]) -> str:
    """The extract date in the file name (`extract2023-08`), else the last month the file covers."""
    match = re.search(r"extract(\d{4})-(\d{2})", path.name)
    if match:
        if not 1 <= int(match.group(2)) <= 12:
            raise InputError(str(path), "file name", "the extract date in the file name must be extractYYYY-MM",
                             f"extract{match.group(1)}-{match.group(2)}")
        return f"{match.group(1)}-{match.group(2)}-01"
    last = max(months)
    return f"{last[:4]}-{last[4:]}-01"


def read_mps_file(source: InputFile, con: duckdb.DuckDBPyConnection | None = None) -> tuple[str, dict, Table]:
    """Read one wide count file with DuckDB; returns the `select` (and its parameters) that unpivots
    it to raw_mps_counts' columns, one row per area x category x month cell, and the Table it reads
    (close it once the rows are inserted)."""
    table = read_csv_text(source, header_hint="MajorText", con=con)
    try:
        sql, params = _unpivot_sql(source, table)
    except BaseException:
        table.close()
        raise
    return sql, params, table


def _unpivot_sql(source: InputFile, table: Table) -> tuple[str, dict]:
    header = table.header
    if not is_header_row(table, ("MajorText", "MinorText", "WardCode", "WardName") + BOROUGH_COLUMNS):
        raise InputError(str(source.path), "MajorText", "an MPS count file needs a header row naming MajorText, "
                         f"MinorText, a borough column and YYYYMM month columns: {no_header_row(table)}", "")
    shown = describe_header(table)
    repeated = sorted({c for c in header if header.count(c) > 1 and c})
    if repeated:
        raise InputError(str(source.path), repeated[0], "each column of an MPS count file must appear once in the header",
                         f"{len(repeated)} repeated column name(s)", examples=repeated)
    borough = next((c for c in BOROUGH_COLUMNS if c in header), None)
    for column in ("MajorText", "MinorText"):
        if column not in header:
            raise InputError(str(source.path), column, "an MPS count file needs MajorText, MinorText and a borough column",
                             shown)
    if borough is None:
        raise InputError(str(source.path), "LookUp_BoroughName", "an MPS count file needs a borough column "
                         "(LookUp_BoroughName or BoroughName)", shown)
    months = [c for c in header if MONTH_COLUMN.match(c)]
    if not months:
        raise InputError(str(source.path), "YYYYMM", "an MPS count file needs month columns named YYYYMM",
                         shown)
    bad_months = [m for m in months if not 1 <= int(m[4:]) <= 12 or not 2000 <= int(m[:4]) <= 2100]
    if bad_months:
        raise InputError(str(source.path), bad_months[0], "month columns must be real months written YYYYMM",
                         f"{len(bad_months)} impossible month column(s)", examples=bad_months)
    level = "ward" if "WardCode" in header else "borough"
    month_columns = {table.column(header.index(m)): m for m in months}
    # the month column names travel as data (two bound lists, joined by cell), never as SQL text
    params = {"source_file": str(source.path), "extract_date": extract_date_of(source.path, months),
              "area_level": level, "cells": list(month_columns), "months": list(month_columns.values())}
    ids = {"borough_name": table.column(header.index(borough)),
           "major_text": table.column(header.index("MajorText")),
           "minor_text": table.column(header.index("MinorText")),
           "ward_code": table.column(header.index("WardCode")) if level == "ward" else None,
           "ward_name": table.column(header.index("WardName")) if level == "ward" else None}
    id_columns = ", ".join(f"coalesce({c}, '') as {name}" if c else f"null::varchar as {name}" for name, c in ids.items())
    cells = ", ".join(month_columns)
    sql = f"""
        with wide as (
            select source_row, {id_columns}, {cells} from {table.relation}
        ),

        long as (
            select * from wide unpivot include nulls (count for cell in ({cells}))
        ),

        months as (
            select unnest($cells::varchar[]) as cell, unnest($months::varchar[]) as month
        ),

        final as (
            select $source_file::varchar as source_file, long.source_row::integer as source_row,
                   $extract_date::varchar as extract_date, $area_level::varchar as area_level,
                   borough_name, ward_code, ward_name, major_text, minor_text, months.month,
                   coalesce(long.count, '') as count
            from long join months using (cell)
        )

        select * from final
        """
    source.rows_read = table.count() * len(months) + len(source.malformed)  # reconciled per month cell; a malformed line counts once
    return sql, params


def ingest_mps_counts(con: duckdb.DuckDBPyConnection, paths: list[Path],
                      seen: dict[tuple[str, str], InputFile] | None = None,
                      times_listed: dict[tuple[str, Path], int] | None = None) -> list[InputFile]:
    """Load count files into raw_mps_counts. A file already read in this run (`seen`: (role, sha256) ->
    input) is not loaded twice: a byte-identical copy is recorded in the lineage (duplicate_of), the
    same path again only counts in the first's `times_listed` (`times_listed`: from the run config)."""
    create_raw_table(con)
    seen = {} if seen is None else seen
    files = []
    for path in paths:
        source = open_input(path, "mps_counts", "counts")
        source.times_listed = (times_listed or {}).get(("counts", path), 1)
        if repeat_of(seen, source) is not None:
            if source.duplicate_of:
                files.append(source)
            continue
        sql, params, table = read_mps_file(source, con)
        try:
            con.execute(f"insert into raw_mps_counts by name {sql}", params)
        finally:
            table.close()
        files.append(source)
    return files


def ingest_input(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    """One `inputs:` entry of kind mps_counts (pipeline.sources.registry)."""
    return ingest_mps_counts(con, spec.paths["counts"], seen=seen, times_listed=spec.times_listed)


def check_comparator_coverage(con: duckdb.DuckDBPyConnection, cfg, needed: set[str], span: str) -> None:
    """The comparator is the sum over every area of the borough-level count files: a month no file
    covers would silently drop a month from the force total. Superseding is per area and month
    (int_mps_counts_current), so a month missing from the newest file but in an older one is covered."""
    if not cfg.comparator_name:
        return
    files = [row[0] for row in con.execute(
        "select distinct source_file from int_mps_counts_checked where area_level = 'borough' order by 1").fetchall()]
    if not files:
        return  # ward-level files only: no comparator total is computed
    present = {row[0] for row in con.execute(
        "select distinct strftime(month_start, '%Y-%m') from int_mps_counts_current where area_level = 'borough'").fetchall()}
    missing = sorted(needed - present)
    if missing:
        raise InputError(", ".join(Path(f).name for f in files), "YYYYMM columns",
                         f"the MPS count files give the comparator ({cfg.comparator_name}) and must cover every month "
                         f"of {span}",
                         f"{len(missing)} month(s) with no valid counts in any borough-level file", examples=missing)


def ward_rows_found(con: duckdb.DuckDBPyConnection, cfg) -> str | None:
    """When no input has rows for the area: ward-level rows alone cannot give the area's totals."""
    ward_rows = con.execute("select count(*) from int_mps_counts_current where area_level = 'ward' "
                            "and lower(borough_name) = lower(?)", [cfg.area_name]).fetchone()[0]
    return (f"only ward-level rows ({ward_rows:,}): the area's totals come from a borough-level file "
            "(MPS_Borough_Level_Crime_*.csv); add one") if ward_rows else None


SOURCE = SourceKind(
    name="mps_counts",
    display_name="MPS recorded crime by ward (London Datastore)",
    rank=1,
    config_keys=("kind", "paths"),
    file_keys={"paths": "counts"},
    main_role="counts",
    create_raw_tables=create_raw_table,
    ingest=ingest_input,
    raw_tables=("raw_mps_counts",),
    staging_models=("stg_mps_counts",),
    checked_models=("int_mps_counts_checked",),
    coverage=Coverage("select distinct strftime(month_start, '%Y-%m') from int_mps_counts_current "
                      "where area_level = 'borough' and lower(borough_name) = lower($area)",
                      "YYYYMM columns", comparator_only=True, extra=check_comparator_coverage,
                      found_without_area=ward_rows_found),
    monthly_files="MPS count files",
    suites=validation_suites.mps_counts_suites,
)
