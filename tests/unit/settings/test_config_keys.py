"""Issue 7 item 8: an unknown key anywhere in a run config or a profile stops the run, naming the key
and the keys allowed there (today a misspelt or misplaced key is silently ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.errors import InputError
from pipeline.settings import config_sections as config_module
from pipeline.settings.config import DEMO_CONFIG, PROJECT_ROOT, load_config
from pipeline.sources.profiles import load_profile
from tests.helpers.config_edit import set_dotted
from tests.helpers.tiny_inputs import write_tiny_inputs

RUN_CONFIG_TYPOS = [
    ("outptu", "out", "outptu", "area, comparator, period, date_basis, inputs, reference, geography"),
    ("area.nmae", "Tinytown", "area.nmae", "name, code"),
    ("comparator.code", "E999", "comparator.code", "name"),
    ("period.calender_year", 2023, "period.calender_year", "calendar_year, financial_year, rolling_12m_to, start, end"),
    ("significance.z_threshold", 3, "significance.z_threshold", "alpha, min_total"),
    ("privacy.keyfile", "key", "privacy.keyfile", "key_file"),
    ("inputs.0.xlsx", {"sheet": "Crimes"}, "inputs[0].xlsx", "kind, profile, offences, victims, suspects, extract_period"),
    ("inputs.1.profile", "tiny.yaml", "inputs[1].profile", "kind, paths"),
    ("inputs.0.extract_period", {"start": "2022-01-01", "finish": "2023-12-31"}, "inputs[0].extract_period.finish",
     "start, end"),
    ("reference.wardz", "wards.geojson", "reference.wardz", "wards, lsoas, lsoa_to_ward, population"),
    ("reference.wards", {"path": "wards.geojson", "code_col": "WD22CD"}, "reference.wards.code_col",
     "path, layer, crs, code_column, name_column"),
    ("reference.population", {"path": "p.csv", "layer": "x"}, "reference.population.layer",
     "path, lsoa_column, age_column, count_column"),
    ("geography.snap", 10, "geography.snap", "fdr_alpha, gi_min_crimes"),
    ("disclosure.min_cout", 5, "disclosure.min_cout", "min_count, sensitive_min_count, round_to"),
]


@pytest.mark.parametrize("key, value, named, allowed", RUN_CONFIG_TYPOS, ids=[t[0] for t in RUN_CONFIG_TYPOS])
def test_an_unknown_run_config_key_names_the_key_and_the_allowed_keys(tmp_path, key, value, named, allowed):
    config = write_tiny_inputs(tmp_path)
    data = yaml.safe_load(config.read_text())
    set_dotted(data, key, value)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as caught:
        load_config(config)
    error = caught.value
    assert error.file == str(config)
    assert error.column == named
    assert error.found == f"unknown key {named.rsplit('.', 1)[-1].split(']')[-1]!r}"
    assert allowed in error.rule and error.rule.startswith("expected one of")


PROFILE_TYPOS = [
    ("layuot", "linked", "layuot", "name, description, layout, encoding, delimiter, xlsx"),
    ("xlsx", {"sheets": "Crimes"}, "xlsx.sheets", "sheet, header_row"),
    ("extract_date", {"col": "Extracted"}, "extract_date.col", "column, from_filename"),
    ("extract_period", {"begin": "2022-01-01", "end": "2023-12-31"}, "extract_period.begin", "start, end"),
    ("values.flags", {"Y": True}, "values.flags", "flag, status, sex, age, ethnicity, ho_code"),
    ("offences.column", {"crime_ref": "Crime No"}, "offences.column", "columns, drop, xlsx"),
    ("victims.xlxs", {"sheet": "Victims"}, "victims.xlxs", "columns, drop, xlsx"),
    ("suspects.xlsx", {"sheet": "Suspects", "header": 2}, "suspects.xlsx.header", "sheet, header_row"),
]


@pytest.mark.parametrize("key, value, named, allowed", PROFILE_TYPOS, ids=[t[0] for t in PROFILE_TYPOS])
def test_an_unknown_profile_key_names_the_key_and_the_allowed_keys(tmp_path, key, value, named, allowed):
    write_tiny_inputs(tmp_path)
    profile = tmp_path / "tiny.yaml"
    data = yaml.safe_load(profile.read_text())
    set_dotted(data, key, value)
    profile.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as caught:
        load_profile(profile)
    error = caught.value
    assert (error.file, error.column) == (str(profile), named)
    assert error.found == f"unknown key {named.rsplit('.', 1)[-1]!r}"
    assert allowed in error.rule and error.rule.startswith("expected one of")


def test_a_section_that_is_not_a_mapping_is_refused(tmp_path):
    config = write_tiny_inputs(tmp_path)
    text = config.read_text()
    config.write_text(text[:text.index("privacy:")] + "privacy: demo\n" + text[text.index("output:"):])
    with pytest.raises(InputError, match="column 'privacy': expected a mapping with keys key_file; found str"):
        load_config(config)


def test_the_demo_config_and_every_shipped_profile_use_only_known_keys():
    config_module.check_run_config_keys(DEMO_CONFIG, yaml.safe_load(DEMO_CONFIG.read_text()))
    for profile in sorted((PROJECT_ROOT / "config" / "profiles").glob("*.yaml")):
        load_profile(profile)


def test_every_config_and_profile_in_the_tests_uses_only_known_keys(tmp_path):
    load_config(write_tiny_inputs(tmp_path))
    corpus = Path(__file__).resolve().parents[2] / "data" / "bad_inputs"
    failing_on_purpose = {"broken.yaml", "corpus_maps_dropped.yaml", "corpus_unknown_key.yaml"}
    for profile in sorted((corpus / "profiles").glob("*.yaml")):
        if profile.name not in failing_on_purpose:
            load_profile(profile)
    manifest = yaml.safe_load((corpus / "manifest.yaml").read_text())
    for case in manifest["cases"]:
        if any("unknown key" in fragment for fragment in case["expect"].get("error", [])):
            continue  # e23_unknown_config_key: the corpus case for this very error
        raw = {**manifest["defaults"], "inputs": case["inputs"], "output": "out", **case.get("config", {})}
        config_module.check_run_config_keys(corpus / "manifest.yaml", {k: v for k, v in raw.items() if v is not None})
