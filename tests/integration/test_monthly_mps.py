"""The monthly refresh on the real MPS borough files, delivered as successive monthly drops.

Delivery 1 (as of March 2023): the Historical file and the 24-month files extracted 2021-09 and
2023-03. Delivery 2 adds the 24-month file extracted 2023-08. Expected figures are pandas sums of
the raw files written here, not values the pipeline produced before.
"""

from __future__ import annotations

import hashlib
import textwrap
from datetime import date

import duckdb
import pandas as pd
import pytest

from pipeline.runs import monthly, monthly_outputs
from pipeline.settings import periods
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]
BOROUGH = SHARED_DATA / "mps_counts" / "borough"
HISTORICAL = "MPS_Borough_Level_Crime_Historical_201004-202107_extract2023-08.csv"
SEP21 = "MPS_Borough_Level_Crime_most_recent_24_months_201909-202108_extract2021-09.csv"
MAR23 = "MPS_Borough_Level_Crime_most_recent_24_months_202103-202302_extract2023-03.csv"
AUG23 = "MPS_Borough_Level_Crime_most_recent_24_months_202108-202307_extract2023-08.csv"


def months(first: str, last: str) -> list[str]:
    out, m = [], date(int(first[:4]), int(first[4:]), 1)
    while f"{m:%Y%m}" <= last:
        out.append(f"{m:%Y%m}")
        m = periods.add_months(m, 1)
    return out


def raw_vwi(file: str, columns: list[str], borough: str | None = "Merton") -> pd.Series:
    """Monthly VWI from one raw file: Merton's row, or every borough's (the MPS comparator)."""
    frame = pd.read_csv(BOROUGH / file)
    rows = frame[frame["MinorText"] == "Violence with Injury"]
    if borough:
        rows = rows[rows["LookUp_BoroughName"] == borough]
    return rows[columns].sum()


def newest(columns: list[str], files: list[str], borough: str | None = "Merton") -> int:
    """Sum of months, each from the newest extract (file) holding it: as a reader would do by hand."""
    total = 0
    for month in columns:
        for file in files:  # newest extract first
            if month in pd.read_csv(BOROUGH / file, nrows=0).columns:
                total += int(raw_vwi(file, [month], borough).sum())
                break
    return total


@pytest.fixture(scope="module")
def refreshes(tmp_path_factory):
    root = tmp_path_factory.mktemp("merton")
    drop = root / "drop"
    drop.mkdir()
    for name in (HISTORICAL, SEP21, MAR23):
        (drop / name).symlink_to(BOROUGH / name)
    config = root / "merton.yaml"
    config.write_text(textwrap.dedent("""\
        area: {name: Merton, code: E09000024}
        comparator: {name: Metropolitan Police Service}
        inputs: [{kind: mps_counts, paths: [drop/*.csv]}]
        output: out
        """))
    runs = {"feb": monthly.run_monthly(config)}               # default: the latest complete month
    (drop / AUG23).symlink_to(BOROUGH / AUG23)                # the next month's delivery arrives
    runs["jul"] = monthly.run_monthly(config)
    return root, config, runs


def summary(result, theme="vwi", level="area"):
    with duckdb.connect(str(result.warehouse), read_only=True) as wh:
        cur = wh.execute("select * from rolling_summary where run_id = ? and theme = ? and unit_level = ?",
                         [result.run_id, theme, level])
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))


def test_february_2023_from_the_march_2023_extract(refreshes):
    _, _, runs = refreshes
    feb = runs["feb"]
    assert (feb.status, feb.month) == (monthly.PUBLISHED, "2023-02")
    row = summary(feb)
    expected = int(raw_vwi(MAR23, months("202203", "202302")).sum())
    assert row["rolling_12m_count"] == expected == 1405          # the figure the issue quotes
    assert row["previous_12m_count"] == newest(months("202103", "202202"), [MAR23, HISTORICAL])
    assert (row["month_count"], row["same_month_last_year_count"]) == (
        int(raw_vwi(MAR23, ["202302"]).sum()), int(raw_vwi(MAR23, ["202202"]).sum()))
    mps = summary(feb, level="comparator")
    assert mps["rolling_12m_count"] == int(raw_vwi(MAR23, months("202203", "202302"), borough=None).sum())
    assert row["comparator_rolling_pct_change"] == mps["rolling_pct_change"]


