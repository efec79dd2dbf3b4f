"""The data pack and the GeoPackage for readers who are not analysts (issue 20, item 8), on small
hand-made inputs: no % change on a base under 10 in any sheet, Contents text wrapped in wide columns with
row heights, ward x theme charts from ranked numbers only (never a [c] cell), and the GeoPackage's marking
and one layer per theme read back with pyogrio and sqlite3. The real pack in LibreOffice:
tests/integration/test_excel_libreoffice.py."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import duckdb
import geopandas as gpd
import openpyxl
import pyogrio
import pytest
from shapely.geometry import box

from pipeline.publish import catalog, excel_pack, spatial_outputs
from pipeline.transform import db, hotspots
from tests.helpers.pack_checks import change_cells_on_small_bases

# previous_count -> count, the mart's pct_change (0-100) as the SQL macro gives it
CHANGES = [("W1", 2, 4, 100.0), ("W2", 1, 9, 800.0), ("W3", 9, 18, 100.0), ("W4", 10, 15, 50.0),
           ("W5", 40, 30, -25.0), ("W6", 0, 3, None)]


@pytest.fixture
def changes_mart(monkeypatch):
    """A ward_summary-like mart whose % changes sit on bases under, at and over 10."""
    con = duckdb.connect()
    db.load_seeds(con)
    con.execute("create table changes (ward_code varchar, previous_count bigint, count bigint, change bigint, "
                "pct_change double)")
    con.executemany("insert into changes values (?, ?, ?, ?, ?)", [(w, p, c, c - p, pct) for w, p, c, pct in CHANGES])
    monkeypatch.setattr(catalog, "mart_names", lambda: ["changes"])
    yield con
    con.close()


def test_pack_shows_no_pct_change_on_a_base_under_10(changes_mart, tmp_path):
    book = openpyxl.load_workbook(excel_pack.write_excel(changes_mart, tmp_path, headlines="# Headlines\n- One line."))
    ws = book[excel_pack.sheet_title("changes")]
    heading = {h: c for c, (h, _) in catalog.column_labels().items()}
    columns = [heading.get(c.value, c.value) for c in ws[2]]
    got = {row[columns.index("ward_code")]: (row[columns.index("count")], row[columns.index("pct_change")])
           for row in ws.iter_rows(min_row=3, values_only=True)}
    # counts stay; the % change only where the base is 10 or more (a fraction for Excel's % format)
    assert got == {"W1": (4, None), "W2": (9, None), "W3": (18, None), "W4": (15, 0.5), "W5": (30, -0.25),
                   "W6": (3, None)}
    assert change_cells_on_small_bases(book) == []


def test_the_check_finds_a_pct_change_on_a_small_base(tmp_path):
    """The checker itself can fail: a hand-written sheet with +100% on a base of 2."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["marking"])
    labels = catalog.column_labels()
    ws.append([labels["previous_count"][0], labels["count"][0], labels["pct_change"][0]])
    ws.append([2, 4, 1.0])
    ws.append([20, 30, 0.5])
    assert change_cells_on_small_bases(book) == [(ws.title, 3, labels["pct_change"][0], 2)]


def test_contents_wraps_in_wide_columns_with_row_heights(changes_mart, tmp_path):
    long = "In Riverford in 2023 there were 13,363 notifiable offences, " * 6
    book = openpyxl.load_workbook(excel_pack.write_excel(changes_mart, tmp_path, headlines=f"## Theme\n- {long}\n"))
    ws = book["Contents"]
    assert ws.column_dimensions["A"].width >= 30 and ws.column_dimensions["B"].width >= 90
    cell = next(c for row in ws.iter_rows() for c in row if c.value == long.strip())
    assert cell.alignment.wrap_text
    assert f"{cell.coordinate}:B{cell.row}" in {str(m) for m in ws.merged_cells.ranges}   # across both columns
    # about 360 characters over ~130 of width: 3 lines or more, not the default single line
    assert ws.row_dimensions[cell.row].height >= 3 * excel_pack.LINE_HEIGHT
    descriptions = [row for row in ws.iter_rows(min_row=1) if row[0].hyperlink is not None]
    assert [r[0].value for r in descriptions] == ["Changes", "Definitions", "Caveats"]
    assert all(r[1].alignment.wrap_text and ws.row_dimensions[r[1].row].height for r in descriptions)


