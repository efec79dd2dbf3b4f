"""A monthly refresh's outputs: the folders under <output>/monthly (svna's own, swapped into place when
complete) and the month's tables, Excel pack and drafted headlines, from the warehouse rows of its run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from pipeline.errors import InputError
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


def write_excel(wh: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path, headlines: str | None = None) -> Path:
    """The month's Excel pack, laid out as the annual one (pipeline.publish.monthly_pack)."""
    from pipeline.publish.monthly_pack import write_monthly_pack

    return write_monthly_pack(wh, run_id, out_dir / EXCEL_NAME, headlines)


def theme_labels() -> dict[str, tuple[str, int]]:
    """theme -> (short label, sort order), from the one theme seed."""
    import csv

    with open(db.SEEDS_DIR / "themes.csv", encoding="utf-8") as f:
        return {r["theme"]: (r["short_label"], int(r["sort_order"])) for r in csv.DictReader(f)}


def _rolling_sentence(label: str, period: str, rolling, previous, pct, comp_pct, comparator: str | None) -> str:
    """The 12 months against the 12 before, and against the comparator; a comparison that cannot be made
    says why (a window not covered in full, a base too small for a percentage, no comparator figure)."""
    from pipeline.narrative.phrases import MIN_BASE, offences

    sentence = f"In {period} there {'was' if rolling == 1 else 'were'} {offences(rolling, label)}" if rolling \
        else f"In {period} there were no {label} offences"
    if previous is None:
        sentence += "; no comparison with the 12 months before: the inputs do not cover all of them"
    elif previous < MIN_BASE:
        sentence += f", compared with {previous:,} in the previous 12 months (too few for a percentage change)"
    elif pct is None:
        sentence += f", compared with {previous:,} in the previous 12 months"
    elif round(pct) == 0:
        sentence += f", a similar level to the previous 12 months ({previous:,})"
    else:
        diff = rolling - previous
        sentence += f", {'up' if diff > 0 else 'down'} {abs(pct):.0f}% ({abs(diff):,}) on the previous 12 months"
    if comparator and previous is not None:
        if comp_pct is None:
            sentence += f"; no {comparator} figure for the same months to compare with"
        else:
            sentence += (f"; for the {comparator} {'up' if comp_pct > 0 else 'down'} {abs(comp_pct):.0f}%"
                         if round(comp_pct) else f"; for the {comparator} a similar level")
    return sentence + "."


def _month_sentence(month, month_n, same_n, month_pct) -> str:
    """The month against the same month a year before (never month-on-month), or why not."""
    from pipeline.narrative.phrases import MIN_BASE

    if month_n is None:
        return f" {month:%B %Y}: not in the inputs in full, so no monthly figure."
    if same_n is None:
        return f" {month:%B %Y}: {month_n:,} (no figure for {month:%B} last year to compare with)."
    if same_n >= MIN_BASE and month_pct is not None and round(month_pct):
        return (f" {month:%B %Y}: {month_n:,}, {'up' if month_pct > 0 else 'down'} {abs(month_pct):.0f}% "
                f"on {month:%B} last year ({same_n:,}).")
    if same_n < MIN_BASE:
        return f" {month:%B %Y}: {month_n:,} ({same_n:,} in {month:%B} last year: too few for a percentage change)."
    return f" {month:%B %Y}: {month_n:,}, a similar level to {month:%B} last year ({same_n:,})."


def headlines_markdown(wh: duckdb.DuckDBPyConnection, run_id: str, comparator_name: str | None) -> str:
    """Short drafted sentences from the refresh's own tables (every figure is a table cell); a comparison
    that cannot be made is said, with why, never dropped."""
    from pipeline.narrative.phrases import md_text
    from pipeline.narrative.sentences import short_name

    area_name, month, extracts = wh.execute("select area_name, refresh_month, extracts from refresh_runs "
                                            "where run_id = ?", [run_id]).fetchone()
    labels = theme_labels()
    rows = wh.execute("""
        select theme, theme, rolling_12m_count, previous_12m_count, rolling_pct_change, month_count,
               same_month_last_year_count, month_pct_change, comparator_rolling_pct_change
        from rolling_summary where run_id = ? and unit_level = 'area'""", [run_id]).fetchall()
    rows = sorted(((t, labels[t][0], *rest) for t, _, *rest in rows), key=lambda r: labels[r[0]][1])
    period = f"the 12 months to {month:%B %Y}"
    lines = [f"**{MARKING}**", "", f"# {md_text(area_name)}: monthly refresh, {month:%B %Y}", "",
             f"Extracts: {md_text(extracts) if extracts else 'none recorded for this refresh'}. Run {run_id}.", ""]
    comparator = short_name(comparator_name) if comparator_name else None
    for _, label, rolling, previous, pct, month_n, same_n, month_pct, comp_pct in rows:
        if rolling is None:
            lines.append(f"- {label[:1].upper() + label[1:]}: no figure for {period}: the inputs do not cover all "
                         f"12 months.{_month_sentence(month, month_n, same_n, month_pct)}")
            continue
        sentence = _rolling_sentence(label, period, rolling, previous, pct, comp_pct, comparator)
        lines.append(f"- {sentence}{_month_sentence(month, month_n, same_n, month_pct)}")
    lines += ["", "## Exceptions (control charts)", ""]
    lines += [f"- {md_text(e['reason'])}. {e['look_at']}." for e in monthly_report.exception_lines(wh, run_id)] \
        or ["- None: every theme's month is within its usual range."]
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
            headlines = work / "headlines.md"
            headlines.write_text(headlines_markdown(wh, run_id, cfg.comparator_name))
            outputs.append(write_excel(wh, run_id, work, headlines.read_text()))
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
