"""A tiny record extract whose every metric was computed by hand (tests/unit/transform/test_metrics.py), a
two-borough MPS comparator file, and one random pseudonymisation key for the test session."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from pipeline.sources.privacy import write_new_key

# One random pseudonymisation key for the test session (the fixed demo key is for `svna demo` only).
TEST_KEY_FILE = write_new_key(Path(tempfile.mkdtemp(prefix="svna-test-key-")) / "svna.key")


TINY_OFFENCES = """\
Crime No,Date Rec,Class,DA,Knife,State,Notes,Extracted
C1,15/03/2023,8N,Y,N,Confirmed,free text,2024-01-10
C2,20/06/2023,8N,N,Y,Confirmed,free text,2024-01-10
C3,01/07/2023,34B,N,Y,Confirmed,free text,2024-01-10
C4,02/08/2023,19C,Y,N,Confirmed,free text,2024-01-10
C5,28/12/2023,49,N,N,Confirmed,free text,2024-01-10
C6,03/09/2023,3B,N,N,Confirmed,free text,2024-01-10
C7,04/10/2023,8N,N,N,Cancelled,free text,2024-01-10
C8,05/11/2023,4.1,N,N,Confirmed,free text,2024-01-10
P1,03/01/2022,8N,N,N,Confirmed,free text,2024-01-10
P2,10/02/2022,49,N,N,Confirmed,free text,2024-01-10
P3,11/05/2022,34B,N,N,Confirmed,free text,2024-01-10
P4,12/09/2022,20A,N,N,Confirmed,free text,2024-01-10
"""


TINY_VICTIMS = """\
Crime No,Person,Age,Gender,Name
C1,VA,20,F,A Person
C2,VB,40,M,A Person
C2,VC,17,M,A Person
C3,VD,16,M,A Person
C4,VE,15,F,A Person
C5,VF,,F,A Person
C6,VG,30,M,A Person
C8,VH,50,M,A Person
P1,VI,30,M,A Person
P3,VJ,22,F,A Person
P4,VK,19,F,A Person
"""


TINY_SUSPECTS = """\
Crime No,Person,Age,Gender
C1,SA,30,M
C2,SB,Unknown,M
C4,SC,22,M
C6,SD,19,M
C8,SE,45,F
"""


TINY_PROFILE = """\
name: tiny_force
layout: linked
extract_date: {column: Extracted}
offences:
  columns: {crime_ref: Crime No, recorded_date: Date Rec, ho_code: Class, domestic_abuse: DA, knife: Knife, status: State}
  drop: [Notes]
victims:
  columns: {crime_ref: Crime No, person_ref: Person, age: Age, sex: Gender}
  drop: [Name]
suspects:
  columns: {crime_ref: Crime No, person_ref: Person, age: Age, sex: Gender}
values:
  status: {"Confirmed": recorded, "Cancelled": cancelled}
"""


def tiny_mps_file() -> str:
    months = [f"{y}{m:02d}" for y in (2022, 2023) for m in range(1, 13)]
    values = {("Tinytown", "Violence with Injury"): {"202201": 1, "202306": 2},
              ("Otherton", "Violence with Injury"): {"202205": 9, "202307": 13},
              ("Otherton", "Other Theft"): {"202202": 5}}
    lines = ["MajorText,MinorText,LookUp_BoroughName," + ",".join(months)]
    for (borough, minor), cells in values.items():
        major = "Theft" if minor == "Other Theft" else "Violence Against the Person"
        lines.append(f"{major},{minor},{borough}," + ",".join(str(cells.get(m, 0)) for m in months))
    return "\n".join(lines) + "\n"


def write_tiny_inputs(tmp_path: Path) -> Path:
    """A run config over the tiny extract plus a two-borough MPS comparator file."""
    (tmp_path / "extract").mkdir(parents=True)
    (tmp_path / "extract" / "offences.csv").write_text(TINY_OFFENCES)
    (tmp_path / "extract" / "victims.csv").write_text(TINY_VICTIMS)
    (tmp_path / "extract" / "suspects.csv").write_text(TINY_SUSPECTS)
    (tmp_path / "mps.csv").write_text(tiny_mps_file())
    (tmp_path / "tiny.yaml").write_text(TINY_PROFILE)
    config = tmp_path / "run.yaml"
    config.write_text(textwrap.dedent("""\
        area: {name: Tinytown, code: E09000999}
        comparator: {name: Demo Force}
        period: {calendar_year: 2023}
        inputs:
          - kind: record_extract
            profile: tiny.yaml
            offences: extract/offences.csv
            victims: extract/victims.csv
            suspects: extract/suspects.csv
          - kind: mps_counts
            paths: [mps.csv]
        privacy: {key_file: KEY_FILE}
        output: out
        """).replace("KEY_FILE", str(TEST_KEY_FILE)))
    return config

