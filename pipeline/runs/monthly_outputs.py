"""A monthly refresh's outputs: the folders under <output>/monthly (svna's own, swapped into place when
complete) and the month's tables, Excel pack and drafted headlines, from the warehouse rows of its run."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline.errors import InputError
from pipeline.narrative.phrases import offences
from pipeline.publish import output_folders
from pipeline.publish.catalog import MARKING
from pipeline.report import annual_report, monthly_report
from pipeline.runs import run_record
from pipeline.settings.config import RunConfig
from pipeline.transform import db

MARKER = output_folders.MARKER  # svna only ever replaces or deletes folders holding this file
EXCEL_NAME = "svna_monthly_pack.xlsx"
PUBLISHED_TABLES = ("rolling_summary", "monthly_exceptions", "revisions")


def ensure_own_folder(folder: Path, cfg: RunConfig) -> None:
    """Create `folder` (marked as svna's), or accept it if svna made it: the same rules as the annual
    run's output (pipeline.publish.output_folders), so a user's folder, the config's or an input's is refused."""
    output_folders.check_target(folder, "output", cfg)
    folder.mkdir(parents=True, exist_ok=True)
    if not output_folders.is_marked(folder):
        output_folders.write_marker(folder, None)


def swap_month_into_place(work: Path, target: Path) -> None:
    """Replace <output>/monthly/<YYYY-MM> only if svna made it, and only once the new one is complete."""
    if target.exists() and not output_folders.is_marked(target):
        raise InputError(str(target), "output", f"svna replaces only folders it created (with a {MARKER} file)",
                         "an existing folder svna did not create")
    old = target.with_name("." + target.name + ".previous")
    if old.exists() and output_folders.is_marked(old):
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    work.rename(target)
    if old.exists():
        shutil.rmtree(old)


def remove_leftovers(base: Path) -> None:
    """Work folders of an earlier refresh that never finished (a crash): they hold pseudonymised
    rows, and holding the lock means no refresh is using them. Only svna's own (marked) ones."""
    for leftover in sorted([*base.glob(".work-*"), *base.glob(".*.partial-*")]):
        if leftover.is_dir() and not leftover.is_symlink() and output_folders.is_marked(leftover):
            shutil.rmtree(leftover)
            print(f"Removed {leftover}, left by an earlier run that did not finish.")


def published_run_id(folder: Path) -> str | None:
    try:
        return json.loads((folder / "run.json").read_text())["run_id"]
    except (OSError, ValueError, KeyError):
        return None


# ---------------------------------------------------------------- publishing

def _excel_safe(value):
    """Text that a spreadsheet would read as a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_tables(wh: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> list[Path]:
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PUBLISHED_TABLES:
        frame = wh.execute(f"select * from {name} where run_id = ?", [run_id]).df()
        parquet, csv = tables / f"{name}.parquet", tables / f"{name}.csv"
        frame.to_parquet(parquet, index=False)
        text = frame.copy()
        for column in text.columns:
            if text[column].dtype == object or str(text[column].dtype).startswith("str"):
                text[column] = text[column].map(_excel_safe)
        text.to_csv(csv, index=False, lineterminator="\n")
        written += [parquet, csv]
    return written


def write_excel(wh: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> Path:
    """One sheet per table; text written as text (never as a formula), numbers as numbers."""
    import xlsxwriter

    from pipeline.publish.excel_pack import page_setup

    path = out_dir / EXCEL_NAME
    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True, "remove_timezone": True})
    header = book.add_format({"bold": True, "bg_color": "#1F3864", "font_color": "white", "text_wrap": True,
                              "valign": "top", "border": 1})
    marking = book.add_format({"bold": True, "font_color": "#C00000"})
    pct = book.add_format({"num_format": '0.0"%"'})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    for name in PUBLISHED_TABLES:
        cursor = wh.execute(f"select * exclude (run_id), run_id from {name} where run_id = ?", [run_id])
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        ws = book.add_worksheet(name)
        page_setup(ws, MARKING, name)   # as the annual pack: landscape A4, fit to width, marked on every page
        ws.write_string(0, 0, MARKING, marking)
        ws.write_row(1, 0, columns, header)
        for c, column in enumerate(columns):
            width = max([len(column)] + [len(str(r[c])) for r in rows[:200]])
            ws.set_column(c, c, min(max(width + 2, 8), 70), pct if column.endswith("pct_change") else None)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                elif isinstance(value, (date, datetime)):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
                else:
                    ws.write_number(r, c, float(value))
        ws.freeze_panes(2, 0)
        if rows:
            ws.autofilter(1, 0, len(rows) + 1, len(columns) - 1)
    book.close()
    return path


def theme_labels() -> dict[str, tuple[str, int]]:
    """theme -> (short label, sort order), from the one theme seed."""
    import csv

    with open(db.SEEDS_DIR / "themes.csv", encoding="utf-8") as f:
        return {r["theme"]: (r["short_label"], int(r["sort_order"])) for r in csv.DictReader(f)}


def headlines_markdown(wh: duckdb.DuckDBPyConnection, run_id: str, comparator_name: str | None) -> str:
    """Short drafted sentences from the refresh's own tables (every figure is a table cell)."""
    from pipeline.narrative.sentences import MIN_BASE, short_name

    run = wh.execute("select area_name, refresh_month, extracts from refresh_runs where run_id = ?", [run_id]).fetchone()
    area_name, month, extracts = run
    labels = theme_labels()
    rows = wh.execute("""
        select theme, theme, rolling_12m_count, previous_12m_count, rolling_pct_change, month_count,
               same_month_last_year_count, month_pct_change, comparator_rolling_pct_change
        from rolling_summary where run_id = ? and unit_level = 'area'""", [run_id]).fetchall()
    rows = sorted(((t, labels[t][0], *rest) for t, _, *rest in rows), key=lambda r: labels[r[0]][1])
    period = f"the 12 months to {month:%B %Y}"
    lines = [f"**{MARKING}**", "", f"# {area_name}: monthly refresh, {month:%B %Y}", "",
             f"Extracts: {extracts}. Run {run_id}.", ""]
    comparator = short_name(comparator_name) if comparator_name else None
    for theme, label, rolling, previous, pct, month_n, same_n, month_pct, comp_pct in rows:
        if rolling is None:
            continue
        sentence = (f"In {period} there {'was' if rolling == 1 else 'were'} {offences(rolling, label)}" if rolling
                    else f"In {period} there were no {label} offences")
        if previous is not None:
            diff = rolling - previous
            if previous < MIN_BASE or pct is None:
                sentence += f", compared with {previous:,} in the previous 12 months"
            elif round(pct) == 0:
                sentence += f", a similar level to the previous 12 months ({previous:,})"
            else:
                sentence += f", {'up' if diff > 0 else 'down'} {abs(pct):.0f}% ({abs(diff):,}) on the previous 12 months"
            if comparator and comp_pct is not None:
                sentence += (f"; for the {comparator} {'up' if comp_pct > 0 else 'down'} {abs(comp_pct):.0f}%"
                             if round(comp_pct) else f"; for the {comparator} a similar level")
        sentence += "."
        if month_n is not None and same_n is not None:
            if same_n >= MIN_BASE and month_pct is not None and round(month_pct):
                sentence += (f" {month:%B %Y}: {month_n:,}, {'up' if month_pct > 0 else 'down'} {abs(month_pct):.0f}% "
                             f"on {month:%B} last year ({same_n:,}).")
            else:
                sentence += f" {month:%B %Y}: {month_n:,} ({same_n:,} in {month:%B} last year)."
        lines.append(f"- {sentence}")
    exceptions = wh.execute("select reason from monthly_exceptions where run_id = ? order by unit_level <> 'area', "
                            "direction, reason", [run_id]).fetchall()
    lines += ["", "## Exceptions (control charts)", ""]
    lines += [f"- {r[0]}." for r in exceptions] or ["- None: every theme's month is within its usual range."]
    revised = wh.execute("""select count(*), count(distinct month_start), sum(abs(change)),
                                   min(month_start), max(month_start)
                            from revisions where run_id = ? and unit_level = 'area'""", [run_id]).fetchone()
    lines += ["", "## Revisions since the previous extract", ""]
    if revised[0]:
        lines.append(f"- {revised[0]:,} area counts revised across {revised[1]} months ({revised[3]:%b %Y} to "
                     f"{revised[4]:%b %Y}), {revised[2]:,} crimes moved in total; see tables/revisions.csv.")
    else:
        lines.append("- None for the area's counts.")
    return "\n".join(lines) + "\n"


def publish_refresh(cfg: RunConfig, base: Path, run_id: str, manifest: dict) -> Path:
    """Write <base>/<YYYY-MM>/ (base: <output>/monthly) from the warehouse rows of `run_id`, via a
    temporary folder."""
    settings = cfg.monthly
    month = manifest["refresh_month"]
    work = base / f".{month}.partial-{run_id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    output_folders.write_marker(work, run_id)
    run_record.made(work, run_id)
    try:
        with duckdb.connect(str(settings.warehouse), read_only=True) as wh:
            outputs = write_tables(wh, run_id, work)
            outputs.append(write_excel(wh, run_id, work))
            headlines = work / "headlines.md"
            headlines.write_text(headlines_markdown(wh, run_id, cfg.comparator_name))
            outputs.append(headlines)
            outputs.append(monthly_report.write_monthly_report(wh, run_id, cfg, work / annual_report.REPORT_NAME))
        manifest = {**manifest, "outputs": sorted(str(p.relative_to(work)) for p in outputs)}
        (work / "run.json").write_text(json.dumps(manifest, indent=2, default=str))
        swap_month_into_place(work, base / month)
        run_record.published(base / month)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return base / month
