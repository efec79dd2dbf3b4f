"""CSV inputs read by DuckDB's `read_csv` (every column as text, malformed lines into a reject table)
into a temporary table, with each record's true line number from a vectorised scan of the bytes.

Python only samples bytes (encoding, header row) and transcodes a non-UTF-8 file to a temporary
UTF-8 copy as a stream (pipeline.sources.files). Every data record read becomes a row of the table
or a `malformed` entry (line, rule, detail); a file that cannot be trusted as a whole (no header, no
data, a quote that never closes) stops the run.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.errors import InputError
from pipeline.sources.files import (
    HEADER_SEARCH_ROWS,
    REPLACEMENT,
    WHITESPACE,
    InputFile,
    Table,
    clean_header,
    detect_encoding,
    file_has_utf8_multibyte,
    is_header_cells,
    is_utf8,
    kept_positions,
    sample_bytes,
    temp_name,
    transcode_to_utf8,
)

SCAN_CHUNK_BYTES = 1 << 24  # the line scan reads the bytes in chunks of this size
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _find_header(path: Path, source: InputFile, header_hint: str | None, delimiter: str) -> tuple[int, list[str], bool]:
    """(line of the header, its cleaned cells, found by the hint) from the file's first bytes."""
    data, whole = sample_bytes(path)
    if not whole:
        data = data[: data.rfind(b"\n") + 1] or data  # whole lines only
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records, start = [], 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append((start, record))
                if len(records) >= HEADER_SEARCH_ROWS:
                    break
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(str(source.path), "-", "the file must be a readable CSV", f"{exc} at line {reader.line_num}") from None
    if not records:
        raise InputError(str(source.path), "-", "the file must have a header row and data", "an empty file")
    line, cells = records[0]
    if header_hint is not None:
        for candidate_line, candidate in records:
            if is_header_cells(clean_header(candidate), header_hint):
                line, cells = candidate_line, candidate
                break
    header = clean_header(cells)
    while header and header[-1] == "":  # trailing empty columns from spreadsheet exports
        header.pop()
    return line, header, is_header_cells(header, header_hint)


@dataclass
class _Records:
    """Every CSV record of a file found from its bytes: first line, newlines inside, empty or not."""

    first_line: np.ndarray
    inner_newlines: np.ndarray
    empty: np.ndarray
    newlines: np.ndarray  # byte offset of every newline
    size: int
    quoted_newlines: bool  # some newline lies inside a quoted field (multi-line records)

    def line_of(self, offsets: np.ndarray) -> np.ndarray:
        return 1 + np.searchsorted(self.newlines, offsets, side="left")

    @property
    def last_line(self) -> int:
        ends_with_newline = len(self.newlines) and self.newlines[-1] == self.size - 1
        return int(len(self.newlines) + (0 if ends_with_newline else 1))


