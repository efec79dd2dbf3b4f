"""The bad-input corpus (tests/data/bad_inputs, manifest.yaml): run configs over its files and a
build restricted to the quarantine and reconciliation models."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from pipeline.settings.config import RunConfig
from pipeline.transform import assessment, db
from tests.helpers.tiny_inputs import TEST_KEY_FILE

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"


MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text())


# models the checks read; geography reference tables are loaded only if one of them needs them
CORE_MODELS = ("quarantine_summary", "quarantine", "int_offences_current", "int_people_current", "int_mps_counts_current")


def corpus_paths(item: dict) -> dict:
    out = {}
    for key, value in item.items():
        if key in ("offences", "victims", "suspects", "paths", "profile"):
            value = [str(CORPUS / v) for v in value] if isinstance(value, list) else str(CORPUS / value)
        out[key] = value
    return out


def write_corpus_config(folder: Path, inputs: list[dict], **overrides) -> Path:
    """A run config over corpus files (absolute paths), written into `folder`."""
    config = {**MANIFEST["defaults"], "privacy": {"key_file": str(TEST_KEY_FILE)},
              "inputs": [corpus_paths(i) for i in inputs], "output": str(folder / "out")}
    for key, value in overrides.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def build_core(con: duckdb.DuckDBPyConnection, cfg: RunConfig, run_id: str = "test-run", reference: bool = True) -> None:
    """assessment.build restricted to the quarantine and reconciliation models and what they read (fast,
    and independent of the marts). `reference=False` reuses reference tables already on the connection."""
    assessment.prepare(con, cfg, run_id, reference=reference)
    db.run_models(con, select=list(CORE_MODELS), upstream=True)

