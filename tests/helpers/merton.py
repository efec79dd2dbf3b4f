"""Run configs over the real Merton ward files and reference data (../shared/data), and a build."""

from __future__ import annotations

import textwrap

from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.shared_data import SHARED_DATA
from tests.helpers.tiny_inputs import TEST_KEY_FILE

WARD_FILE_2022 = "mps_counts/ward/MPS_Ward_Level_Crime_most_recent_24_months_202104-202303_extract2023-04.csv"


WARD_FILE_PRE_2022 = "mps_counts/ward/MPS_Ward_Level_Crime_most_recent_24_months_202009-202208_extract2022-09.csv"


POPULATION = "population/census2021_usual_residents_lsoa21_age6_Merton.csv"


WARDS = "boundaries/merton_wards_2022.geojson"


def merton_config(root, ward_files: list[str], previous_wards: bool = False, extra_inputs: str = "") -> Path:  # noqa: F821
    paths = ", ".join(str(SHARED_DATA / f) for f in ward_files)
    previous = f"  previous_wards: {SHARED_DATA}/boundaries/london_wards_2018/London_Ward_CityMerged.shp\n" \
        if previous_wards else ""
    config = root / "merton.yaml"
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Merton, code: E09000024}}
        period: {{calendar_year: 2022}}
        inputs:
          - kind: mps_counts
            paths: [{paths}]
        """) + extra_inputs + textwrap.dedent(f"""\
        reference:
          wards: {SHARED_DATA / WARDS}
          lsoas: {SHARED_DATA}/boundaries/merton_lsoa_2021/Merton.shp
          lsoa_to_ward: {SHARED_DATA}/lookups/lsoa21_ward22_best_fit_Merton.csv
          population: {SHARED_DATA / POPULATION}
        """) + previous + f"geography: {{gi_permutations: 0}}\nprivacy: {{key_file: {TEST_KEY_FILE}}}\noutput: out\n")
    return config


def build_merton(config, select: list[str] | None = None):
    """Ingest and build every model, or only `select` and the models they read (a test that reads a
    few tables need not pay for the marts, maps and checks of the rest)."""
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=select)
    return con

