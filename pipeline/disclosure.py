"""Disclosure control for the public tier: the DuckDB schema `public` beside the restricted marts.

For every table the public tier publishes (public_tables(): the marts in RULES) `public.<table>` has the same rows and
columns as the mart, with suppressed cells null, and `public.disclosure_log` holds one row per
suppressed cell: table_name, row_key (the table's `-- unique_key:` values joined with " | "),
column_name and the rule. The algorithm, kept simple so an analyst can explain it:

1. primary_small_count: a count of 1 to disclosure.min_count - 1 (default 1-4) is suppressed; zeros
   are shown (ONS practice: a zero reveals nothing about a person unless it makes a difference exact).
   primary_sensitive_small_count: in ward- or LSOA-level tables, counts of sexual offences, rape and
   domestic abuse (and of under-18 victims) under disclosure.sensitive_min_count (default 10).
2. derived: every column computed from a suppressed count (change, pct_change, rates, shares, z, p
   and q values, flags, ranks of it) is suppressed with it, so `count = previous_count + change` or
   `count = pct x base` cannot give it back.
3. base_under_10: a percentage whose base is under 10 is suppressed.
4. secondary: the tables' additive structures (wards summing to the area or sub-area total, the
   categories of a person dimension, the DA split of a theme, months summing to the year, ...) are
   listed in TableRule.groups. A group with exactly one suppressed cell gets a second one: its
   smallest non-zero published cell (a zero only if no other is left; ties by the table's order).
   A group whose suppressed cells are all 1s gets one more the same way, but a zero first (else
   "two suppressed cells and 2 missing from the total" says both are 1s). small_total: a group
   whose total is under the threshold is suppressed whole, zeros included (else "4 primary cells of
   a total under 5" says each is a 1).
   The same cell published in two tables (mirrors) is suppressed in both. Steps 2-4 repeat until
   nothing changes. Then pipeline/disclosure_audit.py audits the result by linear programming and adds
   secondary cells until every small count is protected (its docstring); steps 2-4 run again after each.
5. rounded: with disclosure.round_to (e.g. 5), every published count and change is rounded to it.

Numeric columns a rule does not name are withheld (`unclassified_column`): a new mart column is
never published unchecked. Tables with point or record-level data are not in the public tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from pipeline import db, disclosure_audit, seeds
from pipeline.config_sections import DisclosureSettings as Settings

SCHEMA = "public"
LOG_TABLE = "disclosure_log"
SENSITIVE_THEMES = seeds.themes_where("sensitive")  # sensitive_min_count applies (sql/seeds/themes.csv)
PCT_BASE_MIN = 10
# marking on every public-tier output (data pack, report, tables' readme)
PUBLIC_MARKING = "OFFICIAL: public tier, disclosure-controlled (small numbers suppressed)"

# Tables never published in the public tier, and why (record-level or point data).
NOT_PUBLISHED = {
    "grid_hotspots": "grid cells with coordinates at a fine resolution (point-level detail)",
    "quarantine": "one row per input record, with crime references and failing values",
    "input_files": "file paths and hashes of the restricted extract",
    "funnel_points": "its ward points repeat ward counts that ward_hotspots may suppress; area_comparison holds "
                     "the areas' rates",
}


@dataclass(frozen=True)
class Pct:
    """A percentage column: suppressed with its numerator, and when its base is under 10. A ref is a
    column of the row, `table.column` (joined on the shared unique key), or `group_sum:column` (the
    sum of the column over the group, e.g. all categories of a dimension)."""

    numerator: str
    base: str


@dataclass(frozen=True)
class TableRule:
    counts: tuple[str, ...]                            # counts of crimes or people: primary suppression
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)   # count -> columns computed from it
    pcts: dict[str, Pct] = field(default_factory=dict)
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (count column, group-by columns): members add up
    small_area: bool = False                           # ward / LSOA level: sensitive thresholds apply
    safe: tuple[str, ...] = ()                         # numeric columns that hold no count (ids, years, populations)
    prepare: str | None = None                         # select adding helper columns (prefixed _) for groups


CHANGE = ("change", "pct_change", "poisson_z", "p_value", "change_flag")
# the start of the period a row's previous_count counts (the same number of months just before): where
# the disclosure audit finds the months that previous_count totals (disclosure_audit.TOTALS)
PREVIOUS_START = ("cast(period_start - to_months(datediff('month', period_start, period_end) + 1) as date) "
                  "as _previous_start")
WARD_CHANGE = CHANGE + ("q_value", "significant_after_fdr")

RULES: dict[str, TableRule] = {
    "areas": TableRule(counts=(), safe=("shared_border_m", "residents")),
    "area_comparison": TableRule(   # the areas of a theme add up to the comparator's total
        counts=("count", "previous_count"),
        derived={"count": CHANGE + ("rate_per_1000", "rate_ci_lower", "rate_ci_upper", "rate_rank",
                                    "share_of_comparator_pct", "pct_change_gap"),
                 "previous_count": CHANGE + ("pct_change_gap",)},
        pcts={"comparator_pct_change": Pct("count", "count")},
        groups=(("count", ("theme", "period_label")), ("previous_count", ("theme", "period_label"))),
        safe=("residents", "areas_ranked")),
    "theme_summary": TableRule(
        counts=("count", "previous_count"),
        derived={"count": CHANGE + ("share_of_all_crime_pct",), "previous_count": CHANGE},
        pcts={"victims_u25_pct": Pct("theme_detail.victims_u25", "theme_detail.victims_known_age"),
              "victim_age_unknown_pct": Pct("theme_detail.victims", "theme_detail.victims"),
              "suspects_u25_pct": Pct("theme_detail.suspects_u25", "theme_detail.suspects_known_age"),
              "suspect_age_unknown_pct": Pct("count", "count"),
              "comparator_pct_change": Pct("count", "count")},   # the comparator is large; kept with the row
        safe=(), prepare=f"select *, {PREVIOUS_START} from theme_summary"),
    "theme_detail": TableRule(
        counts=("count", "da_offences", "knife_offences", "victims", "victims_known_age", "victims_u25",
                "victims_u18", "suspects", "suspects_known_age", "suspects_u25", "offences_no_suspect",
                "offences_suspect_age_missing"),
        derived={"count": ("share_of_vap_pct",)},
        pcts={"da_share_pct": Pct("da_offences", "count"),
              "victims_u18_pct": Pct("victims_u18", "victims_known_age"),
              "suspect_none_recorded_pct": Pct("offences_no_suspect", "count"),
              "suspect_age_missing_pct": Pct("offences_suspect_age_missing", "count")}),
    "trend": TableRule(
        counts=("count", "previous_count", "trend_start_count"),
        derived={"count": CHANGE + ("trend_change", "trend_pct_change", "trend_avg_annual_pct", "trend_p_value",
                                    "trend_direction"),
                 "previous_count": CHANGE,
                 "trend_start_count": ("trend_change", "trend_pct_change", "trend_avg_annual_pct", "trend_p_value",
                                       "trend_direction")},
        safe=("year_offset", "years_in_series", "trend_years"), prepare=f"select *, {PREVIOUS_START} from trend"),
    "theme_monthly": TableRule(
        counts=("count",),
        # the months of a trend year add up to the year's count (published in trend and theme_summary), those
        # of the year before the first as its previous_count; an area without a trend (areas: all) publishes
        # its current and previous periods' counts (theme_summary, area_comparison); months in none of these
        # have a null _year: no total of theirs is published. _year is the start of the months' period.
        groups=(("count", ("source", "area_role", "area_name", "theme", "_year")),),
        prepare="select m.*, coalesce((select min(t.period_start) from trend as t where t.source = m.source "
                "and t.area_role = m.area_role and t.theme = m.theme and m.month_start between t.period_start "
                "and t.period_end), (select min(t._previous_start) from (select *, " + PREVIOUS_START + " from trend) "
                "as t where t.source = m.source and t.area_role = m.area_role and t.theme = m.theme and "
                "m.month_start >= t._previous_start and m.month_start < t.period_start), (select min(p.period_start) "
                "from periods as p where m.month_start between p.period_start and p.period_end)) as _year "
                "from theme_monthly as m"),
    "ward_hotspots": TableRule(
        counts=("count", "previous_count", "area_count"),
        derived={"count": WARD_CHANGE + ("rate_per_1000", "rate_ci_lower", "rate_ci_upper", "share_of_area_pct",
                                         "rank_in_area", "harm_weighted_count", "harm_weight_coverage_pct"),
                 "previous_count": WARD_CHANGE + ("previous_rate_per_1000", "previous_harm_weighted_count")},
        groups=(("count", ("area_code", "theme", "period_label")),
                ("previous_count", ("area_code", "theme", "period_label")),
                ("count", ("area_code", "sub_area", "theme", "period_label")),
                ("previous_count", ("area_code", "sub_area", "theme", "period_label"))),
        small_area=True, safe=("population",)),
    "ward_summary": TableRule(
        counts=("count", "previous_count"),
        derived={"count": ("change", "pct_change", "rank_in_area", "share_of_area_pct"),
                 "previous_count": ("change", "pct_change")},
        groups=(("count", ("area_code", "theme", "period_label")),
                ("previous_count", ("area_code", "theme", "period_label"))),
        small_area=True),
    "sub_area_summary": TableRule(
        counts=("count", "previous_count"),
        derived={"count": CHANGE + ("share_of_located_pct", "rate_per_1000", "rate_ci_lower", "rate_ci_upper"),
                 "previous_count": CHANGE},
        groups=(("count", ("area_code", "theme", "period_label")),
                ("previous_count", ("area_code", "theme", "period_label"))),
        safe=("wards", "population", "population_u25", "residents_share_pct", "residents_u25_share_pct")),
    "domestic_abuse_split": TableRule(
        counts=("count", "previous_count", "flag_not_recorded"),
        derived={"count": ("change", "pct_change", "share_of_theme_pct", "p_value", "change_flag"),
                 "previous_count": ("change", "pct_change", "p_value", "change_flag")},
        # DA + not DA = the theme's count in theme_summary
        groups=(("count", ("area_code", "theme", "period_label")),
                ("previous_count", ("area_code", "theme", "period_label")))),
    "knife_crime_profile": TableRule(
        counts=("count", "previous_count", "theme_count", "victims", "victims_known_age", "victims_u25"),
        derived={"count": ("change", "pct_change", "share_of_knife_crime_pct", "knife_share_of_theme_pct"),
                 "previous_count": ("change", "pct_change")},
        pcts={"victims_u25_pct": Pct("victims_u25", "victims_known_age")},
        safe=("sort_order",)),
    "people_profile": TableRule(
        counts=("count",),
        pcts={"pct_of_role": Pct("count", "group_sum:count")},
        groups=(("count", ("area_code", "theme", "period_role", "person_role", "dimension")),),
        # public: the seed's categories only (an ethnicity outside them is counted in Other), so the rows
        # are the same whatever the data holds
        prepare="select g.* exclude (run_id), pct(count, sum(count) over (partition by area_code, theme, period_role, "
                "person_role, dimension)) as pct_of_role, run_id from (select area_code, theme, period_role, "
                "period_label, person_role, dimension, category, sum(count) as count, max(run_id) as run_id "
                "from (select m.* replace (case when exists (select 1 from seed_person_categories as c where "
                "c.dimension = m.dimension and c.category = m.category) then m.category else 'Other' end as category) "
                "from people_profile as m) group by all) as g"),
    "victim_rates": TableRule(
        counts=("victims", "rest_victims"),
        # victims + rest_victims = the theme's victims: each gives the other away
        derived={"victims": ("rate_per_1000", "rate_ci_lower", "rate_ci_upper", "rate_ratio", "rate_ratio_ci_lower",
                             "rate_ratio_ci_upper", "disproportionality", "rest_victims"),
                 "rest_victims": ("rate_ratio", "rate_ratio_ci_lower", "rate_ratio_ci_upper", "disproportionality",
                                  "victims")},
        groups=(("victims", ("area_code", "theme", "period_label", "dimension")),),
        safe=("sort_age", "population", "rest_population")),
    "deprivation_profile": TableRule(
        counts=("count", "previous_count"),
        derived={"count": ("share_of_theme_pct", "concentration_ratio", "rate_per_1000", "rate_ci_lower",
                           "rate_ci_upper")},
        groups=(("count", ("area_code", "theme", "period_label")),
                ("previous_count", ("area_code", "theme", "period_label"))),
        safe=("lsoas", "population", "share_of_residents_pct")),
    "repeat_victimisation": TableRule(
        counts=("victims", "repeat_victims", "crimes_with_identified_victim", "crimes_against_repeat_victims",
                "victims_repeat_within_365_days", "victim_rows_without_id"),
        derived={"repeat_victims": ("median_days_to_repeat",)},   # a median of a few people's dates is theirs
        pcts={"repeat_victims_pct": Pct("repeat_victims", "victims"),
              "crimes_against_repeat_victims_pct": Pct("crimes_against_repeat_victims", "crimes_with_identified_victim"),
              "victims_repeat_within_365_days_pct": Pct("victims_repeat_within_365_days", "repeat_victims")}),
    "temporal_profile": TableRule(
        counts=("weighted_count", "crimes"),
        derived={"weighted_count": ("share_pct",), "crimes": ("share_pct",)},
        groups=(("weighted_count", ("area_code", "theme", "period_label", "view")),
                ("crimes", ("area_code", "theme", "period_label", "view"))),
        # crimes_exact/window/long_window/no_time split `crimes` by how its time was recorded: withheld
        # (unclassified) rather than protected cell by cell
        safe=("month_of_year", "day_of_week", "hour_of_day", "expected_share_pct"),
        # the month a month_of_year bucket stands for (a 12-month period holds each month once): the
        # same figure as theme_monthly's count for that month (MIRRORS)
        prepare="select m.*, case when m.view = 'month_of_year' then (select min(cast(d as date)) from periods as p, "
                "generate_series(p.period_start, p.period_end, interval 1 month) as g(d) where p.period_label = m.period_label "
                "and month(d) = m.month_of_year) end as _month_start from temporal_profile as m"),
    "population_outlook": TableRule(
        counts=("base_victims_u25",),
        derived={"base_victims_u25": ("base_rate_u25_per_1000", "expected_victims_u25", "expected_change")},
        safe=("projection_year", "base_population_u25", "projected_population_u25")),
    # data quality: rows of input files and crimes by location method, not people
    # public: one line of totals, no file names or per-rule counts, its counts controlled like any other;
    # in = loaded + superseded + quarantined, so a suppressed quarantined count takes superseded with it
    "quarantine_summary": TableRule(
        counts=("rows_read", "rows_in", "rows_loaded", "rows_superseded", "rows_quarantined"),
        derived={"rows_quarantined": ("rows_superseded",), "rows_superseded": ("rows_quarantined",)},
        pcts={"quarantined_pct": Pct("rows_quarantined", "rows_in")},
        prepare="select 'all input files' as source_file, 'all' as input_table, sum(rows_read) as rows_read, "
                "sum(rows_in) as rows_in, sum(rows_loaded) as rows_loaded, sum(rows_superseded) as rows_superseded, "
                "sum(rows_quarantined) as rows_quarantined, pct(sum(rows_quarantined), sum(rows_in)) as quarantined_pct, "
                "bool_and(reconciled) as reconciled, null as quarantine_rules, null as note, max(run_id) as run_id "
                "from quarantine_summary"),
    "location_summary": TableRule(counts=(), safe=("rows_read", "crimes", "crimes_pct", "crimes_in_periods")),
    "police_uk_crime_types": TableRule(counts=("count", "placed_on_ward", "no_location")),
    "police_uk_location_summary": TableRule(counts=(), safe=("rows", "area_rows", "area_crimes", "area_crimes_pct")),
}

# The same cell published in two tables: suppressed in one, suppressed in both.
MIRRORS = (
    ("ward_summary", "ward_hotspots", ("area_code", "ward_code", "theme", "period_label"), ("count", "previous_count")),
    ("theme_summary", "theme_detail", ("area_code", "theme", "period_label"), ("count",)),
    ("theme_summary", "area_comparison", ("area_name", "theme", "period_label"), ("count", "previous_count")),
    ("temporal_profile", "theme_monthly", (("source", "source"), ("area_name", "area_name"), ("theme", "theme"),
                                           ("_month_start", "month_start")),
     (("weighted_count", "count"),)),
)


# ---------------------------------------------------------------- the algorithm on frames


def _key_order(name: str, frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    return frame.sort_values(list(key), kind="stable").reset_index(drop=True) if key else frame


def _ref(frames: dict[str, pd.DataFrame], name: str, frame: pd.DataFrame, ref: str, key: tuple[str, ...],
         masks: dict[str, pd.DataFrame], group: tuple[str, ...] | None):
    """(values, suppressed) of a ref (see Pct) aligned with `frame`'s rows."""
    if ref.startswith("group_sum:"):
        column = ref.split(":", 1)[1]
        values = frame.groupby(list(group), dropna=False)[column].transform("sum") if group else frame[column].sum()
        return pd.Series(values, index=frame.index), pd.Series(False, index=frame.index)
    if "." in ref:
        other, column = ref.split(".", 1)
        if other not in frames:
            return pd.Series(pd.NA, index=frame.index), pd.Series(False, index=frame.index)
        right = frames[other][list(key) + [column]].copy()
        right["_suppressed"] = masks[other][column].to_numpy() if column in masks[other] else False
        joined = frame[list(key)].merge(right, on=list(key), how="left")
        return joined[column].set_axis(frame.index), joined["_suppressed"].fillna(False).astype(bool).set_axis(frame.index)
    return frame[ref], masks[name][ref] if ref in masks[name] else pd.Series(False, index=frame.index)


