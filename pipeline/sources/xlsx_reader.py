"""Excel inputs: one sheet streamed (openpyxl read-only) into Arrow batches and a temporary DuckDB table."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

import duckdb
import pyarrow as pa

from pipeline.errors import InputError
from pipeline.sources.files import (
    HEADER_SEARCH_ROWS,
    InputFile,
    Table,
    clean_header,
    is_header_cells,
    kept_positions,
    temp_name,
)


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
                               if any(cells) and is_header_cells(cells, header_hint)), None)
            if header_row is None:
                header_row = next((n for n, cells in enumerate(top, start=1) if any(cells)), 1)
        header = clean_header(top[header_row - 1]) if len(top) >= header_row else []
        while header and header[-1] == "":
            header.pop()
        if not header:
            raise InputError(str(source.path), "xlsx.header_row", f"the sheet must have a header in row {header_row}",
                             "an empty row" if top else "an empty sheet")
        width = len(header)
        kept = {i: f"c{i}" for i in kept_positions(header, keep)}
        name = temp_name("xlsx")
        table = Table(header, con, name, kept, header_row, is_header_cells(header, header_hint), [("table", name)], own)
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
