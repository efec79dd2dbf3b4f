"""The report's first page (issue 20): one printed A4 page a Tasking Group member can act on.

It holds the serious-violence headline, the themes ranked with count, rate per 1,000 residents, change
and a trend arrow (the exact test's verdict in words), the top wards on a labelled map, what the inputs
cannot show (and the data that would show it), the period and the extracts used with their dates.
Every figure names its source (pipeline.report.provenance); a rate divides the count beside it.
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline import seeds
from pipeline.narrative import sentences
from pipeline.narrative.phrases import MIN_BASE
from pipeline.report.provenance import source_name, source_note
from pipeline.report.report_tables import SUPPRESSED, Tables, as_number, fmt_flag
from pipeline.report.svg_charts import ward_map

TOP_WARDS = 5
# the theme the headline leads with: the report is about serious violence, and the seed's label says
# which theme is its definition (matched on the label, so no theme id is written here)
HEADLINE_LABEL = "serious violence"
# filled arrows for a change unlikely to be chance, outlined ones for one within normal variation
ARROWS = {"up": ("▲", "△"), "down": ("▼", "▽"), "level": ("▶", "▷")}


def headline_theme(themes: list[dict]) -> tuple[dict | None, dict | None]:
    """(the serious-violence theme row when the run has it, its seed row): the headline's subject."""
    seed = next((r for r in seeds.themes() if r["label"].lower().startswith(HEADLINE_LABEL)), None)
    row = next((r for r in themes if seed and r["theme"] == seed["theme"]), None)
    return row, seed


def _key_themes() -> set[str]:
    return {r["theme"] for r in seeds.themes() if r["in_narrative"] == "true"}


def residents(t: Tables) -> float | None:
    """The focus area's usual residents (Census 2021): the area comparison's, else the sum of its wards'."""
    found = t.rows("area_comparison", "is_focus and residents is not null", order="limit 1")
    if found and as_number(found[0]["residents"]):
        return as_number(found[0]["residents"])
    wards = {r["ward_code"]: as_number(r.get("population")) for r in t.rows("ward_hotspots")}
    total = sum(p for p in wards.values() if p)
    return total or None


def trend_words(row: dict, previous_label: str) -> dict:
    """Arrow, change in words and the verdict: no % change on a base under MIN_BASE (the counts instead)."""
    count, previous = row.get("count"), row.get("previous_count")
    if count is SUPPRESSED or previous is SUPPRESSED or count is None or previous is None:
        return {"arrow": "", "direction": "", "change": "[c]" if SUPPRESSED in (count, previous) else "–",
                "verdict": fmt_flag(row.get("change_flag"))}
    direction = "up" if count > previous else "down" if count < previous else "level"
    pct = row.get("pct_change")
    if previous >= MIN_BASE and pct is not None and round(pct) != 0:
        change = f"{'up' if pct > 0 else 'down'} {abs(pct):.0f}% on {previous_label}"
    elif count == previous or (pct is not None and round(pct) == 0 and previous >= MIN_BASE):
        change, direction = f"similar to {previous_label}", "level"
    else:
        change = f"{count:,} against {previous:,} in {previous_label}"
    significant = str(row.get("change_flag") or "").startswith("significant")
    return {"arrow": ARROWS[direction][0 if significant else 1], "direction": direction, "change": change,
            "verdict": fmt_flag(row.get("change_flag"))}


def ranked_themes(t: Tables, themes: list[dict], periods: dict, priority_order: list[str]) -> list[dict]:
    """The themes (not the all-crime total) ranked by the priorities table when there is one, else by count."""
    people = residents(t)
    rows = [r for r in themes if seeds.theme_policy(r["theme"]).get("overall") != "true"]
    if priority_order:
        rank = {theme: i for i, theme in enumerate(priority_order)}
        rows.sort(key=lambda r: (rank.get(r["theme"], len(rank)), -(as_number(r["count"]) or 0)))
    else:
        rows.sort(key=lambda r: (-(as_number(r["count"]) or 0), r["sort_order"]))
    ranked = []
    for row in rows:
        count = row["count"]
        rate = SUPPRESSED if count is SUPPRESSED else (
            1000 * count / people if people and count is not None else None)
        ranked.append({"theme": row["theme"], "label": row["label"], "count": count, "rate": rate,
                       "source": source_name(row.get("source")), **trend_words(row, periods.get("previous", ""))})
    return ranked


