"""Issue 8 item 2: each quarantine rule is declared once, in sql/seeds/quarantine_rules.csv.

A rule added to a copy of the seed (one row, one condition) quarantines rows, appears in the
quarantine marts with its column, value and reason, and is checked by the Great Expectations suite,
with no other file changed.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from pipeline.checks import validation, validation_suites
from pipeline.errors import InputError
from pipeline.settings.config import SQL_DIR, load_config
from pipeline.transform import assessment, db, rules
from tests.helpers.tiny_inputs import TINY_OFFENCES, write_tiny_inputs

NEW_RULE = {
    "rule": "robbery_flagged_with_knife", "model": "int_offences_checked", "stage": "row", "column": "knife",
    "condition": "ho_code = '34B' and knife", "value": "knife_raw",
    "reason": "A test rule: personal robbery with the knife flag set",
}
# C3 is the tiny extract's one 2023 robbery with the knife flag; C9 is another, but recorded after the
# extract date, so the earlier rule recorded_after_extract wins (seed order is precedence)
EXTRA_ROW = "C9,01/08/2099,34B,N,Y,Confirmed,free text,2024-01-10\n"
CORE = ["quarantine_summary", "quarantine", "int_offences_current", "int_people_current", "int_mps_counts_current"]


def _sql_with_new_rule(tmp_path: Path) -> Path:
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    with open(sql / "seeds" / rules.SEED_NAME, "a", newline="") as f:
        csv.DictWriter(f, fieldnames=rules.COLUMNS, lineterminator="\n").writerow(NEW_RULE)
    return sql


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("new_rule")
    config = write_tiny_inputs(tmp_path)
    (tmp_path / "extract" / "offences.csv").write_text(TINY_OFFENCES + EXTRA_ROW)
    config.write_text(config.read_text() + "quarantine_threshold_pct: 20\n")
    sql = _sql_with_new_rule(tmp_path)
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.prepare(con, cfg, "test-run")
    db.load_seeds(con, sql / "seeds")
    db.run_models(con, select=CORE, upstream=True, sql_dir=sql)
    return con, cfg, tmp_path


def test_a_rule_added_as_one_seed_row_quarantines_its_rows(built):
    con = built[0]
    checked = dict(con.execute("select crime_ref, quarantine_rule from int_offences_checked "
                               "where crime_ref in ('C3', 'C9', 'P3')").fetchall())
    assert checked == {"C3": "robbery_flagged_with_knife", "C9": "recorded_after_extract", "P3": None}
    failed = con.execute("select failed_rules from int_offences_checked where crime_ref = 'C9'").fetchone()[0]
    assert failed[0] == "recorded_after_extract" and failed[-1] == "robbery_flagged_with_knife"
    assert con.execute("select count(*) from int_offences_current where crime_ref in ('C3', 'C9')").fetchone()[0] == 0


def test_the_new_rule_appears_in_the_quarantine_marts(built):
    con = built[0]
    rows = con.execute("select crime_ref, input_table, failing_column, failing_value, reason from quarantine "
                       "where rule = 'robbery_flagged_with_knife'").fetchall()
    assert rows == [("C3", "offences", "knife", "Y", NEW_RULE["reason"])]
    summary = con.execute("select rows_in, rows_loaded, rows_quarantined, reconciled, quarantine_rules "
                          "from quarantine_summary where input_table = 'offences'").fetchone()
    # 13 rows: C3 and C9 quarantined (one rule each), 11 loaded
    assert summary[:4] == (13, 11, 2, True)
    assert "robbery_flagged_with_knife: 1" in summary[4] and "recorded_after_extract: 1" in summary[4]


def test_the_new_rule_is_checked_by_great_expectations(built):
    con, cfg, tmp_path = built
    suites = {s.name: s for s in validation_suites.build_suites(con, cfg)}
    specs = [s for s in suites["offences"].specs if s.quarantine_rule == "robbery_flagged_with_knife"]
    assert len(specs) == 1 and specs[0].gate == "row" and specs[0].label == "knife"
    assert validation.validate(con, cfg, tmp_path / "docs")["suites"]["offences"]["success"] is True
    # a row the rule catches that the model let through stops the run, naming file, column, rule and value
    con.execute("begin")
    try:
        con.execute("update int_offences_checked set quarantine_rule = null where crime_ref = 'C3'")
        with pytest.raises(InputError) as caught:
            validation.validate(con, cfg, tmp_path / "tampered")
    finally:
        con.execute("rollback")
    message = caught.value.message
    assert "offences.csv" in message and "column 'knife'" in message
    assert "not quarantined by rule 'robbery_flagged_with_knife'" in message and "'C3: Y'" in message


def test_no_rule_is_written_outside_the_seed():
    """The checked models and the quarantine mart name no rule: every id comes from the seed."""
    seeded = {r.rule for r in rules.load_rules()}
    for path in [*SQL_DIR.glob("intermediate/int_*_checked.sql"), SQL_DIR / "marts" / "quarantine.sql"]:
        text = path.read_text()
        assert not [rule for rule in seeded if f"'{rule}'" in text], path.name
    sql_only = {"int_police_uk_checked", "int_fingertips_checked", "int_partner_checked"}   # kinds without suites
    assert validation_suites.not_mirrored() == {r.rule for r in rules.load_rules()
                                       if r.stage == "read" or r.model in sql_only} - {"missing_crime_ref"}


@pytest.mark.parametrize("change, fragment", [
    ({"condition": ""}, "needs a condition"),
    ({"stage": "later"}, "stage must be one of"),
    ({"value": "person_ref"}, "may not name a person column"),
    ({"reason": ""}, "needs a reason"),
    ({"rule": "Bad-Id"}, "lower-case letters"),
])
def test_a_malformed_rule_row_is_refused_naming_seed_line_and_rule(tmp_path, change, fragment):
    seed = _sql_with_new_rule(tmp_path) / "seeds" / rules.SEED_NAME
    lines = seed.read_text().splitlines()
    row = dict(NEW_RULE, **change)
    seed.write_text("\n".join(lines[:-1]) + "\n" + ",".join(f'"{row[c]}"' for c in rules.COLUMNS) + "\n")
    with pytest.raises(rules.RuleError) as caught:
        rules.load_rules(seed)
    assert fragment in str(caught.value) and f"line {len(lines)}" in str(caught.value)


TEST_MODEL = """-- int_test_checked
-- Grain: one row per line of a made-up input.
-- unique_key: source_file, source_row
with prepared as (
    select 'made_up.csv' as source_file, line as source_row, 'made_up' as input_table,
           cast(null as date) as source_month, 'M' || line as crime_ref, value
    from (values (1, 5), (2, -1), (3, 7)) as lines(line, value)
),

