"""The monthly_refresh flow on the demo borough delivered as monthly drops.

Drop 1 (extracted 5 December 2023) holds every crime recorded to November 2023, three October VWI
crimes still coded as common assault, and MPS counts to November. December is asked for before its
files arrive (waiting for data), then drop 2 (the full demo extract of 15 January 2024) arrives.
Expected figures are pandas recounts of the drop files written here.
"""

from __future__ import annotations

import re
import shutil

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipeline.demo.riverford import generate_demo_data
from pipeline.runs import monthly, monthly_outputs
from tests.helpers.monthly import riverford_config

pytestmark = pytest.mark.integration
VWI_CODES = {"2", "4/3", "4/7", "5D", "5E", "8N", "8P", "8S", "8T"}
RECLASSIFIED = 3


def write_first_drop(raw, drops) -> list[str]:
    """Crimes recorded to 30 Nov 2023, as extracted on 5 Dec 2023; returns the crime refs it re-codes."""
    offences = pd.read_csv(next((raw / "extract").glob("offences_*.csv")), dtype=str, keep_default_na=False)
    recorded = pd.to_datetime(offences["Recorded_Date"], format="%d/%m/%Y", errors="coerce")
    offences = offences[recorded.isna() | (recorded <= "2023-11-30")].copy()
    recorded = recorded[offences.index]
    october_assaults = offences[(offences["HO_Class"] == "8N") & (recorded.dt.strftime("%Y-%m") == "2023-10")
                                & (offences["Crime_Status"] == "Confirmed")]
    recoded = list(october_assaults["CRIS_Ref"].iloc[:RECLASSIFIED])
    offences.loc[offences["CRIS_Ref"].isin(recoded), "HO_Class"] = "105A"   # later re-classified as 8N
    offences["Extract_Date"] = "2023-12-05"
    offences.to_csv(drops / "offences_2023-12-05.csv", index=False)
    for role in ("victims", "suspects"):
        people = pd.read_csv(next((raw / "extract").glob(f"{role}_*.csv")), dtype=str, keep_default_na=False)
        people = people[people["CRIS_Ref"].isin(set(offences["CRIS_Ref"]))].assign(Extract_Date="2023-12-05")
        people.to_csv(drops / f"{role}_2023-12-05.csv", index=False)
    mps = pd.read_csv(next((raw / "mps").glob("*.csv")), dtype=str)
    mps = mps[[c for c in mps.columns if not c.isdigit() or c <= "202311"]]
    mps.to_csv(drops / "mps" / "MPS_Borough_Level_Crime_demo_202201-202311_extract2023-12.csv", index=False)
    return recoded


def deliver_second_drop(raw, drops) -> None:
    for path in (raw / "extract").glob("*.csv"):
        shutil.copy(path, drops / path.name)
    for path in (raw / "mps").glob("*.csv"):
        shutil.copy(path, drops / "mps" / path.name)


def recount_vwi(offences_csv, first: str, last: str) -> int:
    raw = pd.read_csv(offences_csv, dtype=str)
    raw = raw.dropna(subset=["CRIS_Ref"]).drop_duplicates("CRIS_Ref", keep="first")   # first copy is genuine
    recorded = pd.to_datetime(raw["Recorded_Date"], format="%d/%m/%Y", errors="coerce").dt.strftime("%Y-%m")
    vwi = (raw["Crime_Status"] == "Confirmed") & raw["HO_Class"].isin(VWI_CODES)
    return int((vwi & (recorded >= first) & (recorded <= last)).sum())


@pytest.fixture(scope="module")
def drops(tmp_path_factory, prefect_harness):
    from flows.monthly_refresh import monthly_refresh

    root = tmp_path_factory.mktemp("riverford")
    raw = root / "raw"
    generate_demo_data(raw)
    (root / "drops" / "mps").mkdir(parents=True)
    recoded = write_first_drop(raw, root / "drops")
    config = riverford_config(root / "riverford.yaml", "drops", "drops/mps/*.csv")
    states = {"held_back": monthly_refresh(str(config), month="2023-12", return_state=True)}
    states["after_held_back"] = sorted(p.name for p in root.glob("out*") for p in [p, *p.rglob("*")])
    states["nov"] = monthly_refresh(str(config), return_state=True)
    deliver_second_drop(raw, root / "drops")
    states["dec"] = monthly_refresh(str(config), return_state=True)
    return root, raw, recoded, states


def rolling(result: dict, theme: str = "vwi", level: str = "area") -> list[dict]:
    with duckdb.connect(result["warehouse"], read_only=True) as wh:
        cur = wh.execute("select * from rolling_summary where run_id = ? and theme = ? and unit_level = ? "
                         "order by unit_code", [result["run_id"], theme, level])
        return [dict(zip([d[0] for d in cur.description], row)) for row in cur.fetchall()]


