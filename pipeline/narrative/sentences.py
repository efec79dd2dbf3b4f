"""Drafted "Picture of Violence" sentences, in the style of a published delivery plan.

Every sentence is built from the mart tables of the run, so each figure traces to a table row.
The analyst edits the draft; svna never invents a figure it does not have (a missing value
leaves its clause out rather than printing zero).
"""

from __future__ import annotations

import duckdb

from pipeline import seeds
from pipeline.narrative import analyses
from pipeline.narrative.phrases import MIN_BASE, catalog_read_once, fmt_count, fmt_pct, has_column, has_table, md_text, offences, records
from pipeline.sources import registry


def _base(detail: dict, column: str) -> bool:
    return (detail.get(column) or 0) >= MIN_BASE


def change_phrase(pct: float | None, previous_label: str, previous: int, current: int | None = None) -> str:
    """The change in the plan's words, with the absolute change beside the percentage ("an increase of
    5% (19 offences) on 2021's total of 397")."""
    if previous is None:  # suppressed in the public tier
        return f"compared with a number too small to publish in {previous_label}"
    if pct is None or previous < MIN_BASE:  # a percentage change on a tiny base misleads: give the counts
        return f"compared with {fmt_count(previous) if previous else 'none'} in {previous_label}"
    if current is not None and current == previous:
        return f"unchanged from {previous_label}'s total"
    if round(pct) == 0:
        return f"a similar level to {previous_label}'s total of {fmt_count(previous)}"
    direction = "an increase" if pct > 0 else "a decrease"
    absolute = f" ({offences(abs(current - previous))})" if current is not None else ""
    return f"{direction} of {fmt_pct(pct)}{absolute} on {previous_label}'s total of {fmt_count(previous)}"


def count_clause(n: int, label: str, theme: str) -> str:
    """'There were 1,421 VWI offences' / 'There was 1 homicide offence' / 'There were no homicides' (the
    theme's none_phrase in sql/seeds/themes.csv)."""
    if n == 0:
        return f"There were no {seeds.theme_policy(theme).get('none_phrase') or label + ' offences'}"
    return f"There {'was' if n == 1 else 'were'} {offences(n, label)}"


def share_change(current: float, previous: float | None, previous_label: str, style: str = "compared") -> str:
    """' compared to 30% in 2021' / ', down from 28% in 2021' / ', unchanged from 2021' (rounded shares)."""
    if previous is None:
        return ""
    if round(current) == round(previous):
        return f", unchanged from {previous_label}"
    if style == "compared":
        return f" compared to {previous:.0f}% in {previous_label}"
    return f", {'up' if current > previous else 'down'} from {previous:.0f}% in {previous_label}"


def comparator_phrase(name: str | None, pct: float | None) -> str:
    if name is None or pct is None:
        return ""
    if round(pct) == 0:
        return f" For the {md_text(short_name(name))} the level was similar."
    return f" For the {md_text(short_name(name))} there was {'an increase' if pct > 0 else 'a decrease'} of {fmt_pct(pct)}."


def short_name(name: str) -> str:
    """'Metropolitan Police Service' reads as 'MPS' in the plan's style."""
    return "MPS" if name.lower().startswith("metropolitan police service") else name


def significance_phrase(flag: str | None) -> str:
    """Plain words for the exact test's verdict; the p-value and Z stay in the tables."""
    return {
        "significant_increase": " This rise is unlikely to be chance.",
        "significant_decrease": " This fall is unlikely to be chance.",
        "no_significant_change": " The change is within normal variation.",
        "too_few_to_test": " There are too few offences to tell a real change from chance.",
    }.get(flag or "", "")


