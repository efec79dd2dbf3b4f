"""London Datastore "MPS Borough/Ward Level Crime" wide files -> raw_mps_counts (long).

Both classifications are read: 2010-2023 (Title Case, `LookUp_BoroughName`) and 2024+ (UPPER CASE,
`BoroughName`); ward files add `WardName, WardCode`. Month columns are `YYYYMM`.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.errors import InputError
from pipeline.sources.files import (
    InputFile,
    describe_header,
    is_header_row,
    no_header_row,
    open_input,
    read_csv_text,
    repeat_of,
)

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


def read_mps_file(source: InputFile) -> pd.DataFrame:
    table = read_csv_text(source, header_hint="MajorText")
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
    wide = pd.DataFrame(table.rows, columns=header, dtype="object")
    wide["source_row"] = table.lines
    ids = {"source_row": "source_row", borough: "borough_name", "MajorText": "major_text", "MinorText": "minor_text"}
    if level == "ward":
        ids.update({"WardCode": "ward_code", "WardName": "ward_name"})
    long = wide.melt(id_vars=list(ids), value_vars=months, var_name="month", value_name="count").rename(columns=ids)
    source.rows_read = len(long) + len(source.malformed)  # reconciled per month cell; a malformed line counts once
    long["source_file"] = str(source.path)
    long["extract_date"] = extract_date_of(source.path, months)
    long["area_level"] = level
    for column in RAW_COLUMNS:
        if column not in long:
            long[column] = None
    return long[list(RAW_COLUMNS)]


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
        frame = read_mps_file(source)
        con.register("incoming", frame)
        con.execute("insert into raw_mps_counts by name select * from incoming")
        con.unregister("incoming")
        files.append(source)
    return files
