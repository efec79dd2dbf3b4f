"""The Excel data pack of a tier: Contents, one sheet per mart in the catalog's reading order, ready-made
year x theme and ward x theme sheets with charts, Definitions and Caveats."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from pipeline.narrative.phrases import MIN_BASE
from pipeline.publish import catalog
from pipeline.publish.table_files import mart_models, ordered
from pipeline.seeds import themes_where

EXCEL_NAME = "svna_data_pack.xlsx"
PUBLIC_EXCEL_NAME = "svna_data_pack_public.xlsx"
SUPPRESSED_MARK = "[c]"                # a suppressed cell in the public pack and report (GSS convention)
# columns shown as percentages in the Excel pack (values are already 0-100)
PCT_SUFFIXES = ("_pct", "pct_change", "_pct_of_role", "pct_of_role")
PVALUE_COLUMNS = ("p_value", "q_value", "p_sim", "trend_p_value")
# a % change and the count it is a change on: blank in the pack when that count is under MIN_BASE, as
# in the report and the headlines (a change on a handful swings wildly); tables/ keep every value
CHANGE_BASES = {"pct_change": "previous_count", "pct_change_gap": "previous_count",
                "trend_pct_change": "trend_start_count", "trend_avg_annual_pct": "trend_start_count",
                "rolling_pct_change": "previous_12m_count", "month_pct_change": "same_month_last_year_count"}
# the sheets after the marts' (not marts: described here)
BACK_SHEETS = {
    "Definitions": "Every column heading with its table name and definition; the themes' definitions",
    "Caveats": "What to bear in mind when reading the figures",
}
EMPTY_SHEET = "the run's inputs do not give this table (see Definitions and Caveats)."
# Sheet names a reader understands (Excel allows 31 characters); a table not listed here gets its name
# in words ("theme_summary" -> "Theme summary"). Contents and Definitions give each sheet's table name.
SHEET_TITLES = {
    "theme_monthly": "Theme by month", "ward_summary": "Wards as recorded", "sub_area_summary": "Sub-areas",
    "people_profile": "Victims and suspects", "knife_crime_profile": "Knife crime", "temporal_profile": "Time and day",
    "deprivation_profile": "Deprivation", "repeat_victimisation": "Repeat victims", "quarantine": "Quarantined rows",
    "police_uk_crime_types": "data.police.uk crime types", "police_uk_location_summary": "data.police.uk locations",
    "rolling_summary": "Rolling 12 months", "monthly_exceptions": "Exceptions",
}


def sheet_title(name: str) -> str:
    """The data pack's sheet name of a table or ready-made sheet."""
    return SHEET_TITLES.get(name, name.replace("_", " ").capitalize())[:31]


def is_pct(column: str) -> bool:
    return column.endswith(PCT_SUFFIXES)


def _pivot_sources(con: duckdb.DuckDBPyConnection, suppressed: set | None = None
                   ) -> dict[str, tuple[str, list, list, list[list]]]:
    """The ready-made sheets: (title, row labels, theme columns, values) for year x theme (trend, the
    area's own source) and ward x theme (ward_hotspots, current period); a suppressed cell is [c]."""
    themes = [t for (t,) in con.execute("select theme from seed_themes order by cast(sort_order as integer)").fetchall()]
    label = dict(con.execute("select theme, label from seed_themes").fetchall())
    pivots = {}
    year_rows = con.execute(
        "with ranked as (select source, count(*) as n from trend where area_role = 'area' group by source), "
        "chosen as (select source from ranked order by case source when 'record_extract' then 0 "
        "when 'mps_counts' then 1 else 2 end limit 1) "
        "select t.period_label, t.theme, t.count, concat_ws(' | ', t.source, t.area_role, t.theme, "
        "strftime(t.period_start, '%Y-%m-%d')) from trend as t join chosen using (source) "
        "where t.area_role = 'area' order by t.period_start").fetchall()
    ward_rows = con.execute(
        "select ward_name, theme, count, concat_ws(' | ', area_code, ward_code, theme, period_label) "
        "from ward_hotspots order by ward_name").fetchall()
    for sheet, title, rows in (("year_by_theme", "Year", year_rows), ("ward_by_theme", "Ward", ward_rows)):
        table = "trend" if sheet == "year_by_theme" else "ward_hotspots"
        row_labels = list(dict.fromkeys(r[0] for r in rows))
        present = [t for t in themes if any(r[1] == t for r in rows)]
        cells = {(r[0], r[1]): SUPPRESSED_MARK if r[2] is None and (table, r[3], "count") in (suppressed or ())
                 else r[2] for r in rows}
        pivots[sheet] = (title, row_labels, [label.get(t, t) for t in present],
                         [[cells.get((r, t)) for t in present] for r in row_labels], present)
    return pivots


