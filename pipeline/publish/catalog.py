"""The mart catalog: one record per mart (sql/marts/<name>.sql), read by everything that publishes one.

A mart is one SQL file and one Mart entry in MARTS (tests/unit/publish/test_catalog.py fails when either is
missing). The SQL header keeps the grain and the unique key (read here, not copied); the entry holds the
rest: the data pack's sheet (its place in the reading order, description, empty-sheet text, extract)
and the public tier's disclosure rule, or why the mart is not published. Column headings and definitions
are in sql/seeds/column_labels.csv and caveats in sql/seeds/caveats.csv (column_labels(), Mart.caveats()).
The markings of the two tiers are defined here too, for every output that carries one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import duckdb

from pipeline.publish.disclosure_rules import CHANGE, PREVIOUS_START, WARD_CHANGE, Pct, TableRule
from pipeline.settings.config import SEEDS_DIR
from pipeline.transform import db

# Protective marking on every output of a tier (data pack, headlines, report, maps, GeoPackage).
MARKING = "OFFICIAL-SENSITIVE: restricted tier, contains unsuppressed small numbers"
PUBLIC_MARKING = "OFFICIAL: public tier, disclosure-controlled (small numbers suppressed: [c])"


def marking(tier: str) -> str:
    """The marking of a tier's outputs: restricted or public."""
    markings = {"restricted": MARKING, "public": PUBLIC_MARKING}
    if tier not in markings:
        raise ValueError(f"tier must be restricted or public, not {tier!r}")
    return markings[tier]


@dataclass(frozen=True)
class Sheet:
    """A ready-made sheet of the data pack built from a mart (a pivot with a chart), placed before it."""

    name: str
    description: str
    empty: str = ""          # why the sheet can be empty, said on the sheet


@dataclass(frozen=True)
class Mart:
    name: str                              # sql/marts/<name>.sql and the data pack's sheet
    description: str                       # the pack's Contents line
    disclosure: TableRule | None = None    # the public tier's rule (pipeline/publish/disclosure_suppression.py)
    not_public: str = ""                   # or why the public tier leaves the mart out
    empty: str = ""                        # why its sheet can be empty, said on the sheet
    extract: tuple[str, str] | None = None  # (where, note): the pack keeps these rows; tables/ has all
    pivot: Sheet | None = None             # a ready-made sheet of it
    quality: bool = False                  # a data-quality table: its sheet comes after the others

    def __post_init__(self) -> None:
        if (self.disclosure is None) == (not self.not_public):
            raise ValueError(f"mart {self.name}: give a disclosure rule or a reason it is not public, not both")

    @property
    def public(self) -> bool:
        return self.disclosure is not None

    @property
    def model(self) -> db.Model:
        return db.load_models(("marts",))[self.name]

    @property
    def grain(self) -> str:
        """The `-- Grain:` sentence of the SQL header, up to its first full stop or colon outside brackets."""
        comments = " ".join(line[2:].strip() for line in self.model.sql.splitlines() if line.startswith("--"))
        start = comments.lower().find("grain:")
        text, depth = comments[start + len("grain:"):].strip() if start >= 0 else "", 0
        for at, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and char in ".:" and text[at + 1:at + 2] in (" ", "") and not text[:at].endswith("e.g"):
                return text[:at]
        return text

    def caveats(self) -> list[dict[str, str]]:
        """The caveats that apply to every table, and those naming this mart in applies_to."""
        return [c for c in caveats() if c["applies_to"] in ("all", self.name)]


