"""Reading council-style files exactly: encodings, Excel title rows, true line numbers, checksums.

Every data record read is accounted for: it becomes a row of a raw table (with its line number
in the source file) or a `malformed` entry (line, rule, detail) that ends in quarantine. Rows that
cannot be trusted as a whole file (no header, no data, a quote that never closes) stop the run.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from pipeline.errors import InputError

# `auto` tries these in order: UTF-8 (with or without a byte-order mark), then Windows-1252.
ENCODINGS = ("utf-8-sig", "cp1252")
HEADER_SEARCH_ROWS = 30  # title rows above the header are looked for this far down
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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


def _has_utf8_multibyte(data: bytes) -> bool:
    """True when the bytes hold at least one well-formed UTF-8 sequence beyond ASCII."""
    text = data.decode("utf-8", errors="surrogateescape")
    return any(ord(c) > 0x7F and not 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def decode(path: Path, declared: str | None = "auto") -> tuple[str, str]:
    """Return (text, encoding). Bytes the encoding cannot read become lone surrogates (U+DC80..U+DCFF)
    so the line they are on can be quarantined as `invalid_encoding` while the rest of the file loads.

    'auto': a UTF-16 byte-order mark means UTF-16; a file that is valid UTF-8 (BOM or not) is UTF-8;
    a file with some valid UTF-8 sequences and some invalid bytes is UTF-8 with bad lines; anything
    else is Windows-1252 (the usual Excel "CSV" export on Windows).
    """
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise InputError(str(path), "-", "a CSV input must be text; this is a zip file, probably an Excel workbook "
                         "saved with a .csv name (use the .xlsx name and the profile's xlsx: settings)", "zip bytes")
    if b"\x00" in data[:65536] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(str(path), "-", "a CSV input must be text", "NUL bytes (binary data, or UTF-16 without "
                         "a byte-order mark: save it as 'CSV UTF-8')")
    if declared in (None, "", "auto"):
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            declared = "utf-16"
        else:
            try:
                return data.decode("utf-8-sig"), ("utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8")
            except UnicodeDecodeError:
                declared = "utf-8" if _has_utf8_multibyte(data) else "cp1252"
    try:
        codecs.lookup(declared)
    except LookupError:
        raise InputError(str(path), "encoding", "the profile's encoding must be auto, utf-8, utf-8-sig, cp1252 "
                         "or another Python codec name", repr(declared)) from None
    if declared.replace("_", "-").lower() in ("utf-16", "utf16"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(str(path), "-", "a UTF-16 file must decode completely (save it as 'CSV UTF-8')",
                             f"undecodable bytes at offset {exc.start}") from None
    if declared.lower() in ("utf-8", "utf8") and data.startswith(codecs.BOM_UTF8):
        declared = "utf-8-sig"
    return data.decode(declared, errors="surrogateescape"), declared


INVALID_BYTE = re.compile("[\udc80-\udcff]")  # what decode() turns undecodable bytes into


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


@dataclass
class Table:
    """Rows of text read from a file; `lines` holds each row's line number in the source file."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    header_line: int = 1
    header_found: bool = True  # False: no row named the header hint, so `header` is just the first row


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


def _swallows_rows(cells: list[str], width: int, delimiter: str) -> bool:
    """A multi-line field holding whole lines that look like records: a quote was never closed."""
    return any(line.count(delimiter) >= max(width - 1, 1)
               for cell in cells if "\n" in cell or "\r" in cell for line in cell.splitlines()[1:])


