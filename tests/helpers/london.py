"""A run config over the real MPS borough files for all London boroughs (../shared/data)."""

from __future__ import annotations

import textwrap

from pipeline.settings.config import load_config
from tests.helpers.shared_data import SHARED_DATA

BOROUGH_FILES = sorted((SHARED_DATA / "mps_counts" / "borough").glob("*extract2023-08.csv"))


BOUNDARIES = SHARED_DATA / "boundaries" / "london_boroughs" / "London_Borough_Excluding_MHW.shp"


CENSUS = SHARED_DATA / "population" / "census2021_usual_residents_lsoa21_age6_EW.csv.gz"


def write_london_config(tmp_path, areas: str) -> object:
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

