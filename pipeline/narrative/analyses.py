"""Drafted sentences from the analysis marts (issue 10): trend, knives, repeat victimisation,
deprivation, time, disproportionality, sub-areas, the population outlook and the intelligence gaps.

Each function returns one or more sentences, or '' when its mart is absent, the inputs cannot give
the figure or the base is too small to quote (phrases.MIN_BASE). Names from the inputs go through
phrases.md_text. Which themes a sentence covers is theme policy (sql/seeds/themes.csv).
"""

from __future__ import annotations

import duckdb

from pipeline import seeds
from pipeline.narrative import phrases as base

NUMBER_WORDS = {3: "three", 4: "four", 5: "five"}
DAYS = {1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday", 5: "Friday", 6: "Saturday", 7: "Sunday"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> dict | None:
    rows = base.records(con, sql, params)
    return rows[0] if rows else None


def _have(con: duckdb.DuckDBPyConnection, *tables: str) -> bool:
    return all(base.has_table(con, t) for t in tables)


def _labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select theme, short_label from seed_themes").fetchall())


def _offences_of(label: str) -> str:
    """'sexual' -> 'sexual offences', 'VWI' -> 'VWI offences' (short labels name the offence)."""
    return f"{label} offences"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


TREND_SOURCES = {"record_extract": "the record extract", "mps_counts": "the MPS files", "police_uk": "data.police.uk"}


def trend_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str, source: str | None = None) -> str:
    """The direction over the last 3-5 years, from `source` (the count quoted beside it) when it has a
    series of 3 years or more, else from the source with the longest series. The sentence names its
    source, so it is never read as continuing a figure from another."""
    if not _have(con, "trend"):
        return ""
    row = _one(con, "select * from trend where theme = ? and area_role = 'area' and year_offset = 0 "
                    "and trend_years is not null order by source = ? desc, years_in_series desc, "
                    "source = 'record_extract' desc limit 1", [theme, source or ""])
    if row is None or row["trend_direction"] in (None, "too_few_to_test"):
        return ""
    span = (f"In {TREND_SOURCES.get(row['source'], row['source'])}, over the "
            f"{NUMBER_WORDS.get(row['trend_years'], row['trend_years'])} years {row['trend_start_label']} to {row['period_label']}")
    start, end = base.fmt_count(row["trend_start_count"]), base.fmt_count(row["count"])
    if row["trend_direction"] == "no_clear_change":
        return (f"{span}, {_offences_of(label)} showed no clear trend ({start} in {row['trend_start_label']}, "
                f"{end} in {row['period_label']}).")
    verb = "rose" if row["trend_direction"] == "rising" else "fell"
    # no percentage change from a first year of none (pct_change is null on a zero base)
    pct = f" ({base.fmt_pct(row['trend_pct_change'])})" if row["trend_pct_change"] is not None else ""
    return f"{span}, {_offences_of(label)} {verb} from {start} to {end}{pct}, a change unlikely to be chance."


def knife_sentence(con: duckdb.DuckDBPyConnection, theme: str) -> str:
    """Knife crime with injury, the theme most knife crimes fall in, and victims under 25; for the theme
    whose knife_profile is true (its id is the knife_crime_profile mart's category of all knife crimes)."""
    if seeds.theme_policy(theme).get("knife_profile") != "true" or not _have(con, "knife_crime_profile"):
        return ""
    rows = {r["category"]: r for r in base.records(con, "select * from knife_crime_profile")}
    total = rows.get(theme)
    if total is None or (total["count"] or 0) < base.MIN_BASE:
        return ""
    labels = _labels(con)
    text = f"Of the {base.offences(total['count'], 'knife or sharp instrument')}"
    injury = rows.get("knife_crime_with_injury")
    text += f", {base.fmt_count(injury['count'])} caused injury (knife crime with injury)." if injury else "."
    breakdown = seeds.themes_where("in_knife_breakdown")
    parts = sorted((r for c, r in rows.items() if c in breakdown),
                   key=lambda r: (-(r["share_of_knife_crime_pct"] or 0), r["sort_order"]))
    if parts and (parts[0]["share_of_knife_crime_pct"] or 0) > 0:
        top = parts[0]
        share = f"{top['share_of_knife_crime_pct']:.0f}%"
        lead = f"Most knife offences ({share})" if top["share_of_knife_crime_pct"] > 50 else f"The largest share of knife offences, {share},"
        text += f" {lead} were {_offences_of(labels[top['category']])}."
    if total["victims_u25_pct"] is not None and (total["victims_known_age"] or 0) >= base.MIN_BASE:
        text += f" {total['victims_u25_pct']:.0f}% of knife crime victims with a known age were under 25"
        if injury and injury["victims"]:
            text += f"; {base.fmt_count(injury['victims_u25'])} victims of knife crime with injury were under 25"
        text += "."
    return text


