"""Publishing: tables (Parquet + CSV), the DuckDB file, the Excel data pack, headlines and run.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline import assessment, db, disclosure, disclosure_audit, funnel_chart, narrative, output_folders, report, spatial_outputs
from pipeline.config import RunConfig
from pipeline.privacy import MARKING
from pipeline.seeds import themes_where

EXCEL_NAME = "svna_data_pack.xlsx"
PUBLIC_DIR = "public"   # <output>/public/: the public tier (disclosure-controlled)
PUBLIC_EXCEL_NAME = "svna_data_pack_public.xlsx"
DISCLOSURE_LOG = "disclosure_log.csv"   # public/: which cells are suppressed; the restricted one beside it also says why
SUPPRESSED_MARK = "[c]"                # a suppressed cell in the public pack and report (GSS convention)
# columns shown as percentages in the Excel pack (values are already 0-100)
PCT_SUFFIXES = ("_pct", "pct_change", "_pct_of_role", "pct_of_role")


def mart_names() -> list[str]:
    """Every mart model: what a run publishes."""
    return list(db.model_files(("marts",)))


def csv_columns(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The select list for a table's CSV: text columns through csv_safe_text (sql/macros.sql), so a
    cell starting with = + - @, a tab or CR cannot run as a spreadsheet formula; numbers untouched."""
    columns = con.execute("select column_name, data_type from information_schema.columns "
                          "where table_catalog = current_database() and table_schema = current_schema() and table_name = ? "
                          "order by ordinal_position", [name]).fetchall()
    return ", ".join(f'csv_safe_text("{c}") as "{c}"' if dtype == "VARCHAR" else f'"{c}"'
                     for c, dtype in ((db.sql_identifier(c), dtype) for c, dtype in columns))


def ordered(name: str, where: str = "true", select: str = "m.*") -> str:
    """`select ... from <mart>` in its stated order, so re-runs write identical files: by the unique key
    in the model's header, themes in their seed order (sql/seeds/themes.csv) rather than alphabetically."""
    model = db.load_models(("marts",)).get(name)
    if model is None:  # not a model (a table made in a test): as stored
        return f"select {select} from {db.sql_identifier(name)} as m where {where}"
    terms = []
    for column in model.unique_key:
        if column == "theme":
            terms.append("(select cast(sort_order as integer) from seed_themes as s where s.theme = m.theme)")
        terms.append(f'm."{column}"')
    return f"select {select} from {db.sql_identifier(name)} as m where {where} order by {', '.join(terms)}"


