"""Publishing: tables (Parquet + CSV), the DuckDB file, the Excel data pack, headlines and run.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline import assessment, db, geography, narrative, output_folders, report
from pipeline.config import RunConfig
from pipeline.privacy import MARKING

EXCEL_NAME = "svna_data_pack.xlsx"
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


def write_tables(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Parquet keeps the values as they are; CSV neutralises formula-like text (csv_columns)."""
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    written = []
    for name in mart_names():
        name = db.sql_identifier(name)
        for fmt, select, options in (("parquet", "*", "(format parquet)"),
                                     ("csv", csv_columns(con, name), "(format csv, header true)")):
            path = tables / f"{name}.{fmt}"
            con.execute(f"copy ({ordered(name, select=select)}) to ? {options}", [str(path)])  # path: a bind parameter
            written.append(path)
    return written


def _definitions(con: duckdb.DuckDBPyConnection):
    themes = con.execute("select theme, label, record_extract_definition, mps_counts_definition from seed_themes "
                         "order by cast(sort_order as integer)").fetchall()
    metrics = [
        ("count", "Crimes in the theme in the period (a crime counts once per theme, however many victims)"),
        ("previous_count", "The same for the previous period of equal length"),
        ("change", "count - previous_count"),
        ("pct_change", "(count - previous_count) / previous_count x 100; null when previous_count is 0"),
        ("comparator_pct_change", "pct_change for the comparator area (e.g. the MPS total)"),
        ("share_of_all_crime_pct", "count / all notifiable crime (TNO) x 100"),
        ("victims_u25_pct", "victims aged 0-24 / victims with a known age x 100"),
        ("victim_age_unknown_pct", "victims with unknown age / all victims x 100"),
        ("suspects_u25_pct", "suspects aged 0-24 / suspects with a known age x 100"),
        ("suspect_age_unknown_pct", "crimes with no suspect recorded or a suspect of unknown age / crimes x 100"),
        ("poisson_z", "2 x (sqrt(count) - sqrt(previous_count)); descriptive only (the flag uses p_value)"),
        ("p_value", "exact two-sided test of count against previous_count: count given count + previous_count is "
                    "binomial with the periods' lengths as weights when nothing changed"),
        ("q_value", "wards: Benjamini-Hochberg adjusted p_value across the area's wards for the theme"),
        ("change_flag", "significant_increase / significant_decrease when p_value <= significance.alpha (default 0.01; "
                        "wards: q_value <= geography.fdr_alpha, default 0.05); too_few_to_test when count + "
                        "previous_count < significance.min_total (default 10); otherwise no_significant_change"),
        # the analysis marts (issue 10)
        ("weighted_count", "temporal_profile: crimes in the bucket; a committed from/to window over an hour is shared "
                           "evenly over its hours (aoristic), so a bucket may hold parts of crimes"),
        ("expected_share_pct", "temporal_profile: the bucket's share of the period's time: the share of crimes if they "
                               "were spread evenly"),
        ("rate_ratio", "victim_rates: the group's victims per resident / the rest of the residents' victims per resident, "
                       "with a log-normal 95% interval; shown from 10 victims on each side"),
        ("disproportionality", "victim_rates: higher / lower when the rate ratio's 95% interval lies above / below 1"),
        ("repeat_victims", "repeat_victimisation: identified victims with two or more of the theme's crimes in the period"),
        ("median_days_to_repeat", "repeat_victimisation: median days from a repeat victim's first to second crime"),
        ("trend_direction", "trend: rising / falling when the exact test of the latest year against the first of the last "
                            "3-5 years gives p <= significance.alpha; else no_clear_change"),
        ("imd_quintile", "deprivation_profile: 1 = IMD 2019 deciles 1-2, the most deprived 20% of LSOAs in England"),
        ("concentration_ratio", "deprivation_profile: share of the theme's crimes / share of residents (1 = in proportion)"),
        ("expected_victims_u25", "population_outlook: today's victim rate for under-25s x the projected under-25 "
                                 "residents (an assumption, not a forecast)"),
    ]
    return themes, metrics


# Tables too long for a reader's spreadsheet: the pack keeps the rows that matter, with a note;
# every row stays in tables/ and svna.gpkg.
EXCEL_EXTRACTS = {
    "grid_hotspots": ("hotspot_class in ('hot', 'cold') or hotspot_change in ('former_hot', 'former_cold')",
                      "Hot and cold cells only (and cells that were hot or cold in the previous period); "
                      "every cell is in tables/grid_hotspots.csv and svna.gpkg."),
}


