"""Drafted tasking options (pipeline/narrative/tasking.py): the rules of sql/seeds/tasking_rules.csv fire on
the facts of a priorities row, and only on them."""

from __future__ import annotations

import pytest

from pipeline.errors import InputError
from pipeline.narrative import tasking

RULES = tasking.parse_rules([
    {"rule": "hot_rising", "level": "ward", "when_all": "persistent_hotspot and count_rising",
     "option_type": "enforcement", "option_text": "Problem-solving plan and patrol"},
    {"rule": "steady_top", "level": "ward", "when_all": "top_ward and not count_rising",
     "option_type": "prevention", "option_text": "Keep the neighbourhood team's presence"},
    {"rule": "young", "level": "theme", "when_all": "u25_over_represented",
     "option_type": "prevention", "option_text": "Schools and youth-service engagement"},
    {"rule": "repeats", "level": "theme", "when_all": "repeat_victims_high",
     "option_type": "prevention", "option_text": "Safeguarding referral review"},
])


def texts(row: dict) -> list[str]:
    return [o["text"] for o in tasking.options(row, RULES)]


def test_a_persistent_hot_spot_with_a_rising_count_gets_a_problem_solving_plan():
    row = {"level": "ward", "persistent_hotspot": True, "count_rising": True, "top_ward": True}
    options = tasking.options(row, RULES)
    assert [o["text"] for o in options] == ["Problem-solving plan and patrol"]
    assert options[0]["option_type"] == "enforcement"
    assert options[0]["because"] == "a hot spot in both periods; more crimes than the previous period"


def test_every_fact_of_a_rule_must_hold():
    assert texts({"level": "ward", "persistent_hotspot": True, "count_rising": False, "top_ward": False}) == []
    assert texts({"level": "ward", "persistent_hotspot": False, "count_rising": True, "top_ward": False}) == []


def test_a_negated_fact_fires_on_false_and_never_on_unknown():
    steady = {"level": "ward", "top_ward": True, "count_rising": False}
    assert texts(steady) == ["Keep the neighbourhood team's presence"]
    assert texts({"level": "ward", "top_ward": True, "count_rising": None}) == []


def test_an_unknown_fact_never_fires_a_rule():
    # a Gi* not computed (no points) is null: no patrol plan drafted on a guess
    assert texts({"level": "ward", "persistent_hotspot": None, "count_rising": True, "top_ward": False}) == []


def test_rules_apply_at_their_own_level_only():
    theme = {"level": "theme", "u25_over_represented": True, "repeat_victims_high": False,
             "persistent_hotspot": True, "count_rising": True}
    assert texts(theme) == ["Schools and youth-service engagement"]
    repeats = {**theme, "u25_over_represented": False, "repeat_victims_high": True}
    assert texts(repeats) == ["Safeguarding referral review"]


def test_a_non_boolean_value_is_not_a_fact():
    # the public tier's suppressed marker or a stray number must not read as true
    assert texts({"level": "theme", "u25_over_represented": 1}) == []
    assert texts({"level": "theme", "u25_over_represented": "true"}) == []


def test_the_seed_parses_and_uses_only_known_facts():
    rules = tasking.rules()
    assert rules and all(c.fact in tasking.FACTS for r in rules for c in r.conditions)
    assert {r.option_type for r in rules} <= set(tasking.OPTION_TYPES)


@pytest.mark.parametrize("column, value, expected", [
    ("when_all", "hotspot and count_rising", "when_all"),
    ("level", "borough", "level"),
    ("option_type", "arrest", "option_type"),
])
def test_a_bad_rule_names_the_file_the_column_and_the_rule(column, value, expected):
    row = {"rule": "bad_rule", "level": "ward", "when_all": "count_rising", "option_type": "prevention",
           "option_text": "Something", column: value}
    with pytest.raises(InputError) as error:
        tasking.parse_rules([row])
    assert error.value.file.endswith("tasking_rules.csv") and error.value.column == expected
    assert "bad_rule" in error.value.rule


def test_a_rule_without_text_is_refused():
    with pytest.raises(InputError, match="option_text"):
        tasking.parse_rules([{"rule": "empty", "level": "theme", "when_all": "count_rising",
                              "option_type": "prevention", "option_text": " "}])
