"""Reading council-style files exactly: encodings, Excel title rows, true line numbers, checksums.

CSV files are read by DuckDB's `read_csv` (every column as text, malformed lines into a reject
table) into a temporary table; Python only samples bytes (encoding, header row), transcodes a
non-UTF-8 file to a temporary UTF-8 copy as a stream, and finds each record's line number with a
vectorised scan of the bytes. Excel sheets are streamed (openpyxl read-only) into Arrow batches.

Every data record read is accounted for: it becomes a row of the table (with its line number in
the source file) or a `malformed` entry (line, rule, detail) that ends in quarantine. Rows that
cannot be trusted as a whole file (no header, no data, a quote that never closes) stop the run.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipeline.errors import InputError

HEADER_SEARCH_ROWS = 30  # title rows above the header are looked for this far down
SAMPLE_BYTES = 1 << 20  # encoding and header row are found in the first MiB
CHUNK_BYTES = 1 << 24  # transcoding and the line scan work in chunks of this size
WHITESPACE = " \t\r\n\x0b\x0c"  # what Python's str.strip removes from an ASCII cell
REPLACEMENT = "\ufffd"  # a byte the declared encoding cannot read, after transcoding
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
_names = itertools.count()


@dataclass
class InputFile:
    """Lineage of one input file (recorded in run.json and the audit tables)."""

    path: Path
    kind: str
    role: str
    size: int
    sha256: str
    encoding: str | None = None
    rows_read: int = 0
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, rule, detail: never the raw line)
    duplicate_of: str | None = None  # byte-identical to an input already read in this run: skipped
    times_listed: int = 1  # how often the run config named this file for this role (it is read once)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "role": self.role, "size": self.size,
                "sha256": self.sha256, "encoding": self.encoding, "rows_read": self.rows_read,
                "rows_malformed": len(self.malformed), "duplicate_of": self.duplicate_of,
                "times_listed": self.times_listed}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temp_name(prefix: str) -> str:
    """A fresh name for a temporary DuckDB table svna makes itself (safe to put in SQL text)."""
    return f"_{prefix}_{os.getpid()}_{next(_names)}"


# ------------------------------------------------------------------------------------------ encodings

def _has_utf8_multibyte(data: bytes) -> bool:
    """True when the bytes hold at least one well-formed UTF-8 sequence beyond ASCII."""
    text = data.decode("utf-8", errors="surrogateescape")
    return any(ord(c) > 0x7F and not 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def _file_has_utf8_multibyte(path: Path) -> bool:
    with open(path, "rb") as f:
        tail = b""
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            if _has_utf8_multibyte(tail + block):
                return True
            tail = block[-3:]  # a sequence cut by the chunk edge is seen whole next time
    return False


def _sample(path: Path) -> tuple[bytes, bool]:
    """The first SAMPLE_BYTES of the file, and whether that is the whole file."""
    with open(path, "rb") as f:
        data = f.read(SAMPLE_BYTES + 1)
    return data[:SAMPLE_BYTES], len(data) <= SAMPLE_BYTES


def detect_encoding(path: Path, declared: str | None = "auto") -> str:
    """The file's encoding, from a byte sample: 'utf-8', 'utf-8-sig', 'utf-16', 'cp1252' or the
    declared Python codec name.

    'auto': a UTF-16 byte-order mark means UTF-16; a sample that is valid UTF-8 (BOM or not) is
    UTF-8; a sample with some valid UTF-8 sequences and some invalid bytes is UTF-8 with bad lines
    (quarantined as `invalid_encoding`); anything else is Windows-1252 (the usual Excel "CSV"
    export on Windows). A UTF-8 guess from a plain-ASCII sample is checked again on the whole file
    when a later line does not read as UTF-8 (see read_csv_text).
    """
    data, whole = _sample(path)
    if data.startswith(b"PK\x03\x04"):
        raise InputError(str(path), "-", "a CSV input must be text; this is a zip file, probably an Excel workbook "
                         "saved with a .csv name (use the .xlsx name and the profile's xlsx: settings)", "zip bytes")
    if b"\x00" in data[:65536] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(str(path), "-", "a CSV input must be text", "NUL bytes (binary data, or UTF-16 without "
                         "a byte-order mark: save it as 'CSV UTF-8')")
    if declared in (None, "", "auto"):
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        try:
            codecs.getincrementaldecoder("utf-8")().decode(data, final=whole)
            return "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
        except UnicodeDecodeError:
            return "utf-8" if _has_utf8_multibyte(data) else "cp1252"
    try:
        codecs.lookup(declared)
    except LookupError:
        raise InputError(str(path), "encoding", "the profile's encoding must be auto, utf-8, utf-8-sig, cp1252 "
                         "or another Python codec name", repr(declared)) from None
    name = codecs.lookup(declared).name
    if name in ("utf-16", "utf-16-le", "utf-16-be"):
        return "utf-16"
    if name == "utf-8":
        return "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    return declared


def _is_utf8(encoding: str) -> bool:
    return encoding in ("utf-8", "utf-8-sig")


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> int:
    """Write `path` decoded from `encoding` to `target` as UTF-8, a chunk at a time; returns how
    many bytes could not be decoded (each becomes U+FFFD, so its line is quarantined)."""
    strict = encoding == "utf-16"
    replaced = 0
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict" if strict else "replace")
    offset = 0
    with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as out:
        for block in iter(lambda: src.read(CHUNK_BYTES), b""):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise InputError(str(path), "-", "a UTF-16 file must decode completely (save it as 'CSV UTF-8')",
                                 f"undecodable bytes at offset {offset + exc.start}") from None
            offset += len(block)
            replaced += text.count(REPLACEMENT)
            out.write(text)
        try:
            text = decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(str(path), "-", "a UTF-16 file must decode completely (save it as 'CSV UTF-8')",
                             "a cut-off character at the end") from None
        replaced += text.count(REPLACEMENT)
        out.write(text)
    return replaced


INVALID_BYTE = re.compile("[\udc80-\udcff\ufffd]")  # undecodable bytes (surrogateescape) or replaced


def has_invalid_bytes(text: str) -> bool:
    return INVALID_BYTE.search(text) is not None


def _clean_header(cells: list[str]) -> list[str]:
    out = []
    for cell in cells:
        cell = cell.replace("\ufeff", "").strip()
        out.append(INVALID_BYTE.sub("?", cell))
    return out


def header_key(name: str) -> str:
    """Column names match ignoring case and runs of spaces ("Crime  Ref" == "crime ref")."""
    return " ".join(str(name).replace("\ufeff", "").split()).casefold()


# ------------------------------------------------------------------------------------------ tables

@dataclass
class Table:
    """The rows read from one file (one sheet), held by DuckDB: `relation` names a temporary view or
    table on `con` with one text column per kept source column (`column(position)` gives its name)
    and `source_row`, each row's line number in the source file."""

    header: list[str]
    con: duckdb.DuckDBPyConnection
    relation: str
    kept: dict[int, str]  # header position -> column of `relation`
    header_line: int = 1
    header_found: bool = True  # False: no row named the header hint, so `header` is just the first row
    temporary: list[str] = field(default_factory=list)  # (kind, name) dropped by close()
    owns_connection: bool = False

    def column(self, position: int) -> str:
        return self.kept[position]

    @property
    def rows(self) -> list[list[str]]:
        """Every row's kept cells as text, in file order (for tests and small files)."""
        columns = ", ".join(f"coalesce({self.kept[i]}, '')" for i in sorted(self.kept))
        return [list(r) for r in self.con.execute(f"select {columns} from {self.relation} order by source_row").fetchall()]

    @property
    def lines(self) -> list[int]:
        return [r[0] for r in self.con.execute(f"select source_row from {self.relation} order by source_row").fetchall()]

    def count(self) -> int:
        return self.con.execute(f"select count(*) from {self.relation}").fetchone()[0]

    def close(self) -> None:
        """Drop the temporary tables (they hold the file's text)."""
        for kind, name in reversed(self.temporary):
            self.con.execute(f"drop {kind} if exists {name}")
        self.temporary.clear()
        if self.owns_connection:
            self.con.close()