checked as (
    {{ checked_rows('prepared') }}
)

select * from checked
"""
TEST_RULE = {"rule": "negative_value", "model": "int_test_checked", "stage": "row", "column": "value",
             "condition": "value < 0", "value": "value", "reason": "A test rule: the value is negative"}


def test_a_new_checked_model_reaches_the_quarantine_by_its_model_and_seed_rows_only(built, tmp_path):
    """A new input kind's checked model and its rule: the shared tail and the quarantine union are rendered
    from the seed, so neither quarantine.sql nor rules.py changes."""
    con = built[0]
    sql = _sql_with_new_rule(tmp_path)
    (sql / "intermediate" / "int_test_checked.sql").write_text(TEST_MODEL)
    with open(sql / "seeds" / rules.SEED_NAME, "a", newline="") as f:
        csv.DictWriter(f, fieldnames=rules.COLUMNS, lineterminator="\n").writerow(TEST_RULE)
    db.load_seeds(con, sql / "seeds")
    try:
        db.run_models(con, select=["int_test_checked", "quarantine"], sql_dir=sql)
        assert con.execute("select source_row, failed_rules, quarantine_rule from int_test_checked order by 1"
                           ).fetchall() == [(1, [], None), (2, ["negative_value"], "negative_value"), (3, [], None)]
        rows = con.execute("select source_file, source_row, input_table, crime_ref, failing_column, failing_value, "
                           "reason from quarantine where rule = 'negative_value'").fetchall()
        assert rows == [("made_up.csv", 2, "made_up", "M2", "value", "-1", TEST_RULE["reason"])]
        assert con.execute("select count(*) from quarantine where rule = 'robbery_flagged_with_knife'").fetchone()[0] == 1
    finally:
        db.load_seeds(con, built[2] / "sql" / "seeds")   # the module's seed again, for the tests after this one
        db.run_models(con, select=["quarantine"], sql_dir=built[2] / "sql")
