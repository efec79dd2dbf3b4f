"""An extract with other column names, another layout and another format needs only a new profile."""

from __future__ import annotations

import csv
import datetime
import io
import textwrap

import openpyxl

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.tiny_inputs import TEST_KEY_FILE, TINY_OFFENCES, TINY_SUSPECTS, TINY_VICTIMS, write_tiny_inputs

SINGLE_PROFILE = """\
name: other_force_single_sheet
layout: single
xlsx: {sheet: Crimes, header_row: 3}
extract_date: {column: Extract}
offences:
  columns: {crime_ref: URN, recorded_date: Reported, ho_code: HOC, domestic_abuse: Domestic, knife: Bladed, status: Outcome}
  drop: [Summary]
victims:
  columns: {crime_ref: URN, person_ref: V Ref, age: V Age, sex: V Sex}
suspects:
  columns: {crime_ref: URN, person_ref: S Ref, age: S Age, sex: S Sex}
values:
  flag: {"Yes": true, "No": false}
  status: {"Live": recorded, "No Crime": cancelled}
"""


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def write_single_sheet_xlsx(path):
    """The tiny extract as one row per crime-victim pair, as some forces export it, below two title rows.

    One row per crime: C2's second victim (aged 17) is the one carried, which keeps C2 in the
    serious violence theme (a person under 25), as in the linked files.
    """
    victims = {v["Crime No"]: v for v in rows(TINY_VICTIMS)}
    suspects = {s["Crime No"]: s for s in rows(TINY_SUSPECTS)}
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "This workbook has a notes sheet first"
    ws = book.create_sheet("Crimes")
    ws.append(["Serious violence extract - OFFICIAL-SENSITIVE"])
    ws.append([])
    ws.append(["URN", "Reported", "HOC", "Domestic", "Bladed", "Outcome", "Summary", "Extract",
               "V Ref", "V Age", "V Sex", "S Ref", "S Age", "S Sex"])
    for o in rows(TINY_OFFENCES):
        v, s = victims.get(o["Crime No"], {}), suspects.get(o["Crime No"], {})
        day, month, year = (int(x) for x in o["Date Rec"].split("/"))

        ws.append([o["Crime No"], datetime.datetime(year, month, day), o["Class"],
                   "Yes" if o["DA"] == "Y" else "No", "Yes" if o["Knife"] == "Y" else "No",
                   "No Crime" if o["State"] == "Cancelled" else "Live", "free text", "2024-01-10",
                   v.get("Person"), int(v["Age"]) if v.get("Age") else None, v.get("Gender"),
                   s.get("Person"), s.get("Age"), s.get("Gender")])
    book.save(path)


def counts(config):
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "t")
        gates.check_reconciliation(con, cfg)
        return {r[0]: r[1:] for r in con.execute(
            "select theme, count, previous_count, suspects_u25_pct from theme_summary").fetchall()}


def test_single_sheet_xlsx_needs_only_a_profile(tmp_path):
    linked = counts(write_tiny_inputs(tmp_path / "linked"))
    (tmp_path / "single").mkdir()
    write_single_sheet_xlsx(tmp_path / "single" / "extract.xlsx")
    (tmp_path / "single" / "profile.yaml").write_text(SINGLE_PROFILE)
    config = tmp_path / "single" / "run.yaml"
    config.write_text(textwrap.dedent("""\
        area: {name: Tinytown, code: E09000999}
        period: {calendar_year: 2023}
        inputs:
          - {kind: record_extract, profile: profile.yaml, offences: extract.xlsx}
        privacy: {key_file: KEY_FILE}
        """).replace("KEY_FILE", str(TEST_KEY_FILE)))
    single = counts(config)
    assert single == linked        # same crimes, same themes, same suspect shares