def repeat_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str, period: str) -> str:
    """Repeat victims of domestic abuse and sexual offences (the plan's first intelligence gap; the
    themes whose repeat_victims is true)."""
    if theme not in seeds.themes_where("repeat_victims") or not _have(con, "repeat_victimisation"):
        return ""
    row = _one(con, "select * from repeat_victimisation where theme = ? and period_role = 'current' "
                    "and status = 'computed'", [theme])
    if row is None or (row["victims"] or 0) < base.MIN_BASE:
        return ""
    what = _offences_of(label)
    if not row["repeat_victims"]:
        return f"No identified victim of {what} was a victim more than once in {period} ({base.fmt_count(row['victims'])} victims)."
    return (f"In {period}, {base.fmt_count(row['repeat_victims'])} of the {base.fmt_count(row['victims'])} identified "
            f"victims of {what} ({row['repeat_victims_pct']:.0f}%) were victims more than once, in "
            f"{row['crimes_against_repeat_victims_pct']:.0f}% of these offences; the median time to the repeat was "
            f"{row['median_days_to_repeat']:.0f} days.")


def deprivation_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str) -> str:
    if not _have(con, "deprivation_profile"):
        return ""
    row = _one(con, "select d.*, sum(d.count) filter (where d.imd_quintile in ('1','2','3','4','5')) over () as located "
                    "from deprivation_profile as d where d.theme = ? qualify d.imd_quintile = '1'", [theme])
    if row is None or not row["lsoas"] or (row["located"] or 0) < base.MIN_BASE or row["share_of_theme_pct"] is None:
        return ""
    return (f"{row['share_of_theme_pct']:.0f}% of {_offences_of(label)} placed in an LSOA were in the most deprived "
            f"20% of LSOAs in England, which are home to {row['share_of_residents_pct']:.0f}% of residents.")


def temporal_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str) -> str:
    """The busiest hour of the week (aoristic) and month, and school days for under-18 victims."""
    if not _have(con, "temporal_profile"):
        return ""
    rows = base.records(con, "select * from temporal_profile where theme = ? and period_role = 'current' "
                             "and weighted_count is not null", [theme])
    hours = [r for r in rows if r["view"] == "day_hour" and r["bucket"] != "time_unknown"]
    known = sum(r["weighted_count"] for r in hours)
    text = []
    if known >= 100:  # a peak cell of a few crimes is noise
        peak = max(hours, key=lambda r: (r["weighted_count"], -r["day_of_week"], -r["hour_of_day"]))
        text.append(f"The busiest hour for {_offences_of(label)} was {DAYS[peak['day_of_week']]} "
                    f"{peak['hour_of_day']:02d}:00-{(peak['hour_of_day'] + 1) % 24:02d}:00 "
                    f"({100 * peak['weighted_count'] / known:.1f}% of those with a known time, against "
                    f"{100 / 168:.1f}% if spread evenly).")
    months = [r for r in rows if r["view"] == "month_of_year"]
    if sum(r["weighted_count"] for r in months) >= 100:
        peak = max(months, key=lambda r: (r["weighted_count"], -r["month_of_year"]))
        text.append(f"The busiest month was {MONTHS[peak['month_of_year'] - 1]}.")
    school = {r["bucket"]: r for r in rows if r["view"] == "school_period"}
    known_school = sum(r["weighted_count"] for b, r in school.items() if b in ("term_weekday", "term_weekend", "holiday"))
    if theme in seeds.themes_where("in_sub_areas") and known_school >= 20 and "term_weekday" in school:
        r = school["term_weekday"]
        text.append(f"Of those against victims under 18, {100 * r['weighted_count'] / known_school:.0f}% were on school "
                    f"days (term-time weekdays, {r['expected_share_pct']:.0f}% of the days).")
    return " ".join(text)


