"""Run configs over the real open data in ../shared/data that more than one test file builds."""

from __future__ import annotations

from tests.helpers.shared_data import SHARED_DATA

MPS = SHARED_DATA / "mps_counts"
# every London borough (`areas: all`) of the MPS borough counts extracted 2023-08, calendar year 2022
ALL_LONDON = {
    "area": {"name": "Merton", "code": "E09000024"}, "areas": "all",
    "comparator": {"name": "Metropolitan Police Service"}, "period": {"calendar_year": 2022},
    "inputs": [{"kind": "mps_counts", "paths": [str(p) for p in sorted((MPS / "borough").glob("*extract2023-08.csv"))]}],
    "reference": {"areas": str(SHARED_DATA / "boundaries" / "london_boroughs" / "London_Borough_Excluding_MHW.shp"),
                  "area_population": str(SHARED_DATA / "population" / "census2021_usual_residents_lsoa21_age6_EW.csv.gz")},
    "geography": {"gi_permutations": 0}}