def is_header_row(table: Table, known: list[str] | tuple[str, ...] = ()) -> bool:
    """True when `table.header` is a header: it holds the hint or one of the `known` column names.
    Otherwise the file has no header row and its first row is data (values a message never quotes)."""
    keys = {header_key(c) for c in table.header}
    return table.header_found or any(header_key(k) in keys for k in known)


def describe_header(table: Table) -> str:
    return "columns " + ", ".join(table.header[:15]) + (", ..." if len(table.header) > 15 else "")


def no_header_row(table: Table) -> str:
    return f"no header row found (first row has {len(table.header)} fields)"


def _is_header(cells: list[str], hint: str | None) -> bool:
    if hint is None:
        return True
    return header_key(hint) in {header_key(c) for c in cells}


def trimmed_sql(column: str) -> str:
    """SQL for `column` stripped of surrounding whitespace (as Python's str.strip does for ASCII), null
    when blank; `$ws` must be bound to WHITESPACE. The cheap test first: most cells need no trim."""
    return (f"case when ascii({column}) > 32 and ascii(right({column}, 1)) > 32 then {column} "
            f"else nullif(trim({column}, $ws), '') end")


def _kept_positions(header: list[str], keep: list[str] | None) -> list[int]:
    """Header positions of the columns named in `keep` (matched as header_key does); all when None."""
    if keep is None:
        return list(range(len(header)))
    wanted = {header_key(k) for k in keep}
    return [i for i, name in enumerate(header) if header_key(name) in wanted]


