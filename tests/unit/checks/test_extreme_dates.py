"""Issue 16 item 7: extreme recorded dates are quarantined with a reason, never a crash.

Before the implausible_recorded_date rule a recorded date of 0001-01-01 loaded: the record extract
then "covered" every year back to year 1 with zero counts, the trend ran from a first year of none
(a null percentage change) and the narrative ended the run on abs(None).
"""

from __future__ import annotations

import duckdb

from pipeline.checks import gates
from pipeline.narrative.analyses import trend_sentence
from tests.helpers.dates import build_to_coverage, quarantined_rules, reconciliation_row, write_offences_with

EXTREMES = {  # crime ref -> (recorded date as written, the rule it must fail)
    "X1": ("0001-01-01", "implausible_recorded_date"),
    "X2": ("01/01/0001", "implausible_recorded_date"),
    "X3": ("31/12/1899", "implausible_recorded_date"),
    "X4": ("0000-01-01", "implausible_recorded_date"),      # DuckDB reads it as 1 BC
    "X5": ("9999-12-31", "recorded_after_extract"),
    "X6": ("31/12/9999 23:59", "recorded_after_extract"),
}


def test_extreme_recorded_dates_are_quarantined_with_their_rule(tmp_path):
    rows = "".join(f"{ref},{written},8N,N,N,Confirmed,free text,2024-01-10\n" for ref, (written, _) in EXTREMES.items())
    rows += "X7,01/01/1900,8N,N,N,Confirmed,free text,2024-01-10\n"   # the first plausible day loads
    config = write_offences_with(tmp_path, rows)
    config.write_text(config.read_text().replace("quarantine_threshold_pct: 20", "quarantine_threshold_pct: 50"))
    cfg, con = build_to_coverage(config, run_date="2024-03-01")
    offences = tmp_path / "extract" / "offences.csv"
    got = dict(con.execute("select crime_ref, rule from quarantine where input_table = 'offences'").fetchall())
    assert got == {ref: rule for ref, (_, rule) in EXTREMES.items()}
    assert quarantined_rules(con, offences)["implausible_recorded_date"].endswith(" before 1900-01-01")
    assert reconciliation_row(con, offences) == (12 + 7, 12 + 1, 0, 6, True)
    gates.check_reconciliation(con, cfg)
    assert con.execute("select min(event_date) from int_offences_current").fetchone()[0].year == 1900


def test_a_trend_from_a_first_year_of_none_reads_without_a_percentage():
    con = duckdb.connect()
    con.execute("""create table trend as select 'vwi' as theme, 'area' as area_role, 0 as year_offset, 5 as trend_years,
                   5 as years_in_series, 'record_extract' as source, 'rising' as trend_direction,
                   '2019' as trend_start_label, '2023' as period_label, 0 as trend_start_count, 40 as count,
                   cast(null as double) as trend_pct_change""")
    assert trend_sentence(con, "vwi", "VWI") == ("In the record extract, over the five years 2019 to 2023, VWI offences "
                                                 "rose from 0 to 40, "
                                                 "a change unlikely to be chance.")


def test_an_extreme_extract_date_is_quarantined(tmp_path):
    # an extract "taken" in 9999 would make the monthly refresh count every month to 9999 as covered
    rows = "E1,15/03/2023,8N,N,N,Confirmed,free text,9999-12-31\nE2,15/03/2023,8N,N,N,Confirmed,free text,0001-01-01\n"
    config = write_offences_with(tmp_path, rows)
    _, con = build_to_coverage(config, run_date="2024-03-01")
    offences = tmp_path / "extract" / "offences.csv"
    got = dict(con.execute("select crime_ref, rule from quarantine where input_table = 'offences'").fetchall())
    assert got == {"E1": "implausible_extract_date", "E2": "implausible_extract_date"}
    shown = con.execute("select failing_column || ': ' || failing_value from quarantine where crime_ref = 'E2'").fetchone()[0]
    assert shown == "extract_date: 0001-01-01 not in 1900-01-01..2024-03-01"
    assert reconciliation_row(con, offences) == (14, 12, 0, 2, True)
