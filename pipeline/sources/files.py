"""Reading council-style files exactly: encodings, Excel title rows, true line numbers, checksums."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from pipeline.errors import InputError

ENCODINGS = ("utf-8-sig", "cp1252")


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
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, rule, raw line)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "kind": self.kind, "role": self.role, "size": self.size,
                "sha256": self.sha256, "encoding": self.encoding, "rows_read": self.rows_read}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode(path: Path, declared: str = "auto") -> tuple[str, str]:
    """Return (text, encoding). 'auto' tries UTF-8 (with or without BOM), then Windows-1252."""
    data = path.read_bytes()
    candidates = ENCODINGS if declared in (None, "auto") else (declared,)
    for encoding in candidates:
        try:
            return data.decode(encoding), ("utf-8" if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else encoding)
        except UnicodeDecodeError as exc:
            error = exc
    raise InputError(str(path), "-", f"file must be readable as {' or '.join(candidates)}", f"undecodable bytes at offset {error.start}")


@dataclass
class Table:
    """Rows of text read from a file; `lines` holds each row's line number in the source file."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def read_csv_text(source: InputFile, encoding: str = "auto") -> Table:
    """Read a CSV keeping each record's first line number; malformed rows are set aside, not lost."""
    text, source.encoding = decode(source.path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows, lines = [], []
    start = 1
    for record in reader:
        line, start = start, reader.line_num + 1
        if header is None:
            if not any(cell.strip() for cell in record):
                continue
            header = [cell.strip() for cell in record]
            continue
        if not any(cell.strip() for cell in record):
            continue  # blank line: nothing to load or lose
        if len(record) != len(header):
            rule = "too_many_columns" if len(record) > len(header) else "too_few_columns"
            source.malformed.append((line, rule, ",".join(record)[:200]))
            continue
        rows.append(record)
        lines.append(line)
    if header is None:
        raise InputError(str(source.path), "-", "file must have a header row and data", "an empty file")
    source.rows_read = len(rows) + len(source.malformed)
    return Table(header, rows, lines)


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


def read_xlsx(source: InputFile, sheet: str | None = None, header_row: int = 1) -> Table:
    """Read one sheet of an Excel export; `header_row` (1-based) skips title rows above the table."""
    import openpyxl

    book = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputError(str(source.path), "-", f"the profile names sheet '{sheet}'",
                             f"sheets {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet else book.worksheets[0]
        header: list[str] | None = None
        rows, lines = [], []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if number < header_row:
                continue
            cells = [_cell_text(v) for v in values]
            if header is None:
                header = cells
                while header and header[-1] == "":
                    header.pop()
                continue
            cells = (cells + [""] * len(header))[: len(header)]
            if any(cells):
                rows.append(cells)
                lines.append(number)
    finally:
        book.close()
    if not header:
        raise InputError(str(source.path), "-", f"sheet must have a header in row {header_row}", "an empty sheet")
    source.encoding = "xlsx"
    source.rows_read = len(rows)
    return Table(header, rows, lines)


def open_input(path: Path, kind: str, role: str) -> InputFile:
    if path.stat().st_size == 0:
        raise InputError(str(path), "-", "file must not be empty", "0 bytes")
    return InputFile(path=path, kind=kind, role=role, size=path.stat().st_size, sha256=sha256_of(path))