def test_a_month_held_back_waits_for_data_and_publishes_nothing(drops):
    *_, states = drops
    held = states["held_back"]
    assert held.is_completed() and held.name == "Waiting for data"
    assert "December 2023" in held.message and "the record extract for the area: to November 2023, extract of 2023-12-05" in held.message
    # nothing published, no warehouse: only svna's own empty folders and their markers
    assert states["after_held_back"] == [monthly_outputs.MARKER, monthly_outputs.MARKER, "monthly", "out"]
    with duckdb.connect(states["dec"].result()["warehouse"], read_only=True) as wh:
        assert [str(r[0]) for r in wh.execute("select refresh_month from refresh_runs order by started_at").fetchall()] == [
            "2023-11-01", "2023-12-01"]


def test_november_from_the_first_drop(drops):
    root, _, _, states = drops
    nov = states["nov"].result()
    assert (nov["status"], nov["month"]) == (monthly.PUBLISHED, "2023-11")
    row = rolling(nov)[0]
    assert row["rolling_12m_count"] == recount_vwi(root / "drops" / "offences_2023-12-05.csv", "2022-12", "2023-11")
    assert row["previous_12m_count"] is None                    # Dec 2021 is not in the extract: no partial count
    assert "cover 12 of the 12 months to Nov 2023 and 11 of the 12 before" in row["definition"]
    assert row["same_month_last_year_count"] == recount_vwi(root / "drops" / "offences_2023-12-05.csv",
                                                             "2022-11", "2022-11")


def test_december_once_delivered(drops):
    root, raw, _, states = drops
    dec = states["dec"].result()
    assert (dec["status"], dec["month"]) == (monthly.PUBLISHED, "2023-12")
    full = next((raw / "extract").glob("offences_*.csv"))
    row = rolling(dec)[0]
    assert (row["rolling_12m_count"], row["previous_12m_count"]) == (recount_vwi(full, "2023-01", "2023-12"),
                                                                     recount_vwi(full, "2022-01", "2022-12"))
    assert row["source"] == "record_extract"
    mps = pd.read_csv(next((raw / "mps").glob("*.csv")))
    vwi = mps[mps["MinorText"] == "Violence with Injury"]
    comparator = rolling(dec, level="comparator")[0]
    assert comparator["rolling_12m_count"] == int(vwi[[f"2023{m:02d}" for m in range(1, 13)]].sum().sum())
    wards = rolling(dec, level="ward")
    assert len(wards) == 20                                     # every current ward, crimes or not
    assert 0.9 * row["rolling_12m_count"] <= sum(w["rolling_12m_count"] for w in wards) <= row["rolling_12m_count"]
    folder = root / "out" / "monthly" / "2023-12"
    assert openpyxl.load_workbook(folder / monthly_outputs.EXCEL_NAME, read_only=True).sheetnames == [
        "Contents", "Rolling 12 months", "Exceptions", "Revisions", "Definitions", "Caveats"]   # as the annual pack
    assert "In the 12 months to December 2023 there were" in (folder / "headlines.md").read_text()
    page = (folder / "report.html").read_text()                # the month's report.html (pipeline/report/annual_report.py)
    assert "The 12 months to December 2023 compared with the 12 before" in page
    assert f'<td class="n">{row["rolling_12m_count"]:,}</td>' in page
    assert (root / "out" / "monthly" / "2023-11" / "run.json").exists()          # November stays published


def test_crimes_reclassified_between_drops_are_revisions(drops):
    *_, states = drops
    dec = states["dec"].result()
    with duckdb.connect(dec["warehouse"], read_only=True) as wh:
        got = wh.execute("""select strftime(month_start, '%Y-%m'), change, previous_extract_file, revised_extract_file
                            from revisions where run_id = ? and unit_level = 'area' and theme = 'vwi'""",
                         [dec["run_id"]]).fetchall()
    assert got == [("2023-10", RECLASSIFIED, "offences_2023-12-05.csv", "offences_2024-01-15.csv")]


def test_exceptions_state_their_rule_and_reason(drops):
    _, _, _, states = drops
    dec = states["dec"].result()
    with duckdb.connect(dec["warehouse"], read_only=True) as wh:
        rows = wh.execute("select unit_level, rule, reason, q_value from monthly_exceptions where run_id = ?",
                          [dec["run_id"]]).fetchall()
    rules = {"above_upper_limit", "below_lower_limit", "eight_above_centre", "eight_below_centre",
             "two_of_three_above_warning", "two_of_three_below_warning"}
    for level, rule, reason, q in rows:
        assert rule in rules and re.match(r"^[A-Z][\w ()]+ in [\w &'-]+: ", reason)
        assert (q is not None) == (level == "ward")


def test_prefect_artifacts_hold_aggregates_only(drops):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["monthly-rolling-summary", "monthly-refresh"])))
    assert {a.key for a in artifacts} == {"monthly-rolling-summary", "monthly-refresh"}
    table = next(a for a in artifacts if a.key == "monthly-rolling-summary")
    assert "RF/" not in str(table.data)                          # no crime references, only area counts


def test_the_flow_runs_the_monthly_step_list_as_its_tasks(drops, task_order):
    from pipeline.runs.steps import task_names

    *_, states = drops
    steps = task_names(monthly.STEPS)
    assert task_order(states["dec"].state_details.flow_run_id, steps) == steps
    # a month whose files have not arrived ends after choosing it: nothing is built, checked or published
    waited = steps[:steps.index("choose-month") + 1]
    assert task_order(states["held_back"].state_details.flow_run_id, steps) == waited