def theme_paragraph(row: dict, prev_people: dict | None, detail: dict, current_label: str, previous_label: str,
                    comparator_name: str | None, opening: str = "") -> str:
    """`opening`: 'In Merton in 2022, ' for the first paragraph (the count clause then starts lower case)."""
    label = row["short_label"]
    if row["count"] is None:  # suppressed in the public tier (pipeline/publish/disclosure.py): no figure, no share
        return f"The number of {label} offences in {current_label} is too small to publish."
    counted = count_clause(row["count"], label, row["theme"])
    if opening:
        counted = opening + counted[0].lower() + counted[1:]
    text = (f"{counted}, "
            f"{change_phrase(row['pct_change'], previous_label, row['previous_count'], row['count'])}."
            f"{comparator_phrase(comparator_name, row['comparator_pct_change'])}"
            f"{significance_phrase(row['change_flag'])}")
    policy = seeds.theme_policy(row["theme"])
    if policy.get("overall") != "true" and row["share_of_all_crime_pct"] is not None and row["count"] >= MIN_BASE:
        text += f" {label[0].upper() + label[1:]} offences made up {row['share_of_all_crime_pct']:.0f}% of all recorded crime."
    if detail.get("share_of_vap_pct") is not None and policy.get("vap_share") == "true":
        text += f" {label} was {detail['share_of_vap_pct']:.0f}% of Violence Against the Person."
    # no percentage on a base under 10 (DESIGN §8): the clause is left out rather than misleading
    if row["victims_u25_pct"] is not None and _base(detail, "victims_known_age"):
        sentence = f" In {current_label}, {row['victims_u25_pct']:.0f}% of victims of {label} offences were aged under 25"
        prev = prev_people.get("victims_u25_pct") if prev_people and prev_people.get("victims_known_age", 0) >= MIN_BASE else None
        text += sentence + share_change(row["victims_u25_pct"], prev, previous_label) + "."
    if row["suspects_u25_pct"] is not None and _base(detail, "suspects_known_age"):
        prev = prev_people.get("suspects_u25_pct") if prev_people and prev_people.get("suspects_known_age", 0) >= MIN_BASE else None
        text += (f" {row['suspects_u25_pct']:.0f}% of suspects with a known age were under 25"
                 + share_change(row["suspects_u25_pct"], prev, previous_label, style="direction"))
        if row["suspect_age_unknown_pct"] is not None and row["count"] >= MIN_BASE:
            text += (f"; in {row['suspect_age_unknown_pct']:.0f}% of reports the suspect's age was unknown "
                     f"({detail['suspect_none_recorded_pct']:.0f}% had no suspect recorded)")
        text += "."
    if detail.get("da_share_pct") is not None and policy.get("da_share") == "true" and row["count"] >= MIN_BASE:
        text += f" {detail['da_share_pct']:.0f}% were flagged as domestic abuse related."
    if policy.get("u18_victims") == "true" and detail.get("victims_u18_pct") is not None and _base(detail, "victims_known_age"):
        text += f" {detail['victims_u18_pct']:.0f}% of {label} victims with a known age were under 18."
    return text


def top_wards_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str) -> str:
    table = "ward_hotspots" if has_table(con, "ward_hotspots") else "ward_summary"
    name = "coalesce(ward_name, ward_code)"
    rows = con.execute(
        f"select {name}, count from {table} where theme = ? and ward_code <> 'UNKNOWN' and count is not null "
        f"{'and period_role = ' + repr('current') if has_column(con, table, 'period_role') else ''} "
        f"order by count desc, {name} limit 3", [theme]).fetchall()
    if len(rows) < 3 or rows[2][1] < MIN_BASE:  # small ward counts are not quoted (disclosure control)
        return ""
    listed = (", ".join(f"{md_text(n)} ({fmt_count(c)})" for n, c in rows[:2])
              + f" and {md_text(rows[2][0])} ({fmt_count(rows[2][1])})")
    return f"The wards with the most {label} offences were {listed}."


def headlines_markdown(con: duckdb.DuckDBPyConnection, comparator_name: str | None, marking: str) -> str:
    with catalog_read_once(con):
        return _headlines(con, comparator_name, marking)