def write_csv(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> Path:
    """One table of the connection's current schema as CSV, formula-like text neutralised (csv_columns)."""
    con.execute(f"copy ({ordered(name, select=csv_columns(con, name))}) to ? (format csv, header true)",
                [str(path)])  # path: a bind parameter
    return path


def write_tables(con: duckdb.DuckDBPyConnection, out_dir: Path, names: list[str] | None = None) -> list[Path]:
    """Parquet keeps the values as they are; CSV neutralises formula-like text (csv_columns). `names`:
    the tables to write (default every mart), read from the connection's current schema."""
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    written = []
    for name in mart_names() if names is None else names:
        name = db.sql_identifier(name)
        path = tables / f"{name}.parquet"
        con.execute(f"copy ({ordered(name)}) to ? (format parquet)", [str(path)])  # path: a bind parameter
        written += [path, write_csv(con, name, tables / f"{name}.csv")]
    return written


# the metrics report.html's Definitions section explains; every column's definition is in
# sql/seeds/column_labels.csv (the data pack's Definitions sheet)
KEY_METRICS = ("count", "previous_count", "change", "pct_change", "comparator_pct_change", "share_of_all_crime_pct",
               "victims_u25_pct", "victim_age_unknown_pct", "suspects_u25_pct", "suspect_age_unknown_pct",
               "poisson_z", "p_value", "q_value", "change_flag", "change_note", "weighted_count",
               "expected_share_pct", "rate_ratio", "disproportionality", "repeat_victims", "median_days_to_repeat",
               "trend_direction", "imd_quintile", "concentration_ratio", "expected_victims_u25", "is_focus",
               "is_neighbour", "rate_rank", "share_of_comparator_pct", "funnel_position")


def _definitions(con: duckdb.DuckDBPyConnection):
    themes = con.execute("select theme, label, record_extract_definition, mps_counts_definition from seed_themes "
                         "order by cast(sort_order as integer)").fetchall()
    labels = column_labels()
    return themes, [(name, labels[name][1]) for name in KEY_METRICS if name in labels]


# Tables too long for a reader's spreadsheet: the pack keeps the rows that matter, with a note;
# every row stays in tables/ and svna.gpkg.
EXCEL_EXTRACTS = {
    "grid_hotspots": ("hotspot_class in ('hot', 'cold') or hotspot_change in ('former_hot', 'former_cold')",
                      "Hot and cold cells only (and cells that were hot or cold in the previous period); "
                      "every cell is in tables/grid_hotspots.csv and svna.gpkg."),
}
# Reading order of the pack: the headline table first, data quality last; a mart not named here
# comes before the data-quality sheets, so a new table is never left out.
READING_ORDER = ("theme_summary", "year_by_theme", "trend", "theme_monthly", "theme_detail", "ward_by_theme",
                 "ward_hotspots", "ward_summary", "sub_area_summary", "people_profile", "victim_rates",
                 "domestic_abuse_split", "knife_crime_profile", "temporal_profile", "deprivation_profile",
                 "repeat_victimisation", "population_outlook", "grid_hotspots")
DATA_QUALITY = ("quarantine_summary", "quarantine", "location_summary", "police_uk_crime_types",
                "police_uk_location_summary", "input_files")
SHEET_DESCRIPTIONS = {
    "theme_summary": "Each theme this period against the previous one: counts, change, significance, shares",
    "year_by_theme": "Crimes by year and theme, ready to paste, with a chart (from trend)",
    "trend": "Each theme by year as far back as the inputs go, with the 3-5 year trend",
    "theme_monthly": "Crimes by month and theme: the series behind the trend charts",
    "theme_detail": "Supporting measures per theme: denominators, DA and knife shares, under-18 victims, suspects",
    "ward_by_theme": "Crimes by current ward and theme this period, ready to paste, with a chart",
    "ward_hotspots": "Current wards by theme: counts, rates per 1,000, rank, change and significance",
    "ward_summary": "Wards as recorded in the input by theme, current and previous counts",
    "sub_area_summary": "Sub-areas (e.g. East / West) by theme, with residents' shares",
    "people_profile": "Victims and suspects by age band, sex and ethnicity",
    "victim_rates": "Victim rates per 1,000 residents by age group, and disproportionality",
    "domestic_abuse_split": "Each theme split into domestic abuse and not domestic abuse",
    "knife_crime_profile": "Knife crime, knife crime with injury, and the themes knife crimes fall in",
    "temporal_profile": "Month of year, day of week x hour, and school periods",
    "deprivation_profile": "Crimes by IMD 2019 quintile of the LSOA against residents",
    "repeat_victimisation": "Repeat victims of each theme (pseudonymised victim ids)",
    "population_outlook": "Victims under 25 to expect if today's rate held, with the projected population",
    "grid_hotspots": "Getis-Ord Gi* hot and cold spots on a grid, and their change",
    "quarantine_summary": "Data quality: rows in = loaded + superseded + quarantined, per input file",
    "quarantine": "Data quality: each input row that failed a row-level rule, and why",
    "location_summary": "Data quality: how crimes were placed on the current wards",
    "police_uk_crime_types": "data.police.uk rows by crime type and month (limited mode)",
    "police_uk_location_summary": "data.police.uk rows by location method (limited mode)",
    "input_files": "Every input file read: path, size, sha256, rows (lineage)",
    "Definitions": "Every column heading with its table name and definition; the themes' definitions",
    "Caveats": "What to bear in mind when reading the figures",
}
# Why a sheet can be empty, said on the sheet itself rather than left blank.
EMPTY_REASONS = {
    "grid_hotspots": "No grid cell is a hot or cold spot at the FDR threshold in either period (or the inputs have "
                     "no point locations, e.g. count-only MPS files). Every cell is in tables/grid_hotspots.csv.",
    "quarantine": "No input row failed a row-level rule.",
    "location_summary": "No record-level extract in this run: crimes come from count files, placed as published.",
    "police_uk_crime_types": "No data.police.uk input in this run.",
    "police_uk_location_summary": "No data.police.uk input in this run.",
    "sub_area_summary": "No sub-area lookup in the run config (reference.sub_areas).",
    "ward_by_theme": "No ward-level counts in this run's inputs.",
    "year_by_theme": "No year the inputs cover in full.",
}
PVALUE_COLUMNS = ("p_value", "q_value", "p_sim", "trend_p_value")


def column_labels() -> dict[str, tuple[str, str]]:
    """column_name -> (heading, definition), from the one seed (sql/seeds/column_labels.csv)."""
    import csv

    from pipeline.config import SEEDS_DIR

    with open(SEEDS_DIR / "column_labels.csv", newline="", encoding="utf-8") as f:
        return {r["column_name"]: (r["heading"], r["definition"]) for r in csv.DictReader(f)}


def is_pct(column: str) -> bool:
    return column.endswith(PCT_SUFFIXES)


def sheet_order(names: list[str]) -> list[str]:
    rest = [n for n in names if n not in READING_ORDER and n not in DATA_QUALITY]
    return [n for n in READING_ORDER if n in names] + rest + [n for n in DATA_QUALITY if n in names]


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


def write_excel(con: duckdb.DuckDBPyConnection, out_dir: Path, name: str = EXCEL_NAME, marking: str = MARKING,
                names: list[str] | None = None, headlines: str | None = None,
                suppressed: set[tuple[str, str, str]] | None = None) -> Path:
    """The data pack: Contents (headlines and a link to every sheet) first, then one sheet per table in
    reading order with human headings, ready-made year x theme and ward x theme sheets with charts,
    Definitions (heading, table column name, definition) and Caveats. Numbers stay numbers; percentages
    are fractions with a % format; p- and q-values numbers shown to 3 decimals (<0.001 below that).
    Reads the connection's current schema (publish_public: the public one); `suppressed` (public tier:
    table, row key, column of each suppressed cell) show as [c] in an otherwise numeric column."""
    import xlsxwriter

    path = out_dir / name
    names = mart_names() if names is None else names
    labels = column_labels()
    # every str is written as text: input values such as "=HYPERLINK(...)" never become formulas or links
    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True, "remove_timezone": True,
                                      "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    header = book.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "white", "text_wrap": True,
                              "valign": "top", "border": 1})
    pct = book.add_format({"num_format": "0.0%"})
    num = book.add_format({"num_format": "#,##0"})
    dec = book.add_format({"num_format": "0.00"})
    pvalue = book.add_format({"num_format": '[<0.001]"<0.001";0.000'})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    marking_fmt = book.add_format({"bold": True, "font_color": "#C00000"})
    title_fmt = book.add_format({"bold": True, "font_size": 14})
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    link = book.add_format({"font_color": "blue", "underline": 1})

    contents = book.add_worksheet("Contents")   # first: the reader opens on it
    pivots = _pivot_sources(con, suppressed) if {"trend", "ward_hotspots"} <= set(names) else {}
    order = sheet_order(list(names) + list(pivots))
    sheets: list[tuple[str, int]] = []   # (sheet, rows) for the contents list
    for sheet in order:
        ws = book.add_worksheet(sheet[:31])
        page_setup(ws, marking, sheet)
        ws.write_string(0, 0, marking, marking_fmt)
        if sheet in pivots:
            rows = _write_pivot(book, ws, sheet, pivots[sheet], header, num, public=marking != MARKING)
        else:
            rows = _write_table(con, ws, sheet, labels, header, (pct, num, dec, pvalue, date_fmt),
                                suppressed=suppressed)
        if not rows:
            ws.write_string(2, 0, "This sheet is empty: " + EMPTY_REASONS.get(
                sheet, "the run's inputs do not give this table (see Definitions and Caveats)."), bold)
        sheets.append((sheet, rows))

    # Contents
    page_setup(contents, marking, "Contents")
    contents.write_string(0, 0, marking, marking_fmt)
    contents.write_string(1, 0, "Serious Violence Strategic Needs Assessment: data pack", title_fmt)
    r = 3
    if headlines:
        contents.write_string(r, 0, "Headlines", bold)
        r += 1
        for line in _plain_lines(headlines):
            contents.write_string(r, 0, line, wrap)
            r += 1
        r += 1
    contents.write_string(r, 0, "Sheets", bold)
    r += 1
    for sheet, rows in sheets + [("Definitions", 1), ("Caveats", 1)]:
        contents.write_url(r, 0, f"internal:'{sheet[:31]}'!A1", link, sheet[:31])
        contents.write_string(r, 1, SHEET_DESCRIPTIONS.get(sheet, "") + ("" if rows else " (empty: see the sheet)"))
        r += 1
    if marking != MARKING:
        r += 1
        contents.write_string(r, 0, "Public tier: small counts (by default 1-4; under 10 for sexual offences, rape and "
                              "domestic abuse at ward level: the run's disclosure: settings are in run.json) and cells "
                              f"that would reveal them read {SUPPRESSED_MARK}; disclosure_log.csv lists every "
                              "suppressed cell.", wrap)
        r += 1
        from pipeline import disclosure

        for table, why in disclosure.NOT_PUBLISHED.items():
            contents.write_string(r, 0, table)
            contents.write_string(r, 1, f"Not published in the public tier: {why}")
            r += 1
    contents.set_column(0, 0, 30, wrap)
    contents.set_column(1, 1, 110)

    themes, _ = _definitions(con)
    ws = book.add_worksheet("Definitions")
    page_setup(ws, marking, "Definitions")
    ws.write_string(0, 0, marking, marking_fmt)
    ws.write_row(1, 0, ["heading", "column name", "definition", "tables"], header)
    tables_of: dict[str, list[str]] = {}
    for table in names:
        if table not in pivots:
            for (column,) in con.execute("select column_name from information_schema.columns where table_catalog = "
                                         "current_database() and table_schema = current_schema() and table_name = ? "
                                         "order by ordinal_position", [table]).fetchall():
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
                    "shown to 3 decimals; below 0.001 they show as <0.001 (the cell keeps the exact value).", wrap)
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


