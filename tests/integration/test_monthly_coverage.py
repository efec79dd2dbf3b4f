"""Issue 16 item 7: the monthly refresh runs the annual run's coverage gate, never reporting a missing
month as zero.

Demo: the full demo extract (extracted 15 January 2024) with every crime recorded in December 2023
removed, alone in the input folder with the full MPS file. Before the gate the refresh published
December as 0 ("down 100%") with 73 exceptions. Real data: the MPS March 2023 borough file with its
December 2022 column removed.
"""

from __future__ import annotations

import textwrap
from datetime import date

import pandas as pd
import pytest

from pipeline.demo.riverford import generate_demo_data
from pipeline.errors import InputError
from pipeline.runs import monthly
from tests.helpers.monthly import riverford_config
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = pytest.mark.integration
MAR23 = "MPS_Borough_Level_Crime_most_recent_24_months_202103-202302_extract2023-03.csv"


def nothing_published(root) -> bool:
    monthly_out = root / "out" / "monthly"
    return not any(p.is_dir() and not p.name.startswith(".") for p in monthly_out.iterdir()) and not any(
        root.rglob("*.duckdb"))


@pytest.fixture(scope="module")
def demo_without_december(tmp_path_factory):
    root = tmp_path_factory.mktemp("riverford-nodec")
    raw = root / "raw"
    generate_demo_data(raw)
    drop = root / "drop"
    drop.mkdir()
    source = next((raw / "extract").glob("offences_*.csv"))
    offences = pd.read_csv(source, dtype=str, keep_default_na=False)
    recorded = pd.to_datetime(offences["Recorded_Date"], format="%d/%m/%Y", errors="coerce")
    offences = offences[recorded.dt.strftime("%Y-%m") != "2023-12"]
    offences.to_csv(drop / source.name, index=False)
    for role in ("victims", "suspects"):
        path = next((raw / "extract").glob(f"{role}_*.csv"))
        people = pd.read_csv(path, dtype=str, keep_default_na=False)
        people[people["CRIS_Ref"].isin(set(offences["CRIS_Ref"]))].to_csv(drop / path.name, index=False)
    mps = next((raw / "mps").glob("*.csv"))
    assert "202312" in pd.read_csv(mps, nrows=0).columns         # the MPS counts do have December
    config = riverford_config(root / "riverford.yaml", "drop", str(mps))
    return root, config, source.name


def test_a_month_missing_from_the_extract_stops_the_refresh_naming_month_and_file(demo_without_december):
    root, config, offences_name = demo_without_december
    with pytest.raises(InputError) as caught:
        monthly.run_monthly(config)                              # the latest month: December 2023
    error = caught.value
    assert offences_name in error.file and error.column == "recorded_date" and error.examples == ["2023-12"]
    assert "record_extract inputs must cover every month of 12 months to Dec 2022 and 12 months to Dec 2023" in error.message
    assert nothing_published(root)


def test_a_scheduled_refresh_waits_for_its_month_instead(demo_without_december):
    root, config, offences_name = demo_without_december
    result = monthly.run_monthly(config, "due", today=date(2024, 1, 20))   # due: December 2023
    assert result.status == monthly.WAITING and result.output is None
    assert result.message.startswith("Waiting for data: December 2023 not in the inputs yet")
    assert offences_name in result.message
    assert nothing_published(root)


@pytest.fixture(scope="module")
def mps_without_december(tmp_path_factory):
    root = tmp_path_factory.mktemp("merton-nodec")
    (root / "drop").mkdir()
    frame = pd.read_csv(SHARED_DATA / "mps_counts" / "borough" / MAR23, dtype=str, keep_default_na=False)
    frame.drop(columns=["202212"]).to_csv(root / "drop" / MAR23, index=False)
    config = root / "merton.yaml"
    config.write_text(textwrap.dedent("""\
        area: {name: Merton, code: E09000024}
        comparator: {name: Metropolitan Police Service}
        inputs: [{kind: mps_counts, paths: [drop/*.csv]}]
        output: out
        """))
    return root, config


@needs_shared_data
@pytest.mark.parametrize("month, today", [(None, None), ("due", date(2023, 3, 15))], ids=["latest", "scheduled"])
def test_a_gap_in_the_real_mps_file_stops_the_refresh(mps_without_december, month, today):
    # February 2023 is delivered but December 2022 is not: waiting would not fill the gap, so even
    # the scheduled run stops (before the gate it published February with rolling counts left null)
    root, config = mps_without_december
    with pytest.raises(InputError) as caught:
        monthly.run_monthly(config, month, today=today)
    error = caught.value
    assert MAR23 in error.file and error.column == "YYYYMM columns" and "2022-12" in error.examples
    assert "must cover every month of 12 months to Feb 2022 and 12 months to Feb 2023" in error.message
    assert nothing_published(root)
