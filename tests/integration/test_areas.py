"""Areas as a dimension (issue 11) on the real London files: neighbours from the borough boundary
file, residents from Census 2021 LSOAs, and every borough's counts, rates and ranks in one query."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.london import BOROUGH_FILES, CENSUS, write_london_config
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]


@pytest.fixture(scope="module")
def london(tmp_path_factory):
    cfg = write_london_config(tmp_path_factory.mktemp("london"), "neighbours")
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "t")
    yield con
    con.close()


def test_merton_neighbours_come_from_the_boundary_file(london):
    neighbours = [r[0] for r in london.execute(
        "select area_name from areas where is_neighbour order by area_name").fetchall()]
    assert neighbours == ["Croydon", "Kingston upon Thames", "Lambeth", "Sutton", "Wandsworth"]
    selected = {r[0] for r in london.execute("select area_name from areas where is_selected").fetchall()}
    assert selected == set(neighbours) | {"Merton"}


def test_residents_are_census_2021_lsoas_summed_by_local_authority(london):
    census = pd.read_csv(CENSUS)
    census["authority"] = census.lsoa21_name.str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    expected = census.groupby("authority").usual_residents.sum()
    got = dict(london.execute("select area_name, residents from areas where residents is not null").fetchall())
    assert got["Merton"] == 215_192                          # SOURCES.md: Merton total 215,192
    assert len(got) == 32                                   # the 32 MPS boroughs (not the airports)
    assert all(got[name] == round(expected[name]) for name in got)


def pandas_vwi_2022() -> pd.Series:
    """VWI per borough in 2022 from the raw wide files, as seed_mps_category_themes maps it: MajorText
    'Violence Against the Person', MinorText 'Violence with Injury'. 2022 lies in the 24-month file
    only (the Historical file ends 2021-07), so nothing is superseded."""
    months = [f"2022{m:02d}" for m in range(1, 13)]
    frames = [pd.read_csv(p, dtype=str) for p in BOROUGH_FILES]
    frame = next(f for f in frames if set(months) <= set(f.columns))
    vwi = frame[(frame.MajorText.str.upper() == "VIOLENCE AGAINST THE PERSON")
                & (frame.MinorText.str.upper() == "VIOLENCE WITH INJURY")]
    return vwi[months].astype(int).sum(axis=1).groupby(vwi.LookUp_BoroughName).sum()


def test_2022_vwi_count_of_every_borough_matches_pandas(london):
    expected = pandas_vwi_2022()
    got = dict(london.execute("select area_name, count from area_comparison where theme = 'vwi'").fetchall())
    assert len(expected) >= 32 and got == expected.to_dict()
    assert got["Merton"] == 1421                             # the published 2022 figure


def test_merton_vwi_rate_and_rank_hand_checked(london):
    row = london.execute("select rate_per_1000, rate_rank, areas_ranked, share_of_comparator_pct, "
                         "round(comparator_pct_change) from area_comparison "
                         "where theme = 'vwi' and area_name = 'Merton'").fetchone()
    rate, rank, ranked, share, comparator_change = row
    assert rate == 6.60                                      # 1,421 / 215,192 x 1,000 = 6.603
    assert comparator_change == 8                            # MPS 71,908 -> 77,750 (published +8%)
    assert share == round(100 * 1421 / 77_750, 1)            # 1.8% of the MPS total
    counts = pandas_vwi_2022()
    census = pd.read_csv(CENSUS)
    census["authority"] = census.lsoa21_name.str.replace(r"\s+\d{3}[A-Z]$", "", regex=True)
    residents = census.groupby("authority").usual_residents.sum()
    rates = {name: 1000 * n / residents[name] for name, n in counts.items() if name in residents.index}
    assert ranked == len(rates) == 32
    assert rank == 1 + sum(r > rates["Merton"] for r in rates.values())   # 26 boroughs above: 27th


def test_area_comparison_change_uses_the_exact_test(london):
    from pipeline.transform.stats_functions import exact_change_p_values

    row = london.execute("select count, previous_count, p_value, change_flag from area_comparison "
                         "where theme = 'vwi' and area_name = 'Merton'").fetchone()
    assert row[:2] == (1421, 1222)
    assert row[2] == pytest.approx(exact_change_p_values([1421], [1222], [365], [365])[0], abs=1e-6)
    assert row[3] == "significant_increase"


def test_funnel_limits_are_exact_poisson_quantiles(london):
    from scipy import stats

    rows = london.execute("select count, population, target_rate_per_1000, expected_count, lower_95, upper_95, "
                          "lower_998, upper_998, funnel_position, rate_per_1000 from funnel_points "
                          "where unit_level = 'area' and theme = 'vwi'").fetchall()
    counts, residents = pandas_vwi_2022(), dict(london.execute(
        "select area_name, residents from areas where residents > 0").fetchall())
    target = sum(counts[a] for a in residents) / sum(residents.values())
    assert len(rows) == 32
    for count, population, target_1000, expected, lo95, hi95, lo998, hi998, position, rate in rows:
        assert target_1000 == pytest.approx(1000 * target, abs=1e-4)
        e = target * population
        for p, limit in ((0.025, lo95), (0.975, hi95), (0.001, lo998), (0.999, hi998)):
            count_limit = limit * population / 1000
            r = stats.poisson.ppf(p, e)                      # the Poisson(E) quantile r_p ...
            assert r - 1 <= count_limit <= r                 # ... less the interpolation, a fraction of a crime
            # Spiegelhalter's interpolation: a = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), limit = r_p - a
            f_r, f_below = stats.poisson.cdf(r, e), stats.poisson.cdf(r - 1, e)
            assert count_limit == pytest.approx(r - (f_r - p) / (f_r - f_below), rel=1e-9)
        assert lo998 < lo95 < 1000 * target < hi95 < hi998
        exact_rate = 1000 * count / population
        assert (position == "above_99.8") == (exact_rate > hi998)
        assert (position == "within_95") == (lo95 <= exact_rate <= hi95)


def test_headline_names_rank_and_neighbours_with_higher_rates(london):
    from pipeline.narrative import sentences

    text = sentences.headlines_markdown(london, "Metropolitan Police Service", "OFFICIAL")
    # 2022 VWI per 1,000: Lambeth 11.43, Croydon 9.55, Wandsworth 7.36, Sutton 6.61 > Merton 6.60 >
    # Kingston upon Thames 6.50 (counts from pandas_vwi_2022 over Census 2021 residents)
    assert ("Merton's VWI rate was 6.6 per 1,000 residents, 27th highest of the 32 boroughs; of its five "
            "neighbours, four had a higher rate (Lambeth, Croydon, Wandsworth and Sutton)") in text
    assert text.count("# Picture of Violence: Merton") == 1        # the story stays about the focus area
    assert "Croydon in 2022" not in text


def test_theme_summary_carries_every_selected_area_and_the_focus_is_unchanged(london):
    rows = london.execute("select area_name, area_code, is_focus, count from theme_summary where theme = 'vwi' "
                          "order by area_name").fetchall()
    assert [r[0] for r in rows] == ["Croydon", "Kingston upon Thames", "Lambeth", "Merton", "Sutton", "Wandsworth"]
    counts = pandas_vwi_2022()
    assert all(count == counts[name] for name, _, _, count in rows)
    assert [(r[1], r[2]) for r in rows if r[0] == "Merton"] == [("E09000024", True)]
    assert {r[1] for r in rows} >= {"E09000008", "E09000029"}      # codes from the boundary file
    monthly = dict(london.execute("select area_name, sum(count) from theme_monthly where theme = 'vwi' and "
                                  "month_start between '2022-01-01' and '2022-12-01' and area_role <> 'comparator' "
                                  "group by all").fetchall())
    assert monthly == {name: counts[name] for name, *_ in rows}


def test_a_listed_area_missing_from_the_inputs_is_refused(tmp_path):
    from pipeline.errors import InputError
    from pipeline.reference import areas

    cfg = write_london_config(tmp_path, "[Sutton, Suton]")
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "t", select=["int_areas"])
        with pytest.raises(InputError) as caught:
            areas.check_areas(con, cfg)
        assert "'Suton'" in caught.value.message        # an example: on the terminal, not in Prefect's record


def test_areas_value_must_be_a_list_all_or_neighbours(tmp_path):
    from pipeline.errors import InputError
    from pipeline.settings.config_sections import AreaSelection

    assert write_london_config(tmp_path, "all").areas == AreaSelection("all")
    assert write_london_config(tmp_path, "[Sutton, Merton]").areas == AreaSelection("list", ("Sutton", "Merton"))
    with pytest.raises(InputError, match="areas"):
        write_london_config(tmp_path, "everywhere")


def test_the_build_steps_give_every_borough_for_areas_all(tmp_path):
    from pipeline.runs import annual
    from pipeline.runs.steps import run_steps
    from pipeline.transform import db

    run = annual.Run(write_london_config(tmp_path, "all"), "t", tmp_path)
    run_steps(annual.BUILD_STEPS, run)                    # ingest -> marts and the gates, as a multi-area unit
    with db.connect(run.database, read_only=True) as con:
        summary = con.execute("select * from theme_summary").df()
        compared = {row[0] for row in con.execute("select area_name from area_comparison").fetchall()}
    vwi = summary[summary.theme == "vwi"].set_index("area_name")["count"].to_dict()
    assert vwi == pandas_vwi_2022().to_dict()             # all 33 areas of the files, airports included
    assert summary.is_focus.sum() == summary[summary.area_name == "Merton"].shape[0] > 0
    assert compared == set(vwi)


def test_ward_funnel_uses_current_wards_and_charts_are_drawn(tmp_path):
    from pipeline.publish import funnel_chart

    config = tmp_path / "wards.yaml"
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Merton, code: E09000024}}
        comparator: {{name: Metropolitan Police Service}}
        period: {{calendar_year: 2022}}
        inputs:
          - kind: mps_counts
            paths: [{', '.join(str(p) for p in BOROUGH_FILES)},
                    {SHARED_DATA}/mps_counts/ward/MPS_Ward_Level_Crime_most_recent_24_months_202104-202303_extract2023-04.csv]
        reference:
          wards: {SHARED_DATA}/boundaries/merton_wards_2022.geojson
          lsoa_to_ward: {SHARED_DATA}/lookups/lsoa21_ward22_best_fit_Merton.csv
          population: {SHARED_DATA}/population/census2021_usual_residents_lsoa21_age6_Merton.csv
        """))
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "t", select=["funnel_points"])
        wards = con.execute("select ward_code, count, population from ward_hotspots where theme = 'vwi'").df()
        points = con.execute("select unit_code, count, population, target_rate_per_1000, upper_998, funnel_position "
                             "from funnel_points where unit_level = 'ward' and theme = 'vwi'").df()
        # no area population file: the areas have no residents, so only wards are in the funnel
        assert con.execute("select count(*) from funnel_points where unit_level = 'area'").fetchone()[0] == 0
        charts = funnel_chart.write_funnel_charts(con, tmp_path / "maps")
    assert len(points) == len(wards) == 20
    assert points.target_rate_per_1000.iloc[0] == pytest.approx(1000 * wards["count"].sum() / wards.population.sum(),
                                                                abs=1e-4)
    above = points[1000 * points["count"] / points.population > points.upper_998]
    assert set(above.unit_code) == set(points[points.funnel_position == "above_99.8"].unit_code)
    assert tmp_path / "maps" / "funnel_wards_vwi.svg" in charts
    assert not any("funnel_areas" in p.name for p in charts)          # only where there is data
    assert "<svg" in (tmp_path / "maps" / "funnel_wards_vwi.svg").read_text()[:2000]
