"""A four-LSOA, two-ward synthetic borough with hand-placed crimes (reference files and a record
extract) for the geography tests."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import pandas as pd
from pyproj import Transformer
from shapely.geometry import box

from tests.helpers.tiny_inputs import TEST_KEY_FILE

ALPHA, BETA = "E05000001", "E05000002"


TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


# crime ref, recorded date, HO code, easting, northing, latitude, longitude, LSOA, ward -> expected
lat, lon = TO_WGS84.transform(531_700, 180_300)[::-1]


OFFENCES = [
    ("C01", "10/03/2023", "8N", 530_500, 180_500, "", "", "", "", "point_in_polygon", ALPHA),
    ("C02", "11/03/2023", "8N", 531_000, 180_500, "", "", "", "", "point_in_polygon", ALPHA),   # shared edge
    ("C03", "12/03/2023", "34B", 529_990, 180_500, "", "", "", "", "point_snapped", ALPHA),     # 10 m outside
    ("C04", "13/03/2023", "8N", 520_000, 180_000, "", "", "E01000001", "", "outside_area", None),
    ("C05", "14/03/2023", "8N", "", "", "", "", "E01000004", "", "lsoa_best_fit", BETA),
    ("C06", "15/03/2023", "8N", "", "", "", "", "E01999999", BETA, "recorded_ward", BETA),
    ("C07", "16/03/2023", "8N", "", "", "", "", "", "E05999999", "unlocated", None),
    ("C08", "17/03/2023", "8N", "", "", f"{lat:.7f}", f"{lon:.7f}", "", "", "point_in_polygon", BETA),
    ("C09", "18/03/2023", "8N", 0, 0, "", "", "E01000001", "", "lsoa_best_fit", ALPHA),         # 0,0 placeholder
    ("C10", "19/03/2023", "105A", 531_500, 180_500, "", "", "", "", "point_in_polygon", BETA),
    ("P01", "10/03/2022", "8N", 530_200, 180_200, "", "", "", "", "point_in_polygon", ALPHA),
    ("P02", "11/03/2022", "8N", 531_200, 180_200, "", "", "", "", "point_in_polygon", BETA),
]


POPULATION = {"E01000001": (300, 200, 500), "E01000002": (100, 100, 800),   # <16, 16-24, 25+: 1,000 each
              "E01000003": (150, 50, 300), "E01000004": (50, 50, 900)}


PROFILE = """\
name: geo_force
layout: linked
extract_date: {column: Extracted}
offences:
  columns: {crime_ref: Ref, recorded_date: Recorded, ho_code: Code, easting: X, northing: Y,
            latitude: Lat, longitude: Lon, lsoa_code: LSOA, ward_code: Ward}
"""


def write_borough(root, previous_wards: bool = False, **geography_settings) -> Path:  # noqa: F821
    wards = gpd.GeoDataFrame({"WD23CD": [ALPHA, BETA], "WD23NM": ["Alpha", "Beta"], "LAD23CD": ["E09000999"] * 2},
                             geometry=[box(530_000, 180_000, 531_000, 181_000), box(531_000, 180_000, 532_000, 181_000)],
                             crs="EPSG:27700")
    wards.to_file(root / "wards.gpkg", layer="wards", driver="GPKG")
    lsoas = gpd.GeoDataFrame({"LSOA21CD": list(POPULATION), "LSOA21NM": [f"Tiny {i}" for i in range(4)]},
                             geometry=[box(530_000 + 500 * i, 180_000, 530_500 + 500 * i, 181_000) for i in range(4)],
                             crs="EPSG:27700").to_crs("EPSG:4326")
    lsoas.to_file(root / "lsoas.shp")
    pd.DataFrame({"lsoa21cd": list(POPULATION), "ward23cd": [ALPHA, ALPHA, BETA, BETA],
                  "ward23nm": ["Alpha", "Alpha", "Beta", "Beta"]}).to_csv(root / "lookup.csv", index=False)
    rows = [(code, label, n) for code, counts in POPULATION.items()
            for label, n in zip(("Aged 15 years and under", "Aged 16 to 24 years", "Aged 25 years and over"), counts)]
    pd.DataFrame(rows, columns=["lsoa21_code", "age_group", "usual_residents"]).to_csv(root / "population.csv", index=False)
    (root / "sub_areas.csv").write_text(f"ward_code,ward_name,sub_area\n{ALPHA},Alpha,West\n{BETA},Beta,East\n")
    header = "Ref,Recorded,Code,X,Y,Lat,Lon,LSOA,Ward,Extracted"
    lines = [header] + [",".join(str(v) for v in r[:9]) + ",2024-01-10" for r in OFFENCES]
    (root / "offences.csv").write_text("\n".join(lines) + "\n")
    (root / "profile.yaml").write_text(PROFILE)
    extra = ""
    if previous_wards:
        (root / "previous.csv").write_text("LSOA11CD,WD18CD,WD18NM\nE01000001,E05000900,Old\nE01000002,E05000900,Old\n"
                                           "E01000003,E05000900,Old\nE01000004,E05000901,Older\n")
        extra = "  previous_wards: previous.csv\n"
    settings = {"gi_permutations": 0, **geography_settings}
    config = root / "run.yaml"
    config.write_text(textwrap.dedent("""\
        area: {name: Tinytown, code: E09000999}
        period: {calendar_year: 2023}
        privacy: {key_file: KEY_FILE}
        inputs:
          - kind: record_extract
            profile: profile.yaml
            offences: offences.csv
        reference:
          wards: {path: wards.gpkg, layer: wards}
          lsoas: lsoas.shp
          lsoa_to_ward: lookup.csv
          population: population.csv
          sub_areas: sub_areas.csv
        """).replace("KEY_FILE", str(TEST_KEY_FILE)) + extra + "geography: {" + ", ".join(f"{k}: {v}" for k, v in settings.items()) + "}\noutput: out\n")
    return config

