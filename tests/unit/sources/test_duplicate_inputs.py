"""Issue 7 item 7: the same file named twice, or an identical copy under another name, counts once.

Runs the tiny fixture (tests/conftest.py) with its MPS and offence files named more than once and
compares every theme_summary figure with the run that names each file once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.checks import gates
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.tiny_inputs import write_tiny_inputs

SUMMARY = "select theme, count, previous_count, comparator_pct_change from theme_summary order by theme"


def _run(config: Path):
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    gates.check_coverage(con, cfg)
    gates.check_reconciliation(con, cfg)
    return con


def _edit(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))


def _baseline(tmp_path: Path) -> list[tuple]:
    con = _run(write_tiny_inputs(tmp_path / "once"))
    return con.execute(SUMMARY).fetchall()


def _inputs(con) -> list[tuple]:
    return con.execute("select regexp_extract(path, '[^/]+$'), role, times_listed, "
                       "regexp_extract(duplicate_of, '[^/]+$') from input_files "
                       "where kind <> 'reference' order by path, role").fetchall()


def test_same_mps_file_matched_by_two_patterns_is_read_once(tmp_path):
    config = write_tiny_inputs(tmp_path / "twice")
    _edit(config, "paths: [mps.csv]", "paths: [mps.csv, 'mps*.csv']")
    cfg = load_config(config)
    assert cfg.inputs[1].paths["counts"] == [tmp_path / "twice" / "mps.csv"]   # resolved once, in order
    con = _run(config)
    assert con.execute(SUMMARY).fetchall() == _baseline(tmp_path)
    assert ("mps.csv", "counts", 2, None) in _inputs(con)
    assert con.execute("select count(*) from quarantine_summary where input_table = 'counts'").fetchone()[0] == 1


def test_same_mps_file_in_two_inputs_is_read_once(tmp_path):
    config = write_tiny_inputs(tmp_path / "two_inputs")
    _edit(config, "paths: [mps.csv]\n", "paths: [mps.csv]\n  - kind: mps_counts\n    paths: [mps.csv]\n")
    con = _run(config)
    assert con.execute(SUMMARY).fetchall() == _baseline(tmp_path)
    assert ("mps.csv", "counts", 2, None) in _inputs(con)


def test_identical_mps_copy_under_another_name_is_noted_and_counted_once(tmp_path):
    config = write_tiny_inputs(tmp_path / "copy")
    shutil.copy(tmp_path / "copy" / "mps.csv", tmp_path / "copy" / "mps_copy.csv")
    _edit(config, "paths: [mps.csv]", "paths: [mps.csv, mps_copy.csv]")
    con = _run(config)
    assert con.execute(SUMMARY).fetchall() == _baseline(tmp_path)
    listed = _inputs(con)
    assert ("mps.csv", "counts", 1, None) in listed and ("mps_copy.csv", "counts", 1, "mps.csv") in listed
    note = con.execute("select note from quarantine_summary where source_file like '%mps_copy.csv'").fetchone()[0]
    assert note.startswith("identical to ") and note.endswith("mps.csv: not loaded again")


def test_same_offences_file_matched_by_two_globs_is_read_once(tmp_path):
    config = write_tiny_inputs(tmp_path / "offences")
    _edit(config, "offences: extract/offences.csv", "offences: [extract/offences.csv, 'extract/off*.csv']")
    con = _run(config)
    assert con.execute(SUMMARY).fetchall() == _baseline(tmp_path)
    assert ("offences.csv", "offences", 2, None) in _inputs(con)
    assert con.execute("select count(*) from stg_offences").fetchone()[0] == 12


def test_identical_offences_copy_is_noted_and_counted_once(tmp_path):
    config = write_tiny_inputs(tmp_path / "offences_copy")
    extract = tmp_path / "offences_copy" / "extract"
    shutil.copy(extract / "offences.csv", extract / "offences_saved_again.csv")
    _edit(config, "offences: extract/offences.csv", "offences: 'extract/offences*.csv'")
    con = _run(config)
    assert con.execute(SUMMARY).fetchall() == _baseline(tmp_path)
    assert ("offences_saved_again.csv", "offences", 1, "offences.csv") in _inputs(con)
