"""report.html from tiny hand-made tables: escaping of input text, the marking, missing or empty tables,
no shaded map of a theme with no offences, small-count map classes, and the public tier's [c] cells."""

from __future__ import annotations

import re
from types import SimpleNamespace

import duckdb
import pytest

from pipeline.narrative import phrases
from pipeline.publish.catalog import MARKING, PUBLIC_MARKING
from pipeline.report import annual_report, report_tables, svg_charts
from pipeline.transform import db

HOSTILE_AREA = '<script>alert("x")</script> & Borough'
CFG = SimpleNamespace(area_name=HOSTILE_AREA, comparator_name="Demo Force")
SUMMARY_COLUMNS = """area_code varchar, area_name varchar, is_focus boolean, theme varchar, period_label varchar, period_start date,
    period_end date, count bigint, previous_count bigint, change bigint, pct_change double, comparator_pct_change double,
    share_of_all_crime_pct double, victims_u25_pct double, victim_age_unknown_pct double, suspects_u25_pct double,
    suspect_age_unknown_pct double, poisson_z double, p_value double, change_flag varchar, definition varchar,
    run_id varchar"""
# theme, count, previous_count, change, pct_change, change_flag
THEMES = [("vwi", 120, 100, 20, 20.0, "no_significant_change"), ("homicide", 3, 1, 2, None, "too_few_to_test")]


def _summary_rows(schema: str, suppress_homicide: bool = False) -> str:
    values = []
    for theme, count, previous, change, pct, flag in THEMES:
        if suppress_homicide and theme == "homicide":
            count = previous = change = None
        values.append(f"('E09000999', {HOSTILE_AREA!r}, true, '{theme}', '2023', date '2023-01-01', date '2023-12-31', "
                      f"{'null' if count is None else count}, {'null' if previous is None else previous}, "
                      f"{'null' if change is None else change}, {'null' if pct is None else pct}, 5.0, null, null, null, "
                      f"null, null, null, null, '{flag}', 'source: mps_counts', 'run-1')")
    return f"insert into {schema}.theme_summary values " + ", ".join(values)


@pytest.fixture
def con():
    con = db.connect()
    db.load_seeds(con)
    con.execute("create table periods as select * from (values ('current', '2023', date '2023-01-01', date '2023-12-31'), "
                "('previous', '2022', date '2022-01-01', date '2022-12-31')) as t(period_role, period_label, period_start, period_end)")
    con.execute(f"create table theme_summary ({SUMMARY_COLUMNS})")
    con.execute(_summary_rows("main"))
    yield con
    con.close()


def _write(con, tmp_path, **kwargs) -> str:
    return annual_report.write_report(con, CFG, tmp_path / "report.html", **kwargs).read_text()


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("<section", 1)[0]


def test_input_text_is_escaped_not_run(con, tmp_path):
    page = _write(con, tmp_path)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Borough" in page


def test_marking_is_on_screen_and_in_every_printed_page_margin(con, tmp_path):
    page = _write(con, tmp_path)
    assert page.count(MARKING) == 4              # screen banners at the top and the end, print header and footer
    css = annual_report.css_string(MARKING)
    assert f"@top-center {{ content: {css};" in page and f"@bottom-center {{ content: {css};" in page
    assert "size: A4" in page


def test_css_string_cannot_close_the_style_element():
    text = str(annual_report.css_string('a"</style><b>\\'))
    assert "<" not in text and '"' not in text[1:-1] and "\\\\" not in text


def test_missing_tables_get_a_sentence_not_a_crash(con, tmp_path):
    page = _write(con, tmp_path)
    vwi = _section(page, "theme-vwi")
    # no heading over nothing: one line says what these inputs cannot show for the theme
    assert ("Not available from these inputs for this theme: a yearly trend, months of the year, day of week "
            "and hour, victims and suspects, wards.") in vwi
    for heading in ("Trend", "Seasonality", "Day of week and hour", "Victims and suspects", "Maps"):
        assert f"<h3>{heading}</h3>" not in vwi
    for sentence in ("No reconciliation table", "No row was quarantined", "No validation summary"):
        assert sentence in page
    assert page.count("<h1") == 1


def test_no_request_can_leave_the_page(con, tmp_path):
    page = _write(con, tmp_path)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", page)     # only in-page links
    assert "@import" not in page and "url(" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}


def _wards(con, counts: dict[str, int]):
    db.load_spatial(con)
    con.execute("create table ref_wards as select * from (values "
                "('W1', 'North <Ward>', st_geomfromtext('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))')), "
                "('W2', 'South', st_geomfromtext('POLYGON((10 0, 20 0, 20 10, 10 10, 10 0))'))) as t(ward_code, ward_name, geom)")
    con.execute("create table ward_hotspots (ward_code varchar, ward_name varchar, theme varchar, period_label varchar, "
                "count bigint, previous_count bigint, pct_change double, change_flag varchar)")
    for (theme, code), n in counts.items():
        con.execute("insert into ward_hotspots values (?, ?, ?, '2023', ?, 0, null, 'too_few_to_test')",
                    [code, {"W1": "North <Ward>", "W2": "South"}[code], theme, n])