def disproportionality_sentence(con: duckdb.DuckDBPyConnection) -> str:
    """Which themes affect under-25s disproportionately: victim rate ratio vs residents aged 25 and over,
    95% interval above 1 (at least 10 victims on each side)."""
    if not _have(con, "victim_rates"):
        return ""
    labels = _labels(con)
    rows = base.records(con, "select * from victim_rates where dimension = 'under_25' and population_group = 'under 25' "
                             "and period_role = 'current' and disproportionality = 'higher' order by rate_ratio desc, theme")
    covered = seeds.themes_where("in_narrative")
    rows = [r for r in rows if r["theme"] in covered]
    if not rows:
        return ""
    items = [f"{_offences_of(labels[r['theme']])} ({r['rate_ratio']:.1f} times)" for r in rows]
    return (f"In {rows[0]['period_label']}, young people under 25 were disproportionately affected by {_join(items)}: "
            "their victim rate per resident was that many times the rate of residents aged 25 and over "
            "(95% intervals above 1).")


def sub_area_sentence(con: duckdb.DuckDBPyConnection) -> str:
    """'Wards with the highest levels of personal robbery and sexual offences are in the East': a
    sub-area holding at least four of a theme's five wards with the most offences."""
    if not _have(con, "ward_hotspots") or not base.has_column(con, "ward_hotspots", "sub_area"):
        return ""
    labels = _labels(con)
    found: dict[str, list[str]] = {}
    for theme in seeds.themes_where("in_sub_areas"):
        top = con.execute("select sub_area, count from ward_hotspots where theme = ? and count is not null "
                          "order by count desc, ward_code limit 5", [theme]).fetchall()
        if len(top) < 5 or top[-1][1] < base.MIN_BASE or any(s is None for s, _ in top):
            continue
        areas = [s for s, _ in top]
        leader = max(set(areas), key=areas.count)
        if areas.count(leader) >= 4 and leader != "Unassigned":
            found.setdefault(leader, []).append(_offences_of(labels[theme]))
    return " ".join(f"Wards with the highest levels of {_join(themes)} are in the {base.md_text(area)}."
                    for area, themes in sorted(found.items()))


def outlook_sentence(con: duckdb.DuckDBPyConnection) -> str:
    if not _have(con, "population_outlook"):
        return ""
    labels = _labels(con)
    rows = base.records(con, "select * from population_outlook where projection_year = "
                             "(select max(projection_year) from population_outlook) and theme in (select unnest(?)) "
                             "and base_victims_u25 >= ? order by theme",
                        [list(seeds.themes_where("in_outlook")), base.MIN_BASE])
    if not rows:
        return ""
    first = rows[0]
    items = [f"{base.fmt_count(round(r['expected_victims_u25']))} of {_offences_of(labels[r['theme']])} "
             f"({base.fmt_count(r['base_victims_u25'])} in {r['base_period']})" for r in rows]
    return (f"If today's victim rates held, the projected {base.fmt_count(first['projected_population_u25'])} residents "
            f"under 25 in {first['projection_year']} (Census 2021: {base.fmt_count(first['base_population_u25'])}) "
            f"would mean about {_join(items)} a year with victims under 25. This is an assumption, not a forecast.")


def intelligence_gaps(con: duckdb.DuckDBPyConnection) -> list[str]:
    gaps = []
    if _have(con, "repeat_victimisation"):
        status = {r[0] for r in con.execute("select distinct status from repeat_victimisation").fetchall()}
        if "no_victim_ids" in status:
            gaps.append("Repeat victimisation: the extract gives no victim references, so repeat victims cannot be counted.")
        if "needs_record_extract" in status:
            gaps.append("Victim and suspect profiles, times of day, knife and domestic abuse flags, repeat victimisation "
                        "and deprivation need a record-level extract: the count files give counts by month only.")
    if _have(con, "victim_rates") and con.execute(
            "select count(*) from victim_rates where population is not null").fetchone()[0]:
        gaps.append("Victim rates by sex and ethnicity need a population file that gives residents by sex and ethnicity.")
    if _have(con, "population_outlook") and con.execute(
            "select count(*) from population_outlook where projection_year is null").fetchone()[0]:
        gaps.append("The population outlook needs a population projection file (residents by age in future years).")
    if _have(con, "deprivation_profile") and con.execute(
            "select count(*) from deprivation_profile where imd_quintile = 'needs_reference_imd'").fetchone()[0]:
        gaps.append("Deprivation: an Index of Multiple Deprivation 2019 file by LSOA is needed to relate offences to deprivation.")
    return gaps


