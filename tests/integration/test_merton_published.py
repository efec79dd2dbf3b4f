"""Golden test: the CLI on the real London Datastore files reproduces Merton's published figures.

Published in the Merton Serious Violence Delivery Plan (January 2024), calendar 2022 vs 2021 (see
../shared/data/SOURCES.md): VWI 1,421 vs 1,222 (+16%) while the MPS rose 8%; personal robbery 464,
"just over 3% of all crime" (MPS +20%); sexual offences 417 vs 397 (published 416, +5%; MPS +6%);
VAP 4,354 = 31% of all 13,972 offences; VWI = 32% of VAP (32.6%, which the plan truncates).
"""

from __future__ import annotations

import json
import textwrap

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]


@pytest.fixture(scope="module")
def merton_run(tmp_path_factory, prefect_harness):
    root = tmp_path_factory.mktemp("merton")
    config = root / "merton.yaml"
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Merton, code: E09000024}}
        comparator: {{name: Metropolitan Police Service}}
        period: {{calendar_year: 2022}}
        inputs:
          - kind: mps_counts
            paths: [{SHARED_DATA}/mps_counts/borough/*extract2023-08.csv]
        output: out/merton-2022
        """))
    result = CliRunner().invoke(app, ["annual", "--config", str(config)])
    assert result.exit_code == 0, result.output
    out = root / "out" / "merton-2022"
    assert str(out) in result.output                     # the CLI says where the outputs went
    con = duckdb.connect(str(out / "svna.duckdb"), read_only=True)
    yield out, con
    con.close()


def summary(con, theme):
    cursor = con.execute("select * from theme_summary where theme = ?", [theme])
    return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))


def test_vwi(merton_run):
    r = summary(merton_run[1], "vwi")
    assert (r["count"], r["previous_count"]) == (1421, 1222)
    assert round(r["pct_change"]) == 16
    assert round(r["comparator_pct_change"]) == 8                    # MPS 71,908 -> 77,750
    assert r["change_flag"] == "significant_increase"


def test_personal_robbery(merton_run):
    r = summary(merton_run[1], "personal_robbery")
    assert r["count"] == 464
    assert 3.0 <= r["share_of_all_crime_pct"] < 3.5                  # "just over 3% of all crime"
    assert round(r["comparator_pct_change"]) == 20                   # MPS 20,955 -> 25,101


def test_sexual_offences(merton_run):
    r = summary(merton_run[1], "sexual_offences")
    assert (r["count"], r["previous_count"]) == (417, 397)
    assert round(r["pct_change"]) == 5 and round(r["comparator_pct_change"]) == 6


def test_vap_share_and_vwi_share_of_vap(merton_run):
    con = merton_run[1]
    vap, tno = summary(con, "vap"), summary(con, "all_crime")
    assert (vap["count"], tno["count"]) == (4354, 13972)
    assert round(vap["share_of_all_crime_pct"]) == 31
    share = con.execute("select share_of_vap_pct from theme_detail where theme = 'vwi'").fetchone()[0]
    assert int(share) == 32                                          # 32.6%: the plan truncates to 32%


def test_count_source_leaves_person_columns_null_and_says_why(merton_run):
    r = summary(merton_run[1], "vwi")
    assert r["victims_u25_pct"] is None and r["suspect_age_unknown_pct"] is None
    assert "MPS count files carry no ages" in r["definition"]
    themes = {t for (t,) in merton_run[1].execute("select theme from theme_summary").fetchall()}
    assert "domestic_abuse" not in themes                            # not invented as zero


def test_headline_sentence_and_manifest(merton_run):
    out = merton_run[0]
    text = (out / "headlines.md").read_text()
    assert ("There were 1,421 VWI offences, an increase of 16% (199 offences) on 2021's total of 1,222. "
            "For the MPS there was an increase of 8%.") in text
    assert text.count("In Merton in 2022, there were 13,972 notifiable offences") == 1      # area and year open the draft
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["outcome"] == "success" and len(manifest["inputs"]) == 2
    assert all(len(i["sha256"]) == 64 and i["rows_read"] > 0 for i in manifest["inputs"])
    run_ids = {r[0] for r in merton_run[1].execute("select distinct run_id from theme_summary").fetchall()}
    assert run_ids == {manifest["run_id"]}


def _recount(minor: str, year: int) -> int:
    """Merton's count of one MPS minor category in a calendar year, recounted from the files with pandas
    (the newest extract wins a month both files hold, as in the pipeline)."""
    import pandas as pd

    total = {}
    for path in sorted((SHARED_DATA / "mps_counts" / "borough").glob("*extract2023-08.csv"), reverse=True):
        frame = pd.read_csv(path)
        borough = [c for c in frame.columns if "Borough" in c][0]
        rows = frame[(frame[borough] == "Merton") & (frame["MinorText"].str.lower() == minor.lower())]
        for month in (f"{year}{m:02d}" for m in range(1, 13)):
            if month in rows and month not in total:
                total[month] = int(rows[month].sum())
    assert len(total) == 12
    return sum(total.values())


def test_trend_holds_every_year_the_files_cover(merton_run):
    con = merton_run[1]
    vwi = con.execute("select period_label, count, previous_count from trend where theme = 'vwi' "
                      "and area_role = 'area' order by year_offset").fetchall()
    assert [label for label, *_ in vwi] == [str(y) for y in range(2022, 2010, -1)]   # Apr 2010 start: 2011 is the first full year
    assert vwi[0][1:] == (1421, 1222)                                                 # the published figures
    assert vwi[4][1] == _recount("Violence with Injury", 2018)
    mps = con.execute("select count, previous_count from trend where theme = 'personal_robbery' "
                      "and area_role = 'comparator' and year_offset = 0").fetchone()
    assert mps == (25101, 20955)                                                       # MPS +20%, as published
    robbery = con.execute("select * from trend where theme = 'personal_robbery' and area_role = 'area' "
                          "and year_offset = 0").df().iloc[0]
    start = _recount("Robbery of Personal Property", 2018)
    assert (robbery.trend_years, robbery.trend_start_label, robbery.trend_start_count) == (5, "2018", start)
    assert robbery.trend_direction == "rising"
    text = (merton_run[0] / "headlines.md").read_text()
    assert f"In the MPS files, over the five years 2018 to 2022, personal robbery offences rose from {start} to 464" in text


def test_count_files_give_month_of_year_and_say_what_needs_an_extract(merton_run):
    con = merton_run[1]
    months = con.execute("select sum(weighted_count), count(*) from temporal_profile where theme = 'vwi' "
                         "and period_role = 'current' and view = 'month_of_year'").fetchone()
    assert months == (1421, 12)
    for mart in ("knife_crime_profile", "domestic_abuse_split", "repeat_victimisation", "victim_rates",
                 "deprivation_profile"):
        definitions = {r[0] for r in con.execute(f"select definition from {mart}").fetchall()}
        assert any("needs a record extract" in d for d in definitions), mart
    assert con.execute("select count(*) from knife_crime_profile where count is not null").fetchone()[0] == 0
    text = (merton_run[0] / "headlines.md").read_text()
    assert "need a record-level extract" in text


def test_report_html_from_count_files_only(merton_run):
    """report.html on count-only inputs: the plan's VWI sentence, a yearly trend and month-of-year chart,
    and a sentence (not a crash) where count files give nothing (times, victims, ward map)."""
    page = (merton_run[0] / "report.html").read_text()
    vwi = page.split('id="theme-vwi"', 1)[1].split("<section", 1)[0]
    assert "There were 1,421 VWI offences, an increase of 16% (199 offences) on 2021&#39;s total of 1,222." in page
    assert vwi.count('class="chart"') == 2                          # trend and seasonality
    assert "Not available from these inputs for this theme: day of week and hour, victims and suspects" in vwi