def test_ward_chart_ranks_numbers_and_leaves_out_suppressed_wards(tmp_path):
    """Ward x theme: each charted theme gets a top-wards table of numbers (a [c] ward is not ranked as 0)."""
    import xlsxwriter

    themes = list(excel_pack.themes_where("in_excel_chart"))[:2]
    wards = [f"Ward {i:02d}" for i in range(14)]
    values = [[excel_pack.SUPPRESSED_MARK if i == 0 else 100 - i, i] for i in range(14)]
    book = xlsxwriter.Workbook(tmp_path / "p.xlsx")
    ws = book.add_worksheet("ward_by_theme")
    header, num = book.add_format({"bold": True}), book.add_format()
    excel_pack._write_pivot(book, ws, "ward_by_theme", ("Ward", wards, ["First", "Second"], values, themes),
                            header, num, public=True)
    book.close()
    sheet = openpyxl.load_workbook(tmp_path / "p.xlsx")["ward_by_theme"]
    tops = {}
    for row in sheet.iter_rows(values_only=True):
        if isinstance(row[0], str) and row[0].startswith("Top "):
            current = tops.setdefault(row[0], [])
        elif tops and isinstance(row[1], (int, float)) and row[0] != "Ward":
            current.append((row[0], row[1]))
    first = tops[f"Top {excel_pack.TOP_WARDS} wards: First"]
    assert first == [(f"Ward {i:02d}", 100 - i) for i in range(1, 11)]       # Ward 00 ([c]) not ranked
    assert tops[f"Top {excel_pack.TOP_WARDS} wards: Second"][0] == ("Ward 13", 13)
    assert len(sheet._charts) == 2


def _layers():
    geometry = [box(0, 0, 10, 10), box(10, 0, 20, 10)]
    wards = gpd.GeoDataFrame({"ward_code": ["E1", "E2"], "ward_name": ["North", "South"]}, geometry=geometry,
                             crs="EPSG:27700")
    themes = list(excel_pack.themes_where("in_excel_chart"))[:2]
    rows = gpd.GeoDataFrame({"ward_code": ["E1", "E2", "E1", "E2"], "theme": [themes[0]] * 2 + [themes[1]] * 2,
                             "count": [3, 5, 7, 11]}, geometry=geometry * 2, crs="EPSG:27700")
    labels = {t: f"Label of {t}" for t in themes}
    return {"wards": wards, "ward_hotspots": rows, "themes": {**labels, "not_in_the_data": "Absent"}}, themes


def test_geopackage_has_the_marking_and_one_layer_per_theme(tmp_path):
    layers, themes = _layers()
    path = hotspots.write_geopackage(layers, tmp_path / "svna.gpkg")
    assert spatial_outputs.write_theme_layers(layers, path) == [f"wards_{t}" for t in themes]
    spatial_outputs.mark_geopackage(path)

    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    theme_layers = [f"wards_{t}" for t in themes]
    assert names == ["wards", "ward_hotspots", *theme_layers, "read_me"]    # no layer for an absent theme
    for theme in themes:
        got = pyogrio.read_dataframe(path, layer=f"wards_{theme}")
        assert set(got.theme) == {theme} and sorted(got["count"]) == sorted(
            layers["ward_hotspots"].loc[layers["ward_hotspots"].theme == theme, "count"])
    read_me = pyogrio.read_dataframe(path, layer="read_me")
    assert dict(zip(read_me["item"], read_me["text"]))["marking"] == catalog.MARKING
    assert set(read_me["item"]) >= {"wards", "ward_hotspots", *theme_layers}
    with closing(sqlite3.connect(path)) as gpkg:
        contents = dict(gpkg.execute("select table_name, description from gpkg_contents").fetchall())
        identifiers = dict(gpkg.execute("select table_name, identifier from gpkg_contents").fetchall())
    assert all(d.endswith(catalog.MARKING) for d in contents.values()), contents
    assert identifiers[f"wards_{themes[0]}"] == f"Label of {themes[0]}"
    assert not list(tmp_path.glob("*.aux.xml"))                 # reading it read-only left no side file
