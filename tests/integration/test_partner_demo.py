"""Partner and open data on the synthetic demo borough (issue 21): the demo writes the partner files and
an indicator set, and the run publishes core_measures and indicator_status in the tables, the data pack
and the report, with the partner counts recounted from the raw demo files with pandas."""

from __future__ import annotations

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.demo.riverford_partner import PARTNER_PATHS
from pipeline.publish.excel_pack import sheet_title

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo(shared_demo_run):
    root, out, _ = shared_demo_run        # the suite's one demo run (tests/integration/conftest.py)
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield root, out, con
    con.close()


def test_the_demo_writes_the_partner_files_and_the_indicator_set(demo):
    root = demo[0]
    for rel in PARTNER_PATHS.values():
        assert (root / "data/raw/demo" / rel).stat().st_size > 0, rel


def test_every_core_measure_is_available_in_the_demo(demo):
    rows = demo[2].execute("select measure, available, source from core_measures order by sort_order").fetchall()
    assert len(rows) == 5 and all(available for _, available, _ in rows)
    assert {source for _, _, source in rows} == {"record_extract", "fingertips", "partner_table"}


def test_partner_counts_recount_from_the_raw_demo_files(demo):
    root, _, con = demo
    hes = pd.read_csv(root / "data/raw/demo" / PARTNER_PATHS["hes_x99"], dtype={"Month of admission": str})
    by_year = hes.groupby(hes["Month of admission"].str[:4])["Admissions (X99, 0-24)"].sum()
    row = con.execute("select count, previous_count from core_measures "
                      "where measure = 'hospital_admissions_sharp_object_u25'").fetchone()
    assert row == (by_year["2023"], by_year["2022"])
    istv = pd.read_csv(root / "data/raw/demo" / PARTNER_PATHS["istv"], dtype=str)
    valid = istv[istv["Attendances"].str.fullmatch(r"\d+") & (istv["Weapon"] != "Total")]   # two bad rows
    expected = valid[valid["Month"].str.startswith("2023")]["Attendances"].astype(int).sum()
    assert con.execute("select count from partner_summary where measure = 'istv_assault_attendances'").fetchone()[0] == expected
    assert con.execute("select sum(rows_quarantined) from quarantine_summary where input_table = 'partner'").fetchone()[0] == 2


def test_indicator_status_has_every_indicator_for_four_quarters(demo):
    root, _, con = demo
    ids = pd.read_csv(root / "data/raw/demo" / PARTNER_PATHS["indicators"])["id"].tolist()
    rows = con.execute("select id, count(*) from indicator_status group by id").fetchall()
    assert sorted(rows) == sorted((i, 4) for i in ids)
    results = {r[0] for r in con.execute("select distinct result from indicator_status").fetchall()}
    assert {"met", "not_measured", "no_data"} <= results


def test_the_report_and_the_data_pack_show_both(demo):
    out = demo[1]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="core-measures"' in report and 'id="indicators"' in report
    assert "in the delivery plan&#39;s set" in report and "has no data received" in report
    sheets = openpyxl.load_workbook(out / "svna_data_pack.xlsx", read_only=True).sheetnames
    assert {sheet_title(n) for n in ("core_measures", "indicator_status", "partner_summary", "health_indicators")} \
        <= set(sheets)
