"""A period compared with a shorter one is never shown as a change (issue 12 item 4), on real data.

The London Datastore ward file of 2022 wards (April 2021 to March 2023) holds 9 months of 2021 and
12 of 2022: Wandle's personal robbery was 3 in those 9 months and 31 in 2022, which ward_summary used
to show as +933%. The borough file of March 2021 to February 2023 holds 10 months of 2021.
"""

from __future__ import annotations

import html
import re

import pytest

from pipeline.settings.config import load_config
from tests.helpers.merton import WARD_FILE_2022, build_merton, merton_config
from tests.helpers.shared_data import needs_shared_data

pytestmark = [needs_shared_data, pytest.mark.integration]

BOROUGH_24_MONTHS = "mps_counts/borough/MPS_Borough_Level_Crime_most_recent_24_months_202103-202302_extract2023-03.csv"
BOROUGH_HISTORICAL = "mps_counts/borough/MPS_Borough_Level_Crime_Historical_201004-202107_extract2023-08.csv"


@pytest.fixture(scope="module")
def partly_covered_config(tmp_path_factory):
    return merton_config(tmp_path_factory.mktemp("misleading"), [WARD_FILE_2022, BOROUGH_24_MONTHS])


@pytest.fixture(scope="module")
def partly_covered(partly_covered_config):
    con = build_merton(partly_covered_config)
    yield con
    con.close()


def test_ward_change_on_nine_months_against_twelve_is_null_and_says_why(partly_covered):
    row = partly_covered.execute("""select count, previous_count, change, pct_change, change_note from ward_summary
                                    where ward_name = 'Wandle' and theme = 'personal_robbery'""").fetchone()
    count, previous_count, change, pct_change, note = row
    assert (count, previous_count) == (31, 3)   # the counts as recorded stay, each for its own months
    assert change is None and pct_change is None
    assert note == "change not shown: previous period has 9 of 12 months in the inputs"


def test_no_ward_summary_row_shows_a_change(partly_covered):
    shown = partly_covered.execute("select count(*) from ward_summary where change is not null "
                                   "or pct_change is not null or change_note is null").fetchone()[0]
    assert shown == 0


def test_theme_change_on_ten_months_against_twelve_is_null_and_says_why(partly_covered):
    rows = partly_covered.execute("""select theme, count, previous_count, change, pct_change, poisson_z, p_value,
                                            change_flag, change_note from theme_summary""").fetchall()
    assert rows
    for theme, count, previous_count, *changes, note in rows:
        assert count is not None and previous_count is not None, theme
        assert changes == [None] * 5, theme
        assert note == "change not shown: previous period has 10 of 12 months in the inputs", theme


def test_ward_hotspots_and_sub_areas_say_why_too(partly_covered):
    notes = partly_covered.execute("select distinct change_note from ward_hotspots").fetchall()
    assert notes == [("change not shown: previous period has 9 of 12 months in the inputs",)]
    assert partly_covered.execute("select count(*) from ward_hotspots where change is not null").fetchone()[0] == 0


def test_area_comparison_shows_no_change_on_ten_months_against_twelve(partly_covered):
    """Every area comes from the same borough file, so the focus area's coverage holds for all of them."""
    rows = partly_covered.execute("""select area_name, theme, count, previous_count, change, pct_change,
                                            comparator_pct_change, pct_change_gap, p_value, change_flag, definition
                                     from area_comparison""").fetchall()
    assert rows
    for area, theme, count, previous_count, *changes, definition in rows:
        assert count is not None and previous_count is not None, (area, theme)
        assert changes == [None] * 6, (area, theme)
        assert definition.endswith("; change not shown: previous period has 10 of 12 months in the inputs")


def test_a_fully_covered_previous_year_is_compared(tmp_path):
    con = build_merton(merton_config(tmp_path, [WARD_FILE_2022, BOROUGH_24_MONTHS, BOROUGH_HISTORICAL]),
                       select=["theme_summary", "area_comparison"])
    rows = con.execute("select theme, count, previous_count, change, change_note from theme_summary").fetchall()
    assert rows and {r[0] for r in rows} >= {"vwi", "homicide"}
    for theme, count, previous_count, change, note in rows:
        assert change == count - previous_count, theme
        assert note is None, theme
    compared = con.execute("select count(*), count(change) from area_comparison").fetchone()
    assert compared[0] > 0 and compared[0] == compared[1]
    con.close()


def test_homicide_ward_map_says_no_offences_and_rape_is_mapped_in_whole_numbers(partly_covered, partly_covered_config,
                                                                                  tmp_path):
    """The issue's case: no homicide in any Merton ward in 2022 was painted as one dark class, "0.0 to 0.0"."""
    from pipeline.publish import maps, spatial_outputs

    assert partly_covered.execute("select sum(count), max(count) from ward_hotspots where theme = 'homicide'"
                                  ).fetchone() == (0, 0)
    spatial_outputs.write_spatial_outputs(partly_covered, load_config(partly_covered_config), tmp_path)
    homicide = svg_texts(tmp_path / "maps" / "ward_homicide.svg")
    assert "Homicide: no offences recorded, 2022" in homicide and "No offences recorded" in homicide
    assert not [t for t in homicide if " to " in t and t[0].isdigit()]   # no classes at all
    rape = svg_texts(tmp_path / "maps" / "ward_rape.svg")
    legend = rape[rape.index("crimes") + 1:]
    top = partly_covered.execute("select max(count) from ward_hotspots where theme = 'rape'").fetchone()[0]
    assert top <= maps.SMALL_COUNT_MAX and legend[len(maps.count_classes(range(top + 1))) - 1].endswith(f" {top}")
    assert all(re.fullmatch(r"[0-9]+( to [0-9]+)?", label) for label in legend[:4])


def svg_texts(path) -> list[str]:
    """The texts of a map's SVG in drawing order (write_maps keeps text as SVG text elements)."""
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text())]
