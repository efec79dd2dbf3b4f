"""data.police.uk street-level crime CSVs -> raw_police_uk, read by DuckDB (never row by row in Python).

The files have one fixed layout (LAYOUT). Every file's header is checked first; then all files are read
by ONE `read_csv` over the list of paths (a bound parameter, never pasted into the SQL), every column as
text, malformed lines into DuckDB's reject tables. `Location` ("On or near ...") and `Context` are free
text and never loaded (nor are the columns no model reads): they are not in the select list, and the reject tables (which hold the raw line)
are reduced to file, line and error type, then dropped.

Line numbers: DuckDB keeps the scan order (preserve_insertion_order) but does not give a CSV row its
line. A record's line is recovered (in stg_police_uk) from its position in the file (raw_police_uk's
rowid) and the lines DuckDB skipped before it (rejected lines, from the reject table; blank lines,
found in the bytes). This is exact when every
record is one physical line, as in every data.police.uk file; a quoted field holding a line break makes
rows_read (physical lines) differ from the rows DuckDB read, and the run's reconciliation then stops.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb

from pipeline.errors import InputError
from pipeline.sources.files import InputFile, header_key
from pipeline.sources.registry import Coverage, SourceKind

KIND = "police_uk"
ROLE = "crimes"
LAYOUT = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
          "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
FREE_TEXT = ("Location", "Context")  # never loaded
RAW_COLUMNS = {  # raw column -> file column; Reported by, LSOA name and Last outcome category are not loaded:
    # nothing reads them, and on millions of rows each column written costs (the file's sha256 is its record)
    "crime_id": "Crime ID", "month": "Month", "falls_within": "Falls within", "longitude": "Longitude",
    "latitude": "Latitude", "lsoa_code": "LSOA code", "crime_type": "Crime type",
}
BLANK_LINE = re.compile(rb"\n(?=\r?\n|\r?$)")  # a line break followed by an empty line


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """raw_police_uk holds the rows in read order (its rowid); raw_police_uk_files where each file's rows
    start, raw_police_uk_skipped the lines DuckDB did not return as rows (rejected or blank), so that
    stg_police_uk can give every row its line number without another copy of the rows."""
    columns = ", ".join(f"{c} varchar" for c in RAW_COLUMNS)
    # rows carry a file number, not the path: a path on each of millions of rows costs more than the row
    con.execute(f"create table if not exists raw_police_uk (file_id integer, {columns})")
    con.execute("create table if not exists raw_police_uk_files (file_id integer, source_file varchar, "
                "first_rowid bigint, rows bigint)")
    con.execute("create table if not exists raw_police_uk_skipped (file_id integer, line bigint)")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _inspect(path: Path) -> tuple[InputFile, list[int]]:
    """Lineage (sha256, size), the physical data lines (rows_read) and the blank lines of one file;
    the header must be the data.police.uk layout."""
    if not path.exists():
        raise InputError(str(path), "-", "input file must exist", "file not found")
    data = path.read_bytes()
    if not data:
        raise InputError(str(path), "-", "file must not be empty", "0 bytes")
    first_end = data.find(b"\n")
    header_line = (data if first_end < 0 else data[:first_end]).decode("utf-8-sig", errors="replace").rstrip("\r")
    header = [c.strip().strip('"') for c in header_line.split(",")]
    if [header_key(c) for c in header] != [header_key(c) for c in LAYOUT]:
        wrong = next((i for i, c in enumerate(LAYOUT) if i >= len(header) or header_key(header[i]) != header_key(c)),
                     len(LAYOUT))
        column = LAYOUT[wrong] if wrong < len(LAYOUT) else f"column {wrong + 1}"
        found = header[wrong] if wrong < len(header) else "no such column"
        raise InputError(str(path), column, "a data.police.uk street file has the columns " + ", ".join(LAYOUT),
                         f"column {wrong + 1} is {found!r}")
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    # blank lines (line numbers, 1-based) other than the file's end: DuckDB skips them (searched for
    # only in a file that has one: most have none)
    blank = ([data.count(b"\n", 0, m.start()) + 2 for m in BLANK_LINE.finditer(data)]
             if b"\n\n" in data or b"\n\r\n" in data else [])
    blank = [n for n in blank if n <= lines]
    source = InputFile(path=path, kind=KIND, role=ROLE, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                       encoding="utf-8", rows_read=lines - 1 - len(blank))
    if source.rows_read <= 0:
        raise InputError(str(path), "-", "the file must have data rows below its header", "a header only")
    return source, blank


def ingest_police_uk(con: duckdb.DuckDBPyConnection, paths: list[Path],
                     seen: dict[tuple[str, str], str] | None = None) -> list[InputFile]:
    """Load street-level files into raw_police_uk; malformed lines become `malformed` entries of their
    InputFile (written to raw_rejects by assessment.ingest). A byte-identical copy of a file already
    read (`seen`: (role, sha256) -> path) is listed but not loaded twice."""
    create_raw_tables(con)
    seen = {} if seen is None else seen
    files: list[InputFile] = []
    to_read: list[InputFile] = []
    skipped: list[tuple[str, int]] = []  # (file, line) of blank lines
    for path in paths:
        source, blank = _inspect(path)
        first = seen.setdefault((source.role, source.sha256), str(path))
        files.append(source)
        if first != str(path):
            source.duplicate_of = first
            continue
        to_read.append(source)
        skipped += [(str(path), n) for n in blank]
    if not to_read:
        return files

    names = [str(f.path) for f in to_read]
    offset = con.execute("select count(*) from raw_police_uk_files").fetchone()[0]
    file_ids = {name: offset + i for i, name in enumerate(names)}  # read_csv's file_index follows the list
    columns = "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'varchar'" for c in LAYOUT) + "}"
    select = ", ".join(f"{_quote(col)} as {raw}" for raw, col in RAW_COLUMNS.items())
    for table in ("police_uk_rejects", "police_uk_reject_scans"):
        con.execute(f"drop table if exists {table}")
    try:
        con.execute(f"""
            insert into raw_police_uk
            select cast(file_index as integer) + ? as file_id, {select}
            from read_csv(?, columns = {columns}, header = true, auto_detect = false, delim = ',', quote = '"',
                          escape = '"', encoding = 'utf-8', filename = true, null_padding = false,
                          store_rejects = true, rejects_table = 'police_uk_rejects',
                          rejects_scan = 'police_uk_reject_scans')""", [offset, names])
        # one row per rejected line (DuckDB writes one per missing column): file, line, error - never the text
        rejected = con.execute("""
            select scans.file_path, rejects.line, min(rejects.error_type) as error_type,
                   min(try_cast(regexp_extract(rejects.error_message, 'Found: ([0-9]+)', 1) as integer))
                       as fields
            from police_uk_rejects as rejects
            join police_uk_reject_scans as scans using (scan_id, file_id)
            group by all order by 1, 2""").fetchall()
    except duckdb.Error as exc:
        raise InputError(", ".join(p.name for p in (f.path for f in to_read))[:300], "-",
                         "data.police.uk files must be readable UTF-8 CSV", str(exc).splitlines()[0]) from None
    finally:
        for table in ("police_uk_rejects", "police_uk_reject_scans"):
            con.execute(f"drop table if exists {table}")

    by_path = {str(f.path): f for f in to_read}
    for file_path, line, error_type, fields in rejected:
        rule = {"MISSING COLUMNS": "too_few_columns", "TOO MANY COLUMNS": "too_many_columns",
                "INVALID ENCODING": "invalid_encoding"}.get(error_type, "malformed_line")
        detail = f"{fields} fields; the header has {len(LAYOUT)}" if rule.startswith("too_") else error_type.lower()
        by_path[file_path].malformed.append((int(line), rule, detail))
        skipped.append((file_path, int(line)))

    # Every physical line must be one record: a quote that never closes makes DuckDB read the following
    # line(s) into one field, which would lose rows (files.py stops on the same case). Rows of one file
    # must also be contiguous in read order (DuckDB keeps it: preserve_insertion_order).
    spans = {f: (first, last, n) for f, first, last, n in con.execute(
        "select file_id, min(rowid), max(rowid), count(*) from raw_police_uk where file_id >= ? group by all",
        [offset]).fetchall()}
    for f in to_read:
        first, last, accepted = spans.get(file_ids[str(f.path)], (None, None, 0))
        got = accepted + len(f.malformed)
        if got != f.rows_read:
            lines = sorted(line for line, _, _ in f.malformed)
            raise InputError(str(f.path), "-", "every record of a data.police.uk file is one line and every quoted "
                             "field is closed (a stray \" makes the following lines part of one field)",
                             f"{f.rows_read} data lines but {got} records read", examples=[f"line {n}" for n in lines[:5]])
        if accepted and last - first + 1 != accepted:
            raise RuntimeError(f"DuckDB did not keep the read order of {f.path}: line numbers cannot be given")
    con.executemany("insert into raw_police_uk_files values (?, ?, ?, ?)",
                    [(file_ids[name], name, *(spans[file_ids[name]][0::2] if file_ids[name] in spans else (None, 0)))
                     for name in names])
    if skipped:
        con.executemany("insert into raw_police_uk_skipped values (?, ?)", [(file_ids[f], n) for f, n in skipped])
    return files


def ingest_input(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    """One `inputs:` entry of kind police_uk (pipeline.sources.registry)."""
    return ingest_police_uk(con, spec.paths[ROLE], seen=seen)


SOURCE = SourceKind(
    name=KIND,
    display_name="data.police.uk street-level crime (limited mode)",
    rank=2,
    config_keys=("kind", "paths"),
    file_keys={"paths": ROLE},
    main_role=ROLE,
    create_raw_tables=create_raw_tables,
    ingest=ingest_input,
    raw_tables=("raw_police_uk", "raw_police_uk_files", "raw_police_uk_skipped"),
    staging_models=("stg_police_uk",),
    checked_models=("int_police_uk_checked",),
    coverage=Coverage("select distinct strftime(month_start, '%Y-%m') from int_police_uk_located where in_area",
                      "Month"),
    monthly_files="data.police.uk files",
    limited=True,
    located=True,
)
