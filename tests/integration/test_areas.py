"""Areas as a dimension (issue 11) on the real London files: neighbours from the borough boundary
file, residents from Census 2021 LSOAs, and every borough's counts, rates and ranks in one query."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from pipeline import assessment, db
from pipeline.config import load_config
from tests.conftest import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]
BOROUGH_FILES = sorted((SHARED_DATA / "mps_counts" / "borough").glob("*extract2023-08.csv"))
BOUNDARIES = SHARED_DATA / "boundaries" / "london_boroughs" / "London_Borough_Excluding_MHW.shp"
CENSUS = SHARED_DATA / "population" / "census2021_usual_residents_lsoa21_age6_EW.csv.gz"


def write_config(tmp_path, areas: str) -> object:
    config = tmp_path / "run.yaml"
    paths = ", ".join(str(p) for p in BOROUGH_FILES)
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Merton, code: E09000024}}
        areas: {areas}
        comparator: {{name: Metropolitan Police Service}}
        period: {{calendar_year: 2022}}
        inputs: [{{kind: mps_counts, paths: [{paths}]}}]
        reference:
          areas: {BOUNDARIES}
          area_population: {CENSUS}
        """))
    return load_config(config)


@pytest.fixture(scope="module")
def london(tmp_path_factory):
    cfg = write_config(tmp_path_factory.mktemp("london"), "neighbours")
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
