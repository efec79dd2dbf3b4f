"""Issue 16 item 6: every run-config value is checked for its type (the error names the config file,
the key and the type found), and YAML anchors and aliases are refused (an alias bomb stops at once)."""

from __future__ import annotations

import time

import pytest
import yaml

from pipeline.errors import InputError
from pipeline.settings.config import DEMO_CONFIG, load_config
from pipeline.settings.config_types import check_run_config_types, load_yaml
from pipeline.sources.profiles import load_profile
from tests.helpers.config_edit import set_dotted
from tests.helpers.tiny_inputs import write_tiny_inputs

WRONG_TYPES = [  # key set, value, key named, expected, type found
    ("area.name", ["Merton", "Sutton"], "area.name", "expected text", "a list"),
    ("area.code", {"gss": "E09000024"}, "area.code", "expected text", "a mapping"),
    ("comparator.name", 7, "comparator.name", "expected text", "a whole number"),
    ("period.calendar_year", [2023], "period.calendar_year", "expected a year", "a list"),
    ("inputs.0.offences", {"file": "x.csv"}, "inputs[0].offences", "expected text or a list of text", "a mapping"),
    ("inputs.0.victims", ["a.csv", 3], "inputs[0].victims", "expected text or a list of text", "a list"),
    ("inputs.1.paths", True, "inputs[1].paths", "expected text or a list of text", "true/false"),
    ("significance.alpha", "small", "significance.alpha", "expected a number", "text"),
    ("quarantine_threshold_pct", [5], "quarantine_threshold_pct", "expected a number", "a list"),
    ("privacy.key_file", ["a", "b"], "privacy.key_file", "expected text", "a list"),
    ("output", {"path": "out"}, "output", "expected text", "a mapping"),
    ("reference.wards", {"path": ["w.geojson"]}, "reference.wards.path", "expected text", "a list"),
    ("reference.wards", 12, "reference.wards", "expected a file path", "a whole number"),
    ("geography.seed", "abc", "geography.seed", "expected a number", "text"),
    ("duckdb.threads", [2], "duckdb.threads", "expected text, a number or true/false", "a list"),
    ("monthly.baseline_months", 24.5, "monthly.baseline_months", "expected a whole number", "a number"),
    ("disclosure.min_count", "5", "disclosure.min_count", "expected a whole number", "text"),
    ("engine.n_workers", [2], "engine.n_workers", "expected a whole number", "a list"),
    ("tiers", {"restricted": True}, "tiers", "expected text or a list of text", "a mapping"),
    ("areas", 3, "areas", "expected text or a list of text", "a whole number"),
]


@pytest.mark.parametrize("key, value, named, expected, found", WRONG_TYPES, ids=[f"{t[0]}-{t[4]}" for t in WRONG_TYPES])
def test_a_value_of_the_wrong_type_names_the_file_key_and_type(tmp_path, key, value, named, expected, found):
    config = write_tiny_inputs(tmp_path)
    data = yaml.safe_load(config.read_text())
    set_dotted(data, key, value)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as caught:
        load_config(config)
    error = caught.value
    assert (error.file, error.column, error.found) == (str(config), named, found)
    assert error.rule.startswith(expected)


def test_configs_of_the_right_types_still_load(tmp_path):
    config = write_tiny_inputs(tmp_path)
    data = yaml.safe_load(config.read_text())
    for key, value in [("period.calendar_year", "2023"), ("reference.wards", {"path": "w.geojson", "crs": 27700}),
                       ("duckdb.threads", 2), ("tiers", "restricted"), ("monthly.seasonal_themes", True),
                       ("area.code", None)]:
        set_dotted(data, key, value)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_config(config).area_name == "Tinytown"
    shipped = [p for p in sorted(DEMO_CONFIG.parent.rglob("*.yaml")) if "area" in (yaml.safe_load(p.read_text()) or {})]
    assert DEMO_CONFIG in shipped
    for path in shipped:                           # every run config svna ships has the right types
        check_run_config_types(path, load_yaml(path.read_text(), path, "the run config"))


def _alias_bomb(levels: int = 9) -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded, from ~500 bytes."""
    lines = ["  name:", "    - &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"    - &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_under_area_name_is_refused_at_once(tmp_path):
    config = write_tiny_inputs(tmp_path)
    bomb = _alias_bomb()
    assert len(bomb) < 600
    config.write_text(config.read_text().replace("area: {name: Tinytown, code: E09000999}\n", "area:\n" + bomb))
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        load_config(config)
    assert time.monotonic() - started < 2
    assert caught.value.file == str(config) and "must not use YAML anchors or aliases" in caught.value.rule
    assert caught.value.found == "an anchor or alias at line 3, column 7"


def test_an_anchor_alone_or_an_alias_in_a_profile_is_refused(tmp_path):
    config = write_tiny_inputs(tmp_path)
    config.write_text(config.read_text().replace("comparator: {name: Demo Force}", "comparator: &c {name: Demo Force}"))
    with pytest.raises(InputError, match="anchors or aliases"):
        load_config(config)
    profile = tmp_path / "tiny.yaml"
    profile.write_text(profile.read_text().replace("victims:\n", "victims: &people\n").replace("suspects:\n", "suspects: *people\nx:\n"))
    with pytest.raises(InputError) as caught:
        load_profile(profile)
    assert caught.value.file == str(profile) and "a source profile must not use YAML anchors" in caught.value.rule