def page_setup(ws, marking: str, title: str) -> None:
    """Landscape A4, fit to the page width, the marking in every printed page's header and footer."""
    mark = marking.replace("&", "&&")
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_header(f'&L&"Calibri,Bold"{mark}&R{title.replace("&", "&&")}')
    ws.set_footer(f"&L{mark}&RPage &P of &N")


def open_book(path: Path):
    """A workbook that writes every str as text (input values such as "=HYPERLINK(...)" never become
    formulas or links) and the pack's cell formats, shared by the annual and the monthly packs."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True, "remove_timezone": True,
                                      "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    fmt = {name: book.add_format(spec) for name, spec in {
        "header": {"bold": True, "bg_color": "#1F3864", "font_color": "white", "text_wrap": True, "valign": "top",
                   "border": 1},
        "pct": {"num_format": "0.0%"}, "num": {"num_format": "#,##0"}, "dec": {"num_format": "0.00"},
        "pvalue": {"num_format": '[<0.001]"<0.001";0.000'}, "date": {"num_format": "yyyy-mm-dd"},
        "marking": {"bold": True, "font_color": "#C00000"}, "title": {"bold": True, "font_size": 14},
        "bold": {"bold": True}, "wrap": {"text_wrap": True, "valign": "top"},
        "link": {"font_color": "blue", "underline": 1, "valign": "top"},
        "heading": {"bold": True, "text_wrap": True, "valign": "bottom"}}.items()}
    return book, fmt


def write_excel(con: duckdb.DuckDBPyConnection, out_dir: Path, name: str = EXCEL_NAME, tier: str = "restricted",
                names: list[str] | None = None, headlines: str | None = None,
                suppressed: set[tuple[str, str, str]] | None = None) -> Path:
    """The data pack: Contents (headlines and a link to every sheet) first, then one sheet per table in
    reading order with human headings, ready-made year x theme and ward x theme sheets with charts,
    Definitions (heading, table column name, definition) and Caveats. Numbers stay numbers; percentages
    are fractions with a % format; p- and q-values numbers shown to 3 decimals (<0.001 below that).
    Every sheet carries `tier`'s marking (catalog.marking). Reads the connection's current schema
    (publish_public: the public one); `suppressed` (public tier: table, row key, column of each
    suppressed cell) show as [c] in an otherwise numeric column."""
    path = out_dir / name
    names = catalog.mart_names() if names is None else names
    labels = catalog.column_labels()
    marking, public = catalog.marking(tier), tier == "public"
    book, fmt = open_book(path)
    header, pct, num, dec, pvalue, date_fmt, marking_fmt, bold, wrap = (
        fmt[k] for k in ("header", "pct", "num", "dec", "pvalue", "date", "marking", "bold", "wrap"))

    contents = book.add_worksheet("Contents")   # first: the reader opens on it
    pivots = _pivot_sources(con, suppressed) if {"trend", "ward_hotspots"} <= set(names) else {}
    order = catalog.sheet_order(list(names) + list(pivots))
    sheets: list[tuple[str, int]] = []   # (sheet, rows) for the contents list
    described = catalog.sheets()
    for sheet in order:
        ws = book.add_worksheet(sheet_title(sheet))
        page_setup(ws, marking, sheet_title(sheet))
        ws.write_string(0, 0, marking, marking_fmt)
        if sheet in pivots:
            rows = _write_pivot(book, ws, sheet, pivots[sheet], header, num, public=public)
        else:
            rows = _write_table(con, ws, sheet, labels, header, (pct, num, dec, pvalue, date_fmt),
                                suppressed=suppressed)
        if not rows:
            empty = described[sheet].empty if sheet in described else ""
            ws.write_string(2, 0, "This sheet is empty: " + (empty or EMPTY_SHEET), bold)
        sheets.append((sheet, rows))

    listed = [(sheet_title(sheet), rows, (described[sheet].description if sheet in described else "")
               + ("" if sheet in pivots else f" (table {sheet})")) for sheet, rows in sheets]
    listed += [(sheet, 1, BACK_SHEETS[sheet]) for sheet in BACK_SHEETS]
    write_contents(contents, listed, marking, headlines, fmt, public=public)

    themes, _ = catalog.definitions(con)
    ws = book.add_worksheet("Definitions")
    page_setup(ws, marking, "Definitions")
    ws.write_string(0, 0, marking, marking_fmt)
    ws.write_row(1, 0, ["heading", "column name", "definition", "tables"], header)
    columns_of: dict[str, list[str]] = {}   # one catalog query for every table (~7 ms each)
    for table, column in con.execute("select table_name, column_name from information_schema.columns where "
                                     "table_catalog = current_database() and table_schema = current_schema() "
                                     "order by table_name, ordinal_position").fetchall():
        columns_of.setdefault(table, []).append(column)
    tables_of: dict[str, list[str]] = {}
    for table in names:
        if table not in pivots:
            for column in columns_of.get(table, []):
                tables_of.setdefault(column, []).append(table)
    r = 2
    for column, tables in tables_of.items():
        heading, definition = labels.get(column, (column, ""))
        ws.write_row(r, 0, [heading, column, definition, ", ".join(tables)], wrap)
        r += 1
    r += 1
    ws.write_row(r, 0, ["theme", "label", "record extract definition", "MPS count file definition"], header)
    for i, row in enumerate(themes, start=r + 1):
        ws.write_row(i, 0, row, wrap)
    ws.write_string(r + len(themes) + 2, 0, "Percentages are stored as fractions (0.25 shows as 25.0%). p- and q-values are numbers "
                    "shown to 3 decimals; below 0.001 they show as <0.001 (the cell keeps the exact value). A % change "
                    f"is left blank where the count it compares with is under {MIN_BASE}: on so few it swings wildly "
                    "(the counts and the change in crimes are given; tables/ keep every value).", wrap)
    ws.set_column(0, 1, 28)
    ws.set_column(2, 2, 90)
    ws.set_column(3, 3, 40)
    ws.freeze_panes(2, 0)

    ws = book.add_worksheet("Caveats")
    page_setup(ws, marking, "Caveats")
    ws.write_string(0, 0, marking, marking_fmt)
    ws.write_row(1, 0, ["topic", "applies to", "caveat"], header)
    for r, row in enumerate(con.execute("select topic, applies_to, caveat from seed_caveats").fetchall(), start=2):
        ws.write_row(r, 0, row, wrap)
    ws.set_column(0, 1, 22)
    ws.set_column(2, 2, 110)
    ws.freeze_panes(2, 0)
    book.close()
    return path


# Contents: sheet names in A, descriptions in B. Text wraps inside these widths and every row is given
# its height: LibreOffice Calc does not grow a row for wrapped text on opening an xlsx (Excel does not
# either for merged cells), so text left to the default height is cut or piles into a narrow column.
CONTENTS_WIDTHS = (34, 96)
LINE_HEIGHT = 15            # points per wrapped line of 11-point text
CHARS_PER_WIDTH = 1.1       # characters of prose per unit of column width, allowing for a wider fallback font


def _row_height(text: str, width: float) -> float:
    """Points for `text` wrapped in a cell `width` characters wide (explicit line breaks kept)."""
    per_line = max(1, int(width * CHARS_PER_WIDTH))
    lines = sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))
    return LINE_HEIGHT * lines + 3


def write_contents(ws, sheets: list[tuple[str, int, str]], marking: str, headlines: str | None, fmt: dict,
                   title: str = "Serious Violence Strategic Needs Assessment: data pack", public: bool = False) -> None:
    """The Contents sheet: title, the drafted headlines (each across both columns), a link and a
    description for every (sheet, rows, description), and in the public tier what is suppressed and
    what is left out."""
    full = sum(CONTENTS_WIDTHS)
    ws.set_column(0, 0, CONTENTS_WIDTHS[0], fmt["wrap"])
    ws.set_column(1, 1, CONTENTS_WIDTHS[1], fmt["wrap"])
    ws.hide_gridlines(2)
    page_setup(ws, marking, "Contents")
    ws.write_string(0, 0, marking, fmt["marking"])
    ws.write_string(1, 0, title, fmt["title"])
    ws.set_row(1, 22)
    r = 3

    def paragraph(text: str, cell_format) -> None:
        nonlocal r
        ws.merge_range(r, 0, r, 1, text, cell_format)
        ws.set_row(r, _row_height(text, full))
        r += 1

    if headlines:
        ws.write_string(r, 0, "Headlines", fmt["bold"])
        r += 1
        for line, heading in _plain_lines(headlines):
            paragraph(line, fmt["heading"] if heading else fmt["wrap"])
        r += 1
    ws.write_string(r, 0, "Sheet", fmt["bold"])
    ws.write_string(r, 1, "What it holds", fmt["bold"])
    r += 1
    for sheet, rows, description in sheets:
        ws.write_url(r, 0, f"internal:'{sheet[:31]}'!A1", fmt["link"], sheet[:31])
        description += "" if rows else " (empty: see the sheet)"
        ws.write_string(r, 1, description, fmt["wrap"])
        ws.set_row(r, max(_row_height(description, CONTENTS_WIDTHS[1]), _row_height(sheet, CONTENTS_WIDTHS[0])))
        r += 1
    if public:
        r += 1
        paragraph("Public tier: small counts (by default 1-4; under 10 for sexual offences, rape and domestic abuse "
                  "at ward level: the run's disclosure: settings are in run.json) and cells that would reveal them "
                  f"read {SUPPRESSED_MARK}; disclosure_log.csv lists every suppressed cell.", fmt["wrap"])
        for mart in catalog.MARTS.values():
            if mart.public:
                continue
            text = f"Not published in the public tier: {mart.not_public}"
            ws.write_string(r, 0, sheet_title(mart.name), fmt["wrap"])
            ws.write_string(r, 1, text, fmt["wrap"])
            ws.set_row(r, _row_height(text, CONTENTS_WIDTHS[1]))
            r += 1


def _plain_lines(markdown: str) -> list[tuple[str, bool]]:
    """headlines.md as plain sentences for a cell, each with whether it was a heading: no marking line,
    headings and bullets unmarked."""
    lines = []
    for line in markdown.splitlines():
        text = re.sub(r"\\(.)", r"\1", re.sub(r"\*\*|^#+\s*|^[-*]\s+|^_|_$", "", line.strip())).strip()
        text = re.sub(r" \(run [^)]*\)", "", text)   # the run id is in every table's Run id column
        if text and "OFFICIAL" not in text:
            lines.append((text, line.lstrip().startswith("#")))
    return lines


def _write_table(con, ws, name: str, labels: dict, header, formats, suppressed: set | None = None) -> int:
    pct, num, dec, pvalue, date_fmt = formats
    model = mart_models().get(name)
    key = list(model.unique_key) if model else []
    mart = catalog.MARTS.get(name)
    where, note = mart.extract if mart and mart.extract else ("true", None)
    cursor = con.execute(ordered(name, where))  # `where`: ours, above
    columns = [d[0] for d in cursor.description]
    types = [str(d[1]) for d in cursor.description]
    rows = cursor.fetchall()
    if note:
        ws.write_string(0, 4, note)
    ws.write_row(1, 0, [labels.get(c, (c, ""))[0] for c in columns], header)
    pct_at = [c for c, column in enumerate(columns) if is_pct(column)]
    for c, (column, dtype) in enumerate(zip(columns, types)):
        fmt = None
        if is_pct(column):
            fmt = pct
        elif column in PVALUE_COLUMNS:
            fmt = pvalue
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT"):
            fmt = num
        elif dtype == "DOUBLE" or dtype.startswith("DECIMAL"):
            fmt = dec
        elif dtype == "DATE":
            fmt = date_fmt
        width = max([len(labels.get(column, (column,))[0]) // 2 + 2] + [len(str(r[c])) for r in rows[:200]])
        ws.set_column(c, c, min(max(width + 2, 10), 60), fmt)
    at = {column: c for c, column in enumerate(columns)}
    small_base = [(at[column], at[base]) for column, base in CHANGE_BASES.items() if column in at and base in at]
    for r, row in enumerate(rows, start=2):
        row = list(row)
        for c, base in small_base:
            if isinstance(row[base], (int, float)) and row[base] < MIN_BASE:
                row[c] = None
        for c in pct_at:  # the marts hold 0-100; Excel's % format wants a fraction
            if row[c] is not None:
                row[c] = row[c] / 100
        if suppressed and all(k in at for k in key):
            row_key = " | ".join("" if row[at[k]] is None else _key_text(row[at[k]]) for k in key)
            for c, column in enumerate(columns):
                if row[c] is None and (name, row_key, column) in suppressed:
                    row[c] = SUPPRESSED_MARK     # a string cell in a numeric column: Excel keeps it as text
        ws.write_row(r, 0, row)
    ws.freeze_panes(2, 1 if columns and columns[0] != "area_code" else 3)
    if rows:
        ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)
    return len(rows)


def _key_text(value) -> str:
    """A key value as disclosure_rules.row_keys writes it (dates as YYYY-MM-DD)."""
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


TOP_WARDS = 10   # wards in each theme's ready-made chart: more bars than this cannot be read on a page


def _write_pivot(book, ws, sheet: str, pivot, header, num, public: bool = False) -> int:
    """A ready-made table (rows x themes) and native Excel charts of it (all crime and VAP left out:
    they dwarf the other themes). Year x theme: one line chart; a theme with a suppressed year is left
    out of it (a chart would draw [c] as zero). Ward x theme: for each charted theme a horizontal bar
    chart of its top wards, from a small sorted table beside it (suppressed wards left out)."""
    title, row_labels, theme_labels, values, themes = pivot
    ws.write_row(1, 0, [title] + theme_labels, header)
    ws.set_row(1, 45)   # theme names wrap onto up to 3 lines
    for r, (label, row) in enumerate(zip(row_labels, values), start=2):
        ws.write(r, 0, label)
        ws.write_row(r, 1, row, num)
    ws.set_column(0, 0, 28)
    ws.set_column(1, len(theme_labels), 14)
    ws.freeze_panes(2, 1)
    ws.write_string(0, 4, "Blank cells: not available"
                    + (f"; {SUPPRESSED_MARK}: suppressed (public tier)" if public else ""))
    if not row_labels:
        return 0
    charted = [(c, theme) for c, theme in enumerate(themes, start=1) if theme in themes_where("in_excel_chart")]
    last = len(row_labels) + 1
    if sheet == "year_by_theme":
        whole = [(c, t) for c, t in charted if all(isinstance(v[c - 1], (int, float)) for v in values)]
        if whole:
            chart = book.add_chart({"type": "line"})
            for c, _ in whole:
                chart.add_series({"name": [ws.name, 1, c], "categories": [ws.name, 2, 0, last, 0],
                                  "values": [ws.name, 2, c, last, c], "marker": {"type": "circle"}})
            left_out = [theme_labels[c - 1] for c, t in charted if (c, t) not in whole]
            chart.set_title({"name": "Crimes by year and theme (all crime and VAP in the table)"
                             + (f"; not charted (a year suppressed or missing): {', '.join(left_out)}"
                                if left_out else "")})
            chart.set_legend({"position": "bottom"})
            chart.set_size({"width": 900, "height": 420})
            ws.insert_chart(last + 2, 0, chart)
        return len(row_labels)
    r, bold = last + 3, book.add_format({"bold": True})
    for c, _ in charted:
        numbers = [(v[c - 1], label) for label, v in zip(row_labels, values)
                   if isinstance(v[c - 1], (int, float)) and v[c - 1] > 0]
        ranked = sorted(numbers, key=lambda x: (-x[0], x[1]))[:TOP_WARDS]
        if not ranked:
            continue
        ws.write_string(r - 1, 0, f"Top {len(ranked)} wards: {theme_labels[c - 1]}", bold)
        ws.write_row(r, 0, ["Ward", "Crimes"], header)
        for i, (count, label) in enumerate(ranked, start=r + 1):
            ws.write_string(i, 0, label)
            ws.write_number(i, 1, count, num)
        chart = book.add_chart({"type": "bar"})
        # bars top to bottom in rank order: the category axis is drawn reversed
        chart.add_series({"name": theme_labels[c - 1], "categories": [ws.name, r + 1, 0, r + len(ranked), 0],
                          "values": [ws.name, r + 1, 1, r + len(ranked), 1], "data_labels": {"value": True},
                          "fill": {"color": "#1F3864"}, "gap": 60})
        chart.set_title({"name": f"{theme_labels[c - 1]}: wards with the most crimes, current period",
                         "name_font": {"size": 11}})
        chart.set_y_axis({"reverse": True, "num_font": {"size": 9}})
        small = {"major_unit": 1} if ranked[0][0] <= 5 else {}       # whole crimes on the axis, not 0.5
        chart.set_x_axis({"min": 0, "major_gridlines": {"visible": True}, **small})
        chart.set_legend({"none": True})
        chart.set_size({"width": 620, "height": 60 + 24 * len(ranked)})
        ws.insert_chart(r, 3, chart)
        r += max(len(ranked) + 4, (60 + 24 * len(ranked)) // 20 + 3)
    if public:
        ws.write_string(last + 1, 0, f"Charts: wards whose count is suppressed ({SUPPRESSED_MARK}) are not ranked.")
    return len(row_labels)