def test_theme_with_no_offences_gets_no_shaded_map(con, tmp_path):
    _wards(con, {("vwi", "W1"): 70, ("vwi", "W2"): 50, ("homicide", "W1"): 0, ("homicide", "W2"): 0})
    page = _write(con, tmp_path)
    homicide, vwi = _section(page, "theme-homicide"), _section(page, "theme-vwi")
    assert 'class="map"' not in homicide
    assert "No homicide offences were recorded in any ward, so there is no map." in homicide
    assert vwi.count('class="ward"') == 2 and "North &lt;Ward&gt;: 70" in vwi


def test_small_counts_get_whole_count_classes():
    assert svg_charts._classes([0, 1, 2, 2]) == [(1, 1), (2, 2)]
    assert svg_charts._classes([0, 0]) == []
    assert len(svg_charts._classes(list(range(100)))) == 5
    legend = "".join(svg_charts._legend(svg_charts._classes([0, 1, 2]), 0, 0))
    assert ">1<" in legend and ">2<" in legend and "0.0" not in legend


def test_public_tier_shows_suppressed_cells_as_c_and_reads_no_restricted_table(con, tmp_path):
    con.execute("create schema public")
    con.execute(f"create table public.theme_summary ({SUMMARY_COLUMNS})")
    con.execute(_summary_rows("public", suppress_homicide=True))
    con.execute("create table public.disclosure_log (table_name varchar, row_key varchar, column_name varchar, rule varchar)")
    for column in ("count", "previous_count", "change"):
        con.execute("insert into public.disclosure_log values ('theme_summary', ?, ?, 'small')",
                    [f"{HOSTILE_AREA} | homicide | 2023", column])  # the row's unique key: area_name | theme | period
    con.execute("create table main.people_profile as select 'vwi' as theme, 'current' as period_role")  # restricted only
    page = _write(con, tmp_path, tier="public", schema="public")
    homicide_row = re.search(r'<tr data-theme="homicide">(.*?)</tr>', page, re.DOTALL).group(1)
    assert homicide_row.count("[c]") == 4 and not re.search(r">\s*[0-9]", homicide_row)  # and the % change on a suppressed base
    assert "Homicide: the counts are too small to publish ([c])." in page
    assert PUBLIC_MARKING in page and MARKING not in page
    assert 'id="fn-c"' in page
    vwi_row = re.search(r'<tr data-theme="vwi">(.*?)</tr>', page, re.DOTALL).group(1)
    assert ">120<" in vwi_row
    # the connection is as it was: unqualified names resolve in main again, no temporary view left
    assert con.execute("select count from theme_summary where theme = 'homicide'").fetchone()[0] == 3
    assert con.execute("select count(*) from duckdb_views() where temporary and not internal").fetchone()[0] == 0


def test_in_the_public_scope_a_restricted_only_table_reads_as_nothing(con):
    # DuckDB resolves a name the search path lacks in main: without the scope's empty views, a sentence on a
    # restricted-only table (near repeats, record-level models) would quote restricted figures in the public tier
    con.execute("create schema public")
    con.execute("create table main.near_repeats as select 'robbery' as theme, 7 as observed")
    con.execute("create table main.ref_lookup as select 'robbery' as theme")
    with report_tables.tier_scope(con, "public"):
        assert con.execute("select count(*) from near_repeats").fetchone()[0] == 0
        with pytest.raises(duckdb.BinderException):
            con.execute("select observed from near_repeats")
        assert not phrases.has_table(con, "near_repeats")                # the narrative's check says absent
        with phrases.catalog_read_once(con):
            assert not phrases.has_table(con, "near_repeats") and phrases.has_table(con, "ref_lookup")
        assert con.execute("select theme from ref_lookup").fetchall() == [("robbery",)]   # shared reference
    assert con.execute("select observed from near_repeats").fetchall() == [(7,)]


def test_unknown_tier_is_refused(con, tmp_path):
    with pytest.raises(ValueError, match="tier"):
        annual_report.write_report(con, CFG, tmp_path / "r.html", tier="secret")


def test_wards_without_boundaries_get_a_table_and_no_map(con, tmp_path):
    """data.police.uk runs place crimes through an LSOA lookup: current wards with no geometry."""
    _wards(con, {("vwi", "W1"): 70, ("vwi", "W2"): 50})
    con.execute("update ref_wards set geom = null")
    vwi = _section(_write(con, tmp_path), "theme-vwi")
    assert 'class="map"' not in vwi and "No ward boundaries for a map." in vwi
    assert "<th scope=\"row\">North &lt;Ward&gt;</th><td class=\"n\">70</td>" in vwi


def test_no_percentage_change_on_a_base_under_ten(con, tmp_path):
    page = _write(con, tmp_path)
    homicide = re.search(r'<tr data-theme="homicide">(.*?)</tr>', page, re.DOTALL).group(1)   # 3 against 1
    vwi = re.search(r'<tr data-theme="vwi">(.*?)</tr>', page, re.DOTALL).group(1)             # 120 against 100
    assert "%" not in homicide.split("</td>")[3] and "+20.0%" in vwi
    assert report_tables.fmt_change_pct(200.0, 9) == "–" and report_tables.fmt_change_pct(-5.0, 10) == "-5.0%"