SMALL_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def area_comparison_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str) -> str:
    """The focus area's rate against every area in the inputs and against its neighbours (issue 11):
    "Merton's VWI rate was 6.6 per 1,000 residents, 27th highest of the 32 boroughs; of its five
    neighbours, four had a higher rate (...)". Empty when the run compares no other area with residents."""
    if not _have(con, "area_comparison"):
        return ""
    policy = seeds.theme_policy(theme)
    focus = _one(con, "select * from area_comparison where is_focus and theme = ? and rate_rank is not null", [theme])
    if focus is None or focus["areas_ranked"] < 2 or policy.get("overall") == "true" or focus["count"] < base.MIN_BASE:
        return ""  # a rate on a handful of crimes (homicide) is not worth a ranking
    name = base.md_text(focus["area_name"])
    rate_label = policy.get("rate_label") or label
    sentence = (f"{name}'s {rate_label} rate was {focus['rate_per_1000']:.1f} per 1,000 residents, "
                f"{ordinal(focus['rate_rank'])} highest of the {focus['areas_ranked']} boroughs")
    neighbours = base.records(con, "select area_name, rate_rank from area_comparison where is_neighbour and theme = ? "
                                   "and rate_rank is not null order by rate_rank", [theme])
    if neighbours:
        higher = [base.md_text(n["area_name"]) for n in neighbours if n["rate_rank"] < focus["rate_rank"]]
        count = len(neighbours)
        sentence += (f"; of its {SMALL_NUMBERS.get(count, count)} neighbour{'s' if count != 1 else ''}, "
                     f"{SMALL_NUMBERS.get(len(higher), len(higher)) if higher else 'none'} had a higher rate"
                     + (f" ({_join(higher)})" if higher else ""))
    funnel = _one(con, "select funnel_position from funnel_points where unit_level = 'area' and is_focus and theme = ?",
                  [theme]) if _have(con, "funnel_points") else None
    position = {"above_99.8": "above the upper 99.8% limit of the funnel plot of all boroughs",
                "below_99.8": "below the lower 99.8% limit of the funnel plot of all boroughs"}.get((funnel or {}).get("funnel_position"))
    return sentence + (f", {position}" if position else "") + "."


def near_repeat_sentence(con: duckdb.DuckDBPyConnection, theme: str, label: str) -> str:
    """The Knox test's closest band (near_repeats: 0-200 m, 0-7 days) in words, for the themes whose
    near_repeats is true. A risk is claimed only when it is above chance at p < 0.05 on at least
    phrases.MIN_BASE pairs; otherwise the sentence says no more than chance, or too few pairs to tell."""
    if theme not in seeds.themes_where("near_repeats") or not _in_this_tier(con, "near_repeats"):
        return ""
    row = _one(con, "select * from near_repeats where theme = ? and distance_band = 1 and time_band = 1", [theme])
    if row is None:
        return ""
    return near_repeat_words(row, label)


def _in_this_tier(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` is in the schema being drafted: the public tier leaves near_repeats out, and DuckDB
    would resolve its unqualified name to main's restricted table."""
    return bool(_one(con, "select 1 as found from information_schema.tables where table_name = ? "
                          "and table_schema = current_schema()", [table]))


def near_repeat_words(row: dict, label: str) -> str:
    """The sentence for one near_repeats row (see near_repeat_sentence)."""
    within = row["distance_label"].split("-")[-1]          # '0-200 m' -> '200 m'
    days = row["time_label"].split("-")[-1]                 # '0-7 days' -> '7 days'
    pairs, expected = row["observed_pairs"] or 0, row["expected_pairs"] or 0.0
    what = _offences_of(label)
    if pairs < base.MIN_BASE:
        return (f"Too few pairs of {what} within {within} and {days} of each other ({base.fmt_count(pairs)}) to test "
                f"for near repeats.")
    p = row["knox_p_value"]
    test = f"Knox test, {base.fmt_count(row['permutations'])} permutations, p = {p:.3f}"
    if p < 0.05 and (row["knox_ratio"] or 0) > 1:
        return (f"After a {label} offence, the risk of another within {within} in the next {days} is "
                f"{row['knox_ratio']:.1f} times what chance gives ({base.fmt_count(pairs)} pairs of {what} this close "
                f"against {expected:.1f} expected; {test}).")
    return (f"Near repeats of {what} were no more than chance: {base.fmt_count(pairs)} pairs within {within} and "
            f"{days} of each other against {expected:.1f} expected ({test}).")
