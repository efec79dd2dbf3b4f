"""The demo borough's partner and open data, and its delivery plan's indicator set (all SYNTHETIC).

Written beside the police inputs by pipeline.demo.riverford (PARTNER_PATHS under data/raw/demo/);
config/demo.yaml reads them with the partner profiles in config/profiles/partner/.

* ``fingertips_11201.csv``: OHID Fingertips "all data" layout, indicator 11201 (hospital admissions
  for violence), Riverford, the 11 invented boroughs, London and England, four pooled 3-year periods.
* ``ed_istv_assaults.csv``: A&E assault attendances (ISTV, aggregated) by ward, month and weapon, with
  two bad rows (a count the trust suppressed as ``*``, and a ``Total`` row).
* ``hes_x99_u25.csv``: hospital admissions for assault with a sharp object, under 25, by month and sex.
* ``yj_first_time_entrants.csv``: youth-justice first-time entrants by quarter (``2023 Q1``).
* ``school_suspensions.csv``: suspensions by academic year (``2022/23``, September to August): such
  a year straddles a calendar-year run, so it is loaded but no change is shown.
* ``delivery_plan_indicators.csv``: the indicator set (themes of the plan: VWI, robbery, sexual
  offences, domestic abuse, under-25 victims, knife crime, the core measures); permanent exclusions
  are in the set but not in the inputs (data not received).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from pipeline.sources.fingertips import LAYOUT

PARTNER_PATHS = {
    "fingertips": "partner/fingertips_11201.csv",
    "istv": "partner/ed_istv_assaults.csv",
    "hes_x99": "partner/hes_x99_u25.csv",
    "yj_fte": "partner/yj_first_time_entrants.csv",
    "schools": "partner/school_suspensions.csv",
    "indicators": "partner/delivery_plan_indicators.csv",
}
YEARS = (2022, 2023)
PARENT_NAMES = {"E92000001": "England", "E12000007": "London region"}
WEAPONS = ("Knife or sharp object", "Blunt object", "Body part", "Other or not known")



def _fingertips(rng: np.random.Generator, area: dict, boroughs: list[str]) -> pd.DataFrame:
    areas = [(area["code"], area["name"], 78.0)] + [
        (f"E09000{71 + n:03d}", name, float(rng.uniform(35, 110))) for n, name in enumerate(boroughs)]
    rows = []
    for period, sortable, drift in (("2017/18 - 19/20", "20170000", 1.08), ("2018/19 - 20/21", "20180000", 1.03),
                                    ("2019/20 - 21/22", "20190000", 1.0), ("2020/21 - 22/23", "20200000", 0.94)):
        level = [("E92000001", "England", "England", "", 45.0 * drift, 68000),
                 ("E12000007", "London region", "Regions", "E92000001", 52.0 * drift, 12500)]
        level += [(code, name, "Counties & UAs (from Apr 2023)", "E12000007", value * drift * rng.uniform(0.95, 1.05),
                   None) for code, name, value in areas]
        for code, name, area_type, parent, value, count in level:
            count = count or round(value * 3 * 3.2)   # a 3-year count on ~320,000 residents
            ci = 1.96 * value / np.sqrt(count)
            rows.append({
                "Indicator ID": "11201",
                "Indicator Name": "Hospital admissions for violence (including sexual violence)",
                "Parent Code": parent, "Parent Name": PARENT_NAMES.get(parent, ""),
                "Area Code": code, "Area Name": name, "Area Type": area_type, "Sex": "Persons", "Age": "All ages",
                "Category Type": "", "Category": "", "Time period": period, "Value": f"{value:.1f}",
                "Lower CI 95.0 limit": f"{value - ci:.1f}", "Upper CI 95.0 limit": f"{value + ci:.1f}",
                "Lower CI 99.8 limit": "", "Upper CI 99.8 limit": "", "Count": str(count), "Denominator": "",
                "Value note": "", "Recent Trend": "Cannot be calculated", "Compared to England value or percentiles":
                "Higher" if value > 45 * drift * 1.1 else "Similar", "Compared to percentiles": "Not compared",
                "Time period Sortable": sortable, "New data": "", "Compared to goal": "Not compared",
                "Time period range": "3y"})
    return pd.DataFrame(rows, columns=list(LAYOUT))


def _istv(rng: np.random.Generator, wards: list[str]) -> pd.DataFrame:
    months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
    share = np.array([0.12, 0.18, 0.55, 0.15])
    rows = [(ward, month, weapon, int(n))
            for w, ward in enumerate(wards) for i, month in enumerate(months)
            for weapon, n in zip(WEAPONS, rng.poisson(share * (4.0 + w % 5) * (1.05 if i >= 12 else 1.0)), strict=True)]
    frame = pd.DataFrame(rows, columns=["Ward code", "Month", "Weapon", "Attendances"]).astype({"Attendances": str})
    bad = pd.DataFrame([(wards[0], "2023-06", "Knife or sharp object", "*"), (wards[1], "2023-06", "Total", "31")],
                       columns=frame.columns)
    return pd.concat([frame, bad], ignore_index=True)


def _hes(rng: np.random.Generator, area: dict) -> pd.DataFrame:
    rows = [(area["name"], f"{y}-{m:02d}", sex, int(rng.poisson(0.9 if sex == "Male" else 0.25)))
            for y in YEARS for m in range(1, 13) for sex in ("Male", "Female")]
    return pd.DataFrame(rows, columns=["Local authority", "Month of admission", "Sex", "Admissions (X99, 0-24)"])


def _yj(rng: np.random.Generator, area: dict) -> pd.DataFrame:
    rows = [(area["code"], f"{y} Q{q}", int(rng.poisson(12 if y == 2022 else 10))) for y in YEARS for q in range(1, 5)]
    return pd.DataFrame(rows, columns=["LA code", "Quarter", "First time entrants"])


def _schools(rng: np.random.Generator, area: dict) -> pd.DataFrame:
    rows = [(area["name"], year, "Suspension", int(rng.poisson(430))) for year in ("2021/22", "2022/23")]
    return pd.DataFrame(rows, columns=["la_name", "time_period", "category", "number"])


def write_partner_files(root: pathlib.Path, seed: int, area: dict, boroughs: list[str], wards: list[str],
                        indicator_set: str, write_csv) -> dict[str, pathlib.Path]:
    """Write the partner files and the indicator set (CSV text, from pipeline.demo.riverford: it names
    themes) under `root` with the demo's CSV writer; the paths by PARTNER_PATHS key."""
    rng = np.random.default_rng([seed, 21])
    paths = {key: root / rel for key, rel in PARTNER_PATHS.items()}
    write_csv(_fingertips(rng, area, boroughs), paths["fingertips"])
    write_csv(_istv(rng, wards), paths["istv"])
    write_csv(_hes(rng, area), paths["hes_x99"])
    write_csv(_yj(rng, area), paths["yj_fte"])
    write_csv(_schools(rng, area), paths["schools"])
    paths["indicators"].parent.mkdir(parents=True, exist_ok=True)
    paths["indicators"].write_text(indicator_set, encoding="utf-8")
    return paths
