"""Issue 8 item 5: one typed config module owns every section of a run config.

privacy, geography, temporal, monthly, reference options and extract periods are parsed by
pipeline.settings.config.load_config into frozen dataclasses on RunConfig, and a bad value stops loading
with the section and key named, before any step runs.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.settings import config, config_sections
from pipeline.settings.config import load_config
from tests.helpers.tiny_inputs import TEST_KEY_FILE, write_tiny_inputs


def _config_with(tmp_path: Path, extra: str) -> Path:
    path = write_tiny_inputs(tmp_path)
    path.write_text(path.read_text() + extra)
    return path


def test_every_section_is_parsed_into_typed_fields(tmp_path):
    path = _config_with(tmp_path, "geography: {snap_tolerance_m: 40, gi_permutations: 99}\n"
                                  "temporal: {max_window_hours: 168}\n"
                                  "monthly: {baseline_months: 30, seasonal_themes: vwi}\n")
    text = path.read_text()
    assert "    suspects: extract/suspects.csv\n" in text
    text = text.replace("    suspects: extract/suspects.csv\n", "    suspects: extract/suspects.csv\n"
                        "    extract_period: {start: 2022-01-01, end: 2023-12-31}\n")
    text = text.replace("paths: [mps.csv]", "paths: [mps.csv]\nreference:\n  population: {path: pop.csv, lsoa_column: LSOA}")
    path.write_text(text)
    (tmp_path / "pop.csv").write_text("LSOA,count\nE01000001,10\n")
    cfg = load_config(path)
    assert cfg.privacy == config_sections.PrivacySettings(key_file=TEST_KEY_FILE.resolve())
    assert (cfg.geography.snap_tolerance_m, cfg.geography.gi_permutations, cfg.geography.fdr_alpha) == (40.0, 99, 0.05)
    assert cfg.temporal.max_window_hours == 168.0
    assert cfg.monthly.baseline_months == 30 and cfg.monthly.seasonal_themes == ("vwi",)
    assert cfg.monthly.warehouse == cfg.output.with_name(cfg.output.name + "_monthly_warehouse.duckdb")
    assert cfg.reference_options == {"population": {"lsoa_column": "LSOA"}}
    extract = next(i for i in cfg.inputs if i.kind == "record_extract")
    assert extract.extract_period == {"start": date(2022, 1, 1), "end": date(2023, 12, 31)}
    for section in (cfg.privacy, cfg.geography, cfg.temporal, cfg.monthly):
        with pytest.raises(dataclasses.FrozenInstanceError):
            section.__setattr__(dataclasses.fields(section)[0].name, None)


def test_defaults_when_a_section_is_absent(tmp_path):
    cfg = load_config(write_tiny_inputs(tmp_path))
    assert cfg.geography == config_sections.GeographySettings() and cfg.temporal == config_sections.TemporalSettings()
    assert cfg.monthly.baseline_months == 24 and cfg.reference_options == {}


@pytest.mark.parametrize("extra, column, fragment", [
    ("temporal: {max_window_hours: 0.5}\n", "temporal.max_window_hours", "at least 1 hour"),
    ("temporal: {max_window_hours: lots}\n", "temporal.max_window_hours", "number of hours"),
    ("geography: {gi_permutations: many}\n", "geography.gi_permutations", "expected a number; found text"),
    ("monthly: {baseline_months: 12}\n", "monthly.baseline_months", "from 24 to 36"),
    ("monthly: {warehous: x.duckdb}\n", "monthly.warehous", "expected one of"),
])
def test_a_bad_section_value_stops_loading_naming_the_key(tmp_path, extra, column, fragment):
    with pytest.raises(InputError) as caught:
        load_config(_config_with(tmp_path, extra))
    assert caught.value.column == column and fragment in caught.value.message


def test_no_module_but_config_parses_a_config_section():
    """Consumers read typed fields: nothing outside pipeline/settings/config.py and config_sections.py reads cfg.raw's
    sections."""
    package = Path(config.__file__).parent
    for path in package.rglob("*.py"):
        if path.name in ("config.py", "config_sections.py"):
            continue
        text = path.read_text()
        for section in ("privacy", "geography", "temporal", "monthly", "reference", "inputs", "significance"):
            assert f'raw.get("{section}")' not in text and f"raw['{section}']" not in text, (path.name, section)