def _scan_records(path: Path) -> _Records:
    """Record boundaries by quote parity: a newline ends a record when an even number of quote
    characters precede it (RFC 4180 quoting). Vectorised over chunks of the mapped file; a file
    with stray quotes inside unquoted fields is caught by the checks in _record_lines."""
    size = path.stat().st_size
    newlines, boundary, after_cr, carry, last_byte = [], [], [], 0, 0
    with open(path, "rb") as f:
        for start in itertools.count(0, SCAN_CHUNK_BYTES):
            chunk = np.frombuffer(f.read(SCAN_CHUNK_BYTES), dtype=np.uint8)
            if not len(chunk):
                break
            nl = np.flatnonzero(chunk == 10)
            quotes = np.flatnonzero(chunk == 34)
            parity = (carry + np.searchsorted(quotes, nl)) & 1
            carry += len(quotes)
            newlines.append(nl + start)
            boundary.append(parity == 0)
            before = np.concatenate([[last_byte], chunk[:-1]])[nl]  # the byte before each newline
            after_cr.append(before == 13)
            last_byte = chunk[-1]
    nl_all = np.concatenate(newlines) if newlines else np.zeros(0, np.int64)
    is_boundary = np.concatenate(boundary) if boundary else np.zeros(0, bool)
    cr = np.concatenate(after_cr) if after_cr else np.zeros(0, bool)
    ends = np.flatnonzero(is_boundary)  # index (among newlines) of the newline ending each record
    end_bytes = nl_all[ends]
    starts = np.concatenate([[0], end_bytes + 1])
    stops = np.concatenate([end_bytes, [size]])
    first_nl_index = np.concatenate([[-1], ends])  # the newline before each record (-1: none)
    last_nl_index = np.concatenate([ends, [len(nl_all)]])
    ends_in_cr = np.concatenate([cr[ends], [False]])
    if starts[-1] >= size:  # the file ends with a newline: no record after it
        starts, stops, first_nl_index, last_nl_index, ends_in_cr = (
            a[:-1] for a in (starts, stops, first_nl_index, last_nl_index, ends_in_cr))
    length = stops - starts
    empty = (length == 0) | ((length == 1) & ends_in_cr)
    return _Records(first_line=first_nl_index + 2, inner_newlines=last_nl_index - first_nl_index - 1, empty=empty,
                    newlines=nl_all, size=size, quoted_newlines=bool((~is_boundary).any()))


def _python_record_lines(path: Path, delimiter: str, header_line: int, rejected: set[int]) -> np.ndarray:
    """First line of every data record as Python's csv module reads it: the slow path, used only
    when the byte scan and DuckDB disagree (stray quotes inside unquoted fields)."""
    out = []
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=False)
        start = 1
        for record in reader:
            if start > header_line and record and start not in rejected:
                out.append(start)
            start = reader.line_num + 1
    return np.asarray(out, dtype=np.int64)


def _record_lines(source: InputFile, path: Path, records: _Records, header_line: int, rejected: set[int],
                  delimiter: str, rows: int, inner_newlines: np.ndarray | None) -> np.ndarray:
    """Line number of each row DuckDB returned, in order: the records below the header that are
    neither empty lines (DuckDB skips them) nor rejected. Checked against DuckDB's row count and
    each row's own newline count; on a mismatch Python's csv module recounts."""
    keep = (records.first_line > header_line) & ~records.empty
    if rejected:
        keep &= ~np.isin(records.first_line, np.fromiter(rejected, np.int64))
    lines = records.first_line[keep]
    agrees = len(lines) == rows and (inner_newlines is None or np.array_equal(records.inner_newlines[keep], inner_newlines))
    if agrees:
        return lines
    lines = _python_record_lines(path, delimiter, header_line, rejected)
    if len(lines) != rows:
        raise InputError(str(source.path), "-", "every quoted field must be quoted consistently (a stray \" "
                         "inside a field makes records ambiguous)", f"{rows} records read; {len(lines)} counted by line")
    return lines


REJECT_RULES = {"TOO MANY COLUMNS": "too_many_columns", "MISSING COLUMNS": "too_few_columns",
                "INVALID ENCODING": "invalid_encoding"}


def _fields(line: str | None, delimiter: str) -> list[str]:
    if line is None:
        return []
    return next(csv.reader([line.strip("\r\n")], delimiter=delimiter, strict=False), [])


def read_csv_text(source: InputFile, encoding: str = "auto", header_hint: str | None = None,
                  delimiter: str = ",", con: duckdb.DuckDBPyConnection | None = None,
                  keep: list[str] | None = None) -> Table:
    """Read a CSV with DuckDB keeping each record's first line number; malformed rows are set aside,
    not lost. Only the columns named in `keep` (all when None) are stored, in a temporary table on
    `con` (a private in-memory connection when None); close() drops it.

    `header_hint` names a column the header must contain: records above it (title rows, an export
    banner) are skipped, as long as it appears within the first HEADER_SEARCH_ROWS records.
    """
    found = detect_encoding(source.path, encoding)
    table = _read_csv_as(source, found, encoding in (None, "", "auto"), header_hint, delimiter, con, keep)
    return table


