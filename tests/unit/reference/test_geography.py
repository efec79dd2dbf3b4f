"""Geography on a tiny hand-built borough: reference readers, location by point-in-polygon, rates,
significance and the ward_hotspots / sub_area_summary / location_summary marts.

Two square wards share an edge at easting 531,000 (EPSG:27700):
  Alpha E05000001 = 530,000-531,000 x 180,000-181,000 (LSOAs E01000001 west half, E01000002 east half)
  Beta  E05000002 = 531,000-532,000 x 180,000-181,000 (LSOAs E01000003 west half, E01000004 east half)
Wards are written as a GeoPackage in EPSG:27700 with WD23CD/WD23NM; LSOAs as a shapefile in WGS84.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline.errors import InputError
from pipeline.reference import reference_files, reference_tables
from pipeline.settings import config
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db, stats_functions
from tests.helpers.borough import ALPHA, BETA, OFFENCES, write_borough


@pytest.fixture(scope="module")
def borough(tmp_path_factory):
    cfg = load_config(write_borough(tmp_path_factory.mktemp("geo")))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    yield con, cfg
    con.close()


@pytest.fixture(scope="module")
def built(borough):
    return borough[0]


def frame(con, sql, *params):
    return con.execute(sql, list(params)).df()


# ---------------------------------------------------------------- readers

def test_code_columns_are_found_by_their_values():
    df = pd.DataFrame({"OBJECTID": ["1", "2"], "LAD22CD": ["E09000024"] * 2, "WD22CD": ["E05013810", "E05013811"],
                       "WD22NM": ["Abbey", "Cannon Hill"]})
    assert reference_files.detect_code_column(df, "ward", "x") == "WD22CD"
    assert reference_files.detect_name_column(df, "WD22CD", "ward") == "WD22NM"
    renamed = df.rename(columns={"WD22CD": "GSS_CODE", "WD22NM": "NAME"})
    assert reference_files.detect_code_column(renamed, "ward", "x") == "GSS_CODE"
    assert reference_files.detect_name_column(renamed, "GSS_CODE", "ward") == "NAME"
    two = df.assign(WD23CD=df.WD22CD)   # several ward-code columns: the newest year wins
    assert reference_files.detect_code_column(two, "ward", "x") == "WD23CD"
    with pytest.raises(InputError, match="ward code"):
        reference_files.detect_code_column(df[["OBJECTID", "LAD22CD"]], "ward", "wards.csv")


@pytest.mark.parametrize("label, bounds", [
    ("Aged 15 years and under", (0, 15)), ("Aged 16 to 24 years", (16, 24)), ("Aged 65 years and over", (65, None)),
    ("0-4", (0, 4)), ("90+", (90, None)), ("Under 1", (0, 0)), ("Aged 4 years", (4, 4)), ("Total", None),
    ("All usual residents", None),
])
def test_age_bands(label, bounds):
    assert reference_files.age_band_bounds(label) == bounds


def test_population_layouts(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text("lsoa21_code,age_group,usual_residents\nE01000001,Total,30\nE01000001,Aged 0 to 24,10\n"
                    "E01000001,Aged 25 and over,20\n")
    out = reference_files.read_population(long)
    assert out.residents.sum() == 30 and out[out.under_25].residents.sum() == 10      # the total row is not added
    wide = tmp_path / "wide.csv"
    wide.write_text("LSOA Code,All Ages,0-15,16-24,25+\nE01000001,30,5,5,20\n")
    out = reference_files.read_population(wide)
    assert out.residents.sum() == 30 and out[out.under_25].residents.sum() == 10
    total = tmp_path / "total.csv"
    total.write_text("geography code,population\nE01000001,30\n")
    out = reference_files.read_population(total)
    assert out.residents.sum() == 30 and out.under_25.isna().all()
    straddle = tmp_path / "straddle.csv"
    straddle.write_text("lsoa,age,count\nE01000001,20 to 29,5\nE01000001,30+,5\n")
    with pytest.raises(InputError, match="split at 25"):
        reference_files.read_population(straddle)


def test_boundaries_any_format_held_in_bng(tmp_path):
    config = write_borough(tmp_path)
    wards = reference_files.read_boundaries(tmp_path / "wards.gpkg", "ward", {"layer": "wards"})
    lsoas = reference_files.read_boundaries(tmp_path / "lsoas.shp", "lsoa")                  # written in WGS84
    assert list(wards.code) == [ALPHA, BETA] and list(wards.name) == ["Alpha", "Beta"]
    assert wards.crs.to_epsg() == 27700 and lsoas.crs.to_epsg() == 27700
    assert np.allclose(lsoas.total_bounds, [530_000, 180_000, 532_000, 181_000], atol=0.01)
    gj = tmp_path / "wards.geojson"
    gpd.read_file(tmp_path / "wards.gpkg").to_crs("EPSG:4326").to_file(gj, driver="GeoJSON")
    again = reference_files.read_boundaries(gj, "ward")
    assert np.allclose(again.total_bounds, wards.total_bounds, atol=0.01)
    assert config.exists()


def test_grid_cell_rule():
    assert reference_tables.grid_cell_size(7_300, 8_000) == 200     # a London borough
    assert reference_tables.grid_cell_size(45_000, 50_000) == 1_100
    assert reference_tables.grid_cell_size(500, 500) == 50


def test_previous_ward_weights_share_residents():
    previous = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3"], "previous_ward_code": ["P", "P", "Q"],
                             "previous_ward_name": ["p", "p", "q"]})
    lookup = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3"], "ward_code": ["A", "B", "B"]})
    population = pd.DataFrame({"lsoa_code": ["L1", "L2", "L3"], "residents": [300, 100, 50]})
    w = reference_files.previous_ward_weights(previous, lookup, population).set_index(["previous_ward_code", "ward_code"]).weight
    assert w[("P", "A")] == pytest.approx(0.75) and w[("P", "B")] == pytest.approx(0.25) and w[("Q", "B")] == 1


# ---------------------------------------------------------------- location

def test_every_record_located_by_the_stated_method(built):
    located = frame(built, """
        select o.crime_ref, l.location_method, l.current_ward_code, l.current_lsoa_code, l.distance_outside_m
        from int_offences_located as l join stg_offences as o using (source_file, source_row) order by o.crime_ref""")
    expected = {r[0]: (r[9], r[10]) for r in OFFENCES}
    for row in located.itertuples():
        ward = row.current_ward_code if isinstance(row.current_ward_code, str) else None
        assert (row.location_method, ward) == expected[row.crime_ref], row.crime_ref
    by_ref = located.set_index("crime_ref")
    assert by_ref.loc["C01", "current_lsoa_code"] == "E01000001"
    assert by_ref.loc["C08", "current_lsoa_code"] == "E01000004"          # WGS84 point, transformed
    assert by_ref.loc["C03", "distance_outside_m"] == pytest.approx(10, abs=0.1)
    assert by_ref.loc["C04", "distance_outside_m"] == pytest.approx(10_000, abs=1)


def test_outside_area_is_quarantined_and_rows_reconcile(built):
    quarantined = frame(built, "select crime_ref, rule, reason, failing_column, failing_value from quarantine "
                               "where input_table = 'offences'")
    assert quarantined.crime_ref.tolist() == ["C04"] and quarantined.rule.tolist() == ["outside_area"]
    # C04 at easting 520,000 is 10 km west of the area: the distance, never the location, is shown
    assert quarantined.failing_value.tolist() == ["10000 m outside the area"]
    assert quarantined.reason.iloc[0].startswith("The coordinates lie outside")
    assert built.execute("select bool_and(reconciled) from quarantine_summary").fetchone()[0]
    summary = frame(built, "select * from location_summary").set_index("location_method")
    assert summary.loc["outside_area", "rows_read"] == 1 and summary.loc["outside_area", "crimes"] == 0
    assert summary.loc["point_in_polygon", "crimes"] == 6 and summary.loc["lsoa_best_fit", "crimes"] == 2
    assert summary.crimes.sum() == len(OFFENCES) - 1


# ---------------------------------------------------------------- populations and rates

def test_ward_populations(built):
    pops = frame(built, "select * from int_ward_populations order by ward_code").set_index("ward_code")
    assert pops.loc[ALPHA, "population"] == 2_000 and pops.loc[BETA, "population"] == 1_500
    assert pops.loc[ALPHA, "population_u25"] == 700 and pops.loc[BETA, "population_u25"] == 300
    assert pops.loc[ALPHA, "sub_area"] == "West"


def test_ward_hotspots_counts_rates_and_intervals(built):
    hot = frame(built, "select * from ward_hotspots where theme = 'vwi' order by ward_code").set_index("ward_code")
    # 2023 VWI (8N): Alpha C01 C02 C09 (C03 is robbery, C04 quarantined); Beta C05 C06 C08; unlocated C07
    assert hot.loc[ALPHA, "count"] == 3 and hot.loc[BETA, "count"] == 3
    assert hot.loc[ALPHA, "previous_count"] == 1 and hot.loc[BETA, "previous_count"] == 1
    assert hot.loc[ALPHA, "area_count"] == 7                          # the unlocated crime counts in the area
    assert hot.loc[ALPHA, "share_of_area_pct"] == pytest.approx(42.9)
    assert hot.loc[ALPHA, "rate_per_1000"] == pytest.approx(1.5)
    assert hot.loc[ALPHA, "rate_ci_lower"] == pytest.approx(round(stats.chi2.ppf(0.025, 6) / 2 / 2_000 * 1000, 2))
    assert hot.loc[ALPHA, "rate_ci_upper"] == pytest.approx(round(stats.chi2.ppf(0.975, 8) / 2 / 2_000 * 1000, 2))
    # rank by count, ties by rate: Beta has the higher rate (3 / 1,500)
    assert hot.loc[BETA, "rank_in_area"] == 1 and hot.loc[ALPHA, "rank_in_area"] == 2
    assert hot.loc[ALPHA, "poisson_z"] == pytest.approx(round(2 * (np.sqrt(3) - 1), 2))
    # harm: 8N has a weight in the seed, so every VWI crime here is weighted
    assert hot.loc[ALPHA, "harm_weighted_count"] == pytest.approx(3 * 203.07, abs=0.1)
    assert hot.loc[ALPHA, "harm_weight_coverage_pct"] == 100
    assert (hot.period_label == "2023").all() and (hot.run_id == "test-run").all()


def test_zero_count_wards_and_every_theme_present(built):
    hot = frame(built, "select theme, count(*) as wards, sum(count) as crimes from ward_hotspots group by theme")
    themes = built.execute("select count(*) from seed_themes").fetchone()[0]
    assert set(hot.wards) == {2} and len(hot) == themes
    assert hot.set_index("theme").loc["homicide", "crimes"] == 0


def test_benjamini_hochberg_matches_scipy(built):
    hot = frame(built, "select theme, count, previous_count, p_value, q_value from ward_hotspots where p_value is not null")
    for _, group in hot.groupby("theme"):
        # two calendar years of equal length: the exact test is scipy's binomial test at 1/2
        p = np.array([stats.binomtest(int(c), int(c + p), 0.5).pvalue if c + p else 1.0
                      for c, p in zip(group["count"], group.previous_count)])
        assert np.allclose(group.p_value, p, atol=1e-6)
        assert np.allclose(group.q_value, stats.false_discovery_control(p, method="bh"), atol=1e-6)


def test_bh_macro_on_many_p_values():
    con = db.connect()
    stats_functions.register_functions(con)
    p = np.random.default_rng(3).uniform(size=200) ** 3
    con.execute("create table t as select unnest(?) as p", [p.tolist()])
    q = con.execute("""
        with r as (select p, row_number() over (order by p) as k, count(*) over () as m from t)
        select min(bh_step(p, m, k)) over (order by p desc, k desc rows between unbounded preceding and current row)
        from r order by p""").df().iloc[:, 0].to_numpy()
    assert np.allclose(q, stats.false_discovery_control(np.sort(p), method="bh"))
    ci = con.execute("select poisson_lower_95(0), poisson_upper_95(0), poisson_lower_95(10), poisson_upper_95(10)").fetchone()
    assert ci == pytest.approx((0.0, 3.6889, 4.7954, 18.3904), abs=1e-4)   # Garwood limits
    con.close()


def test_sub_area_summary(built):
    sub = frame(built, "select * from sub_area_summary where theme = 'vwi'").set_index("sub_area")
    assert sub.loc["West", "count"] == 3 and sub.loc["East", "count"] == 3
    assert sub.loc["West", "share_of_located_pct"] == 50
    assert sub.loc["West", "residents_u25_share_pct"] == 70        # 700 of the 1,000 residents under 25
    assert sub.loc["East", "residents_share_pct"] == pytest.approx(42.9)


def test_harm_weights_are_sourced():
    weights = pd.read_csv(config.SQL_DIR / "seeds" / "crime_severity_weights.csv", dtype=str)
    known = weights[weights.css_weight.notna()]
    assert len(known) >= 5 and known.source.str.contains("ONS").all()
    assert weights[weights.css_weight.isna()].source.str.startswith("unknown").all()


# ---------------------------------------------------------------- boundary change

def test_ward_counts_on_an_unknown_ward_set_are_refused(borough):
    """A count file on a ward set that is neither current nor re-basable stops the run."""
    con, cfg = borough
    con.execute("""insert into raw_mps_counts (source_file, source_row, extract_date, area_level, borough_name,
                   ward_code, ward_name, major_text, minor_text, month, count)
                   values ('old_wards.csv', 2, '2023-12-01', 'ward', 'Tinytown', 'E05000900', 'Old',
                           'Violence Against the Person', 'Violence with Injury', '202301', '4')""")
    try:
        with pytest.raises(InputError, match="previous_wards") as err:
            reference_tables.check_ward_sets(con, cfg)
        assert "E05000900 Old" in err.value.message and "never mixed" in str(err.value)
        assert "old_wards.csv" in str(err.value) and "WardCode" in str(err.value)
    finally:
        con.execute("delete from raw_mps_counts where source_file = 'old_wards.csv'")


def test_previous_ward_counts_are_rebased_not_mixed(tmp_path):
    """MPS ward counts on the previous ward set are re-based through LSOAs onto the current wards."""
    config = write_borough(tmp_path, previous_wards=True)
    def ward_file(name: str, year: int, wards: dict[str, tuple[str, int]]) -> None:
        months = [f"{year}{m:02d}" for m in range(1, 13)]
        lines = ["MajorText,MinorText,WardName,WardCode,LookUp_BoroughName," + ",".join(months)]
        lines += [f"Violence Against the Person,Violence with Injury,{ward},{code},Tinytown," + ",".join([str(n)] * 12)
                  for code, (ward, n) in wards.items()]
        (tmp_path / name).write_text("\n".join(lines) + "\n")

    ward_file("old.csv", 2022, {"E05000900": ("Old", 8), "E05000901": ("Older", 2)})   # previous ward set
    ward_file("new.csv", 2023, {ALPHA: ("Alpha", 3), BETA: ("Beta", 1)})               # current ward set
    text = config.read_text().replace(
        "inputs:\n", "inputs:\n  - kind: mps_counts\n    paths: [old.csv, new.csv]\n").replace(
        "  - kind: record_extract\n    profile: profile.yaml\n    offences: offences.csv\n", "")
    config.write_text(text)
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    hot = frame(con, "select * from ward_hotspots where theme = 'vwi' order by ward_code").set_index("ward_code")
    assert list(hot.index) == [ALPHA, BETA]                           # only the current ward set
    assert hot.loc[ALPHA, "count"] == 36 and hot.loc[BETA, "count"] == 12
    # Old = LSOAs 1-3 (2,000 residents best-fit to Alpha, 500 to Beta); Older = LSOA 4 (Beta); x 12 months
    assert hot.loc[ALPHA, "previous_count"] == round(8 * 12 * 2_000 / 2_500)
    assert hot.loc[BETA, "previous_count"] == round(8 * 12 * 500 / 2_500 + 2 * 12)
    assert "re-based" in hot.loc[ALPHA, "previous_count_basis"] and "re-based" not in hot.loc[ALPHA, "count_basis"]
    con.close()


def test_a_misspelt_reference_key_is_refused(tmp_path):
    config = write_borough(tmp_path)
    config.write_text(config.read_text().replace("  sub_areas: sub_areas.csv", "  sub_area: sub_areas.csv"))
    with pytest.raises(InputError, match="reference.sub_area.*expected one of wards, lsoas"):
        load_config(config)
