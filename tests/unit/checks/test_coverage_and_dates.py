"""Issue 7 item 6: the comparator covers both periods month by month; impossible dates are quarantined.

The tiny fixture (tests/conftest.py) has a two-borough MPS file (Tinytown, Otherton) for 2022-2023
and a record extract for Tinytown; the comparator is the sum over both boroughs.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pipeline.checks import gates
from pipeline.errors import InputError
from tests.helpers.dates import (
    build_to_coverage,
    quarantined_rules,
    reconciliation_row,
    write_offences_with,
    write_tiny_with_threshold,
)
from tests.helpers.tiny_inputs import TINY_OFFENCES, write_tiny_inputs


def _rewrite_mps(path: Path, drop_months: tuple[str, ...] = (), drop_boroughs: tuple[str, ...] = (),
                 name: str | None = None) -> Path:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    keep = [i for i, column in enumerate(rows[0]) if column not in drop_months]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if row[2] not in drop_boroughs:
            writer.writerow([row[i] for i in keep])
    target = path.with_name(name) if name else path
    target.write_text(out.getvalue())
    return target


def test_a_comparator_file_missing_a_month_stops_the_run_naming_file_and_month(tmp_path):
    config = write_tiny_inputs(tmp_path)
    # comparator only (no Tinytown rows), and June 2023 missing: today this silently drops a month of the force total
    _rewrite_mps(tmp_path / "mps.csv", drop_months=("202306",), drop_boroughs=("Tinytown",))
    cfg, con = build_to_coverage(config)
    with pytest.raises(InputError) as caught:
        gates.check_coverage(con, cfg)
    message = caught.value.message
    assert "mps.csv" in message and "'2023-06'" in message and "1 month(s)" in message
    assert "comparator (Demo Force)" in message


def test_a_full_comparator_file_passes(tmp_path):
    config = write_tiny_inputs(tmp_path)
    _rewrite_mps(tmp_path / "mps.csv", drop_boroughs=("Tinytown",))
    cfg, con = build_to_coverage(config)
    gates.check_coverage(con, cfg)
    # Otherton VWI: 13 in 2023 vs 9 in 2022
    assert con.execute("select comparator_pct_change from theme_summary where theme = 'vwi'").fetchone()[0] == 44.4


def test_a_month_missing_from_the_newest_file_but_in_an_older_one_is_covered(tmp_path):
    config = write_tiny_inputs(tmp_path)
    mps = tmp_path / "mps.csv"
    _rewrite_mps(mps, drop_months=("202306",), name="mps_extract2024-02.csv")  # newer, without June 2023
    _rewrite_mps(mps, name="mps_extract2024-01.csv")                          # older, complete
    mps.unlink()
    config.write_text(config.read_text().replace("paths: [mps.csv]", "paths: [mps_extract*.csv]"))
    cfg, con = build_to_coverage(config)
    gates.check_coverage(con, cfg)
    # June 2023 comes from the older file: Tinytown VWI 2 + Otherton 13 in 2023 vs 1 + 9 in 2022
    assert con.execute("select comparator_pct_change from theme_summary where theme = 'vwi'").fetchone()[0] == 50.0


def test_a_recorded_date_after_the_run_date_is_quarantined(tmp_path):
    # no extract date on the row, so recorded_after_extract cannot catch it: only the run date can
    config = write_offences_with(tmp_path, "F1,15/03/2024,8N,N,N,Confirmed,free text,\n")
    cfg, con = build_to_coverage(config, run_date="2024-03-01")
    offences = tmp_path / "extract" / "offences.csv"
    assert quarantined_rules(con, offences) == {"future_recorded_date": "recorded_date: 2024-03-15 > run date 2024-03-01"}
    assert reconciliation_row(con, offences) == (13, 12, 0, 1, True)
    gates.check_reconciliation(con, cfg)
    reason = con.execute("select reason from quarantine where rule = 'future_recorded_date'").fetchone()[0]
    assert "after the day of the run" in reason


def test_a_recorded_date_of_today_passes_and_build_sets_the_run_date(tmp_path):
    from datetime import date, timedelta

    tomorrow = date.today() + timedelta(days=1)
    rows = f"F1,{date.today():%d/%m/%Y},8N,N,N,Confirmed,free text,\nF2,{tomorrow:%d/%m/%Y},8N,N,N,Confirmed,free text,\n"
    config = write_offences_with(tmp_path, rows)
    cfg, con = build_to_coverage(config)  # assessment.build's own run date: today
    quarantined = con.execute("select crime_ref, rule from quarantine where input_table = 'offences'").fetchall()
    assert quarantined == [("F2", "future_recorded_date")]


def test_committed_to_before_committed_from_is_quarantined(tmp_path):
    header = "Crime No,Date Rec,Class,DA,Knife,State,Notes,Extracted,From,To"
    body = "".join(line + ",01/03/2023 10:00,01/03/2023 12:00\n" for line in TINY_OFFENCES.splitlines()[1:])
    config = write_tiny_with_threshold(tmp_path)
    offences = tmp_path / "extract" / "offences.csv"
    offences.write_text(header + "\n" + body + "B1,02/03/2023,8N,N,N,Confirmed,x,2024-01-10,02/03/2023 09:00,01/03/2023 23:00\n"
                        "B2,02/03/2023,8N,N,N,Confirmed,x,2024-01-10,02/03/2023 09:00,\n")
    profile = tmp_path / "tiny.yaml"
    profile.write_text(profile.read_text().replace("status: State}", "status: State, committed_from: From, committed_to: To}"))
    cfg, con = build_to_coverage(config)
    assert quarantined_rules(con, offences) == {
        "committed_to_before_from": "committed_to: 2023-03-01 23:00 < from 2023-03-02 09:00"}
    assert reconciliation_row(con, offences) == (14, 13, 0, 1, True)   # B2 (no committed-to) loads
    gates.check_reconciliation(con, cfg)
