"""OHID Fingertips indicator files (the "all data" CSV of one or more indicators) -> raw_fingertips.

The layout is fixed (LAYOUT, the columns of fingertips.phe.org.uk's "Download: all data" and the
fingertips_py/fingertipsR exports): every column must be in the header (any order, case and spacing
free); a missing one stops the run naming it. The file holds every area of the chosen area type and
their parents (region, England), so an area's rank among the areas in the file can be given.
Rows are checked in int_fingertips_checked (sql/seeds/quarantine_rules.csv).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.errors import InputError
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import (
    WHITESPACE,
    InputFile,
    header_key,
    inputs_to_load,
    is_header_row,
    no_header_row,
    trimmed_sql,
)
from pipeline.sources.registry import SourceKind

KIND = "fingertips"
ROLE = "fingertips"
LAYOUT = ("Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type",
          "Sex", "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit",
          "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note",
          "Recent Trend", "Compared to England value or percentiles", "Compared to percentiles",
          "Time period Sortable", "New data", "Compared to goal", "Time period range")
RAW_COLUMNS = {  # raw column -> file column: the columns the models read (the rest are checked, not stored)
    "indicator_id": "Indicator ID", "indicator_name": "Indicator Name", "parent_code": "Parent Code",
    "area_code": "Area Code", "area_name": "Area Name", "area_type": "Area Type", "sex": "Sex", "age": "Age",
    "category_type": "Category Type", "category": "Category", "time_period": "Time period", "value": "Value",
    "lower_ci_95": "Lower CI 95.0 limit", "upper_ci_95": "Upper CI 95.0 limit", "count": "Count",
    "denominator": "Denominator", "value_note": "Value note", "recent_trend": "Recent Trend",
    "compared_to_england": "Compared to England value or percentiles", "time_period_sortable": "Time period Sortable",
    "time_period_range": "Time period range",
}


def create_raw_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{c} varchar" for c in RAW_COLUMNS)
    con.execute(f"create table if not exists raw_fingertips (source_file varchar, source_row integer, {columns})")


def _positions(source: InputFile, header: list[str]) -> dict[str, int]:
    """File column -> header position; every LAYOUT column once, else an error naming it."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(header_key(name), []).append(i)
    found = {}
    for column in LAYOUT:
        where = positions.get(header_key(column), [])
        if not where:
            raise InputError(str(source.path), column, "an OHID Fingertips 'all data' file has the columns "
                             + ", ".join(LAYOUT), f"no such column ({describe_header_list(header)})")
        if len(where) > 1:
            raise InputError(str(source.path), column,
                             "each column of a Fingertips file must appear once in the header",
                             f"it {len(where)} times")
        found[column] = where[0]
    return found


def describe_header_list(header: list[str]) -> str:
    return "columns " + ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")


def ingest_fingertips(con: duckdb.DuckDBPyConnection, paths: list[Path],
                      seen: dict[tuple[str, str], InputFile] | None = None) -> list[InputFile]:
    """Load Fingertips files into raw_fingertips (every cell as text, trimmed; blanks null). A
    byte-identical copy of a file already read is listed (duplicate_of) but not loaded twice."""
    create_raw_table(con)
    files = []
    for source in inputs_to_load(paths, KIND, ROLE, {} if seen is None else seen, files):
        table = read_csv_text(source, header_hint="Indicator ID", con=con, keep=list(LAYOUT))
        try:
            if not is_header_row(table, LAYOUT):
                raise InputError(str(source.path), "Indicator ID",
                                 "a Fingertips file needs its header row (Indicator ID, "
                                 f"Indicator Name, ...): {no_header_row(table)}", "")
            positions = _positions(source, table.header)
            selected = ", ".join(f"{trimmed_sql('src.' + table.column(positions[column]))} as {raw}"
                                 for raw, column in RAW_COLUMNS.items())
            con.execute(f"insert into raw_fingertips by name select $source_file::varchar as source_file, "
                        f"src.source_row::integer as source_row, {selected} from {table.relation} as src",
                        {"source_file": str(source.path), "ws": WHITESPACE})
        finally:
            table.close()
        files.append(source)
    return files


def ingest_input(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    """One `inputs:` entry of kind fingertips (pipeline.sources.registry)."""
    return ingest_fingertips(con, spec.paths[ROLE], seen=seen)


SOURCE = SourceKind(
    name=KIND,
    display_name="OHID Fingertips indicators (open data)",
    rank=10,
    config_keys=("kind", "paths"),
    file_keys={"paths": ROLE},
    main_role=ROLE,
    create_raw_tables=create_raw_table,
    ingest=ingest_input,
    raw_tables=("raw_fingertips",),
    staging_models=("stg_fingertips",),
    checked_models=("int_fingertips_checked",),
)