def test_july_2023_from_the_august_2023_extract(refreshes):
    root, _, runs = refreshes
    jul = runs["jul"]
    assert (jul.status, jul.month) == (monthly.PUBLISHED, "2023-07")
    row = summary(jul)
    assert row["rolling_12m_count"] == int(raw_vwi(AUG23, months("202208", "202307")).sum()) == 1426
    assert row["previous_12m_count"] == int(raw_vwi(AUG23, months("202108", "202207")).sum())
    headlines = (root / "out" / "monthly" / "2023-07" / "headlines.md").read_text()
    assert ("In the 12 months to July 2023 there were 1,426 VWI offences, up 10% (128) on the previous 12 months; "
            "for the MPS") in headlines
    for name in ("rolling_summary", "monthly_exceptions", "revisions"):
        published = pd.read_parquet(root / "out" / "monthly" / "2023-07" / "tables" / f"{name}.parquet")
        assert set(published["run_id"]) <= {jul.run_id}
        assert (root / "out" / "monthly" / "2023-07" / "tables" / f"{name}.csv").exists()
    assert (root / "out" / "monthly" / "2023-07" / monthly_outputs.MARKER).exists()
    assert (root / "out" / "monthly" / "2023-02" / "headlines.md").exists()      # earlier months stay


def test_revisions_between_the_march_and_august_2023_extracts(refreshes):
    _, _, runs = refreshes
    overlap = months("202108", "202302")
    before, after = raw_vwi(MAR23, overlap), raw_vwi(AUG23, overlap)
    expected = {(f"{m[:4]}-{m[4:]}-01", int(before[m]), int(after[m])) for m in overlap if before[m] != after[m]}
    assert ("2023-01-01", 99, 101) in expected                  # the 1,405 -> 1,407 of the issue
    with duckdb.connect(str(runs["jul"].warehouse), read_only=True) as wh:
        got = wh.execute("""select strftime(month_start, '%Y-%m-%d'), previous_count, revised_count, change,
                                   previous_extract_file, revised_extract_file
                            from revisions where run_id = ? and theme = 'vwi' and unit_level = 'area'""",
                         [runs["jul"].run_id]).fetchall()
    assert {(m, p, r) for m, p, r, *_ in got} == expected
    assert all(c == r - p and pf == MAR23 and rf == AUG23 for _, p, r, c, pf, rf in got)


def folder_digest(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def table_counts(warehouse) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as wh:
        names = [r[0] for r in wh.execute("select table_name from duckdb_tables()").fetchall()]
        return {n: wh.execute(f"select count(*) from {n}").fetchone()[0] for n in names}


def test_rerun_on_the_same_inputs_changes_nothing(refreshes):
    root, config, runs = refreshes
    folder = root / "out" / "monthly" / "2023-07"
    before_files, before_tables = folder_digest(folder), table_counts(runs["jul"].warehouse)
    again = monthly.run_monthly(config, "2023-07")
    assert (again.status, again.run_id) == (monthly.UNCHANGED, runs["jul"].run_id)
    assert folder_digest(folder) == before_files
    assert table_counts(runs["jul"].warehouse) == before_tables


def test_a_newer_extract_of_a_month_supersedes_the_older_one(refreshes):
    root, config, runs = refreshes
    feb_again = monthly.run_monthly(config, "2023-02")        # now with the 2023-08 extract in the drop
    assert feb_again.status == monthly.PUBLISHED and feb_again.run_id != runs["feb"].run_id
    assert summary(feb_again)["rolling_12m_count"] == int(raw_vwi(AUG23, months("202203", "202302")).sum()) == 1407
    assert monthly_outputs.published_run_id(root / "out" / "monthly" / "2023-02") == feb_again.run_id
    with duckdb.connect(str(feb_again.warehouse), read_only=True) as wh:
        runs_for_feb = wh.execute("select run_id, extract_date from refresh_runs where refresh_month = '2023-02-01' "
                                  "order by extract_date").fetchall()
        current = wh.execute("select run_id from current_refreshes where refresh_month = '2023-02-01'").fetchone()[0]
        old_rows = wh.execute("select count(*) from rolling_summary where run_id = ?", [runs["feb"].run_id]).fetchone()[0]
    assert [r[0] for r in runs_for_feb] == [runs["feb"].run_id, feb_again.run_id]     # history kept
    assert [str(r[1]) for r in runs_for_feb] == ["2023-03-01", "2023-08-01"]
    assert current == feb_again.run_id and old_rows > 0


def test_a_month_not_yet_delivered_is_waiting_for_data(refreshes):
    root, config, runs = refreshes
    before = table_counts(runs["jul"].warehouse)
    waiting = monthly.run_monthly(config, "2023-08")
    assert waiting.status == monthly.WAITING and "August 2023" in waiting.message
    assert not (root / "out" / "monthly" / "2023-08").exists()
    assert table_counts(runs["jul"].warehouse) == before