def _plain_lines(markdown: str) -> list[str]:
    """headlines.md as plain sentences for a cell: no marking line, headings and bullets unmarked."""
    import re

    lines = []
    for line in markdown.splitlines():
        text = re.sub(r"\\(.)", r"\1", re.sub(r"\*\*|^#+\s*|^[-*]\s+|^_|_$", "", line.strip())).strip()
        text = re.sub(r" \(run [^)]*\)", "", text)   # the run id is in every table's Run id column
        if text and "OFFICIAL" not in text:
            lines.append(text)
    return lines


def _write_table(con, ws, name: str, labels: dict, header, formats, suppressed: set | None = None) -> int:
    pct, num, dec, pvalue, date_fmt = formats
    model = db.load_models(("marts",)).get(name)
    key = list(model.unique_key) if model else []
    where, note = EXCEL_EXTRACTS.get(name, ("true", None))
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
    for r, row in enumerate(rows, start=2):
        row = list(row)
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
    """A key value as disclosure.row_keys writes it (dates as YYYY-MM-DD)."""
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def _write_pivot(book, ws, sheet: str, pivot, header, num, public: bool = False) -> int:
    """A ready-made table (rows x themes) and a native Excel chart of it (all crime and VAP left out
    of the chart: they dwarf the other themes)."""
    title, row_labels, theme_labels, values, themes = pivot
    ws.write_row(1, 0, [title] + theme_labels, header)
    for r, (label, row) in enumerate(zip(row_labels, values), start=2):
        ws.write(r, 0, label)
        ws.write_row(r, 1, row, num)
    ws.set_column(0, 0, 28)
    ws.set_column(1, len(theme_labels), 14)
    ws.freeze_panes(2, 1)
    if not row_labels:
        return 0
    chart = book.add_chart({"type": "line" if sheet == "year_by_theme" else "bar"})
    last = len(row_labels) + 1
    charted = themes_where("in_excel_chart")  # all crime and VAP left out (sql/seeds/themes.csv)
    for c, theme in enumerate(themes, start=1):
        if theme not in charted:
            continue
        chart.add_series({"name": [ws.name, 1, c], "categories": [ws.name, 2, 0, last, 0],
                          "values": [ws.name, 2, c, last, c]})
    chart.set_title({"name": ("Crimes by year and theme" if sheet == "year_by_theme"
                              else "Crimes by ward and theme, current period") + " (all crime and VAP in the table)"})
    chart.set_size({"width": 900, "height": 420 if sheet == "year_by_theme" else max(420, 22 * len(row_labels))})
    ws.insert_chart(last + 2, 0, chart)
    ws.write_string(0, 4, "Blank cells: not available" + (f"; {SUPPRESSED_MARK}: suppressed (public tier)" if public else ""))
    return len(row_labels)


