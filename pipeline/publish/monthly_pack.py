"""The monthly refresh's Excel pack, laid out as the annual data pack (pipeline.publish.excel_pack):
Contents with the month's headlines and a described link to every sheet, human headings, the same
formats and page setup (landscape A4, marked on every page), Definitions and Caveats."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline.narrative.phrases import MIN_BASE
from pipeline.publish import catalog, excel_pack

# the published tables of a refresh, in reading order, with their Contents line
SHEETS = {
    "rolling_summary": "The 12 months to the month against the 12 before, and the month against the same month "
                       "last year: the area, the comparator and every ward, by theme",
    "monthly_exceptions": "Months outside their usual range on a control chart (c-chart limits and run rules), with "
                          "the reason and the centre and limits they were judged against",
    "revisions": "Counts of earlier months that changed between the previous extract and this one",
}
# headings and definitions of the monthly tables' columns where the annual pack's (sql/seeds/column_labels.csv)
# mean something else (rule, reason: a quarantine's there) or have none
HEADINGS = {
    "unit_level": ("Level", "area, comparator or ward"),
    "unit_code": ("Code", "ONS code of the area or ward (the comparator's name for the comparator)"),
    "unit_name": ("Name", "Name of the area, comparator or ward"),
    "refresh_month": ("Month", "The month the refresh reports on"),
    "rolling_12m_count": ("12 months", "Crimes in the 12 months to the month (blank: the inputs do not cover all 12)"),
    "previous_12m_count": ("Previous 12 months", "Crimes in the 12 months before those"),
    "rolling_change": ("Change", "12 months minus previous 12 months"),
    "rolling_pct_change": ("Change %", f"The change as a % of the previous 12 months; blank on under {MIN_BASE}"),
    "rolling_poisson_z": ("z (Poisson)", "The change against chance variation (|z| of 2 or more: unlikely chance)"),
    "month_count": ("Month", "Crimes in the month"),
    "same_month_last_year_count": ("Same month last year", "Crimes in the same month a year before"),
    "month_change": ("Change on last year", "Month minus the same month last year"),
    "month_pct_change": ("Change on last year %", f"As a % of the same month last year; blank on under {MIN_BASE}"),
    "comparator_rolling_pct_change": ("Comparator change %", "The comparator's 12-month % change"),
    "comparator_month_pct_change": ("Comparator change on last year %", "The comparator's month against a year before"),
    "extract_date": ("Extract date", "Date of the extract the counts come from"),
    "rule": ("Rule", ("The control-chart rule that fired: above/below the limits, 8 months on one side of the "
                      "centre, 2 of 3 months beyond the warning level")),
    "direction": ("Direction", "increase or decrease"),
    "centre": ("Usual level", "Mean crimes a month over the baseline (the c-chart's centre)"),
    "ucl": ("Upper limit", "Centre + 3 x its square root"),
    "lcl": ("Lower limit", "Centre - 3 x its square root, not below 0"),
    "baseline": ("Baseline", "The months the usual level is the mean of"),
    "reason": ("Reason", "The exception in words"),
    "month_start": ("Month revised", "The month whose count changed"),
    "revised_count": ("Revised count", "The count in this extract"),
    "previous_extract_date": ("Previous extract date", "Date of the extract the previous count came from"),
    "previous_extract_file": ("Previous extract file", "File the previous count came from"),
    "revised_extract_date": ("Revised extract date", "Date of this extract"),
    "revised_extract_file": ("Revised extract file", "File the revised count comes from"),
}


def headings() -> dict[str, tuple[str, str]]:
    return {**catalog.column_labels(), **HEADINGS}


def write_monthly_pack(wh: duckdb.DuckDBPyConnection, run_id: str, path: Path, headlines: str | None) -> Path:
    """One sheet per published table of `run_id` after a Contents sheet; text written as text (never as a
    formula), numbers as numbers, % changes as fractions with a % format and blank on a base under 10."""
    labels = headings()
    book, fmt = excel_pack.open_book(path)
    contents = book.add_worksheet("Contents")
    listed, columns_of = [], {}
    for name, description in SHEETS.items():
        cursor = wh.execute(f"select * exclude (run_id), run_id from {name} where run_id = ?", [run_id])  # ours
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        ws = book.add_worksheet(excel_pack.sheet_title(name))
        excel_pack.page_setup(ws, catalog.MARKING, excel_pack.sheet_title(name))
        ws.write_string(0, 0, catalog.MARKING, fmt["marking"])
        _write_rows(ws, columns, rows, labels, fmt)
        if not rows:
            ws.write_string(2, 0, "This sheet is empty: nothing to list for this month.", fmt["bold"])
        listed.append((excel_pack.sheet_title(name), len(rows), f"{description} (table {name})"))
        columns_of[name] = columns
    listed += [("Definitions", 1, excel_pack.BACK_SHEETS["Definitions"]),
               ("Caveats", 1, excel_pack.BACK_SHEETS["Caveats"])]
    excel_pack.write_contents(contents, listed, catalog.MARKING, headlines, fmt,
                              title="Serious Violence: monthly refresh data pack")

    ws = book.add_worksheet("Definitions")
    excel_pack.page_setup(ws, catalog.MARKING, "Definitions")
    ws.write_string(0, 0, catalog.MARKING, fmt["marking"])
    ws.write_row(1, 0, ["heading", "column name", "definition", "tables"], fmt["header"])
    tables_of: dict[str, list[str]] = {}
    for name, columns in columns_of.items():
        for column in columns:
            tables_of.setdefault(column, []).append(name)
    for r, (column, tables) in enumerate(tables_of.items(), start=2):
        heading, definition = labels.get(column, (column, ""))
        ws.write_row(r, 0, [heading, column, definition, ", ".join(tables)], fmt["wrap"])
    ws.set_column(0, 1, 28)
    ws.set_column(2, 2, 90)
    ws.set_column(3, 3, 40)
    ws.freeze_panes(2, 0)

    ws = book.add_worksheet("Caveats")
    excel_pack.page_setup(ws, catalog.MARKING, "Caveats")
    ws.write_string(0, 0, catalog.MARKING, fmt["marking"])
    ws.write_row(1, 0, ["topic", "applies to", "caveat"], fmt["header"])
    for r, c in enumerate(catalog.caveats(), start=2):
        ws.write_row(r, 0, [c["topic"], c["applies_to"], c["caveat"]], fmt["wrap"])
    ws.set_column(0, 1, 22)
    ws.set_column(2, 2, 110)
    ws.freeze_panes(2, 0)
    book.close()
    return path


def _write_rows(ws, columns: list[str], rows: list[tuple], labels: dict, fmt: dict) -> None:
    ws.write_row(1, 0, [labels.get(c, (c,))[0] for c in columns], fmt["header"])
    ws.set_row(1, 30)
    at = {column: c for c, column in enumerate(columns)}
    small_base = [(at[c], at[b]) for c, b in excel_pack.CHANGE_BASES.items() if c in at and b in at]
    pct_at = {c for c, column in enumerate(columns) if excel_pack.is_pct(column)}
    for c, column in enumerate(columns):
        width = max([len(labels.get(column, (column,))[0]) // 2 + 2] + [len(str(r[c])) for r in rows[:200]])
        ws.set_column(c, c, min(max(width + 2, 10), 60),
                      fmt["pct"] if c in pct_at else fmt["pvalue"] if column in excel_pack.PVALUE_COLUMNS else None)
    for r, row in enumerate(rows, start=2):
        row = list(row)
        for c, base in small_base:
            if isinstance(row[base], (int, float)) and row[base] < MIN_BASE:
                row[c] = None
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value)
            elif isinstance(value, (date, datetime)):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt["date"])
            elif c in pct_at:
                ws.write_number(r, c, float(value) / 100)     # the tables hold 0-100; Excel's % wants a fraction
            else:
                ws.write_number(r, c, float(value), fmt["num"] if isinstance(value, int) else None)
    ws.freeze_panes(2, 0)
    if rows:
        ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)