# The marts in the data pack's reading order: the headline table first, data quality last.
MARTS: dict[str, Mart] = {mart.name: mart for mart in (
    Mart("theme_summary",
         "Each theme this period against the previous one: counts, change, significance, shares",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": CHANGE + ("share_of_all_crime_pct",), "previous_count": CHANGE},
             pcts={"victims_u25_pct": Pct("theme_detail.victims_u25", "theme_detail.victims_known_age"),
                   "victim_age_unknown_pct": Pct("theme_detail.victims", "theme_detail.victims"),
                   "suspects_u25_pct": Pct("theme_detail.suspects_u25", "theme_detail.suspects_known_age"),
                   "suspect_age_unknown_pct": Pct("count", "count"),
                   "comparator_pct_change": Pct("count", "count")},   # the comparator is large; kept with the row
             safe=(), prepare=f"select *, {PREVIOUS_START} from theme_summary")),
    Mart("core_measures",
         "The Serious Violence Duty's core measures side by side (police, hospital and partner data), or what to request",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": CHANGE + ("rate_per_1000", "value", "lower_ci_95", "upper_ci_95", "rank_in_file"),
                      "previous_count": CHANGE},
             safe=("sort_order", "comparator_value", "areas_in_file"))),
    Mart("indicator_status",
         "The delivery plan's indicators quarter by quarter: value, target, RAG and the trend on a year earlier",
         empty="No indicator set in this run's inputs (an input of kind indicator_set).",
         disclosure=TableRule(
             counts=("value", "previous_year_value"),
             derived={"value": ("result", "rag", "trend", "trend_better"),
                      "previous_year_value": ("trend", "trend_better")},
             safe=("baseline", "target", "red_at", "sort_order"))),
    Mart("partner_summary",
         "Partner tables (A&E, hospital, youth justice, schools): this period against the previous one",
         empty="No partner table in this run's inputs (an input of kind partner_table).",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": CHANGE, "previous_count": CHANGE},
             safe=("months_covered", "previous_months_covered"))),
    Mart("health_indicators",
         "OHID Fingertips indicators for the area: value, interval, trend, England and rank among the areas in the file",
         empty="No Fingertips file in this run's inputs (an input of kind fingertips), or none holds the area.",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": ("value", "lower_ci_95", "upper_ci_95", "rank_in_file"),
                      "previous_count": ("previous_value",)},
             safe=("indicator_id", "denominator", "england_value", "areas_in_file"))),
    Mart("trend",
         "Each theme by year as far back as the inputs go, with the 3-5 year trend",
         pivot=Sheet("year_by_theme", "Crimes by year and theme, ready to paste, with a chart (from trend)",
                     empty="No year the inputs cover in full."),
         disclosure=TableRule(
             counts=("count", "previous_count", "trend_start_count"),
             derived={"count": CHANGE + ("trend_change", "trend_pct_change", "trend_avg_annual_pct", "trend_p_value",
                                         "trend_direction"),
                      "previous_count": CHANGE,
                      "trend_start_count": ("trend_change", "trend_pct_change", "trend_avg_annual_pct", "trend_p_value",
                                            "trend_direction")},
             safe=("year_offset", "years_in_series", "trend_years"), prepare=f"select *, {PREVIOUS_START} from trend")),
    Mart("theme_monthly",
         "Crimes by month and theme: the series behind the trend charts",
         disclosure=TableRule(
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
                     "from theme_monthly as m")),
    Mart("theme_detail",
         "Supporting measures per theme: denominators, DA and knife shares, under-18 victims, suspects",
         disclosure=TableRule(
             counts=("count", "da_offences", "knife_offences", "victims", "victims_known_age", "victims_u25",
                     "victims_u18", "suspects", "suspects_known_age", "suspects_u25", "offences_no_suspect",
                     "offences_suspect_age_missing"),
             derived={"count": ("share_of_vap_pct",)},
             pcts={"da_share_pct": Pct("da_offences", "count"),
                   "victims_u18_pct": Pct("victims_u18", "victims_known_age"),
                   "suspect_none_recorded_pct": Pct("offences_no_suspect", "count"),
                   "suspect_age_missing_pct": Pct("offences_suspect_age_missing", "count")})),
    Mart("ward_hotspots",
         "Current wards by theme: counts, rates per 1,000, rank, change and significance",
         pivot=Sheet("ward_by_theme", "Crimes by current ward and theme this period, ready to paste, with a chart",
                     empty="No ward-level counts in this run's inputs."),
         disclosure=TableRule(
             counts=("count", "previous_count", "area_count"),
             derived={"count": WARD_CHANGE + ("rate_per_1000", "rate_ci_lower", "rate_ci_upper", "share_of_area_pct",
                                              "rank_in_area", "harm_weighted_count", "harm_weight_coverage_pct"),
                      "previous_count": WARD_CHANGE + ("previous_rate_per_1000", "previous_harm_weighted_count")},
             groups=(("count", ("area_code", "theme", "period_label")),
                     ("previous_count", ("area_code", "theme", "period_label")),
                     ("count", ("area_code", "sub_area", "theme", "period_label")),
                     ("previous_count", ("area_code", "sub_area", "theme", "period_label"))),
             small_area=True, safe=("population",))),
    Mart("ward_summary",
         "Wards as recorded in the input by theme, current and previous counts",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": ("change", "pct_change", "rank_in_area", "share_of_area_pct"),
                      "previous_count": ("change", "pct_change")},
             groups=(("count", ("area_code", "theme", "period_label")),
                     ("previous_count", ("area_code", "theme", "period_label"))),
             small_area=True)),
    Mart("sub_area_summary",
         "Sub-areas (e.g. East / West) by theme, with residents' shares",
         empty="No sub-area lookup in the run config (reference.sub_areas).",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": CHANGE + ("share_of_located_pct", "rate_per_1000", "rate_ci_lower", "rate_ci_upper"),
                      "previous_count": CHANGE},
             groups=(("count", ("area_code", "theme", "period_label")),
                     ("previous_count", ("area_code", "theme", "period_label"))),
             safe=("wards", "population", "population_u25", "residents_share_pct", "residents_u25_share_pct"))),
    Mart("people_profile",
         "Victims and suspects by age band, sex and ethnicity",
         disclosure=TableRule(
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
                     "from people_profile as m) group by all) as g")),
    Mart("victim_rates",
         "Victim rates per 1,000 residents by age group, and disproportionality",
         disclosure=TableRule(
             counts=("victims", "rest_victims"),
             # victims + rest_victims = the theme's victims: each gives the other away
             derived={"victims": ("rate_per_1000", "rate_ci_lower", "rate_ci_upper", "rate_ratio", "rate_ratio_ci_lower",
                                  "rate_ratio_ci_upper", "disproportionality", "rest_victims"),
                      "rest_victims": ("rate_ratio", "rate_ratio_ci_lower", "rate_ratio_ci_upper", "disproportionality",
                                       "victims")},
             groups=(("victims", ("area_code", "theme", "period_label", "dimension")),),
             safe=("sort_age", "population", "rest_population"))),
    Mart("domestic_abuse_split",
         "Each theme split into domestic abuse and not domestic abuse",
         disclosure=TableRule(
             counts=("count", "previous_count", "flag_not_recorded"),
             derived={"count": ("change", "pct_change", "share_of_theme_pct", "p_value", "change_flag"),
                      "previous_count": ("change", "pct_change", "p_value", "change_flag")},
             # DA + not DA = the theme's count in theme_summary
             groups=(("count", ("area_code", "theme", "period_label")),
                     ("previous_count", ("area_code", "theme", "period_label"))))),
    Mart("knife_crime_profile",
         "Knife crime, knife crime with injury, and the themes knife crimes fall in",
         disclosure=TableRule(
             counts=("count", "previous_count", "theme_count", "victims", "victims_known_age", "victims_u25"),
             derived={"count": ("change", "pct_change", "share_of_knife_crime_pct", "knife_share_of_theme_pct"),
                      "previous_count": ("change", "pct_change")},
             pcts={"victims_u25_pct": Pct("victims_u25", "victims_known_age")},
             safe=("sort_order",))),
    Mart("temporal_profile",
         "Month of year, day of week x hour, and school periods",
         disclosure=TableRule(
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
                     "and month(d) = m.month_of_year) end as _month_start from temporal_profile as m")),
    Mart("deprivation_profile",
         "Crimes by IMD 2019 quintile of the LSOA against residents",
         disclosure=TableRule(
             counts=("count", "previous_count"),
             derived={"count": ("share_of_theme_pct", "concentration_ratio", "rate_per_1000", "rate_ci_lower",
                                "rate_ci_upper")},
             groups=(("count", ("area_code", "theme", "period_label")),
                     ("previous_count", ("area_code", "theme", "period_label"))),
             safe=("lsoas", "population", "share_of_residents_pct"))),
    Mart("repeat_victimisation",
         "Repeat victims of each theme (pseudonymised victim ids)",
         disclosure=TableRule(
             counts=("victims", "repeat_victims", "crimes_with_identified_victim", "crimes_against_repeat_victims",
                     "victims_repeat_within_365_days", "victim_rows_without_id"),
             derived={"repeat_victims": ("median_days_to_repeat",)},   # a median of a few people's dates is theirs
             pcts={"repeat_victims_pct": Pct("repeat_victims", "victims"),
                   "crimes_against_repeat_victims_pct": Pct("crimes_against_repeat_victims", "crimes_with_identified_victim"),
                   "victims_repeat_within_365_days_pct": Pct("victims_repeat_within_365_days", "repeat_victims")})),
    Mart("population_outlook",
         "Victims under 25 to expect if today's rate held, with the projected population",
         disclosure=TableRule(
             counts=("base_victims_u25",),
             derived={"base_victims_u25": ("base_rate_u25_per_1000", "expected_victims_u25", "expected_change")},
             safe=("projection_year", "base_population_u25", "projected_population_u25"))),
    Mart("priorities",
         "Priorities by threat, harm and risk: themes and their wards scored on volume, harm, trend and concentration",
         empty="No theme or ward with a count this period.",
         not_public=("tasking priorities are for the Tasking Group; ward ranks and scores are built from ward counts "
                     "the public tier suppresses, so a rank or score would narrow a suppressed count")),
    Mart("grid_hotspots",
         "Getis-Ord Gi* hot and cold spots on a grid, and their change",
         empty=("No grid cell is a hot or cold spot at the FDR threshold in either period (or the inputs have "
                "no point locations, e.g. count-only MPS files). Every cell is in tables/grid_hotspots.csv."),
         extract=("hotspot_class in ('hot', 'cold') or hotspot_change in ('former_hot', 'former_cold')",
                 ("Hot and cold cells only (and cells that were hot or cold in the previous period); "
                  "every cell is in tables/grid_hotspots.csv and svna.gpkg.")),
         not_public="grid cells with coordinates at a fine resolution (point-level detail)"),
    Mart("emerging_hotspots",
         "Emerging hot spots: each grid cell's Gi* month by month and its trend (ArcGIS's classes)",
         empty=("No theme had enough located crimes in every month for Gi* (geography.gi_min_crimes a month, at "
                "least ten months), or the inputs have no point locations."),
         extract=("emerging_class not in ('no_pattern', 'not_computed')",
                  "Cells with an emerging hot or cold spot class only; every cell is in tables/emerging_hotspots.csv."),
         not_public="grid cells with coordinates at a fine resolution (point-level detail), as grid_hotspots"),
    Mart("near_repeats",
         "Near repeats: pairs of crimes close in space and time against chance (Knox test)",
         empty="No theme flagged near_repeats in themes.csv has two or more located crimes in the current period.",
         not_public=("pair counts from record-level points: a small cell (one or two pairs) says two crimes happened "
                     "within 200 m and a week of each other; the report's sentence states the finding")),
    Mart("area_comparison",
         "Every area in the MPS count files by theme: counts, change, rate, rank and share of the comparator",
         disclosure=TableRule(   # the areas of a theme add up to the comparator's total
             counts=("count", "previous_count"),
             derived={"count": CHANGE + ("rate_per_1000", "rate_ci_lower", "rate_ci_upper", "rate_rank",
                                         "share_of_comparator_pct", "pct_change_gap"),
                      "previous_count": CHANGE + ("pct_change_gap",)},
             pcts={"comparator_pct_change": Pct("count", "count")},
             groups=(("count", ("theme", "period_label")), ("previous_count", ("theme", "period_label"))),
             safe=("residents", "areas_ranked"))),
    Mart("areas",
         "The areas the run knows (inputs, focus area, neighbours), which it reports on, and their residents",
         disclosure=TableRule(counts=(), safe=("shared_border_m", "residents"))),
    Mart("funnel_points",
         "Funnel plot points: rate per 1,000 residents against population, with control limits",
         not_public=("its ward points repeat ward counts that ward_hotspots may suppress; area_comparison holds "
                     "the areas' rates")),
    Mart("quarantine_summary",
         "Data quality: rows in = loaded + superseded + quarantined, per input file",
         quality=True,
         # public: one line of totals, no file names or per-rule counts, its counts controlled like any other;
         # in = loaded + superseded + quarantined, so a suppressed quarantined count takes superseded with it
         disclosure=TableRule(
             counts=("rows_read", "rows_in", "rows_loaded", "rows_superseded", "rows_quarantined"),
             derived={"rows_quarantined": ("rows_superseded",), "rows_superseded": ("rows_quarantined",)},
             pcts={"quarantined_pct": Pct("rows_quarantined", "rows_in")},
             prepare="select 'all input files' as source_file, 'all' as input_table, sum(rows_read) as rows_read, "
                     "sum(rows_in) as rows_in, sum(rows_loaded) as rows_loaded, sum(rows_superseded) as rows_superseded, "
                     "sum(rows_quarantined) as rows_quarantined, pct(sum(rows_quarantined), sum(rows_in)) as quarantined_pct, "
                     "bool_and(reconciled) as reconciled, null as quarantine_rules, null as note, max(run_id) as run_id "
                     "from quarantine_summary")),
    Mart("quarantine",
         "Data quality: each input row that failed a row-level rule, and why",
         quality=True,
         empty="No input row failed a row-level rule.",
         not_public="one row per input record, with crime references and failing values"),
    Mart("location_summary",
         "Data quality: how crimes were placed on the current wards",
         quality=True,
         empty="No record-level extract in this run: crimes come from count files, placed as published.",
         disclosure=TableRule(counts=(), safe=("rows_read", "crimes", "crimes_pct", "crimes_in_periods"))),
    Mart("police_uk_crime_types",
         "data.police.uk rows by crime type and month (limited mode)",
         quality=True,
         empty="No data.police.uk input in this run.",
         disclosure=TableRule(counts=("count", "placed_on_ward", "no_location"))),
    Mart("police_uk_location_summary",
         "data.police.uk rows by location method (limited mode)",
         quality=True,
         empty="No data.police.uk input in this run.",
         disclosure=TableRule(counts=(), safe=("rows", "area_rows", "area_crimes", "area_crimes_pct"))),
    Mart("input_files",
         "Every input file read: path, size, sha256, rows (lineage)",
         quality=True,
         not_public="file paths and hashes of the restricted extract"),
)}

