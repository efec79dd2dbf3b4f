"""Tiny record extracts with chosen recorded dates, built as far as the coverage and quarantine models."""

from __future__ import annotations

from pathlib import Path

from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.tiny_inputs import TINY_OFFENCES, write_tiny_inputs

# what the date tests and the gates read, and the models these read; not the other marts
COVERAGE_MODELS = ["quarantine_summary", "quarantine", "int_offences_current", "theme_summary"]


def build_to_coverage(config: Path, **variables):
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=COVERAGE_MODELS)
    if variables:  # rebuild with e.g. a fixed run date
        db.set_variables(con, variables)
        db.run_models(con, select=COVERAGE_MODELS, upstream=True)
    return cfg, con


def write_offences_with(tmp_path: Path, extra_rows: str) -> Path:
    config = write_tiny_with_threshold(tmp_path)
    (tmp_path / "extract" / "offences.csv").write_text(TINY_OFFENCES + extra_rows)
    return config


def quarantined_rules(con, path: Path) -> dict[str, str]:
    return dict(con.execute("select rule, failing_column || ': ' || failing_value from quarantine "
                            "where source_file = ? and input_table = 'offences'", [str(path)]).fetchall())


def reconciliation_row(con, path: Path) -> tuple:
    return con.execute("select rows_in, rows_loaded, rows_superseded, rows_quarantined, reconciled "
                       "from quarantine_summary where source_file = ? and input_table = 'offences'",
                       [str(path)]).fetchone()


def write_tiny_with_threshold(tmp_path: Path) -> Path:
    config = write_tiny_inputs(tmp_path)  # one bad row of 13 is over the default 5% threshold
    config.write_text(config.read_text() + "quarantine_threshold_pct: 20\n")
    return config

