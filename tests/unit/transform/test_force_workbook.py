"""Issue 7 item 9: an extract as forces send it.

1. One workbook with a sheet per table (offences, victims, suspects), named for all three roles in
   the run config, gives exactly the figures of the tiny fixture's three CSV files.
2. A recorded ward *name* places crimes without coordinates, LSOA or ward code: on the current ward
   set (names compared ignoring case, '&'/'and', punctuation and spacing), or, for a previous
   ward's name, on the current ward holding most of its residents (LSOA best fit).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import openpyxl
from shapely.geometry import box

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.borough import ALPHA, BETA, write_borough
from tests.helpers.tiny_inputs import TINY_OFFENCES, TINY_SUSPECTS, TINY_VICTIMS, write_tiny_inputs

FIGURES = {
    "theme_summary": "select * exclude (run_id) from theme_summary order by all",
    "theme_detail": "select * exclude (run_id) from theme_detail order by all",
    "people_profile": "select * exclude (run_id) from people_profile order by all",
}


def _figures(config: Path) -> dict[str, list[tuple]]:
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "test-run")
        gates.check_coverage(con, cfg)
        gates.check_reconciliation(con, cfg)
        figures = {name: con.execute(sql).fetchall() for name, sql in FIGURES.items()}
        figures["input_files"] = con.execute("select regexp_extract(path, '[^/]+$'), role, rows_read, duplicate_of "
                                             "from input_files where kind = 'record_extract' order by role").fetchall()
    return figures


def _sheet_rows(text: str) -> list[list]:
    """CSV text as worksheet rows, with real dates and numbers as Excel would hold them."""
    rows = list(csv.reader(io.StringIO(text)))
    out = [rows[0]]
    for row in rows[1:]:
        cells: list = []
        for name, value in zip(rows[0], row):
            if name == "Date Rec":
                cells.append(datetime.strptime(value, "%d/%m/%Y"))
            elif name == "Age" and value.isdigit():
                cells.append(int(value))
            else:
                cells.append(value or None)
        out.append(cells)
    return out


def test_one_workbook_with_a_sheet_per_table_gives_the_figures_of_three_csv_files(tmp_path):
    expected = _figures(write_tiny_inputs(tmp_path / "csv"))

    config = write_tiny_inputs(tmp_path / "xlsx")
    root = config.parent
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, text in (("Cover", "Extract for the CSP\n"), ("Crimes", TINY_OFFENCES), ("Victims", TINY_VICTIMS),
                        ("Suspects", TINY_SUSPECTS)):
        ws = book.create_sheet(sheet)
        for row in _sheet_rows(text):
            ws.append(row)
    book.save(root / "extract" / "extract.xlsx")
    config.write_text(config.read_text()
                      .replace("extract/offences.csv", "extract/extract.xlsx")
                      .replace("extract/victims.csv", "extract/extract.xlsx")
                      .replace("extract/suspects.csv", "extract/extract.xlsx"))
    profile = root / "tiny.yaml"
    text = profile.read_text()
    # offences use the profile-level sheet; victims and suspects name their own
    text = text.replace("layout: linked\n", "layout: linked\nxlsx: {sheet: Crimes}\n")
    text = text.replace("victims:\n", "victims:\n  xlsx: {sheet: Victims}\n")
    text = text.replace("suspects:\n", "suspects:\n  xlsx: {sheet: Suspects, header_row: 1}\n")
    profile.write_text(text)

    got = _figures(config)
    for name in FIGURES:
        assert got[name] == expected[name], name
    assert expected["theme_summary"]  # the tiny fixture's figures, not two empty tables
    # the same workbook three times is three sheets read, never a duplicate
    assert got["input_files"] == [("extract.xlsx", "offences", 12, None), ("extract.xlsx", "suspects", 5, None),
                                  ("extract.xlsx", "victims", 11, None)]


WARD_NAMES = {ALPHA: "Wimbledon Town and Dundonald", BETA: "Beta & Gamma"}
# crime ref, recorded ward code, recorded ward name -> expected method, current ward
NAMED = [
    ("N1", "", "Wimbledon Town and Dundonald", "recorded_ward_name", ALPHA),
    ("N2", "", "wimbledon town & dundonald", "recorded_ward_name", ALPHA),
    ("N3", "", "Wimbledon Town & Dundonald.", "recorded_ward_name", ALPHA),
    ("N4", "", "  BETA   and  gamma ", "recorded_ward_name", BETA),
    ("N5", "", "Old", "previous_ward_name_best_fit", ALPHA),       # LSOAs 1-3: Alpha 2,000 residents, Beta 500
    ("N6", "", "OLDER.", "previous_ward_name_best_fit", BETA),     # LSOA 4: Beta
    ("N7", "", "Nowhere", "unlocated", None),
    ("N8", ALPHA, "Beta & Gamma", "recorded_ward", ALPHA),          # a recorded current ward code comes first
]


def test_a_recorded_ward_name_places_crimes_on_the_current_wards(tmp_path):
    config = write_borough(tmp_path, previous_wards=True)
    wards = gpd.read_file(tmp_path / "wards.gpkg", layer="wards")
    wards["WD23NM"] = wards.WD23CD.map(WARD_NAMES)
    wards.to_file(tmp_path / "wards.gpkg", layer="wards", driver="GPKG")
    (tmp_path / "offences.csv").write_text("Ref,Recorded,Code,Ward,Ward Name,Extracted\n" + "".join(
        f"{ref},10/03/2023,8N,{code},{name},2024-01-10\n" for ref, code, name, _, _ in NAMED))
    (tmp_path / "profile.yaml").write_text("name: named_wards\nextract_date: {column: Extracted}\noffences:\n"
                                           "  columns: {crime_ref: Ref, recorded_date: Recorded, ho_code: Code, "
                                           "ward_code: Ward, ward_name: Ward Name}\n")
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "test-run", select=["int_offences_located", "location_summary", "ward_hotspots"])
        located = con.execute("select o.crime_ref, l.location_method, l.current_ward_code from int_offences_located l "
                              "join stg_offences o using (source_file, source_row) order by 1").fetchall()
        summary = dict(con.execute("select location_method, crimes from location_summary").fetchall())
        vwi = dict(con.execute("select ward_code, count from ward_hotspots where theme = 'vwi'").fetchall())
    assert located == [(ref, method, ward) for ref, _, _, method, ward in NAMED]
    assert summary["recorded_ward_name"] == 4 and summary["previous_ward_name_best_fit"] == 2
    assert summary["recorded_ward"] == 1 and summary["unlocated"] == 1
    assert vwi == {ALPHA: 5, BETA: 2}   # N1-N3, N5, N8 / N4, N6


def test_a_name_shared_by_two_current_wards_places_nothing(tmp_path):
    config = write_borough(tmp_path)
    wards = gpd.GeoDataFrame({"WD23CD": [ALPHA, BETA], "WD23NM": ["Twin", "twin."]},
                             geometry=[box(530_000, 180_000, 531_000, 181_000), box(531_000, 180_000, 532_000, 181_000)],
                             crs="EPSG:27700")
    wards.to_file(tmp_path / "wards.gpkg", layer="wards", driver="GPKG")
    (tmp_path / "offences.csv").write_text("Ref,Recorded,Code,Ward Name,Extracted\nT1,10/03/2023,8N,Twin,2024-01-10\n")
    (tmp_path / "profile.yaml").write_text("name: named_wards\nextract_date: {column: Extracted}\noffences:\n"
                                           "  columns: {crime_ref: Ref, recorded_date: Recorded, ho_code: Code, "
                                           "ward_name: Ward Name}\n")
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        assessment.build(con, cfg, "test-run", select=["int_offences_located"])
        assert con.execute("select location_method, current_ward_code from int_offences_located").fetchall() == [
            ("unlocated", None)]
