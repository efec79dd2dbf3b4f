"""The report's priorities section (pipeline/report/priorities_section.py): top wards by count against top
wards by harm, and options grouped by ward."""

from __future__ import annotations

from pipeline.narrative import tasking
from pipeline.report import priorities_section


def ward(name: str, count: int, count_rank: int, harm: float | None, harm_rank: int | None) -> dict:
    return {"ward_code": name[:3].upper(), "ward_name": name, "count": count, "count_rank": count_rank,
            "harm_weighted_count": harm, "harm_rank": harm_rank}


def test_harm_weighting_that_brings_in_a_ward_says_which_enters_and_which_leaves():
    # six wards; by count A-E, by harm F (few crimes, serious ones) displaces E
    wards = [ward("A", 50, 1, 900, 1), ward("B", 40, 2, 800, 2), ward("C", 30, 3, 700, 3), ward("D", 20, 4, 600, 4),
             ward("E", 15, 5, 100, 6), ward("F", 5, 6, 500, 5)]
    c = priorities_section.harm_comparison(wards, "Knife crime")
    assert [w["ward_name"] for w in c["by_count"]] == ["A", "B", "C", "D", "E"]
    assert [w["ward_name"] for w in c["by_harm"]] == ["A", "B", "C", "D", "F"]
    assert c["verdict"] == "Harm weighting changes the top 5 wards for Knife crime: F enters and E leaves."


def test_same_wards_in_another_order_and_the_same_order_are_told_apart():
    same = [ward("A", 50, 1, 900, 1), ward("B", 40, 2, 800, 2)]
    assert priorities_section.harm_comparison(same, "VWI")["verdict"] == \
        "Harm weighting does not change the top 2 wards for VWI."
    swapped = [ward("A", 50, 1, 700, 2), ward("B", 40, 2, 800, 1)]
    assert priorities_section.harm_comparison(swapped, "VWI")["verdict"] == \
        "Harm weighting keeps the same top 2 wards for VWI, in a different order."


def test_no_comparison_where_harm_is_not_scored():
    assert priorities_section.harm_comparison([ward("A", 50, 1, None, None)], "Rape") is None


def test_an_option_drafted_for_several_wards_is_listed_once_with_them():
    rules = tasking.parse_rules([{"rule": "r", "level": "ward", "when_all": "count_rising",
                                  "option_type": "enforcement", "option_text": "Patrol"}])
    wards = [{"level": "ward", "ward_code": "A1", "ward_name": "North", "count_rising": True},
             {"level": "ward", "ward_code": "B1", "ward_name": "South", "count_rising": False},
             {"level": "ward", "ward_code": "C1", "ward_name": None, "count_rising": True}]
    assert priorities_section.ward_options(wards, rules) == [
        {"option_type": "enforcement", "text": "Patrol", "because": "more crimes than the previous period",
         "wards": ["North", "C1"]}]


def test_the_method_states_the_weights_in_use():
    text = " ".join(priorities_section.method({"weight_volume": 2, "weight_harm": 1, "weight_trend": 0.5,
                                               "weight_concentration": 1, "harm_min_coverage_pct": 80}))
    assert "volume 2, harm 1, trend 0.5, concentration 1" in text and "at least 80%" in text