def write_excel(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """One sheet per table plus Definitions and Caveats; numbers stay numbers, percentages formatted."""
    import xlsxwriter

    path = out_dir / EXCEL_NAME
    # every str is written as text: input values such as "=HYPERLINK(...)" never become formulas or links
    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True, "remove_timezone": True,
                                      "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    header = book.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "white", "text_wrap": True,
                              "valign": "top", "border": 1})
    pct = book.add_format({"num_format": '0.0"%"'})
    num = book.add_format({"num_format": "#,##0"})
    dec = book.add_format({"num_format": "0.00"})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    marking = book.add_format({"bold": True, "font_color": "#C00000"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})

    for name in mart_names():
        where, note = EXCEL_EXTRACTS.get(name, ("true", None))
        cursor = con.execute(ordered(name, where))  # `where`: ours, above
        columns = [d[0] for d in cursor.description]
        types = [str(d[1]) for d in cursor.description]
        rows = cursor.fetchall()
        ws = book.add_worksheet(name[:31])
        ws.write(0, 0, MARKING, marking)
        if note:
            ws.write(0, 4, note)
        ws.write_row(1, 0, columns, header)
        for c, (column, dtype) in enumerate(zip(columns, types)):
            fmt = None
            if column.endswith(PCT_SUFFIXES):
                fmt = pct
            elif dtype in ("BIGINT", "INTEGER", "HUGEINT"):
                fmt = num
            elif dtype == "DOUBLE" or dtype.startswith("DECIMAL"):
                fmt = dec
            elif dtype == "DATE":
                fmt = date_fmt
            width = max([len(column)] + [len(str(r[c])) for r in rows[:200]])
            ws.set_column(c, c, min(max(width + 2, 8), 60), fmt)
        for r, row in enumerate(rows, start=2):
            ws.write_row(r, 0, row)
        ws.freeze_panes(2, 1 if columns and columns[0] != "area_code" else 3)
        if rows:
            ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)

    themes, metrics = _definitions(con)
    ws = book.add_worksheet("Definitions")
    ws.write_row(0, 0, ["theme", "label", "record extract definition", "MPS count file definition"], header)
    for r, row in enumerate(themes, start=1):
        ws.write_row(r, 0, row, wrap)
    start = len(themes) + 3
    ws.write_row(start, 0, ["metric", "definition"], header)
    for r, row in enumerate(metrics, start=start + 1):
        ws.write_row(r, 0, row, wrap)
    ws.set_column(0, 1, 28)
    ws.set_column(2, 3, 70)
    ws.freeze_panes(1, 0)

    ws = book.add_worksheet("Caveats")
    ws.write_row(0, 0, ["topic", "applies to", "caveat"], header)
    for r, row in enumerate(con.execute("select topic, applies_to, caveat from seed_caveats").fetchall(), start=1):
        ws.write_row(r, 0, row, wrap)
    ws.set_column(0, 1, 22)
    ws.set_column(2, 2, 110)
    ws.freeze_panes(1, 0)
    book.close()
    return path


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
    path = out_dir / "run.json"
    path.write_text(json.dumps(manifest, indent=2, default=str))
    return path


def publish(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> list[Path]:
    outputs = write_tables(con, out_dir)
    outputs.append(write_excel(con, out_dir))
    headlines = out_dir / "headlines.md"
    headlines.write_text(narrative.headlines_markdown(con, cfg.comparator_name, MARKING))
    outputs.append(headlines)
    outputs += geography.write_spatial_outputs(con, cfg, out_dir)
    outputs.append(report.write_report(con, cfg, out_dir / report.REPORT_NAME))
    return outputs


def copy_reports(output: Path, reports: Path, run_id: str | None = None) -> None:
    """Mirror the human-facing outputs (data pack, report, headlines, maps) into reports/ for readers; like the
    output folder, reports/ is built beside it and replaces only a folder svna wrote."""
    import shutil

    with output_folders.output_lock(reports):
        work = output_folders.staging_dir(reports, run_id, key="reports")
        try:
            for name in (EXCEL_NAME, report.REPORT_NAME, "headlines.md", "maps"):
                source = output / name
                if source.is_dir():
                    shutil.copytree(source, work / name)
                elif source.exists():
                    shutil.copy2(source, work / name)
        except BaseException:
            output_folders.discard(work)
            raise
        output_folders.swap_into_place(work, reports, key="reports")