def headline(themes: list[dict], periods: dict, area: str) -> dict:
    """The serious-violence sentence, or, when the inputs cannot give it, what they cannot and the key
    theme they lead with instead. One source per sentence: the row's own."""
    row, seed = headline_theme(themes)
    missing = ""
    if row is None:
        if seed is not None:
            missing = (f"{seed['label']} is not available from these inputs "
                       f"({_need(seed)}).")
        key = _key_themes()
        row = next((r for r in themes if r["theme"] in key and r["count"] not in (None, SUPPRESSED)), None)
    if row is None or row["count"] in (None, SUPPRESSED):
        return {"text": missing or "There are no theme counts in this run.", "source": None, "missing": ""}
    lead = (f"In {area} in {periods.get('current', '')}, "
            + sentences.count_clause(row["count"], row["short_label"], row["theme"])[0].lower()
            + sentences.count_clause(row["count"], row["short_label"], row["theme"])[1:] + ", "
            + sentences.change_phrase(row["pct_change"], periods.get("previous", ""), row["previous_count"],
                                      row["count"]) + "." + sentences.significance_phrase(row["change_flag"]))
    return {"text": lead, "source": source_note(row.get("source")), "missing": missing}


def _need(seed: dict) -> str:
    """What the inputs lack, from the seed's MPS definition ('not available: needs ...')."""
    text = seed.get("mps_counts_definition") or ""
    return text.split(":", 1)[1].strip() if text.lower().startswith("not available") else "a record-level extract"


def not_available(con: duckdb.DuckDBPyConnection, themes: list[dict]) -> list[dict]:
    """Each theme the inputs cannot give, why, and the data that would give it."""
    have = {r["theme"] for r in themes}
    only_police_uk = bool(themes) and all(r.get("source") == "police_uk" for r in themes)
    gaps = []
    for seed in seeds.themes():
        if seed["theme"] in have:
            continue
        why = "data.police.uk files have 14 broad crime types, no ages and no flags" if only_police_uk else _need(seed)
        gaps.append({"label": seed["label"], "why": why.replace("DA flag", "domestic abuse flag")})
    return gaps


FILL_GAPS = ("A record-level extract of police crime records (with victim and suspect ages and the domestic abuse "
             "and knife flags) would give {them}.")


def top_wards(t: Tables, theme_row: dict | None, period_label: str) -> dict | None:
    """The headline theme's wards with the most crimes (no ward with none), numbered on a map."""
    if theme_row is None or not t.has("ward_hotspots"):
        return None
    rows = [r for r in t.rows("ward_hotspots", "theme = ? and ward_code <> 'UNKNOWN'", [theme_row["theme"]])
            if r["count"] is not SUPPRESSED and (as_number(r["count"]) or 0) > 0]
    if not rows:
        return None
    rows.sort(key=lambda r: (-(as_number(r["count"]) or 0), str(r.get("ward_name") or r["ward_code"])))
    top = rows[:TOP_WARDS]
    for i, r in enumerate(top, start=1):
        r["rank"] = i
        r["estimate"] = "estimate" in str(r.get("count_basis") or "")
    svg = ward_map(t.con, f"{theme_row['label']}: crimes by ward, {period_label}, top {len(top)} numbered",
                   {r["ward_code"]: r["count"] for r in t.rows("ward_hotspots", "theme = ?", [theme_row["theme"]])},
                   labels={r["ward_code"]: str(r["rank"]) for r in top})
    return {"label": theme_row["label"], "rows": top, "map": svg, "source": source_note(top[0].get("source"))}


def period_text(con: duckdb.DuckDBPyConnection, periods: dict) -> str:
    try:
        found = {role: (start, end) for role, start, end in con.execute(
            "select period_role, period_start, period_end from periods").fetchall()}
    except duckdb.Error:
        found = {}
    parts = []
    for role in ("current", "previous"):
        if role in found:
            start, end = found[role]
            parts.append(f"{periods.get(role, role)} ({long_date(start)} to {long_date(end)})")
    return " compared with ".join(parts)


def long_date(value) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {value:%B %Y}"


def extract_date_text(extract: dict) -> str:
    """An MPS file is dated by its month (the '_extract2023-08' of its name), a record extract by its day."""
    if not extract.get("extract_date"):
        return "no extract date (published monthly)"
    day = date.fromisoformat(extract["extract_date"])
    return f"extracted {day:%B %Y}" if extract["source"] == "mps_counts" else f"extracted {long_date(day)}"


def summary_page(t: Tables, themes: list[dict], periods: dict, area: str, extracts: list[dict],
                 priority_order: list[str]) -> dict:
    subject, _ = headline_theme(themes)
    key = _key_themes()
    map_theme = subject or next((r for r in themes if r["theme"] in key and r["count"] is not SUPPRESSED), None)
    return {"headline": headline(themes, periods, area),
            "themes": ranked_themes(t, themes, periods, priority_order),
            "ranked_by": "the priority ranking" if priority_order else "count",
            "wards": top_wards(t, map_theme, periods.get("current", "")),
            "not_available": (gaps := not_available(t.con, themes)),
            "fill_gaps": FILL_GAPS.format(them="it" if len(gaps) == 1 else "all of these"),
            "period": period_text(t.con, periods),
            "extracts": [{**e, "date_text": extract_date_text(e)} for e in extracts]}