def _read_csv_as(source: InputFile, found: str, auto: bool, header_hint: str | None, delimiter: str,
                 con: duckdb.DuckDBPyConnection | None, keep: list[str] | None) -> Table:
    workdir = None
    path = source.path
    replaced = 0
    if not is_utf8(found):
        workdir = tempfile.TemporaryDirectory(prefix="svna-transcode-")
        path = Path(workdir.name) / "utf8.csv"
        replaced = transcode_to_utf8(source.path, found, path)
    try:
        table, invalid_utf8 = _read_utf8_csv(source, path, found, header_hint, delimiter, con, keep, replaced > 0)
        if invalid_utf8 and auto and found == "utf-8" and not file_has_utf8_multibyte(source.path):
            table.close()  # an ASCII sample, then Windows-1252 bytes further down: the file is Windows-1252
            source.malformed.clear()
            return _read_csv_as(source, "cp1252", False, header_hint, delimiter, con, keep)
        source.encoding = found
        return table
    finally:
        if workdir is not None:
            workdir.cleanup()


def _read_utf8_csv(source: InputFile, path: Path, encoding: str, header_hint: str | None, delimiter: str,
                   con: duckdb.DuckDBPyConnection | None, keep: list[str] | None,
                   has_replacements: bool) -> tuple[Table, bool]:
    header_line, header, header_found = _find_header(path, source, header_hint, delimiter)
    width = len(header)
    own = con is None
    con = con or duckdb.connect()
    names = [f"c{i}" for i in range(width)]
    kept = {i: names[i] for i in kept_positions(header, keep)}
    records = _scan_records(path)
    raw, rejects, scans, lines_name, view = (temp_name(p) for p in ("csv", "rejects", "scans", "lines", "rows"))
    temporary = [("table", raw), ("table", rejects), ("table", scans)]
    table = Table(header, con, view, kept, header_line, header_found, temporary, own)
    params: dict = {"path": str(path), "skip": header_line, "delim": delimiter, "ws": WHITESPACE}
    blank = " and ".join(f"coalesce(trim({n}, $ws), '') = ''" for n in names)
    # most rows start with a visible character: the full check runs only on the others
    extra = [f"case when ascii({names[0]}) > 32 then false else ({blank}) end as _blank"]
    if has_replacements:
        params["bad"] = REPLACEMENT
        extra.append("(" + " or ".join(f"coalesce(contains({n}, $bad), false)" for n in names) + ") as _bad")
    if records.quoted_newlines:
        params["nl"], params["min_delims"] = "\n", max(width - 1, 1)
        extra.append(" + ".join(f"coalesce(length({n}) - length(replace({n}, $nl, '')), 0)" for n in names)
                     + " as _newlines")
        # a field holding whole lines that look like records: a quote was opened and closed far below
        extra.append("(" + " or ".join(
            f"coalesce(contains({n}, $nl) and list_bool_or(list_transform(string_split({n}, $nl)[2:], "
            f"s -> length(s) - length(replace(s, $delim, '')) >= $min_delims)), false)" for n in names) + ") as _swallows")
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    selected = ", ".join([kept[i] for i in sorted(kept)] + extra)
    try:
        con.execute(f"""
            create temp table {raw} as
            select {selected}
            from read_csv($path, skip = $skip, header = false, delim = $delim, quote = '"', escape = '"',
                          columns = {columns}, auto_detect = false, strict_mode = true, null_padding = false,
                          store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}')
            """, params)
        rows = con.execute(f"select count(*) from {raw}").fetchone()[0]
        found_rejects = con.execute(f"""
            select line_byte_position, error_type,
                   case when error_type = 'INVALID ENCODING' then null else csv_line end
            from {rejects} order by line_byte_position""").fetchall()
        con.execute(f"drop table {rejects}")  # it holds raw lines: gone as soon as they are counted
        by_line: dict[int, tuple[str, str | None]] = {}
        for position, error_type, line_text in found_rejects:
            line = int(records.line_of(np.asarray([position]))[0])
            if error_type == "UNQUOTED VALUE":
                last = records.last_line
                raise InputError(str(source.path), "-", "every quoted field must be closed (a stray \" makes "
                                 "the following rows part of one field)",
                                 f"a quote opened at line {line} runs to line {last}, swallowing {last - line} row(s)")
            if error_type not in REJECT_RULES:
                raise InputError(str(source.path), "-", "the file must be a readable CSV",
                                 f"{error_type.lower()} at line {line}")
            previous = by_line.get(line)
            if previous is None or (previous[0] == "INVALID ENCODING" and error_type != "INVALID ENCODING"):
                by_line[line] = (error_type, line_text)
        malformed, recovered = [], []
        for line, (error_type, line_text) in sorted(by_line.items()):
            if error_type == "INVALID ENCODING":
                malformed.append((line, "invalid_encoding", f"bytes that are not valid {encoding}"))
                continue
            cells = _fields(line_text, delimiter)
            if not any(c.strip() for c in cells):
                continue  # a blank line (spaces, delimiters): nothing to load or lose
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                recovered.append((line, cells[:width]))  # trailing blank cells: the row still fits the header
                continue
            rule = REJECT_RULES[error_type]
            malformed.append((line, rule, f"{len(cells)} fields; the header has {width}"))
        rejected = set(by_line)
        newline_counts = None
        if records.quoted_newlines:
            newline_counts = con.execute(f"select _newlines from {raw} order by rowid").fetchnumpy()["_newlines"]
        lines = _record_lines(source, path, records, header_line, rejected, delimiter, rows, newline_counts)
        con.register(lines_name, pa.table({"source_row": pa.array(lines, pa.int64())}))
        temporary.append(("table", lines_name + "_t"))
        con.execute(f"create temp table {lines_name}_t as select row_number() over () - 1 as k, source_row "
                    f"from {lines_name}")
        con.unregister(lines_name)
        if records.quoted_newlines:
            swallowed = con.execute(f"select l.source_row, r._newlines from {raw} r join {lines_name}_t l "
                                    f"on r.rowid = l.k where r._swallows order by 1 limit 1").fetchone()
            if swallowed:
                first, inner = swallowed
                raise InputError(str(source.path), "-", "every quoted field must be closed (a stray \" makes "
                                 "the following rows part of one field)",
                                 f"a quote opened at line {first} runs to line {first + inner}, swallowing {inner} row(s)")
        filters = ["not r._blank"] + (["not r._bad"] if has_replacements else [])
        if has_replacements:
            bad_lines = con.execute(f"select l.source_row from {raw} r join {lines_name}_t l on r.rowid = l.k "
                                    f"where r._bad and not r._blank").fetchall()
            malformed += [(line, "invalid_encoding", f"bytes that are not valid {encoding}") for (line,) in bad_lines]
        kept_columns = ", ".join([f"r.{kept[i]}" for i in sorted(kept)] + ["l.source_row"])
        body = f"select {kept_columns} from {raw} r join {lines_name}_t l on r.rowid = l.k where {' and '.join(filters)}"
        if recovered:
            salvage = temp_name("recovered")
            con.register(salvage + "_a", pa.table({**{kept[i]: pa.array([cells[i] for _, cells in recovered], pa.string())
                                                      for i in kept},
                                                   "source_row": pa.array([line for line, _ in recovered], pa.int64())}))
            con.execute(f"create temp table {salvage} as select * from {salvage}_a")
            con.unregister(salvage + "_a")
            temporary.append(("table", salvage))
            body += f" union all select * from {salvage}"
        con.execute(f"create temp view {view} as {body}")
        temporary.append(("view", view))
        source.malformed = sorted(malformed)
        good = table.count()
        if not good and not source.malformed:
            raise InputError(str(source.path), "-", "the file must have data rows below its header",
                             f"a header only (line {header_line})")
        source.rows_read = good + len(source.malformed)
        invalid_utf8 = any(rule == "invalid_encoding" for _, rule, _ in source.malformed)
        return table, invalid_utf8
    except BaseException:
        table.close()
        raise
