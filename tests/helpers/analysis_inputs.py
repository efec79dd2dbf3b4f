"""A small record extract for the analysis marts (issue 10), every figure worked by hand in the tests.

Calendar 2023 vs 2022. VWI (8N), with committed times:
  T1 Fri 10 Mar 2023 22:00 -> Sat 11 Mar 02:00  (4 h across midnight: 0.25 in each hour), victim V2 aged 16
  T2 Mon 6 Mar 00:00 -> Mon 13 Mar 00:00        (a week: over the default 72 h cap), victim V3 aged 30
  T3 Wed 15 Mar 14:30, no end                   (exact), victim V2 again (a repeat 5 days later)
  T4 Wed 15 Mar 14:30 -> 15:15                  (45 minutes: exact), victim V3 again (2 days after T2)
  T5 recorded 20 Apr 2023, no committed time, victim V9, who was also the victim of P1 (20 Dec 2022):
     one crime in each period, 121 days apart
  P1 recorded 20 Dec 2022 (previous period), victim V9
Personal robbery (34B): R01-R12 victims aged 20 (under 25), R13-R22 victims aged 40; R01-R09 knife-flagged,
R13 DA-flagged. LSOAs: T* and R01-R12 in E01000001, the rest in E01000002.
Population: E01000001 and E01000002 with the same six Census bands each (totals 1,500 and 1,500).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers.tiny_inputs import TEST_KEY_FILE

BANDS = {"Aged 15 years and under": 100, "Aged 16 to 24 years": 150, "Aged 25 to 34 years": 250,
         "Aged 35 to 49 years": 500, "Aged 50 to 64 years": 350, "Aged 65 years and over": 150}


PROFILE = """\
name: analysis_force
layout: linked
extract_date: {column: Extracted}
offences:
  columns: {crime_ref: Ref, recorded_date: Recorded, committed_from: From, committed_to: To, ho_code: Code,
            domestic_abuse: DA, knife: Knife, lsoa_code: LSOA}
victims:
  columns: {crime_ref: Ref, person_ref: Victim, age: Age, sex: Sex}
suspects:
  columns: {crime_ref: Ref, person_ref: Suspect, age: Age, sex: Sex}
"""


def offences_csv() -> str:
    rows = [
        "T1,10/03/2023,10/03/2023 22:00,11/03/2023 02:00,8N,N,N,E01000001",
        "T2,13/03/2023,06/03/2023 00:00,13/03/2023 00:00,8N,N,N,E01000001",
        "T3,15/03/2023,15/03/2023 14:30,,8N,N,N,E01000001",
        "T4,15/03/2023,15/03/2023 14:30,15/03/2023 15:15,8N,N,N,E01000001",
        "T5,20/04/2023,,,8N,N,N,E01000001",
        "P1,20/12/2022,20/12/2022 20:00,,8N,N,N,E01000002",
    ]
    for i in range(1, 23):
        knife = "Y" if i <= 9 else "N"
        da = "Y" if i == 13 else "N"
        lsoa = "E01000001" if i <= 12 else "E01000002"
        rows.append(f"R{i:02d},{(i % 28) + 1:02d}/02/2023,{(i % 28) + 1:02d}/02/2023 18:00,,34B,{da},{knife},{lsoa}")
    return "Ref,Recorded,From,To,Code,DA,Knife,LSOA,Extracted\n" + "".join(r + ",2024-01-10\n" for r in rows)


def victims_csv() -> str:
    rows = ["T1,V2,16,F", "T2,V3,30,M", "T3,V2,16,F", "T4,V3,30,M", "T5,V9,45,M", "P1,V9,45,M"]
    rows += [f"R{i:02d},VR{i:02d},{20 if i <= 12 else 40},M" for i in range(1, 23)]
    return "Ref,Victim,Age,Sex\n" + "".join(r + "\n" for r in rows)


def population_csv() -> str:
    lines = ["lsoa21_code,age_group,usual_residents"]
    for lsoa in ("E01000001", "E01000002"):
        lines += [f"{lsoa},{band},{n}" for band, n in BANDS.items()]
    return "\n".join(lines) + "\n"


def write_analysis_inputs(root: Path, extra: str = "", victims: str | None = None) -> Path:
    """The extract above and a run config (calendar 2023); `extra` is appended to the config."""
    (root / "extract").mkdir(parents=True, exist_ok=True)
    (root / "extract" / "offences.csv").write_text(offences_csv())
    (root / "extract" / "victims.csv").write_text(victims if victims is not None else victims_csv())
    (root / "extract" / "suspects.csv").write_text("Ref,Suspect,Age,Sex\nT1,S1,30,M\n")
    (root / "profile.yaml").write_text(PROFILE)
    (root / "population.csv").write_text(population_csv())
    config = root / "run.yaml"
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Testham, code: E09000998}}
        period: {{calendar_year: 2023}}
        inputs:
          - kind: record_extract
            profile: profile.yaml
            offences: extract/offences.csv
            victims: extract/victims.csv
            suspects: extract/suspects.csv
        reference:
          population: population.csv
        privacy: {{key_file: {TEST_KEY_FILE}}}
        output: out
        """) + extra)
    return config


def write_deprivation_reference(root: Path, config: Path) -> None:
    """IMD on LSOA 2011 codes: E01000001 (decile 1) is unchanged; E01000002 is a 2021 code whose 2011
    parent E01009999 (decile 9) the lookup gives; wards from an LSOA -> ward lookup."""
    (root / "imd.csv").write_text("lsoa11_code,index_of_multiple_deprivation_imd_rank,index_of_multiple_deprivation_imd_decile\n"
                                  "E01000001,120,1\nE01009999,30000,9\n")
    (root / "lsoa11_to_21.csv").write_text("LSOA11CD,LSOA21CD\nE01000001,E01000001\nE01009999,E01000002\n")
    (root / "lsoa_to_ward.csv").write_text("lsoa21cd,ward22cd,ward22nm\nE01000001,E05000001,North\nE01000002,E05000002,South\n")
    config.write_text(config.read_text().replace("reference:\n", "reference:\n  imd: imd.csv\n  lsoa11_to_lsoa21: lsoa11_to_21.csv\n"
                                                 "  lsoa_to_ward: lsoa_to_ward.csv\n"))

