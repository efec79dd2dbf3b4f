"""The count-file rules on real London Datastore files: no real cell is quarantined, and overlapping
extracts reconcile cell by cell (every cell of an older file in a month a newer file covers is
superseded, the rest load)."""

from __future__ import annotations

import csv
import re

import pytest

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.bad_inputs import build_core, write_corpus_config
from tests.helpers.shared_data import SHARED_DATA, needs_shared_data

pytestmark = needs_shared_data
BOROUGH = SHARED_DATA / "mps_counts" / "borough"
OLDER = BOROUGH / "MPS_Borough_Level_Crime_most_recent_24_months_202103-202302_extract2023-03.csv"
NEWER = BOROUGH / "MPS_Borough_Level_Crime_most_recent_24_months_202108-202307_extract2023-08.csv"


def _cells(path, months: set[str] | None = None) -> int:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        columns = [c for c in header if re.fullmatch(r"\d{6}", c) and (months is None or c in months)]
        return sum(len(columns) for row in reader if any(row))


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mps")
    cfg = load_config(write_corpus_config(folder, [{"kind": "mps_counts", "paths": [str(OLDER), str(NEWER)]}],
                                   area={"name": "Merton", "code": "E09000024"}))
    con = db.connect()
    assessment.ingest(con, cfg)
    build_core(con, cfg)
    gates.check_reconciliation(con, cfg)
    yield con
    con.close()


def test_no_real_cell_is_quarantined(counts):
    assert counts.execute("select count(*) from quarantine").fetchone()[0] == 0


def test_overlapping_extracts_reconcile_cell_by_cell(counts):
    with open(NEWER, encoding="utf-8-sig") as f:
        newer_months = {c for c in next(csv.reader(f)) if re.fullmatch(r"\d{6}", c)}
    got = {row[0]: row[1:] for row in counts.execute(
        "select source_file, rows_read, rows_in, rows_loaded, rows_superseded, rows_quarantined, reconciled "
        "from quarantine_summary").fetchall()}
    older, newer = got[str(OLDER)], got[str(NEWER)]
    overlap = _cells(OLDER, newer_months)
    assert older == (_cells(OLDER), _cells(OLDER), _cells(OLDER) - overlap, overlap, 0, True)
    assert newer == (_cells(NEWER), _cells(NEWER), _cells(NEWER), 0, 0, True)
