"""Reconciliation that can fail: superseded rows are counted directly, so a valid row that a model
loses makes the run stop instead of passing as "superseded" (issue 8 item 3)."""

from __future__ import annotations

import pytest

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.bad_inputs import build_core
from tests.helpers.tiny_inputs import write_tiny_inputs


@pytest.fixture
def built(tmp_path):
    cfg = load_config(write_tiny_inputs(tmp_path))
    con = db.connect()
    assessment.ingest(con, cfg)
    build_core(con, cfg)
    return con, cfg


def test_the_tiny_extract_reconciles(built):
    con, cfg = built
    gates.check_reconciliation(con, cfg)
    assert con.execute("select bool_and(reconciled), sum(rows_superseded) from quarantine_summary").fetchone() == (True, 0)


@pytest.mark.parametrize("table, where", [
    ("int_offences_current", "crime_ref = 'C2'"),
    ("int_people_current", "crime_ref = 'C2' and person_role = 'victim'"),
    ("int_mps_counts_current", "month_start = date '2023-06-01'"),
])
def test_a_valid_row_dropped_on_purpose_fails_the_run(built, table, where):
    con, cfg = built
    con.execute(f"delete from {table} where {where}")
    db.run_models(con, select=["int_superseded_rows", "quarantine_summary"])   # rebuilt on the damaged table
    row = con.execute("select rows_in, rows_loaded, rows_superseded, rows_quarantined from quarantine_summary "
                      "where not reconciled").fetchone()
    assert row is not None and row[0] > row[1] + row[2] + row[3]
    with pytest.raises(RuntimeError, match="do not reconcile"):
        gates.check_reconciliation(con, cfg)