def write_manifest(out_dir: Path, cfg: RunConfig, run_id: str, files, timings: dict, started: datetime,
                   outcome: str, outputs: list[Path], validation: dict | None = None,
                   checks: dict | None = None) -> Path:
    manifest = {
        "run_id": run_id,
        "outcome": outcome,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "code_version": assessment.code_version(),
        "config_path": str(cfg.config_path),
        "config_hash": cfg.config_hash,
        "config": cfg.raw,
        "area": {"name": cfg.area_name, "code": cfg.area_code},
        "periods": {role: {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()}
                    for role, p in (("current", cfg.current), ("previous", cfg.previous))},
        "date_basis": cfg.date_basis,
        "inputs": [f.as_dict() for f in files],
        "validation": validation,
        "checks": checks,  # reconciliation totals and crimes by location method
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "outputs": sorted(str(p.relative_to(out_dir)) for p in outputs),
    }
    audit = out_dir / f"{disclosure_audit.TABLE}.csv"
    if audit.exists():   # the public tier's disclosure audit (pipeline/disclosure_audit.py)
        manifest["disclosure_audit"] = disclosure_audit.summary_of_file(audit)
    path = out_dir / "run.json"
    path.write_text(json.dumps(manifest, indent=2, default=str))
    return path


@contextmanager
def in_schema(con: duckdb.DuckDBPyConnection, schema: str) -> Iterator[None]:
    """Unqualified table names read `schema` first (seeds and macros still resolve from main): the
    public tier's writers are the restricted ones run over the public schema."""
    before = con.execute("select current_schema()").fetchone()[0]
    con.execute("set schema = ?", [db.sql_identifier(schema)])
    try:
        yield
    finally:
        con.execute("set schema = ?", [before])


