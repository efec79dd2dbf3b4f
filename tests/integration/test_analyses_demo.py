"""The analysis marts of issue 10 on the synthetic demo borough: identities between tables, and figures
recounted from the raw demo files with pandas."""

from __future__ import annotations

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.demo.riverford import BAD_CODE_REF
from pipeline.publish import excel_pack

pytestmark = pytest.mark.integration
ANALYSES = ["temporal_profile", "trend", "victim_rates", "repeat_victimisation", "knife_crime_profile",
            "domestic_abuse_split", "deprivation_profile", "population_outlook"]


@pytest.fixture(scope="module")
def demo(shared_demo_run):
    root, out, _ = shared_demo_run        # the suite's one demo run (tests/integration/conftest.py)
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield root, out, con
    con.close()


def _raw(root, name):
    return pd.read_csv(next((root / "data/raw/demo/extract").glob(f"{name}_*.csv")), dtype=str)


def _offences_2023(root):
    raw = _raw(root, "offences").dropna(subset=["CRIS_Ref"]).drop_duplicates("CRIS_Ref", keep="first")
    raw["date"] = pd.to_datetime(raw["Recorded_Date"], format="%d/%m/%Y", errors="coerce")
    raw = raw[raw["CRIS_Ref"] != BAD_CODE_REF]                      # quarantined: offence code ZZ9
    return raw[(raw["Crime_Status"] == "Confirmed") & (raw["date"].dt.year == 2023)]


def test_temporal_weights_sum_to_theme_counts(demo):
    con = demo[2]
    rows = con.execute("""
        select s.theme, s.count, t.view, sum(t.weighted_count) as weights
        from theme_summary s join temporal_profile t on t.theme = s.theme and t.period_role = 'current'
        where t.view in ('day_hour', 'month_of_year') group by all""").fetchall()
    assert len(rows) == 20                                       # ten themes, two views
    assert all(abs(weights - count) < 0.001 for _, count, _, weights in rows)
    cells = con.execute("select count(*) from temporal_profile where theme = 'vwi' and period_role = 'current' "
                        "and view = 'day_hour'").fetchone()[0]
    assert cells == 169                                          # 7 x 24 and time_unknown


def test_aoristic_windows_match_the_raw_committed_times(demo):
    root, _, con = demo
    off = _offences_2023(root)
    start = pd.to_datetime(off["Committed_From"], format="%d/%m/%Y %H:%M")
    end = pd.to_datetime(off["Committed_To"], format="%d/%m/%Y %H:%M", errors="coerce")
    windowed = int(((end - start) > pd.Timedelta(hours=1)).sum())
    counts = con.execute("select crimes_window, crimes_exact, crimes_long_window + crimes_no_time from temporal_profile "
                         "where theme = 'all_crime' and period_role = 'current' and bucket = '1-00'").fetchone()
    assert counts == (windowed, len(off) - windowed, 0)          # demo windows are 1-48 h, under the 72 h cap


def test_victims_in_victim_rates_equal_victims_in_people_profile(demo):
    con = demo[2]
    diff = con.execute("""
        select count(*) from (select theme, period_role, sum(victims) v from victim_rates where dimension = 'age_band' group by all) r
        full join (select theme, period_role, sum(count) v from people_profile where person_role = 'victim'
                   and dimension = 'age_band' group by all) p using (theme, period_role)
        where coalesce(r.v, 0) <> coalesce(p.v, 0)""").fetchone()[0]
    assert diff == 0
    population = con.execute("select sum(population) from victim_rates where theme = 'vwi' and period_role = 'current' "
                             "and dimension = 'age_band' and population is not null").fetchone()[0]
    raw = pd.read_csv(demo[0] / "data/raw/demo/reference/population.csv")
    assert population == raw["usual_residents"].sum()


