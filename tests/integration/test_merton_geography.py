"""Geography on real Merton data (../shared/data, see its SOURCES.md).

Golden figures, computed outside svna: the May 2022 ward set has 20 wards and 126 LSOAs (2021);
Census 2021 usual residents total 215,192; the London Datastore ward-level file on 2022 wards gives,
for calendar 2022, the top three VWI wards Cricket Green 135, Figge's Marsh 117 and Wimbledon Town &
Dundonald 112. The pre-2022 ward file must be re-based through LSOAs or refused, never mixed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import contains_xy

from pipeline.checks import gates
from pipeline.errors import InputError
from pipeline.settings.config import load_config
from tests.helpers.merton import POPULATION, WARD_FILE_2022, WARD_FILE_PRE_2022, WARDS, build_merton, merton_config
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]

@pytest.fixture(scope="module")
def merton_ward_config(tmp_path_factory):
    """The 2022-ward file alone with the Merton reference files."""
    return merton_config(tmp_path_factory.mktemp("merton-geo"), [WARD_FILE_2022])


@pytest.fixture(scope="module")
def merton(merton_ward_config):
    """That config ingested and built once; the tests only read it (the coverage check too)."""
    con = build_merton(merton_ward_config)
    yield con
    con.close()


def vwi_wards(con):
    return con.execute("""select ward_name, count, previous_count, previous_count_basis, population
                          from ward_hotspots where theme = 'vwi' order by rank_in_area, ward_name""").df()


def test_current_ward_set_and_lsoas(merton):
    assert merton.execute("select count(*) from ref_wards").fetchone()[0] == 20
    assert merton.execute("select count(*) from ref_lsoas").fetchone()[0] == 126
    assert merton.execute("select count(distinct lsoa_code) from ref_lsoa_to_ward").fetchone()[0] == 126


def test_top_three_vwi_wards_2022(merton):
    top = vwi_wards(merton).head(3)
    assert list(zip(top.ward_name, top["count"])) == [
        ("Cricket Green", 135), ("Figge's Marsh", 117), ("Wimbledon Town & Dundonald", 112)]


def test_ward_populations_sum_to_merton(merton):
    wards = vwi_wards(merton)
    assert len(wards) == 20 and wards.population.sum() == 215_192
    residents = pd.read_csv(SHARED_DATA / POPULATION)
    under_25 = residents[residents.age_group.isin(["Aged 15 years and under", "Aged 16 to 24 years"])]
    total_u25 = merton.execute("select sum(population_u25) from int_ward_populations").fetchone()[0]
    assert total_u25 == under_25.usual_residents.sum()


def test_previous_year_partly_covered_is_not_compared(merton):
    """The 2022-ward file starts in April 2021: 2021 is not compared on these wards, and says why."""
    wards = vwi_wards(merton)
    assert wards.previous_count.isna().all()
    assert wards.previous_count_basis.str.contains("9 of 12 months").all()


def test_pre_2022_ward_file_is_refused_without_a_previous_ward_set(tmp_path):
    config = merton_config(tmp_path, [WARD_FILE_2022, WARD_FILE_PRE_2022])
    with pytest.raises(InputError) as err:
        build_merton(config)
    message = str(err.value)
    assert "extract2022-09.csv" in message and "WardCode" in message
    assert "previous_wards" in message and "never mixed" in message


def test_pre_2022_ward_file_is_rebased_through_lsoas_never_mixed(tmp_path, merton):
    con = build_merton(merton_config(tmp_path, [WARD_FILE_2022, WARD_FILE_PRE_2022], previous_wards=True),
                       select=["ward_hotspots", "ward_summary", "int_mps_counts_classified"])
    try:
        rebased, current = vwi_wards(con).set_index("ward_name"), vwi_wards(merton).set_index("ward_name")
        assert len(rebased) == 20                                              # only the May 2022 wards
        codes = set(con.execute("select distinct ward_code from ward_hotspots").df().ward_code)
        assert codes == set(con.execute("select ward_code from ref_wards").df().ward_code)
        # 2022 comes only from the 2022-ward file, though the old file also holds Jan-Aug 2022
        assert (rebased["count"] == current["count"]).all()
        # wards as recorded (ward_summary) use one ward set too: the newest file's
        as_recorded = con.execute("select ward_code, count from ward_summary where theme = 'vwi'").df()
        assert set(as_recorded.ward_code) == codes and as_recorded["count"].sum() == current["count"].sum()
        # 2021: Jan-Mar re-based from the old wards, Apr-Dec on the new; flagged as an estimate
        assert rebased.previous_count.notna().all()
        assert rebased.previous_count_basis.str.contains("re-based").all()
        old_total = con.execute("""select sum(count) from int_mps_counts_classified
                                   where area_level = 'ward' and theme = 'vwi' and borough_name = 'Merton'
                                     and month_start between '2021-01-01' and '2021-03-01'
                                     and ward_code not in (select ward_code from ref_wards)""").fetchone()[0]
        new_total = con.execute("""select sum(count) from int_mps_counts_classified
                                   where area_level = 'ward' and theme = 'vwi' and borough_name = 'Merton'
                                     and month_start between '2021-04-01' and '2021-12-01'
                                     and ward_code in (select ward_code from ref_wards)""").fetchone()[0]
        # re-basing moves counts between wards; it neither creates nor loses crimes (rounding aside)
        assert abs(rebased.previous_count.sum() - (old_total + new_total)) <= 20
    finally:
        con.close()


PROFILE = """\
name: points
layout: linked
extract_date: {column: Extracted}
offences:
  columns: {crime_ref: Ref, recorded_date: Recorded, ho_code: Code, easting: X, northing: Y,
            latitude: Lat, longitude: Lon}