def suppress_frames(frames: dict[str, pd.DataFrame], keys: dict[str, tuple[str, ...]], settings: Settings,
                    rules: dict[str, TableRule] = RULES, mirrors=MIRRORS) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The public version of each frame (suppressed cells None, counts rounded if asked) and the log.
    `frames`: restricted tables by name; `keys`: their unique keys (the log's row_key)."""
    frames = {n: _key_order(n, f, keys.get(n, ())) for n, f in frames.items()}
    # rule per cell: the first rule that suppressed it
    rule_of: dict[str, pd.DataFrame] = {n: pd.DataFrame(None, index=f.index, columns=f.columns, dtype=object)
                                        for n, f in frames.items()}
    masks = {n: pd.DataFrame(False, index=f.index, columns=f.columns) for n, f in frames.items()}

    def mark(name: str, column: str, where: pd.Series, rule: str) -> bool:
        if column not in masks[name]:
            return False
        new = where.fillna(False).astype(bool) & ~masks[name][column]
        if not new.any():
            return False
        masks[name].loc[new, column] = True
        rule_of[name].loc[new, column] = rule
        return True

    for name, frame in frames.items():
        rule = rules[name]
        sensitive = pd.Series(False, index=frame.index)
        if rule.small_area and "theme" in frame:
            sensitive = frame["theme"].isin(SENSITIVE_THEMES)
        # a breakdown of a small total is not published at all, zeros included: with the cells' rules in
        # the log, "4 primary cells of a total under 5" would say each is a 1
        for column, group in rule.groups:
            if column in frame and set(group) <= set(frame.columns):
                values = pd.to_numeric(frame[column], errors="coerce")
                total = values.groupby([frame[g] for g in group], dropna=False).transform("sum")
                limit = pd.Series(settings.min_count, index=frame.index).where(~sensitive, settings.sensitive_min_count)
                mark(name, column, (total > 0) & (total < limit) & values.notna(), "small_total")
        for column in rule.counts:
            if column not in frame:
                continue
            values = pd.to_numeric(frame[column], errors="coerce")
            small_area_u18 = rule.small_area and "u18" in column
            mark(name, column, (values > 0) & (values < settings.min_count), "primary_small_count")
            mark(name, column, (sensitive | small_area_u18) & (values > 0) & (values < settings.sensitive_min_count),
                 "primary_sensitive_small_count")
        classified = set(rule.counts) | set(rule.safe) | set(rule.pcts) | {c for d in rule.derived.values() for c in d}
        for column in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
            if numeric and column not in classified and not column.startswith("_"):
                mark(name, column, pd.Series(True, index=frame.index), "unclassified_column")

    changed, audit = True, None
    while changed:
        changed = False
        for name, frame in frames.items():
            rule = rules[name]
            for count, columns in rule.derived.items():
                if count in frame:
                    for column in columns:
                        changed |= mark(name, column, masks[name][count], "secondary")
            for column, pct in rule.pcts.items():
                if column not in frame:
                    continue
                group = next((g for c, g in rule.groups if c == pct.numerator), None)
                _, num_suppressed = _ref(frames, name, frame, pct.numerator, keys.get(name, ()), masks, group)
                base, base_suppressed = _ref(frames, name, frame, pct.base, keys.get(name, ()), masks, group)
                changed |= mark(name, column, num_suppressed | base_suppressed, "secondary")
                changed |= mark(name, column, pd.to_numeric(base, errors="coerce") < PCT_BASE_MIN, "base_under_10")
            for count, group in rule.groups:
                if count not in frame or not set(group) <= set(frame.columns):
                    continue
                changed |= _secondary_in_groups(frame, count, list(group), masks[name], mark, name)
        for left, right, on, columns in mirrors:
            if left not in frames or right not in frames:
                continue
            left_on, right_on = zip(*[(c, c) if isinstance(c, str) else c for c in on])
            for column in columns:
                left_column, right_column = (column, column) if isinstance(column, str) else column
                if not {*left_on, left_column} <= set(frames[left]) or not {*right_on, right_column} <= set(frames[right]):
                    continue
                a = frames[left][list(left_on)].assign(_a=masks[left][left_column].to_numpy(), _ai=frames[left].index)
                b = frames[right][list(right_on)].assign(_b=masks[right][right_column].to_numpy(), _bi=frames[right].index)
                both = a.merge(b, left_on=list(left_on), right_on=list(right_on), how="inner")
                changed |= mark(left, left_column, pd.Series(both["_b"].to_numpy(), index=both["_ai"].to_numpy())
                                .groupby(level=0).max().reindex(frames[left].index, fill_value=False), "secondary")
                changed |= mark(right, right_column, pd.Series(both["_a"].to_numpy(), index=both["_bi"].to_numpy())
                                .groupby(level=0).max().reindex(frames[right].index, fill_value=False), "secondary")
        if not changed:   # the heuristic is done: the LP audit adds cells until it proves every small cell protected
            audit = disclosure_audit.protect(frames, masks, rule_of, mark, settings, rules, mirrors, keys)
            changed = audit is None

    public, log = {}, []
    for name, frame in frames.items():
        out = frame.astype(object).where(~masks[name], None)
        if settings.round_to:
            out = _rounded(out, masks[name], rules[name], settings.round_to)
        public[name] = out[[c for c in frame.columns if not c.startswith("_")]]
        key = list(keys.get(name, ()))
        stacked = rule_of[name].stack(future_stack=True).dropna()
        stacked = stacked[[not c.startswith("_") for _, c in stacked.index]]
        if len(stacked):
            rows = stacked.index.get_level_values(0)
            row_key = row_keys(frame.loc[rows], key)
            log.append(pd.DataFrame({"table_name": name, "row_key": row_key.to_numpy(),
                                     "column_name": stacked.index.get_level_values(1), "rule": stacked.to_numpy()}))
        if settings.round_to:
            log += [pd.DataFrame({"table_name": [name], "row_key": ["*"], "column_name": [column], "rule": ["rounded"]})
                    for column in _rounded_columns(frame, rules[name])]
    columns = ["table_name", "row_key", "column_name", "rule"]
    log = pd.concat(log, ignore_index=True)[columns] if log else pd.DataFrame(columns=columns)
    log.attrs["audit"] = audit   # restricted: each small cell's feasible range (pipeline/disclosure_audit.py)
    return public, log


def row_keys(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    """The log's row_key: the unique key's values joined with " | " (dates as YYYY-MM-DD, null as '')."""
    if not key:
        return pd.Series("", index=frame.index)
    parts = []
    for column in key:
        values = frame[column]
        text = values.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(values) else values.astype(str)
        parts.append(text.where(values.notna(), ""))
    return pd.concat(parts, axis=1).agg(" | ".join, axis=1)


def _secondary_in_groups(frame: pd.DataFrame, count: str, group: list[str], mask: pd.DataFrame, mark, name) -> bool:
    """Per group of rows adding up to a published total: exactly one suppressed cell gets a partner,
    the smallest non-zero published cell (else a zero); ties by table order."""
    values = pd.to_numeric(frame[count], errors="coerce")
    suppressed = mask[count]
    work = frame[group].copy()
    work["_suppressed"] = suppressed.astype(int)
    per_group = work.groupby(group, dropna=False)["_suppressed"].transform("sum")
    # a group whose suppressed cells are all 1s gives them away too (k cells of at least 1 adding up to k):
    # it gets one more cell, as a group with a lone suppressed cell does
    positive = (values.where(suppressed) > 0).astype(int)
    work["_ones"] = (values.where(suppressed) == 1).astype(int)
    work["_positive"] = positive
    ones = work.groupby(group, dropna=False)["_ones"].transform("sum")
    all_ones = (per_group > 0) & (ones == per_group) & (work.groupby(group, dropna=False)["_positive"]
                                                          .transform("sum") == per_group)
    candidates = frame.index[((per_group == 1) | all_ones) & ~suppressed & values.notna()]
    if not len(candidates):
        return False
    pick = pd.DataFrame({"_value": values[candidates], "_zero": values[candidates] == 0, "_order": candidates},
                        index=candidates).join(frame.loc[candidates, group])
    # lone cell: the smallest non-zero partner; all ones: a zero first (it hides which cells are the ones)
    pick["_rank"] = pick["_zero"].where(~all_ones[candidates], ~pick["_zero"])
    pick = pick.sort_values(["_rank", "_value", "_order"]).groupby(group, dropna=False).head(1)
    return mark(name, count, pd.Series(True, index=pick.index).reindex(frame.index, fill_value=False), "secondary")


def _rounded_columns(frame: pd.DataFrame, rule: TableRule) -> list[str]:
    change = [c for c in ("change", "trend_change") if any(c in d for d in rule.derived.values())]
    return [c for c in (*rule.counts, *change) if c in frame]


def _rounded(out: pd.DataFrame, mask: pd.DataFrame, rule: TableRule, base: int) -> pd.DataFrame:
    """Published counts to the nearest `base` (halves away from zero, as Excel's ROUND), and the changes
    recomputed from the rounded counts so the identity count - previous_count = change still holds."""
    def nearest(value):
        if value is None or pd.isna(value):
            return value
        sign = -1 if value < 0 else 1
        return int(sign * ((abs(float(value)) + base / 2) // base) * base)

    for column in rule.counts:
        if column in out:
            out[column] = pd.Series([nearest(v) for v in out[column]], index=out.index, dtype=object)
    for change, (a, b) in (("change", ("count", "previous_count")), ("trend_change", ("count", "trend_start_count"))):
        if change in out and a in out and b in out:
            ok = ~mask[change]
            out[change] = out[change].astype(object)
            out.loc[ok, change] = [None if x is None or y is None or pd.isna(x) or pd.isna(y) else x - y
                                   for x, y in zip(out.loc[ok, a], out.loc[ok, b])]
    return out


# ---------------------------------------------------------------- the public schema in the run's database


def public_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts the public tier publishes (every mart with a rule, in the models' order)."""
    return [n for n in db.model_files(("marts",)) if n in RULES and n not in NOT_PUBLISHED
            and con.execute("select count(*) from information_schema.tables where table_schema = 'main' "
                            "and table_name = ?", [n]).fetchone()[0]]


class PublicTierError(Exception):
    """The public tier could not be built: names the table and column. The restricted tier is kept."""

    def __init__(self, table: str, column: str, cause: str):
        super().__init__(table, column, cause)
        self.table, self.column, self.cause = table, column, cause
        self.outputs: list = []   # the restricted tier's files, written and kept (set by publish)

    def __str__(self) -> str:
        return f"the public tier failed in table {self.table}, column {self.column}: {self.cause}"


def _numeric_frame(name: str, frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Every column a rule names as a number, as plain float (DuckDB gives nullable Int64 columns whose
    blanks, e.g. the "needs a record extract" rows, are pd.NA, which numpy arithmetic cannot hold);
    a column that is not numeric stops the public tier, naming it."""
    rule = RULES[name]
    named = {*rule.counts, *(c for c, _ in rule.groups)}   # the counts the rules compare and add up
    frame = frame.copy()
    for column in frame.columns:
        if column in key:
            continue
        dtype = frame[column].dtype
        if column in named and not pd.api.types.is_numeric_dtype(dtype) and frame[column].notna().any():
            raise PublicTierError(name, column, f"a count column holds {dtype} values, not numbers")
        if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype) \
                and not pd.api.types.is_bool_dtype(dtype):
            frame[column] = frame[column].astype("float64")
    return frame


def _fails(frames: dict, keys: dict, settings: Settings, name: str, rule: TableRule) -> bool:
    try:
        suppress_frames({name: frames[name]}, {name: keys[name]}, settings, rules={name: rule}, mirrors=())
    except Exception:  # noqa: BLE001  (looking for the culprit of the error being reported)
        return True
    return False


def _failing_table(frames: dict, keys: dict, settings: Settings) -> tuple[str, str]:
    """After suppress_frames failed: the table, then the count column, that fail on their own."""
    import dataclasses

    for name, rule in ((n, RULES[n]) for n in frames):
        if not _fails(frames, keys, settings, name, rule):
            continue
        for column in rule.counts:
            only = dataclasses.replace(rule, counts=(column,), groups=tuple(g for g in rule.groups if g[0] == column),
                                       derived={k: v for k, v in rule.derived.items() if k == column})
            if _fails(frames, keys, settings, name, only):
                return name, column
        return name, "(several)"
    return "(several tables)", "(several)"


def _casts(con: duckdb.DuckDBPyConnection, column: str, dtype: str) -> bool:
    try:
        con.execute(f'select cast("{column}" as {dtype}) from _public_frame').fetchall()
        return True
    except duckdb.Error:
        return False


def build_public_schema(con: duckdb.DuckDBPyConnection, cfg_settings: Settings) -> dict[str, int]:
    """Write `public.<table>` for every public table, `public.disclosure_log` (which cells are suppressed,
    not why) and `main.disclosure_log` (with the rule: restricted); returns suppressed cells per rule.
    The public tables keep the marts' column types (values nulled, never retyped). Any failure is a
    PublicTierError naming the table and column."""
    models = db.load_models(("marts",))
    names = public_tables(con)
    frames, keys = {}, {}
    for name in names:
        rule = RULES[name]
        sql = rule.prepare or f"select * from {db.sql_identifier(name)}"
        try:
            frame = con.execute(sql).df()
        except duckdb.Error as exc:
            raise PublicTierError(name, "(all)", f"reading the table failed: {exc}") from exc
        keys[name] = tuple(models[name].unique_key)
        frames[name] = _numeric_frame(name, frame, keys[name])
    try:
        public, log = suppress_frames(frames, keys, cfg_settings)
    except Exception as exc:
        table, column = _failing_table(frames, keys, cfg_settings)
        raise PublicTierError(table, column, f"{type(exc).__name__}: {exc}") from exc
    con.execute(f"create schema if not exists {SCHEMA}")
    for name in names:
        frame = public[name]
        types = dict(con.execute("select column_name, data_type from information_schema.columns where table_schema = "
                                 "'main' and table_name = ? order by ordinal_position", [name]).fetchall())
        con.register("_public_frame", frame)
        select = ", ".join(f'cast("{c}" as {types[c]}) as "{c}"' for c in frame.columns)
        try:
            con.execute(f"create or replace table {SCHEMA}.{db.sql_identifier(name)} as select {select} from _public_frame")
        except duckdb.Error as exc:
            column = next((c for c in frame.columns if not _casts(con, c, types[c])), "(all)")
            raise PublicTierError(name, column, f"its values do not fit the mart's column type: {exc}") from exc
        finally:
            con.unregister("_public_frame")
    con.register("_log_frame", log)
    con.execute(f"create or replace table main.{LOG_TABLE} as select cast(table_name as varchar) as table_name, "
                "cast(row_key as varchar) as row_key, cast(column_name as varchar) as column_name, "
                "cast(rule as varchar) as rule from _log_frame order by all")
    con.unregister("_log_frame")
    # the public log says which cells are blank, never why (a rule would say "this one is 1 to 4");
    # rounding applies to whole columns and is stated in the pack, not listed cell by cell
    con.execute(f"create or replace table {SCHEMA}.{LOG_TABLE} as select table_name, row_key, column_name "
                f"from main.{LOG_TABLE} where rule <> 'rounded' order by all")
    # the audit's ranges are restricted: they sit in the main schema, never in `public`
    con.register("_audit_frame", log.attrs.get("audit") if log.attrs.get("audit") is not None
                 else pd.DataFrame(columns=disclosure_audit.COLUMNS))
    con.execute(f"create or replace table main.{disclosure_audit.TABLE} as select * from _audit_frame")
    con.unregister("_audit_frame")
    return dict(log["rule"].value_counts()) if len(log) else {}


def summary(counts: dict[str, Any]) -> str:
    return ", ".join(f"{n:,} {rule}" for rule, n in sorted(counts.items())) or "nothing suppressed"