def read_csv_text(source: InputFile, encoding: str = "auto", header_hint: str | None = None,
                  delimiter: str = ",") -> Table:
    """Read a CSV keeping each record's first line number; malformed rows are set aside, not lost.

    `header_hint` names a column the header must contain: records above it (title rows, an export
    banner) are skipped, as long as it appears within the first HEADER_SEARCH_ROWS records.
    """
    text, source.encoding = decode(source.path, encoding)
    check_bytes = has_invalid_bytes(text)
    records: list[tuple[int, int, list[str]]] = []  # (first line, last line, cells)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    start = 1
    try:
        for record in reader:
            records.append((start, reader.line_num, record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(str(source.path), "-", "the file must be a readable CSV", f"{exc} at line {reader.line_num}") from None

    nonblank = [(i, r) for i, r in enumerate(records) if any(cell.strip() for cell in r[2])]
    if not nonblank:
        raise InputError(str(source.path), "-", "the file must have a header row and data", "an empty file")
    header_index = nonblank[0][0]
    if header_hint is not None:
        for i, (_, _, cells) in nonblank[:HEADER_SEARCH_ROWS]:
            if _is_header(_clean_header(cells), header_hint):
                header_index = i
                break
    header_line, _, header_cells = records[header_index]
    header = _clean_header(header_cells)
    while header and header[-1] == "":  # trailing empty columns from spreadsheet exports
        header.pop()

    rows, lines = [], []
    for first, last, record in records[header_index + 1:]:
        if not any(cell.strip() for cell in record):
            continue  # blank line: nothing to load or lose
        cells = record
        if last > first and _swallows_rows(cells, len(header), delimiter):
            raise InputError(str(source.path), "-", "every quoted field must be closed (a stray \" makes "
                             "the following rows part of one field)",
                             f"a quote opened at line {first} runs to line {last}, swallowing {last - first} row(s)")
        if len(cells) > len(header) and not any(c.strip() for c in cells[len(header):]):
            cells = cells[: len(header)]  # trailing empty cells: the row still fits the header
        if len(cells) != len(header):
            rule = "too_many_columns" if len(cells) > len(header) else "too_few_columns"
            source.malformed.append((first, rule, f"{len(cells)} fields; the header has {len(header)}"))
            continue
        if check_bytes and any(has_invalid_bytes(cell) for cell in cells):
            source.malformed.append((first, "invalid_encoding", f"bytes that are not valid {source.encoding}"))
            continue
        rows.append(cells)
        lines.append(first)
    if not rows and not source.malformed:
        raise InputError(str(source.path), "-", "the file must have data rows below its header",
                         f"a header only (line {header_line})")
    source.rows_read = len(rows) + len(source.malformed)
    return Table(header, rows, lines, header_line, _is_header(header, header_hint))


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


def read_xlsx(source: InputFile, sheet: str | None = None, header_row: int | None = None,
              header_hint: str | None = None) -> Table:
    """Read one sheet of an Excel export. `header_row` (1-based) skips title rows above the table;
    without it the header is the first row (within HEADER_SEARCH_ROWS) holding `header_hint`."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip/xml errors of a damaged or mislabelled file
        raise InputError(str(source.path), "-", "an .xlsx file must be a readable Excel workbook",
                         type(exc).__name__) from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(str(source.path), "xlsx.sheet", f"the profile names sheet '{sheet}'",
                             f"sheets {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet else book.worksheets[0]
        all_rows = [[_cell_text(v) for v in values] for values in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    if header_row is None:
        header_row = next((n for n, cells in enumerate(all_rows[:HEADER_SEARCH_ROWS], start=1)
                           if any(cells) and _is_header(cells, header_hint)), None)
        if header_row is None:
            header_row = next((n for n, cells in enumerate(all_rows, start=1) if any(cells)), 1)
    header = _clean_header(all_rows[header_row - 1]) if len(all_rows) >= header_row else []
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise InputError(str(source.path), "xlsx.header_row", f"the sheet must have a header in row {header_row}",
                         "an empty row" if all_rows else "an empty sheet")
    rows, lines = [], []
    for number, cells in enumerate(all_rows[header_row:], start=header_row + 1):
        if not any(cells):
            continue
        extra = cells[len(header):]
        if any(extra):
            width = len(header) + max(i for i, c in enumerate(extra) if c) + 1
            source.malformed.append((number, "too_many_columns", f"{width} fields; the header has {len(header)}"))
            continue
        rows.append((cells + [""] * len(header))[: len(header)])
        lines.append(number)
    if not rows and not source.malformed:
        raise InputError(str(source.path), "-", "the sheet must have data rows below its header",
                         f"a header only (row {header_row})")
    source.encoding = "xlsx"
    source.rows_read = len(rows) + len(source.malformed)
    return Table(header, rows, lines, header_row, _is_header(header, header_hint))


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