def publish(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> list[Path]:
    """Both tiers; the restricted one first, so a failure in the public tier never costs it: the public
    tier's folder and schema are removed and a PublicTierError (carrying the restricted outputs) is raised."""
    tiers = cfg.tiers
    outputs = []
    if "restricted" in tiers:
        outputs += write_tables(con, out_dir)
        headlines = out_dir / "headlines.md"
        headlines.write_text(narrative.headlines_markdown(con, cfg.comparator_name, MARKING))
        outputs.append(write_excel(con, out_dir, headlines=headlines.read_text()))
        outputs.append(headlines)
        outputs += spatial_outputs.write_spatial_outputs(con, cfg, out_dir)
        outputs += funnel_chart.write_funnel_charts(con, out_dir / "maps")
        outputs.append(report.write_report(con, cfg, out_dir / report.REPORT_NAME))
    if "public" in tiers:
        try:
            outputs += publish_public(con, cfg, out_dir)
        except Exception as exc:
            _remove_public_tier(con, out_dir)
            failure = exc if isinstance(exc, disclosure.PublicTierError) else disclosure.PublicTierError(
                "(writing the public files)", "-", f"{type(exc).__name__}: {exc}")
            failure.outputs = outputs
            if failure is exc:
                raise
            raise failure from exc
    return outputs


def _remove_public_tier(con: duckdb.DuckDBPyConnection, out_dir: Path) -> None:
    """A half-written public tier is never left: its folder (inside this run's staging folder, which svna
    made) and its schema go, and so does the restricted disclosure log written with it."""
    import shutil

    shutil.rmtree(out_dir / PUBLIC_DIR, ignore_errors=True)
    (out_dir / DISCLOSURE_LOG).unlink(missing_ok=True)
    con.execute(f"drop schema if exists {disclosure.SCHEMA} cascade")
    con.execute(f"drop table if exists main.{disclosure.LOG_TABLE}")


def publish_public(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> list[Path]:
    """<output>/public/: the public schema's tables, disclosure_log.csv (which cells are suppressed), the
    public data pack, headlines and report; <output>/disclosure_log.csv (restricted) adds each cell's
    rule. No maps or GeoPackage (point and fine-grid data are not published)."""
    counts = disclosure.build_public_schema(con, cfg.disclosure)
    print(f"Public tier: {disclosure.summary(counts)}")
    public = out_dir / PUBLIC_DIR
    public.mkdir(parents=True, exist_ok=True)
    outputs = write_disclosure_logs(con, out_dir)
    # the audit's ranges beside the restricted tables (not in public/): run.json carries its summary
    outputs.append(write_csv(con, disclosure_audit.TABLE, out_dir / f"{disclosure_audit.TABLE}.csv"))
    suppressed = {tuple(r) for r in con.execute(
        f"select table_name, row_key, column_name from {disclosure.SCHEMA}.{disclosure.LOG_TABLE}").fetchall()}
    with in_schema(con, disclosure.SCHEMA):
        outputs += write_tables(con, public, names=disclosure.public_tables(con))
        headlines = public / "headlines.md"
        headlines.write_text(narrative.headlines_markdown(con, cfg.comparator_name, disclosure.PUBLIC_MARKING))
        outputs.append(headlines)
        outputs.append(write_excel(con, public, name=PUBLIC_EXCEL_NAME, marking=disclosure.PUBLIC_MARKING,
                                   names=disclosure.public_tables(con), headlines=headlines.read_text(),
                                   suppressed=suppressed))
    outputs.append(report.write_report(con, cfg, public / report.REPORT_NAME, tier="public", schema=disclosure.SCHEMA))
    return outputs


def write_disclosure_logs(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """The two disclosure logs through the tables' safe CSV writer (a name starting with = is text, not a
    formula): <output>/disclosure_log.csv with each cell's rule (restricted) and public/disclosure_log.csv
    with which cells only."""
    (out_dir / PUBLIC_DIR).mkdir(parents=True, exist_ok=True)
    restricted = write_csv(con, disclosure.LOG_TABLE, out_dir / DISCLOSURE_LOG)
    with in_schema(con, disclosure.SCHEMA):
        return [restricted, write_csv(con, disclosure.LOG_TABLE, out_dir / PUBLIC_DIR / DISCLOSURE_LOG)]


def copy_reports(output: Path, reports: Path, run_id: str | None = None) -> None:
    """Mirror the human-facing outputs (data pack, report, headlines, maps) into reports/ for readers; like the
    output folder, reports/ is built beside it and replaces only a folder svna wrote."""
    import shutil

    with output_folders.output_lock(reports):
        work = output_folders.staging_dir(reports, run_id, key="reports")
        try:
            for name in (EXCEL_NAME, report.REPORT_NAME, "headlines.md", "maps", PUBLIC_DIR):
                source = output / name
                if source.is_dir():
                    shutil.copytree(source, work / name)
                elif source.exists():
                    shutil.copy2(source, work / name)
        except BaseException:
            output_folders.discard(work)
            raise
        output_folders.swap_into_place(work, reports, key="reports")