# The same cell published in two tables: suppressed in one, suppressed in both.
MIRRORS = (
    ("ward_summary", "ward_hotspots", ("area_code", "ward_code", "theme", "period_label"), ("count", "previous_count")),
    ("theme_summary", "theme_detail", ("area_code", "theme", "period_label"), ("count",)),
    ("theme_summary", "area_comparison", ("area_name", "theme", "period_label"), ("count", "previous_count")),
    ("theme_summary", "core_measures", ("area_name", "theme", "period_label"), ("count", "previous_count")),
    ("temporal_profile", "theme_monthly", (("source", "source"), ("area_name", "area_name"), ("theme", "theme"),
                                           ("_month_start", "month_start")),
     (("weighted_count", "count"),)),
)

# For the disclosure audit (pipeline/publish/disclosure_audit.py): groups of TableRule.groups whose cells do not
# add up (temporal_profile's `crimes` is the view's total crimes on every bucket row; only weighted_count
# splits it)
NOT_ADDITIVE = {("temporal_profile", "crimes")}
# where a group's total is published: (table, column) of the group -> (table, column, (group column, its
# column there)) of each cell holding it. A group with no published cell left to suppress gets its total
# suppressed there (a secondary cell of that table's own groups and mirrors); a suppressed total is that
# cell's unknown in the audit
TOTALS = {("theme_monthly", "count"): (
    ("theme_summary", "count", (("area_name", "area_name"), ("theme", "theme"), ("_year", "period_start"))),
    ("theme_summary", "previous_count", (("area_name", "area_name"), ("theme", "theme"), ("_year", "_previous_start"))),
    ("trend", "count", (("source", "source"), ("area_role", "area_role"), ("theme", "theme"), ("_year", "period_start"))),
    ("trend", "previous_count", (("source", "source"), ("area_role", "area_role"), ("theme", "theme"),
                                 ("_year", "_previous_start"))))}