# ------------------------------------------------------------------------------------------ CSV

def _find_header(path: Path, source: InputFile, header_hint: str | None, delimiter: str) -> tuple[int, list[str], bool]:
    """(line of the header, its cleaned cells, found by the hint) from the file's first bytes."""
    data, whole = _sample(path)
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
            if _is_header(_clean_header(candidate), header_hint):
                line, cells = candidate_line, candidate
                break
    header = _clean_header(cells)
    while header and header[-1] == "":  # trailing empty columns from spreadsheet exports
        header.pop()
    return line, header, _is_header(header, header_hint)


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
        for start in itertools.count(0, CHUNK_BYTES):
            chunk = np.frombuffer(f.read(CHUNK_BYTES), dtype=np.uint8)
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
    if not _is_utf8(found):
        workdir = tempfile.TemporaryDirectory(prefix="svna-transcode-")
        path = Path(workdir.name) / "utf8.csv"
        replaced = transcode_to_utf8(source.path, found, path)
    try:
        table, invalid_utf8 = _read_utf8_csv(source, path, found, header_hint, delimiter, con, keep, replaced > 0)
        if invalid_utf8 and auto and found == "utf-8" and not _file_has_utf8_multibyte(source.path):
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
    kept = {i: names[i] for i in _kept_positions(header, keep)}
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


# ------------------------------------------------------------------------------------------ XLSX

def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


XLSX_BATCH_ROWS = 50_000  # rows per Arrow batch handed to DuckDB


