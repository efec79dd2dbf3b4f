"""The analysis marts of issue 10 on the hand-computed extract in tests/unit/analysis_fixture.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from pipeline.settings.config import SEEDS_DIR, load_config
from pipeline.transform import assessment, db
from tests.helpers.analysis_inputs import write_analysis_inputs
from tests.helpers.shared_data import needs_shared_data

MARTS = ["temporal_profile", "theme_summary", "victim_rates", "people_profile", "repeat_victimisation"]


def build(root, extra: str = "", victims: str | None = None, marts=MARTS):
    cfg = load_config(write_analysis_inputs(root, extra, victims))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=marts)
    return con


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = build(tmp_path_factory.mktemp("analyses"))
    yield con
    con.close()


def rows(con, sql, params=()):
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def day_hour(con, theme="vwi"):
    return {r["bucket"]: r["weighted_count"] for r in rows(
        con, "select bucket, weighted_count from temporal_profile where theme = ? and period_role = 'current' "
             "and view = 'day_hour' and weighted_count > 0", [theme])}


# ------------------------------------------------------------------ temporal_profile
def test_window_across_midnight_is_spread_over_its_four_hours(con):
    cells = day_hour(con)
    # T1 Fri 22:00 -> Sat 02:00: a quarter in each of Fri 22, 23 and Sat 00, 01 (Friday = 5, Saturday = 6)
    assert {k: cells[k] for k in ("5-22", "5-23", "6-00", "6-01")} == {"5-22": 0.25, "5-23": 0.25, "6-00": 0.25, "6-01": 0.25}
    # T3 exact and T4 (45 minutes, within an hour): both wholly in Wed 14:00
    assert cells["3-14"] == 2.0
    # T2 (a week, over the 72 h default cap) and T5 (no committed time) are counted apart
    assert cells["time_unknown"] == 2.0
    assert len(cells) == 6 and sum(cells.values()) == 5            # the five VWI crimes of 2023


def test_theme_counts_of_time_bases(con):
    r = rows(con, "select * from temporal_profile where theme = 'vwi' and period_role = 'current' and bucket = '3-14'")[0]
    assert (r["crimes"], r["crimes_exact"], r["crimes_window"], r["crimes_long_window"], r["crimes_no_time"]) == (5, 2, 1, 1, 1)
    assert r["day_name"] == "Wednesday" and r["hour_of_day"] == 14


def test_week_long_window_is_spread_evenly_when_the_cap_allows(tmp_path):
    con = build(tmp_path, "temporal: {max_window_hours: 168}\n")
    cells = day_hour(con)
    spread = 1 / 168                                                # T2: Mon 00:00 to the next Mon 00:00
    assert len(cells) == 169                                        # every one of the 168 cells, plus time_unknown (T5)
    assert cells["1-00"] == pytest.approx(spread, abs=1e-6) and cells["4-03"] == pytest.approx(spread, abs=1e-6)
    assert cells["5-22"] == pytest.approx(0.25 + spread, abs=1e-6)
    assert cells["3-14"] == pytest.approx(2 + spread, abs=1e-6)
    assert cells["time_unknown"] == 1.0
    assert sum(cells.values()) == pytest.approx(5, abs=1e-3)


def test_month_of_year_counts_recorded_months(con):
    months = {r["month_of_year"]: r["weighted_count"] for r in rows(
        con, "select month_of_year, weighted_count from temporal_profile where theme = 'vwi' "
             "and period_role = 'current' and view = 'month_of_year'")}
    assert len(months) == 12 and months[3] == 4 and months[4] == 1 and months[1] == 0


def test_school_term_view_for_under_18_victims(con):
    buckets = {r["bucket"]: r for r in rows(
        con, "select * from temporal_profile where theme = 'vwi' and period_role = 'current' and view = 'school_period'")}
    # victim V2 (16) on T1 (half Fri 10 Mar, half Sat 11 Mar) and T3 (Wed 15 Mar); spring term to 31 Mar 2023
    assert buckets["term_weekday"]["weighted_count"] == 1.5 and buckets["term_weekend"]["weighted_count"] == 0.5
    assert buckets["holiday"]["weighted_count"] == 0 and buckets["term_weekday"]["crimes"] == 2
    # the share of 2023's days that are weekdays in one of the seed's terms, counted here from the seed
    terms = pd.read_csv(SEEDS_DIR / "school_term_dates.csv", parse_dates=["term_start", "term_end"])
    days = pd.date_range("2023-01-01", "2023-12-31")
    in_term = sum(bool(((terms.term_start <= d) & (terms.term_end >= d)).any()) and d.dayofweek < 5 for d in days)
    assert buckets["term_weekday"]["expected_share_pct"] == round(100 * in_term / 365, 2)


def test_configured_term_dates_replace_the_default(tmp_path):
    (tmp_path / "terms.csv").write_text("term,start_date,end_date\nfirst,2022-01-01,2023-03-14\nsecond,2023-04-01,2023-12-31\n")
    config = write_analysis_inputs(tmp_path)
    config.write_text(config.read_text().replace("reference:\n", "reference:\n  term_dates: terms.csv\n"))
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "t", select=["temporal_profile"])
    buckets = dict(con.execute("select bucket, weighted_count from temporal_profile where theme = 'vwi' "
                               "and period_role = 'current' and view = 'school_period'").fetchall())
    # T1 (10-11 Mar) is in the first "term"; T3 (15 Mar) falls between the two: holiday
    assert buckets["term_weekday"] == 0.5 and buckets["term_weekend"] == 0.5 and buckets["holiday"] == 1.0


# ------------------------------------------------------------------ victim_rates
def test_rate_ratio_and_interval_match_scipy(con):
    r = rows(con, "select * from victim_rates where theme = 'personal_robbery' and period_role = 'current' "
                  "and dimension = 'under_25' and population_group = 'under 25'")[0]
    a, pop_a, b, pop_b = 12, 500, 10, 2500                      # victims aged 20 / 40; residents under 25 / 25+
    assert (r["victims"], r["population"], r["rest_victims"], r["rest_population"]) == (a, pop_a, b, pop_b)
    assert r["rate_per_1000"] == 24.0
    assert r["rate_ci_lower"] == round(1000 * stats.chi2.ppf(0.025, 2 * a) / 2 / pop_a, 2)
    assert r["rate_ci_upper"] == round(1000 * stats.chi2.ppf(0.975, 2 * a + 2) / 2 / pop_a, 2)
    rr = (a / pop_a) / (b / pop_b)
    half = stats.norm.ppf(0.975) * math.sqrt(1 / a + 1 / b)
    assert r["rate_ratio"] == round(rr, 3) == 6.0
    assert r["rate_ratio_ci_lower"] == round(rr * math.exp(-half), 3)
    assert r["rate_ratio_ci_upper"] == round(rr * math.exp(half), 3)
    assert r["disproportionality"] == "higher"


def test_rate_ratio_not_shown_under_10_victims(con):
    r = rows(con, "select * from victim_rates where theme = 'vwi' and period_role = 'current' "
                  "and dimension = 'under_25' and population_group = 'under 25'")[0]
    assert r["victims"] == 2 and r["rate_ratio"] is None and r["rate_ratio_ci_lower"] is None
    assert r["disproportionality"] == "fewer_than_10_victims"


def test_age_band_rates_use_the_population_bands(con):
    bands = {r["population_group"]: r for r in rows(
        con, "select * from victim_rates where theme = 'personal_robbery' and period_role = 'current' and dimension = 'age_band'")}
    assert set(bands) == {"Aged 15 years and under", "Aged 16 to 24 years", "Aged 25 to 34 years",
                          "Aged 35 to 49 years", "Aged 50 to 64 years", "Aged 65 years and over"}
    assert bands["Aged 16 to 24 years"]["rate_ratio"] == round((12 / 300) / (10 / 2700), 3)
    assert bands["Aged 35 to 49 years"]["disproportionality"] == "not_significant"


def test_victims_equal_people_profile_victims(con):
    # the data test victim_rates_match_people_profile ran in the build; check the identity here too
    diff = con.execute("""
        select count(*) from (
            select theme, period_role, sum(victims) as v from victim_rates where dimension = 'under_25' group by all) r
        join (select theme, period_role, sum(count) as v from people_profile
              where person_role = 'victim' and dimension = 'age_band' group by all) p using (theme, period_role)
        where r.v <> p.v""").fetchone()[0]
    assert diff == 0


# ------------------------------------------------------------------ repeat_victimisation
def test_repeat_victims_within_the_period(con):
    r = rows(con, "select * from repeat_victimisation where theme = 'vwi' and period_role = 'current'")[0]
    assert (r["victims"], r["repeat_victims"], r["repeat_victims_pct"]) == (3, 2, 66.7)      # V2, V3 of V2, V3, V9
    assert (r["crimes_with_identified_victim"], r["crimes_against_repeat_victims"]) == (5, 4)  # T1-T4
    assert r["median_days_to_repeat"] == 3.5                                                  # 5 days and 2 days
    assert r["status"] == "computed"


def test_victim_across_the_period_boundary_is_not_a_repeat_in_the_period(con):
    r = rows(con, "select * from repeat_victimisation where theme = 'vwi' and period_role = 'current'")[0]
    # V9: P1 (20 Dec 2022) and T5 (20 Apr 2023) - one crime in each period, counted only as a 365-day repeat
    assert r["victims_repeat_within_365_days"] == 3
    previous = rows(con, "select * from repeat_victimisation where theme = 'vwi' and period_role = 'previous'")[0]
    assert (previous["victims"], previous["repeat_victims"]) == (1, 0)


def test_without_victim_ids_repeat_victimisation_is_an_intelligence_gap(tmp_path):
    victims = "Ref,Victim,Age,Sex\nT1,,16,F\nT2,,30,M\n"
    con = build(tmp_path, victims=victims, marts=["repeat_victimisation"])
    r = rows(con, "select * from repeat_victimisation where theme = 'vwi' and period_role = 'current'")[0]
    assert r["status"] == "no_victim_ids" and r["victims"] is None and r["repeat_victims"] is None
    assert r["victim_rows_without_id"] == 2 and "intelligence gap" in r["definition"]


# ------------------------------------------------------------------ knives, domestic abuse, deprivation, trend
@pytest.fixture(scope="module")
def more(tmp_path_factory):
    from tests.helpers.analysis_inputs import write_deprivation_reference

    root = tmp_path_factory.mktemp("deprivation")
    config = write_analysis_inputs(root)
    write_deprivation_reference(root, config)
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=["knife_crime_profile", "domestic_abuse_split",
                                                   "deprivation_profile", "trend", "theme_summary"])
    yield con
    con.close()


def test_knife_crimes_by_theme_and_victims_under_25(more):
    knife = {r["category"]: r for r in rows(more, "select * from knife_crime_profile")}
    assert knife["knife_crime"]["count"] == 9                                 # R01-R09
    assert knife["knife_crime_with_injury"]["count"] == 0                     # none is VWI or homicide
    robbery = knife["personal_robbery"]
    assert (robbery["count"], robbery["share_of_knife_crime_pct"]) == (9, 100.0)   # "most knife offences were robbery"
    assert (robbery["theme_count"], robbery["knife_share_of_theme_pct"]) == (22, 40.9)  # 9 of 22 robberies
    assert (knife["knife_crime"]["victims_u25"], knife["knife_crime"]["victims_u25_pct"]) == (9, 100.0)  # all aged 20


def test_domestic_abuse_split_of_each_theme(more):
    split = {r["da_split"]: r for r in rows(more, "select * from domestic_abuse_split where theme = 'personal_robbery'")}
    assert (split["domestic_abuse"]["count"], split["not_domestic_abuse"]["count"]) == (1, 21)     # R13 only
    assert split["domestic_abuse"]["share_of_theme_pct"] == 4.5
    assert {r[0] for r in more.execute("select distinct theme from domestic_abuse_split").fetchall()} >= {"serious_violence"}
    assert "domestic_abuse" not in {r[0] for r in more.execute("select distinct theme from domestic_abuse_split").fetchall()}


def test_deprivation_quintiles_through_the_lsoa_2011_to_2021_lookup(more):
    imd = dict(more.execute("select lsoa_code, imd_decile from ref_imd").fetchall())
    assert imd == {"E01000001": 1, "E01000002": 9}                            # the second via E01009999
    q = {r["imd_quintile"]: r for r in rows(more, "select * from deprivation_profile where theme = 'personal_robbery'")}
    # R01-R12 in E01000001 (decile 1), R13-R22 in E01000002 (decile 9); 1,500 residents each
    assert (q["1"]["count"], q["5"]["count"], q["2"]["count"], q["2"]["lsoas"]) == (12, 10, 0, 0)
    assert (q["1"]["share_of_theme_pct"], q["1"]["share_of_residents_pct"]) == (54.5, 50.0)
    assert q["1"]["concentration_ratio"] == round((12 / 22) / 0.5, 2)
    assert q["1"]["rate_per_1000"] == 8.0
    assert q["no_lsoa"]["count"] == 0


def test_trend_never_shows_a_partial_year(more):
    # this extract runs from Dec 2022 to Apr 2023: no calendar year is covered in full
    assert more.execute("select count(*) from trend").fetchone()[0] == 0


def test_trend_has_one_row_per_covered_year(tmp_path):
    from tests.helpers.tiny_inputs import write_tiny_inputs

    cfg = load_config(write_tiny_inputs(tmp_path))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "t", select=["trend"])
    series = {key: [(r["period_label"], r["count"], r["previous_count"]) for r in rows(
        con, "select * from trend where theme = 'vwi' and source = ? and area_role = ? order by year_offset", key)]
        for key in (("record_extract", "area"), ("mps_counts", "area"), ("mps_counts", "comparator"))}
    assert series[("record_extract", "area")] == [("2023", 2, 1), ("2022", 1, None)]   # the tiny extract, by hand
    assert series[("mps_counts", "comparator")] == [("2023", 15, 10), ("2022", 10, None)]  # Tinytown + Otherton
    latest = rows(con, "select * from trend where theme = 'vwi' and source = 'record_extract' and year_offset = 0")[0]
    assert latest["p_value"] == 1.0 and latest["change_flag"] == "too_few_to_test"
    assert latest["years_in_series"] == 2 and latest["trend_direction"] is None        # under 3 years: no trend


def test_count_only_inputs_say_they_need_a_record_extract(tmp_path):
    from tests.helpers.tiny_inputs import write_tiny_inputs

    config = write_tiny_inputs(tmp_path)
    text = config.read_text()
    config.write_text(text[:text.index("  - kind: record_extract")] + text[text.index("  - kind: mps_counts"):])
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    marts = ["temporal_profile", "victim_rates", "repeat_victimisation", "knife_crime_profile", "domestic_abuse_split",
             "deprivation_profile"]
    assessment.build(con, cfg, "t", select=marts)
    for mart in marts:
        text = " ".join(str(r[0]) for r in con.execute(f"select definition from {mart}").fetchall())
        assert "needs a record extract" in text, mart
    # nothing invented as zero: no counts at all where the count files cannot give them
    assert con.execute("select count(*) from knife_crime_profile where count is not null").fetchone()[0] == 0
    assert con.execute("select count(*) from temporal_profile where view = 'day_hour' and weighted_count is not null").fetchone()[0] == 0
    # month of year does come from the count files: Tinytown's VWI, 1 in Jan 2022 and 2 in Jun 2023
    months = dict(con.execute("select period_role || '-' || bucket, weighted_count from temporal_profile "
                              "where theme = 'vwi' and view = 'month_of_year' and weighted_count > 0").fetchall())
    assert months == {"previous-01": 1.0, "current-06": 2.0}


@needs_shared_data
def test_merton_imd_reaches_every_2021_lsoa(tmp_path):
    """The real IMD 2019 file (2011 LSOAs) on Merton's 126 LSOAs of 2021: 122 keep their code; the four
    new codes come from two split 2011 LSOAs, found through the 2011 boundaries."""
    from tests.helpers.shared_data import SHARED_DATA

    config = write_analysis_inputs(tmp_path)
    config.write_text(config.read_text().replace("  population: population.csv\n", (
        f"  lsoas: {SHARED_DATA}/boundaries/merton_lsoa_2021/Merton.shp\n"
        f"  imd: {SHARED_DATA}/imd/IoD2019_Merton_LSOA11_ranks_deciles.csv\n"
        f"  lsoa11_to_lsoa21: {SHARED_DATA}/boundaries/london_lsoa_2011/LSOA_2011_London_gen_MHW.shp\n")))
    cfg = load_config(config)
    con = db.connect()
    assessment.prepare(con, cfg, "t")
    basis = dict(con.execute("select basis, count(*) from ref_imd group by basis").fetchall())
    assert basis == {"same_code": 122, "lsoa11_to_lsoa21": 4}
    parents = {r[0] for r in con.execute("select lsoa11_codes from ref_imd where basis = 'lsoa11_to_lsoa21'").fetchall()}
    assert parents == {"E01003367", "E01003475"}                   # the two Merton LSOAs of 2011 that were split
    imd = pd.read_csv(SHARED_DATA / "imd" / "IoD2019_Merton_LSOA11_ranks_deciles.csv").set_index("lsoa11_code")
    same = con.execute("select lsoa_code, imd_decile from ref_imd where basis = 'same_code'").fetchall()
    assert all(imd.loc[code, "index_of_multiple_deprivation_imd_decile"] == decile for code, decile in same)
    split = con.execute("select lsoa11_codes, imd_decile from ref_imd where basis = 'lsoa11_to_lsoa21'").fetchall()
    assert all(imd.loc[code, "index_of_multiple_deprivation_imd_decile"] == decile for code, decile in split)


def test_population_outlook_applies_todays_under_25_rate(tmp_path):
    (tmp_path / "projection.csv").write_text("age_group,2025,2030\nAged 15 years and under,220,240\n"
                                             "Aged 16 to 24 years,330,360\nAged 25 to 34 years,500,500\n"
                                             "Aged 35 to 49 years,1000,1000\nAged 50 to 64 years,700,700\n"
                                             "Aged 65 years and over,300,300\n")
    config = write_analysis_inputs(tmp_path)
    config.write_text(config.read_text().replace("reference:\n", "reference:\n  population_projection: projection.csv\n"))
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "t", select=["population_outlook"])
    r = rows(con, "select * from population_outlook where theme = 'personal_robbery' order by projection_year")
    # 12 robbery victims under 25 among 500 residents under 25; 550 of them in 2025, 600 in 2030
    assert [(x["projection_year"], x["projected_population_u25"], x["expected_victims_u25"]) for x in r] == \
        [(2025, 550, 13.2), (2030, 600, 14.4)]
    assert "not a forecast" in r[0]["definition"]