def _headlines(con: duckdb.DuckDBPyConnection, comparator_name: str | None, marking: str) -> str:
    periods = {r["period_role"]: r["period_label"] for r in records(con, "select * from periods")}
    summary = records(con, "select s.*, t.label, t.short_label from theme_summary s "  # the focus area's story
                           "join seed_themes t using (theme) where s.is_focus order by cast(t.sort_order as integer)")
    details = {r["theme"]: r for r in records(con, "select * from theme_detail")}
    # the public tier quotes its own (disclosure-controlled) tables only: no previous-period shares from
    # the restricted intermediate table
    public = con.execute("select current_schema()").fetchone()[0] != "main"
    prev_people = {} if public else {r["theme"]: r for r in records(
        con, "select theme, victims_known_age, pct(victims_u25, victims_known_age) as victims_u25_pct, "
             "suspects_known_age, pct(suspects_u25, suspects_known_age) as suspects_u25_pct "
             "from int_theme_people_measures where period_role = 'previous'")}
    area = md_text(summary[0]["area_name"]) if summary else ""
    lines = [f"**{marking}**", "", f"# Picture of Violence: {area}, {periods.get('current', '')}", "",
             f"_Draft headlines generated by svna (run {summary[0]['run_id'] if summary else ''}); "
             f"compared with {periods.get('previous', '')}. Check every sentence before it is published._", ""]
    police_uk_notes: dict[str, list[str]] = {}
    for r in records(con, "select theme, note from seed_police_uk_crime_type_themes where theme is not null "
                          "and note is not null order by crime_type"):
        police_uk_notes.setdefault(r["theme"], []).append(r["note"])
    for i, row in enumerate(summary):
        opening = f"In {area} in {periods['current']}, " if i == 0 else ""
        lines += [f"## {row['label']}", "",
                  theme_paragraph(row, prev_people.get(row["theme"]) if _is_record(row) else None,
                                  details.get(row["theme"], {}), periods["current"], periods["previous"],
                                  comparator_name, opening=opening)]
        extra = [sentence for sentence in (
            analyses.trend_sentence(con, row["theme"], row["short_label"]),
            analyses.knife_sentence(con, row["theme"]),
            analyses.repeat_sentence(con, row["theme"], row["short_label"], periods["current"]),
            analyses.deprivation_sentence(con, row["theme"], row["short_label"]),
            analyses.temporal_sentence(con, row["theme"], row["short_label"]),
            analyses.area_comparison_sentence(con, row["theme"], row["short_label"]),
        ) if sentence]
        if extra:
            lines += ["", " ".join(extra)]
        if getattr(registry.kind_of(row), "limited", False):
            lines += ["", "_From data.police.uk street-level files (limited mode)"
                      + "".join(f"; {n}" for n in police_uk_notes.get(row["theme"], [])) + "._"]
        wards = top_wards_sentence(con, row["theme"], row["short_label"])
        if wards:
            lines += ["", wards]
        lines.append("")
    across = [sentence for sentence in (analyses.disproportionality_sentence(con), analyses.sub_area_sentence(con),
                                        analyses.outlook_sentence(con)) if sentence]
    if across:
        lines += ["## Who and where", "", " ".join(across), ""]
    gaps = analyses.intelligence_gaps(con)
    if gaps:
        lines += ["## Intelligence gaps", ""] + [f"- {gap}" for gap in gaps] + [""]
    missing = records(con, "select label, mps_counts_definition from seed_themes where theme not in "
                           "(select theme from theme_summary) order by cast(sort_order as integer)")
    if missing:
        lines += ["## Not available from these inputs", ""]
        only_police_uk = bool(summary) and all(getattr(registry.kind_of(r), "limited", False) for r in summary)
        lines += [f"- {m['label']}: " + ("not in data.police.uk files (14 broad crime types, no ages or flags)"
                                          if only_police_uk else m['mps_counts_definition']) + "." for m in missing]
        lines.append("")
    caveats = records(con, "select topic, caveat from seed_caveats")
    lines += ["## Caveats", ""] + [f"- **{c['topic']}.** {c['caveat']}" for c in caveats] + [""]
    return "\n".join(lines)


def _is_record(row: dict) -> bool:
    return getattr(registry.kind_of(row), "people", False)