# the metrics report.html's Definitions section explains; every column's definition is in
# sql/seeds/column_labels.csv (the data pack's Definitions sheet)
KEY_METRICS = ("count", "previous_count", "change", "pct_change", "comparator_pct_change", "share_of_all_crime_pct",
               "victims_u25_pct", "victim_age_unknown_pct", "suspects_u25_pct", "suspect_age_unknown_pct",
               "poisson_z", "p_value", "q_value", "change_flag", "change_note", "weighted_count",
               "expected_share_pct", "rate_ratio", "disproportionality", "repeat_victims", "median_days_to_repeat",
               "trend_direction", "imd_quintile", "concentration_ratio", "expected_victims_u25", "is_focus",
               "is_neighbour", "rate_rank", "share_of_comparator_pct", "funnel_position")


def mart_names() -> list[str]:
    """Every mart model (sql/marts), in the models' order: what a run publishes."""
    return list(db.model_files(("marts",)))


def disclosure_rules() -> dict[str, TableRule]:
    """The public tier's rule of each public mart."""
    return {name: mart.disclosure for name, mart in MARTS.items() if mart.disclosure is not None}


def sheet_order(names: list[str]) -> list[str]:
    """The data pack's reading order of `names` (marts and their ready-made sheets): the catalog's order,
    a table it does not list (one made in a test) before the data-quality sheets."""
    listed = [sheet for mart in MARTS.values() for sheet in ([mart.pivot.name] if mart.pivot else []) + [mart.name]]
    quality = {name for name, mart in MARTS.items() if mart.quality}
    present = [n for n in listed if n in names]
    return ([n for n in present if n not in quality] + [n for n in names if n not in listed]
            + [n for n in present if n in quality])


def sheets() -> dict[str, Mart | Sheet]:
    """Every sheet the catalog describes by name: the marts and their ready-made sheets."""
    return {**MARTS, **{mart.pivot.name: mart.pivot for mart in MARTS.values() if mart.pivot}}


def column_labels() -> dict[str, tuple[str, str]]:
    """column_name -> (heading, definition), from the one seed (sql/seeds/column_labels.csv)."""
    with open(SEEDS_DIR / "column_labels.csv", newline="", encoding="utf-8") as f:
        return {r["column_name"]: (r["heading"], r["definition"]) for r in csv.DictReader(f)}


def caveats() -> list[dict[str, str]]:
    """topic, applies_to, caveat of each row of sql/seeds/caveats.csv."""
    with open(SEEDS_DIR / "caveats.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def definitions(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple[str, str]]]:
    """The themes' definitions (seed_themes) and the key metrics' (column_labels.csv), for the data pack
    and the report."""
    themes = con.execute("select theme, label, record_extract_definition, mps_counts_definition from seed_themes "
                         "order by cast(sort_order as integer)").fetchall()
    labels = column_labels()
    return themes, [(name, labels[name][1]) for name in KEY_METRICS if name in labels]
