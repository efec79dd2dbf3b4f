"""The annual_assessment Prefect flow on the synthetic demo borough: outputs a person can use.

Figures are checked against an independent recount of the raw CSV with pandas, not against
values the pipeline produced before.
"""

from __future__ import annotations

import hashlib
import json

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.demo.riverford import BAD_CODE_REF, BAD_DATE_REF
from pipeline.publish.excel_pack import sheet_title

pytestmark = pytest.mark.integration
VWI_CODES = {"2", "4/3", "4/7", "5D", "5E", "8N", "8P", "8S", "8T"}


@pytest.fixture(scope="module")
def demo_run(shared_demo_run):
    """The suite's one demo run through the flow (tests/integration/conftest.py): what the flow returned."""
    root, out, returned = shared_demo_run
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield root, returned, con
    con.close()


def test_flow_writes_to_the_configured_output(demo_run):
    root, out, _ = demo_run
    assert out == str((root / "data" / "processed" / "demo").resolve())
    assert not (root / "data" / "processed" / "demo.partial").exists()     # swapped into place


def test_vwi_matches_an_independent_recount(demo_run):
    root, _, con = demo_run
    raw = pd.read_csv(next((root / "data/raw/demo/extract").glob("offences_*.csv")), dtype=str)
    raw = raw.dropna(subset=["CRIS_Ref"]).drop_duplicates("CRIS_Ref", keep="first")   # first copy is genuine
    raw["date"] = pd.to_datetime(raw["Recorded_Date"], format="%d/%m/%Y", errors="coerce")
    vwi = raw[(raw["Crime_Status"] == "Confirmed") & raw["HO_Class"].isin(VWI_CODES)]
    expected = {year: int((vwi["date"].dt.year == year).sum()) for year in (2022, 2023)}
    count, previous = con.execute("select count, previous_count from theme_summary where theme = 'vwi'").fetchone()
    assert (count, previous) == (expected[2023], expected[2022])


def test_every_theme_has_a_row_with_people_measures(demo_run):
    rows = demo_run[2].execute("select theme, victims_u25_pct, suspect_age_unknown_pct from theme_summary").fetchall()
    assert {r[0] for r in rows} == {"all_crime", "vap", "vwi", "homicide", "personal_robbery", "sexual_offences",
                                    "rape", "domestic_abuse", "knife_crime", "serious_violence"}
    assert all(r[1] is not None and r[2] is not None for r in rows)
    identities = demo_run[2].execute("""
        select bool_and(r.count <= s.count) and bool_and(v.count <= a.count)
        from theme_summary r, theme_summary s, theme_summary v, theme_summary a
        where r.theme = 'rape' and s.theme = 'sexual_offences' and v.theme = 'vwi' and a.theme = 'vap'
    """).fetchone()[0]
    assert identities                                                        # rape <= sexual, vwi <= vap


def test_documented_bad_rows_are_quarantined_not_lost(demo_run):
    con = demo_run[2]
    rules = dict(con.execute("select crime_ref, rule from quarantine where input_table = 'offences' "
                             "and crime_ref is not null").fetchall())
    assert rules[BAD_DATE_REF] == "unparseable_recorded_date"
    assert rules[BAD_CODE_REF] == "unknown_offence_code"
    by_rule = dict(con.execute("select rule, count(*) from quarantine group by rule").fetchall())
    assert by_rule["missing_crime_ref"] == 1 and by_rule["duplicate_crime_ref"] == 1
    assert by_rule["age_out_of_range"] == 2
    assert con.execute("select bool_and(reconciled) from quarantine_summary").fetchone()[0]


def test_excel_pack_is_usable(demo_run):
    root = demo_run[0]
    book = openpyxl.load_workbook(root / "data/processed/demo/svna_data_pack.xlsx")
    assert {*map(sheet_title, ("theme_summary", "ward_summary", "quarantine_summary", "input_files")), "Definitions",
            "Caveats"} <= set(book.sheetnames)
    ws = book[sheet_title("theme_summary")]
    header = [c.value for c in ws[2]]                                     # human headings
    count_col = header.index("Count") + 1
    pct_col = header.index("Change %") + 1
    assert isinstance(ws.cell(3, count_col).value, int)                    # numbers stored as numbers
    assert "%" in ws.cell(3, pct_col).number_format
    assert ws.freeze_panes is not None
    assert "OFFICIAL-SENSITIVE" in ws.cell(1, 1).value


def test_manifest_traces_inputs(demo_run):
    root = demo_run[0]
    manifest = json.loads((root / "data/processed/demo/run.json").read_text())
    offences = next(i for i in manifest["inputs"] if i["role"] == "offences")
    assert offences["sha256"] == hashlib.sha256(open(offences["path"], "rb").read()).hexdigest()
    timings = manifest["timings_seconds"]
    assert set(timings) == {"ingest", "build", "check", "validate", "publish", "publish.tables", "publish.excel",
                            "publish.maps", "publish.report", "publish.public_tier"}
    # publish's parts are inside its time
    assert sum(v for k, v in timings.items() if k.startswith("publish.")) <= timings["publish"] + 0.01
    assert manifest["config_hash"] and manifest["code_version"].startswith("svna")
    # the run report says how crimes were placed on the current wards, and the shares add up
    methods = {m["method"]: m for m in manifest["checks"]["location_methods"]}
    assert methods["point_in_polygon"]["pct"] > 90
    placed = demo_run[2].execute("select count(*) from int_offences_current where counted").fetchone()[0]
    assert sum(m["crimes"] for m in methods.values()) == placed
    headlines = (root / "data/processed/demo/headlines.md").read_text()
    assert "There were" in headlines and "VWI offences" in headlines


def test_every_demo_table_is_written_in_its_stated_order(demo_run):
    from tests.helpers.outputs import assert_written_in_stated_order

    assert_written_in_stated_order(demo_run[0] / "data" / "processed" / "demo")



def test_the_flow_runs_the_annual_step_list_as_its_tasks(tmp_path, prefect_harness, task_order):
    from flows.annual_assessment import annual_assessment
    from pipeline.runs import annual
    from pipeline.runs.steps import task_names
    from tests.helpers.tiny_inputs import write_tiny_inputs

    state = annual_assessment(str(write_tiny_inputs(tmp_path)), return_state=True)
    assert state.is_completed()
    expected = ["load-config", *task_names(annual.STEPS)]
    assert task_order(state.state_details.flow_run_id, expected) == expected
