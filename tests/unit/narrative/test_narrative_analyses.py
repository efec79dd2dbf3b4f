"""Sentences of issue 10 item 9: counts in words, absolute changes, shares against the previous year,
the opening, sub-areas."""

from __future__ import annotations

import duckdb

from pipeline.narrative import analyses, sentences


def test_counts_in_words():
    assert sentences.count_clause(0, "homicide", "homicide") == "There were no homicides"
    assert sentences.count_clause(1, "homicide", "homicide") == "There was 1 homicide offence"
    assert sentences.count_clause(1421, "VWI", "vwi") == "There were 1,421 VWI offences"
    assert sentences.count_clause(0, "personal robbery", "personal_robbery") == "There were no personal robbery offences"


def test_change_gives_the_absolute_change_and_unchanged_counts():
    assert sentences.change_phrase(5.0, "2021", 397, 417) == "an increase of 5% (20 offences) on 2021's total of 397"
    assert sentences.change_phrase(-10.0, "2021", 20, 18) == "a decrease of 10% (2 offences) on 2021's total of 20"
    assert sentences.change_phrase(0.0, "2021", 40, 40) == "unchanged from 2021's total"
    assert sentences.change_phrase(None, "2021", 3, 4) == "compared with 3 in 2021"       # no % on a base under 10


def test_shares_against_the_previous_year():
    assert sentences.share_change(26.0, 28.0, "2021", style="direction") == ", down from 28% in 2021"
    assert sentences.share_change(30.4, 28.0, "2021", style="direction") == ", up from 28% in 2021"
    assert sentences.share_change(28.2, 27.8, "2021") == ", unchanged from 2021"           # both 28%
    assert sentences.share_change(28.0, 30.0, "2021") == " compared to 30% in 2021"       # the plan's wording
    assert sentences.share_change(28.0, None, "2021") == ""


def test_opening_names_area_and_year():
    row = {"theme": "all_crime", "short_label": "notifiable", "count": 13972, "previous_count": 13000,
           "pct_change": 7.5, "comparator_pct_change": None, "change_flag": None, "share_of_all_crime_pct": 100.0,
           "victims_u25_pct": None, "suspects_u25_pct": None}
    text = sentences.theme_paragraph(row, None, {}, "2022", "2021", None, opening="In Merton in 2022, ")
    assert text.startswith("In Merton in 2022, there were 13,972 notifiable offences, an increase of 8% (972 offences)")


def test_sub_area_sentence_needs_four_of_the_top_five_wards():
    con = duckdb.connect()
    con.execute("create table seed_themes as select * from (values ('personal_robbery', 'personal robbery'), "
                "('sexual_offences', 'sexual'), ('vwi', 'VWI'), ('domestic_abuse', 'domestic abuse flagged'), "
                "('knife_crime', 'knife')) t(theme, short_label)")
    con.execute("create table ward_hotspots (ward_code varchar, sub_area varchar, theme varchar, count double)")
    wards = [("W1", "East"), ("W2", "East"), ("W3", "East"), ("W4", "East"), ("W5", "West"), ("W6", "West")]
    for theme, counts in (("personal_robbery", [50, 40, 30, 20, 15, 12]), ("sexual_offences", [30, 25, 20, 18, 40, 11]),
                          ("vwi", [50, 40, 90, 20, 80, 70])):
        con.executemany("insert into ward_hotspots values (?, ?, ?, ?)",
                        [(w, s, theme, c) for (w, s), c in zip(wards, counts)])
    sentence = analyses.sub_area_sentence(con)
    # robbery: top five W1-W5 (4 East); sexual: W5, W1, W2, W3, W4 (4 East); VWI: W3 W5 W6 W1 W2 (3 East): not said
    assert sentence == "Wards with the highest levels of personal robbery offences and sexual offences are in the East."


def test_theme_wording_comes_from_the_theme_seed():
    """The under-18 clause, the share of VAP and the DA share follow the seed's flags, not a theme id."""
    base = {"count": 40, "previous_count": 40, "pct_change": 0.0, "comparator_pct_change": None, "change_flag": None,
            "share_of_all_crime_pct": 2.0, "victims_u25_pct": None, "suspects_u25_pct": None}
    detail = {"victims_u18_pct": 40.0, "victims_known_age": 20, "share_of_vap_pct": 30.0, "da_share_pct": 25.0}
    rape = sentences.theme_paragraph({**base, "theme": "rape", "short_label": "rape"}, None, detail, "2022", "2021", None)
    vwi = sentences.theme_paragraph({**base, "theme": "vwi", "short_label": "VWI"}, None, detail, "2022", "2021", None)
    da = sentences.theme_paragraph({**base, "theme": "domestic_abuse", "short_label": "domestic abuse flagged"}, None,
                                   detail, "2022", "2021", None)
    assert "40% of rape victims with a known age were under 18." in rape and "under 18" not in vwi
    assert "VWI was 30% of Violence Against the Person." in vwi and "Violence Against the Person" not in rape
    assert "25% were flagged as domestic abuse related." in vwi and "flagged as domestic abuse" not in da
