"""The monthly refresh's headlines and Excel pack (issue 20, item 7) from a hand-made warehouse: every
comparison that cannot be made says why, each exception says what to look at, and the pack has the
annual pack's Contents, human headings, page setup and no % change on a base under 10."""

from __future__ import annotations

from datetime import date

import duckdb
import openpyxl
import pytest

from pipeline.publish import catalog, monthly_pack
from pipeline.report import monthly_report
from pipeline.runs import monthly_outputs
from tests.helpers.pack_checks import change_cells_on_small_bases

DEC = date(2023, 12, 1)
# theme, 12 months, previous 12, % change, month, same month last year, month % change, comparator % change
ROWS = [("vwi", 1426, 1298, 9.86, 130, 118, 10.17, 4.0),      # every comparison made
        ("homicide", 1, 2, -50.0, 0, 1, -100.0, 3.0),          # singular; bases under 10: counts only
        ("rape", 140, None, None, 12, None, None, 2.0),        # previous 12 months not covered
        ("knife_crime", None, None, None, 20, 25, -20.0, None),  # the 12 months not covered
        ("personal_robbery", 419, 387, 8.27, None, None, None, None)]  # month missing, no comparator figure


@pytest.fixture
def warehouse():
    wh = duckdb.connect()
    wh.execute("create table refresh_runs (run_id varchar, area_name varchar, refresh_month date, extracts varchar)")
    wh.execute("insert into refresh_runs values ('r1', 'Riverford', ?, null)", [DEC])
    wh.execute("create table rolling_summary (unit_level varchar, unit_code varchar, theme varchar, "
               "rolling_12m_count bigint, previous_12m_count bigint, rolling_pct_change double, month_count bigint, "
               "same_month_last_year_count bigint, month_pct_change double, comparator_rolling_pct_change double, "
               "run_id varchar)")
    wh.executemany("insert into rolling_summary values ('area', 'E09000099', ?, ?, ?, ?, ?, ?, ?, ?, 'r1')",
                   [list(r) for r in ROWS])
    wh.execute("create table monthly_exceptions (unit_level varchar, unit_code varchar, theme varchar, rule varchar, "
               "direction varchar, count bigint, centre double, reason varchar, run_id varchar)")
    wh.executemany("insert into monthly_exceptions values (?, ?, ?, ?, ?, ?, ?, ?, 'r1')", [
        ("area", "E09000099", "vwi", "above_upper_limit", "increase", 160, 118.0,
         "Violence with Injury in Riverford: 160 in December 2023, above the usual range of up to 150"),
        ("ward", "E05000001", "vwi", "eight_above_centre", "increase", 9, 5.5,
         "Violence with Injury in North *Ward*: above the usual level of 5.5 a month for 8 months in a row")])
    wh.execute("create table revisions (unit_level varchar, month_start date, change bigint, run_id varchar)")
    yield wh
    wh.close()


def bullets(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def test_every_missing_comparison_says_why(warehouse):
    lines = bullets(monthly_outputs.headlines_markdown(warehouse, "r1", "Metropolitan Police Service"))
    assert lines[0] == ("In the 12 months to December 2023 there were 1,426 VWI offences, up 10% (128) on the previous "
                        "12 months; for the MPS up 4%. December 2023: 130, up 10% on December last year (118).")
    homicide = next(line for line in lines if "homicide" in line)
    assert "there was 1 homicide offence," in homicide
    assert "compared with 2 in the previous 12 months (too few for a percentage change)" in homicide
    assert "(1 in December last year: too few for a percentage change)" in homicide
    assert "50%" not in homicide and "100%" not in homicide     # the MPS (a large base) keeps its %
    rape = next(line for line in lines if "rape" in line)
    assert "no comparison with the 12 months before: the inputs do not cover all of them" in rape
    assert "December 2023: 12 (no figure for December last year to compare with)" in rape
    knife = next(line for line in lines if "knife" in line.lower())
    assert knife.startswith("Knife or sharp instrument: no figure for the 12 months to December 2023: the inputs "
                            "do not cover all 12 months.") and "down 20% on December last year (25)" in knife
    robbery = next(line for line in lines if "robbery" in line)
    assert "no MPS figure for the same months to compare with" in robbery
    assert "December 2023: not in the inputs in full, so no monthly figure." in robbery
    assert len(lines) == len(ROWS) + 2 + 1                     # no theme dropped; 2 exceptions, 1 on revisions
    assert "Extracts: None" not in monthly_outputs.headlines_markdown(warehouse, "r1", None)


def test_each_exception_says_what_to_look_at(warehouse):
    text = monthly_outputs.headlines_markdown(warehouse, "r1", None)
    area, ward = [line for line in bullets(text) if "usual" in line]
    assert area.endswith(f"above the usual range of up to 150. What to look at: "
                         f"{monthly_report.LOOK_AT['above_upper_limit']}.")
    assert r"North \*Ward\*" in ward                               # input text inert in Markdown
    assert ward.endswith(f"{monthly_report.LOOK_AT['eight_above_centre']}; {monthly_report.WARD_LOOK_AT}.")
    assert set(monthly_report.LOOK_AT) == {"above_upper_limit", "below_lower_limit", "eight_above_centre",
                                           "eight_below_centre", "two_of_three_above_warning",
                                           "two_of_three_below_warning"}   # every rule of mth_exceptions.sql


def test_monthly_pack_has_the_annual_packs_layout(warehouse, tmp_path):
    headlines = monthly_outputs.headlines_markdown(warehouse, "r1", None)
    path = monthly_pack.write_monthly_pack(warehouse, "r1", tmp_path / "m.xlsx", headlines)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Contents", "Rolling 12 months", "Exceptions", "Revisions", "Definitions", "Caveats"]
    contents = book["Contents"]
    links = [c.value for row in contents.iter_rows() for c in row if c.hyperlink is not None]
    assert links == book.sheetnames[1:]
    assert contents.column_dimensions["B"].width >= 90
    text = [c.value for row in contents.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("In the 12 months to December 2023 there were 1,426 VWI offences") for t in text)
    ws = book["Rolling 12 months"]
    assert ws["A1"].value == catalog.MARKING
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert catalog.MARKING in ws.oddHeader.left.text and "Page" in ws.oddFooter.right.text
    header = [c.value for c in ws[2]]
    assert "12 months" in header and "Change %" in header and "rolling_12m_count" not in header
    row = dict(zip(header, next(ws.iter_rows(min_row=3, values_only=True))))
    assert row["Change %"] == pytest.approx(0.0986) and ws.cell(3, header.index("Change %") + 1).number_format == "0.0%"
    homicide = [r for r in ws.iter_rows(min_row=3, values_only=True) if "homicide" in r]
    assert homicide and homicide[0][header.index("Change %")] is None           # 1 on 2: no -50%
    assert change_cells_on_small_bases(book) == []