def test_demo_says_which_themes_affect_under_25s_disproportionately(demo):
    con = demo[2]
    higher = {r[0] for r in con.execute("select theme from victim_rates where dimension = 'under_25' and "
                                        "population_group = 'under 25' and period_role = 'current' "
                                        "and disproportionality = 'higher'").fetchall()}
    assert {"personal_robbery", "sexual_offences"} <= higher and "vwi" not in higher
    text = (demo[1] / "headlines.md").read_text()
    sentence = next(line for line in text.splitlines() if "young people under 25 were disproportionately affected" in line)
    sentence = sentence.split(": ")[0]                              # the list of themes
    assert "personal robbery offences" in sentence and "sexual offences" in sentence and "VWI" not in sentence


def test_repeat_victims_of_domestic_abuse_match_a_recount(demo):
    root, _, con = demo
    off = _offences_2023(root)
    da = set(off.loc[off["DA_Flag"] == "Y", "CRIS_Ref"])
    victims = _raw(root, "victims")
    victims = victims[victims["CRIS_Ref"].isin(da) & (victims["Victim_Age"] != "150")]   # age 150 is quarantined
    per_person = victims.drop_duplicates(["CRIS_Ref", "Victim_ID"]).groupby("Victim_ID")["CRIS_Ref"].nunique()
    r = con.execute("select victims, repeat_victims from repeat_victimisation where theme = 'domestic_abuse' "
                    "and period_role = 'current'").fetchone()
    assert r == (len(per_person), int((per_person >= 2).sum()))
    assert r[1] > 0


def test_deprivation_residents_match_the_imd_file(demo):
    root, _, con = demo
    imd = pd.read_csv(root / "data/raw/demo/reference/imd_2019_lsoa.csv")
    pop = pd.read_csv(root / "data/raw/demo/reference/population.csv").groupby("lsoa21_code")["usual_residents"].sum()
    most = imd.loc[imd["index_of_multiple_deprivation_imd_decile"] <= 2, "lsoa11_code"]
    expected = round(100 * pop[most].sum() / pop.sum(), 1)
    got = con.execute("select lsoas, share_of_residents_pct from deprivation_profile where theme = 'vwi' "
                      "and imd_quintile = '1'").fetchone()
    assert got == (len(most), expected)
    assert con.execute("select sum(count) from deprivation_profile where theme = 'vwi'").fetchone()[0] == \
        con.execute("select count from theme_summary where theme = 'vwi'").fetchone()[0]


def test_knife_and_domestic_abuse_splits_add_up(demo):
    con = demo[2]
    knife = dict(con.execute("select category, count from knife_crime_profile").fetchall())
    assert knife["knife_crime"] == con.execute("select count from theme_summary where theme = 'knife_crime'").fetchone()[0]
    assert knife["knife_crime_with_injury"] <= knife["knife_crime"]
    split = con.execute("select theme, sum(count) from domestic_abuse_split group by theme").fetchall()
    summary = dict(con.execute("select theme, count from theme_summary").fetchall())
    assert all(total == summary[theme] for theme, total in split)
    da = con.execute("select count from domestic_abuse_split where theme = 'all_crime' and da_split = 'domestic_abuse'").fetchone()[0]
    assert da == summary["domestic_abuse"]


def test_outlook_applies_todays_rate_to_the_projection(demo):
    root, _, con = demo
    projection = pd.read_csv(root / "data/raw/demo/reference/population_projection.csv")
    u25_2030 = projection.loc[projection["age_group"].isin(["Aged 15 years and under", "Aged 16 to 24 years"]), "2030"].sum()
    r = con.execute("select base_victims_u25, base_population_u25, projected_population_u25, expected_victims_u25 "
                    "from population_outlook where theme = 'personal_robbery' and projection_year = 2030").fetchone()
    assert r[2] == u25_2030 and r[3] == round(r[0] * u25_2030 / r[1], 1)


def test_every_analysis_is_a_sheet_of_the_pack(demo):
    book = openpyxl.load_workbook(demo[1] / "svna_data_pack.xlsx", read_only=True)
    assert {excel_pack.sheet_title(name) for name in ANALYSES} <= set(book.sheetnames)
    for name in ANALYSES:
        assert (demo[1] / "tables" / f"{name}.csv").exists()
