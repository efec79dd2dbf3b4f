"""Reading council-style files exactly: lineage (checksums), encodings, header rows, tables.

The readers (pipeline.sources.csv_reader, pipeline.sources.xlsx_reader) build on these: Python only
samples bytes (encoding, header row) and transcodes a non-UTF-8 file to a temporary UTF-8 copy as a
stream; the rows are read into DuckDB as a `Table`.

Every data record read is accounted for: it becomes a row of the table (with its line number in
the source file) or a `malformed` entry (line, rule, detail) that ends in quarantine. Rows that
cannot be trusted as a whole file (no header, no data, a quote that never closes) stop the run.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.errors import InputError

HEADER_SEARCH_ROWS = 30  # title rows above the header are looked for this far down
SAMPLE_BYTES = 1 << 20  # encoding and header row are found in the first MiB
CHUNK_BYTES = 1 << 24  # transcoding works in chunks of this size
WHITESPACE = " \t\r\n\x0b\x0c"  # what Python's str.strip removes from an ASCII cell
REPLACEMENT = "\ufffd"  # a byte the declared encoding cannot read, after transcoding
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


def file_has_utf8_multibyte(path: Path) -> bool:
    with open(path, "rb") as f:
        tail = b""
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            if _has_utf8_multibyte(tail + block):
                return True
            tail = block[-3:]  # a sequence cut by the chunk edge is seen whole next time
    return False


def sample_bytes(path: Path) -> tuple[bytes, bool]:
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
    data, whole = sample_bytes(path)
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


def is_utf8(encoding: str) -> bool:
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


def clean_header(cells: list[str]) -> list[str]:
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


def is_header_cells(cells: list[str], hint: str | None) -> bool:
    if hint is None:
        return True
    return header_key(hint) in {header_key(c) for c in cells}


def trimmed_sql(column: str) -> str:
    """SQL for `column` stripped of surrounding whitespace (as Python's str.strip does for ASCII), null
    when blank; `$ws` must be bound to WHITESPACE. The cheap test first: most cells need no trim."""
    return (f"case when ascii({column}) > 32 and ascii(right({column}, 1)) > 32 then {column} "
            f"else nullif(trim({column}, $ws), '') end")


def kept_positions(header: list[str], keep: list[str] | None) -> list[int]:
    """Header positions of the columns named in `keep` (matched as header_key does); all when None."""
    if keep is None:
        return list(range(len(header)))
    wanted = {header_key(k) for k in keep}
    return [i for i, name in enumerate(header) if header_key(name) in wanted]


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


def inputs_to_load(paths: list[Path], kind: str, role: str, seen: dict[tuple[str, str], InputFile],
                   files: list[InputFile]) -> Iterator[InputFile]:
    """Each of `paths` opened, in order, unless this run already read its bytes for `role` (repeat_of): a
    copy under another path is added to `files` (its lineage says duplicate_of) and not yielded. The
    caller loads what is yielded and adds it to `files`."""
    for path in paths:
        source = open_input(path, kind, role)
        if repeat_of(seen, source) is None:
            yield source
        elif source.duplicate_of:
            files.append(source)


def open_input(path: Path, kind: str, role: str) -> InputFile:
    if not path.exists():
        raise InputError(str(path), "-", "input file must exist", "file not found")
    if path.stat().st_size == 0:
        raise InputError(str(path), "-", "file must not be empty", "0 bytes")
    return InputFile(path=path, kind=kind, role=role, size=path.stat().st_size, sha256=sha256_of(path))