"""


def test_points_generated_inside_each_ward_land_in_it(tmp_path):
    """25 random points inside each current ward, half as BNG and half as WGS84, are placed in it."""
    wards = gpd.read_file(SHARED_DATA / WARDS).to_crs("EPSG:27700")
    rng = np.random.default_rng(2022)
    rows = []
    for ward in wards.itertuples():
        xmin, ymin, xmax, ymax = ward.geometry.bounds
        x, y = rng.uniform(xmin, xmax, 2_000), rng.uniform(ymin, ymax, 2_000)
        inside = contains_xy(ward.geometry, x, y)
        rows += [(ward.WD22CD, px, py) for px, py in list(zip(x[inside], y[inside]))[:25]]
    points = pd.DataFrame(rows, columns=["ward", "x", "y"])
    wgs84 = gpd.GeoSeries(gpd.points_from_xy(points.x, points.y), crs="EPSG:27700").to_crs("EPSG:4326")
    half = points.index % 2 == 1
    extract = pd.DataFrame({
        "Ref": [f"MT{i:05d}" for i in points.index], "Recorded": "01/06/2022", "Code": "8N",
        "X": points.x.round(1).where(~half), "Y": points.y.round(1).where(~half),
        "Lat": wgs84.y.round(7).where(half), "Lon": wgs84.x.round(7).where(half), "Extracted": "2023-01-10"})
    extract.to_csv(tmp_path / "offences.csv", index=False)
    (tmp_path / "points.yaml").write_text(PROFILE)
    inputs = "  - kind: record_extract\n    profile: points.yaml\n    offences: offences.csv\n"
    con = build_merton(merton_config(tmp_path, [WARD_FILE_2022], extra_inputs=inputs), select=["int_offences_located"])
    try:
        located = con.execute("""select source_row, current_ward_code, location_method from int_offences_located
                                 where source_file like '%offences.csv' order by source_row""").df()
        assert len(located) == len(points) == 20 * 25
        assert (located.location_method == "point_in_polygon").all()
        assert (located.current_ward_code.to_numpy() == points.ward.to_numpy()).all()
    finally:
        con.close()


def test_ward_files_alone_are_refused_with_a_clear_message(merton, merton_ward_config):
    """Area totals come from borough-level files; ward files alone stop the run and say so."""
    with pytest.raises(InputError, match="only ward-level rows .* borough-level file"):
        gates.check_coverage(merton, load_config(merton_ward_config))