def read_xlsx(source: InputFile, sheet: str | None = None, header_row: int | None = None,
              header_hint: str | None = None, con: duckdb.DuckDBPyConnection | None = None,
              keep: list[str] | None = None) -> Table:
    """Read one sheet of an Excel export, streamed (openpyxl read-only) into Arrow batches and a
    temporary DuckDB table (only the columns named in `keep`; all when None). `header_row` (1-based)
    skips title rows above the table; without it the header is the first row (within
    HEADER_SEARCH_ROWS) holding `header_hint`."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip/xml errors of a damaged or mislabelled file
        raise InputError(str(source.path), "-", "an .xlsx file must be a readable Excel workbook",
                         type(exc).__name__) from None
    own = con is None
    con = con or duckdb.connect()
    table = None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(str(source.path), "xlsx.sheet", f"the profile names sheet '{sheet}'",
                             f"sheets {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ([_cell_text(v) for v in values] for values in ws.iter_rows(values_only=True))
        top = list(itertools.islice(rows, max(HEADER_SEARCH_ROWS, header_row or 0)))
        if header_row is None:
            header_row = next((n for n, cells in enumerate(top, start=1)
                               if any(cells) and _is_header(cells, header_hint)), None)
            if header_row is None:
                header_row = next((n for n, cells in enumerate(top, start=1) if any(cells)), 1)
        header = _clean_header(top[header_row - 1]) if len(top) >= header_row else []
        while header and header[-1] == "":
            header.pop()
        if not header:
            raise InputError(str(source.path), "xlsx.header_row", f"the sheet must have a header in row {header_row}",
                             "an empty row" if top else "an empty sheet")
        width = len(header)
        kept = {i: f"c{i}" for i in _kept_positions(header, keep)}
        name = temp_name("xlsx")
        table = Table(header, con, name, kept, header_row, _is_header(header, header_hint), [("table", name)], own)
        con.execute(f"create temp table {name} (" + ", ".join([f"{c} varchar" for c in kept.values()]
                                                             + ["source_row bigint"]) + ")")
        columns: dict[int, list[str]] = {i: [] for i in kept}
        numbers: list[int] = []

        def flush() -> None:
            batch = pa.table({**{kept[i]: pa.array(columns[i], pa.string()) for i in kept},
                              "source_row": pa.array(numbers, pa.int64())})
            con.register(name + "_batch", batch)
            con.execute(f"insert into {name} select * from {name}_batch")
            con.unregister(name + "_batch")
            for values in columns.values():
                values.clear()
            numbers.clear()

        rows_below = itertools.chain(top[header_row:], rows)
        for number, cells in enumerate(rows_below, start=header_row + 1):
            if not any(cells):
                continue
            extra = cells[width:]
            if any(extra):
                fields = width + max(i for i, c in enumerate(extra) if c) + 1
                source.malformed.append((number, "too_many_columns", f"{fields} fields; the header has {width}"))
                continue
            for i in kept:
                columns[i].append(cells[i] if i < len(cells) else "")
            numbers.append(number)
            if len(numbers) >= XLSX_BATCH_ROWS:
                flush()
        flush()
        good = table.count()
        if not good and not source.malformed:
            raise InputError(str(source.path), "-", "the sheet must have data rows below its header",
                             f"a header only (row {header_row})")
        source.encoding = "xlsx"
        source.rows_read = good + len(source.malformed)
        return table
    except BaseException:
        if table is not None:
            table.close()
        elif own:
            con.close()
        raise
    finally:
        book.close()


def repeat_of(seen: dict[tuple[str, str], InputFile], source: InputFile) -> InputFile | None:
    """The input already read for the same role with the same bytes, else None (and `source` is
    remembered in `seen`). The same path again counts once more on the first (`times_listed`); another
    path with identical bytes is marked `duplicate_of` the first. Either way it is not read again."""
    first = seen.setdefault((source.role, source.sha256), source)
    if first is source:
        return None
    if first.path == source.path:
        first.times_listed += source.times_listed
    else:
        source.duplicate_of = str(first.path)
    return first


def open_input(path: Path, kind: str, role: str) -> InputFile:
    if not path.exists():
        raise InputError(str(path), "-", "input file must exist", "file not found")
    if path.stat().st_size == 0:
        raise InputError(str(path), "-", "file must not be empty", "0 bytes")
    return InputFile(path=path, kind=kind, role=role, size=path.stat().st_size, sha256=sha256_of(path))
