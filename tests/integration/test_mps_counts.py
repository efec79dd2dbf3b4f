"""MPS count files: several extracts per run, both classifications, the newer extract wins per month."""

from __future__ import annotations

import textwrap

import pytest

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]
BOROUGH = SHARED_DATA / "mps_counts" / "borough"
AUG23 = ["MPS_Borough_Level_Crime_Historical_201004-202107_extract2023-08.csv",
         "MPS_Borough_Level_Crime_most_recent_24_months_202108-202307_extract2023-08.csv"]
SEP21 = "MPS_Borough_Level_Crime_most_recent_24_months_201909-202108_extract2021-09.csv"
NEWCLASS = ["MPS_Borough_Level_Crime_Historical_201004-202302_newclass_extract2025-03.csv",
            "MPS_Borough_Level_Crime_most_recent_24_months_202303-202502_newclass_extract2025-03.csv"]


def theme_counts(tmp_path, files, period="{calendar_year: 2021}"):
    config = tmp_path / f"run{len(list(tmp_path.iterdir()))}.yaml"
    paths = ", ".join(str(BOROUGH / f) for f in files)
    config.write_text(textwrap.dedent(f"""\
        area: {{name: Merton, code: E09000024}}
        comparator: {{name: Metropolitan Police Service}}
        period: {period}
        inputs: [{{kind: mps_counts, paths: [{paths}]}}]
        """))
    cfg = load_config(config)
    with db.connect() as con:
        assessment.ingest(con, cfg)
        # the two tables read below, what they read and the gates need; not the rest of the marts
        assessment.build(con, cfg, "t", select=["theme_summary", "quarantine_summary"])
        gates.check_coverage(con, cfg)
        gates.check_reconciliation(con, cfg)
        counts = {r[0]: r[1:] for r in con.execute(
            "select theme, count, previous_count, comparator_pct_change from theme_summary").fetchall()}
        superseded = con.execute("select sum(rows_superseded) from quarantine_summary").fetchone()[0]
    return counts, superseded


def test_overlapping_older_extract_is_superseded(tmp_path):
    alone, none_superseded = theme_counts(tmp_path, AUG23)
    with_older, superseded = theme_counts(tmp_path, AUG23 + [SEP21])
    assert with_older == alone                 # the 2021-09 extract's overlapping months lose to 2023-08
    assert none_superseded == 0 and superseded > 0


def test_newer_classification_replaces_months_without_double_counting(tmp_path):
    old, _ = theme_counts(tmp_path, AUG23, "{calendar_year: 2022}")
    new_only, _ = theme_counts(tmp_path, NEWCLASS, "{calendar_year: 2022}")
    mixed, _ = theme_counts(tmp_path, AUG23 + NEWCLASS, "{calendar_year: 2022}")
    assert mixed == new_only                   # 2025-03 extract wins every month it covers
    assert abs(new_only["vwi"][0] - old["vwi"][0]) < 0.1 * old["vwi"][0]    # revisions, not a doubling


def test_2024_classification_period(tmp_path):
    counts, _ = theme_counts(tmp_path, NEWCLASS, "{rolling_12m_to: 2025-02}")
    assert {"all_crime", "vap", "vwi", "personal_robbery", "sexual_offences", "rape"} <= set(counts)
    assert all(c[0] > 0 for t, c in counts.items() if t != "homicide")
    assert counts["rape"][0] <= counts["sexual_offences"][0] <= counts["all_crime"][0]


def test_period_outside_the_files_is_refused(tmp_path):
    from pipeline.errors import InputError

    with pytest.raises(InputError, match="must cover every month"):
        theme_counts(tmp_path, AUG23, "{calendar_year: 2024}")
