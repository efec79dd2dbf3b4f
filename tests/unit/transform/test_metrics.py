"""Every theme_summary / theme_detail metric on the tiny extract, against figures worked by hand.

The tiny extract (tests/conftest.py), calendar 2023 vs 2022:
  2023: C1 8N DA (victim 20, suspect 30) · C2 8N knife (victims 40 and 17, suspect age 'Unknown') ·
        C3 34B knife (victim 16, no suspect) · C4 19C DA (victim 15, suspect 22) · C5 49 (victim age
        blank, no suspect) · C6 3B (victim 30, suspect 19) · C7 8N cancelled (never counted) ·
        C8 4.1 manslaughter (victim 50, suspect 45)
  2022: P1 8N (victim 30) · P2 49 · P3 34B (victim 22) · P4 20A (victim 19)
"""

from __future__ import annotations

import pytest

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.tiny_inputs import write_tiny_inputs


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    cfg = load_config(write_tiny_inputs(tmp_path_factory.mktemp("tiny")))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    gates.check_coverage(con, cfg)
    gates.check_reconciliation(con, cfg)
    yield con
    con.close()


def row(con, table, theme):
    cursor = con.execute(f"select * from {table} where theme = ?", [theme])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


@pytest.mark.parametrize("theme, current, previous", [
    ("all_crime", 7, 4),          # C7 cancelled is excluded
    ("vap", 4, 1),                # C1 C2 C6 C8 / P1
    ("vwi", 2, 1),
    ("homicide", 1, 0),           # '4.1' normalised to 4/1
    ("personal_robbery", 1, 1),
    ("sexual_offences", 1, 1),
    ("rape", 1, 0),
    ("domestic_abuse", 2, 0),
    ("knife_crime", 2, 0),        # C2 (8N + knife) and C3 (34B + knife)
    ("serious_violence", 5, 2),   # C1 C2 C3 C6 (person < 25) + C4 (sexual); P3 (victim 22) + P4 (sexual)
])
def test_counts_by_theme(marts, theme, current, previous):
    r = row(marts, "theme_summary", theme)
    assert (r["count"], r["previous_count"], r["change"]) == (current, previous, current - previous)


def test_vwi_row_worked_by_hand(marts):
    r = row(marts, "theme_summary", "vwi")
    assert r["pct_change"] == 100.0
    assert r["comparator_pct_change"] == 50.0           # (2+13) vs (1+9) across both boroughs
    assert r["share_of_all_crime_pct"] == 28.6          # 2 / 7
    assert r["victims_u25_pct"] == 66.7                 # 20 and 17 of (20, 40, 17)
    assert r["victim_age_unknown_pct"] == 0.0
    assert r["suspects_u25_pct"] == 0.0                 # the one known suspect age is 30
    assert r["suspect_age_unknown_pct"] == 50.0         # C2's suspect has no age
    assert r["poisson_z"] == round(2 * (2 ** 0.5 - 1), 2)
    assert r["p_value"] == 1.0                          # 2 vs 1: both tails of Binomial(3, 1/2) exceed 1/2
    assert r["change_flag"] == "too_few_to_test"        # 3 crimes in the two years: never flagged
    assert r["period_label"] == "2023" and str(r["period_start"]) == "2023-01-01"
    assert r["run_id"] == "test-run" and r["area_code"] == "E09000999"
    assert r["definition"].startswith("source: record_extract")


def test_all_crime_people_shares(marts):
    r = row(marts, "theme_summary", "all_crime")
    assert r["pct_change"] == 75.0
    assert r["victims_u25_pct"] == 57.1                 # 4 of 7 known ages
    assert r["victim_age_unknown_pct"] == 12.5          # 1 of 8 victims
    assert r["suspects_u25_pct"] == 50.0                # 22 and 19 of (30, 22, 19, 45)
    assert r["suspect_age_unknown_pct"] == 42.9         # C3, C5 no suspect + C2 age unknown = 3 of 7
    assert r["comparator_pct_change"] == 0.0            # all crime: (2+13) in 2023 vs (1+9+5) in 2022


def test_rape_previous_zero_gives_null_change(marts):
    r = row(marts, "theme_summary", "rape")
    assert r["pct_change"] is None
    assert r["comparator_pct_change"] is None           # no rape rows in the comparator file... only VWI/theft
    assert "comparator" in r["definition"]


def test_theme_detail(marts):
    vwi = row(marts, "theme_detail", "vwi")
    assert vwi["share_of_vap_pct"] == 50.0              # 2 of 4 VAP
    assert vwi["knife_offences"] == 1 and vwi["da_offences"] == 1
    all_crime = row(marts, "theme_detail", "all_crime")
    assert all_crime["da_share_pct"] == 28.6            # 2 of 7
    assert all_crime["suspect_none_recorded_pct"] == 28.6   # C3, C5
    assert all_crime["suspect_age_missing_pct"] == 14.3     # C2
    rape = row(marts, "theme_detail", "rape")
    assert rape["victims_u18_pct"] == 100.0


def test_people_profile_keeps_unknowns(marts):
    rows = marts.execute("select category, count from people_profile where theme = 'all_crime' and "
                         "period_role = 'current' and person_role = 'victim' and dimension = 'age_band' "
                         "order by category").fetchall()
    assert dict(rows) == {"0-17": 3, "18-24": 1, "25-34": 1, "35-49": 1, "50-64": 1, "65+": 0, "unknown": 1}


def test_every_row_reconciles_and_free_text_is_never_loaded(marts):
    summary = marts.execute("select input_table, rows_in, rows_loaded, rows_superseded, rows_quarantined, reconciled "
                            "from quarantine_summary order by input_table").fetchall()
    tables = {r[0]: r for r in summary}
    assert tables["offences"][1:5] == (12, 12, 0, 0)
    assert tables["victims"][1:5] == (11, 11, 0, 0)
    assert all(r[5] for r in summary)
    columns = {c[0] for c in marts.execute("select column_name from information_schema.columns").fetchall()}
    assert not {"Notes", "Name", "notes", "name"} & columns
    mart_columns = {c[0] for c in marts.execute("select column_name from information_schema.columns where table_name "
                                                "in (select unnest(?))", [list(db.load_models(("marts",)))]).fetchall()}
    assert "unit" not in mart_columns   # a multi-area run adds its own `unit` column to every mart it stacks
    refs = [r[0] for r in marts.execute("select person_ref from int_people_current").fetchall()]
    assert "VA" not in refs and all(len(r) == 20 for r in refs)   # keyed hashes, not the source ids
