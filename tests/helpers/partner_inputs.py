"""Partner and open-data fixtures in the published layouts, small enough to count by hand, added to the
tiny extract's run config (tests/helpers/tiny_inputs.py: Tinytown, E09000999, calendar 2023 vs 2022)."""

from __future__ import annotations

from pathlib import Path

from pipeline.sources.fingertips import LAYOUT

HEADER = ",".join(LAYOUT)


def fingertips_row(area_code: str, area_name: str, area_type: str, period: str, sortable: str, value: str,
                   count: str, denominator: str = "100000", parent: str = "E12000007", years: str = "1y") -> str:
    cells = ["11201", "Hospital admissions for violence (including sexual violence)", parent, "London region",
             area_code, area_name, area_type, "Persons", "All ages", "", "", period, value,
             "", "", "", "", count, denominator, "", "No significant change", "Similar", "", sortable, "", "", years]
    return ",".join(cells)


# Tinytown 2022/23 value 60 (count 60), 2021/22 50 (count 50); Otherton 80 then 70; England 45 (one-year values).
FINGERTIPS = "\n".join([
    HEADER,
    fingertips_row("E92000001", "England", "England", "2021/22", "20210000", "44.0", "70000", parent=""),
    fingertips_row("E92000001", "England", "England", "2022/23", "20220000", "45.0", "72000", parent=""),
    fingertips_row("E09000999", "Tinytown", "Counties & UAs (from Apr 2023)", "2021/22", "20210000", "50.0", "50"),
    fingertips_row("E09000999", "Tinytown", "Counties & UAs (from Apr 2023)", "2022/23", "20220000", "60.0", "60"),
    fingertips_row("E09000998", "Otherton", "Counties & UAs (from Apr 2023)", "2021/22", "20210000", "70.0", "70"),
    fingertips_row("E09000998", "Otherton", "Counties & UAs (from Apr 2023)", "2022/23", "20220000", "80.0", "80"),
    fingertips_row("E09000997", "Thirdham", "Counties & UAs (from Apr 2023)", "2022/23", "20220000", "30.0", "30"),
    # bad rows: a value that is not a number; the same area and period again
    fingertips_row("E09000996", "Fourthby", "Counties & UAs (from Apr 2023)", "2022/23", "20220000", "n/a", "5"),
    fingertips_row("E09000997", "Thirdham", "Counties & UAs (from Apr 2023)", "2022/23", "20220000", "31.0", "31"),
]) + "\n"

PARTNER_PROFILE = """\
name: tiny_hes
provider: Tiny ICB (HES)
measure: hes_sharp_object_admissions_u25
columns: {ward: Ward, period: Month, count: Admissions, sex: Sex}
"""

# HES X99 under 25 by ward and month: 2023 = 3 + 2 + 4 = 9 (Jan-Dec covered), 2022 = 1 + 3 = 4.
# Every month of both years is present (zeros written), so the change can be shown.
def partner_table() -> str:
    counts = {("W1", "2023-03", "M"): 3, ("W2", "2023-07", "F"): 2, ("W1", "2023-11", "M"): 4,
              ("W1", "2022-02", "M"): 1, ("W2", "2022-09", "M"): 3}
    lines = ["Ward,Month,Sex,Admissions"]
    for year in (2022, 2023):
        for month in range(1, 13):
            period = f"{year}-{month:02d}"
            for ward, sex in (("W1", "M"), ("W2", "F"), ("W2", "M")):
                lines.append(f"{ward},{period},{sex},{counts.get((ward, period, sex), 0)}")
    # bad rows: a suppressed count, a total row, a period that is not one, the same cell twice
    lines += ["W1,2023-05,F,*", "W1,2023-05,All,7", "W1,2023-13,F,1", "W1,2023-03,M,3"]
    return "\n".join(lines) + "\n"


def add_partner_inputs(config: Path) -> Path:
    """Write the fixtures beside `config` and add them to its inputs."""
    base = config.parent
    (base / "fingertips_11201.csv").write_text(FINGERTIPS)
    (base / "hes_x99.csv").write_text(partner_table())
    (base / "hes.yaml").write_text(PARTNER_PROFILE)
    text = config.read_text().replace("inputs:\n", "inputs:\n"
                                      "  - kind: fingertips\n    paths: [fingertips_11201.csv]\n"
                                      "  - kind: partner_table\n    profile: hes.yaml\n    paths: [hes_x99.csv]\n", 1)
    # the fixtures' bad rows are a large share of a few rows: the gate's share is tested elsewhere
    config.write_text(text + "quarantine_threshold_pct: 40\n")
    return config


# Quarterly targets on the tiny extract (2023 by calendar quarter; 2022 a year earlier):
#   K1: police knife crime, Q1 0, Q2 1 (C2, June), Q3 1 (C3, July), Q4 0; 2022: 0 in every quarter
#   hes: partner HES X99 under 25, Q1 3, Q2 0, Q3 2, Q4 4; 2022: Q1 1, Q2 0, Q3 3, Q4 0
#   V1: Fingertips 11201, 60 (2022/23) on Q4, 50 (2021/22) on the quarter a year earlier
#   fte: partner youth-justice first-time entrants: no such table in the run (data not received)
INDICATOR_SET = """\
id,name,plan_theme,source_measure,baseline,target,red_at,direction,owner
K1,Knife crime,Knife crime,police:knife_crime,1,0,2,lower,Police
H1,Sharp-object admissions under 25,Core measures,partner:hes_sharp_object_admissions_u25,2,2,4,lower,Public health
V1,Hospital admissions for violence,Core measures,fingertips:11201,55,55,65,lower,Public health
Y1,First-time entrants,Youth justice,partner:yj_first_time_entrants,10,8,12,lower,Youth Justice Service
"""


def add_indicator_set(config: Path, text: str = INDICATOR_SET) -> Path:
    (config.parent / "indicators.csv").write_text(text)
    config.write_text(config.read_text().replace(
        "inputs:\n", "inputs:\n  - kind: indicator_set\n    paths: [indicators.csv]\n", 1))
    return config
