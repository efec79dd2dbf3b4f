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
from tests.conftest import SHARED_DATA, needs_shared_data

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
    assert ("There were 1,421 VWI offences, an increase of 16% on 2021's total of 1,222. "
            "For the MPS there was an increase of 8%.") in text
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["outcome"] == "success" and len(manifest["inputs"]) == 2
    assert all(len(i["sha256"]) == 64 and i["rows_read"] > 0 for i in manifest["inputs"])
    run_ids = {r[0] for r in merton_run[1].execute("select distinct run_id from theme_summary").fetchall()}
    assert run_ids == {manifest["run_id"]}
