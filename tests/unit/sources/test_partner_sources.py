"""Partner and open-data readers: OHID Fingertips "all data" files, profile-mapped partner tables and the
indicator set. A wrong layout stops the run naming the file, the column and the rule; bad rows are
quarantined with a reason and every row read is accounted for (tests/helpers/partner_inputs.py)."""

from __future__ import annotations

import pytest

from pipeline.checks import gates
from pipeline.errors import InputError
from pipeline.settings.config import PROJECT_ROOT, load_config
from pipeline.sources import fingertips, indicator_set, partner_tables
from pipeline.transform import assessment, db
from tests.helpers.partner_inputs import (
    FINGERTIPS,
    HEADER,
    INDICATOR_SET,
    PARTNER_PROFILE,
    add_indicator_set,
    add_partner_inputs,
    fingertips_row,
    partner_table,
)
from tests.helpers.tiny_inputs import write_tiny_inputs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cfg = load_config(add_indicator_set(add_partner_inputs(write_tiny_inputs(tmp_path_factory.mktemp("partner")))))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    gates.check_coverage(con, cfg)
    gates.check_reconciliation(con, cfg)
    yield con
    con.close()


def quarantined(con, input_table: str) -> set[tuple[int, str, str]]:
    return set(con.execute("select source_row, rule, failing_value from quarantine where input_table = ?",
                           [input_table]).fetchall())


# ------------------------------------------------------------------------------------------- Fingertips

def test_fingertips_file_without_a_layout_column_names_the_file_and_the_column(tmp_path):
    path = tmp_path / "fingertips.csv"
    lines = FINGERTIPS.splitlines()
    at = fingertips.LAYOUT.index("Recent Trend")
    path.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines) + "\n")
    with pytest.raises(InputError) as caught:
        fingertips.ingest_fingertips(db.connect(), [path])
    error = caught.value
    assert (error.file, error.column) == (str(path), "Recent Trend")
    assert "OHID Fingertips 'all data' file has the columns" in error.rule


def test_fingertips_file_with_no_header_row_says_so(tmp_path):
    path = tmp_path / "fingertips.csv"
    path.write_text("\n".join(FINGERTIPS.splitlines()[1:]) + "\n")
    with pytest.raises(InputError) as caught:
        fingertips.ingest_fingertips(db.connect(), [path])
    assert caught.value.column == "Indicator ID" and "header row" in caught.value.rule


def test_fingertips_bad_rows_are_quarantined_and_every_row_reconciles(built):
    # line 9: Value 'n/a'; line 10: Thirdham's 2022/23 row again (line 8 is kept)
    assert quarantined(built, "fingertips") == {(9, "invalid_indicator_value", "n/a"),
                                                (10, "duplicate_indicator_row", "E09000997 2022/23")}
    row = built.execute("select rows_read, rows_in, rows_loaded, rows_quarantined, reconciled from quarantine_summary "
                        "where input_table = 'fingertips'").fetchone()
    assert row == (9, 9, 7, 2, True)


def test_area_value_interval_trend_and_rank_among_the_areas_in_the_file(built):
    row = built.execute("select time_period, value, previous_value, count, previous_count, england_value, rank_in_file, "
                        "areas_in_file, recent_trend from health_indicators where indicator_id = 11201").fetchone()
    # Tinytown 60 among Otherton 80 and Thirdham 30 (Fourthby's row is quarantined; England is another area type)
    assert row == ("2022/23", 60.0, 50.0, 60.0, 50.0, 45.0, 2, 3, "No significant change")


# ------------------------------------------------------------------------------------------- partner tables

def test_partner_table_missing_a_mapped_column_names_the_file_column_and_profile(tmp_path):
    profile = tmp_path / "hes.yaml"
    profile.write_text(PARTNER_PROFILE)
    table = tmp_path / "hes.csv"
    table.write_text(partner_table().replace("Admissions", "Admitted"))
    with pytest.raises(InputError) as caught:
        partner_tables.ingest_partner_tables(db.connect(), [table], partner_tables.load_partner_profile(profile))
    error = caught.value
    assert (error.file, error.column) == (str(table), "Admissions")
    assert "partner profile 'tiny_hes' requires this column" in error.rule


@pytest.mark.parametrize("text, column", [
    ("columns: {ward: Ward, period: Month, count: N, postcode: P}\nmeasure: school_suspensions\n", "columns"),
    ("columns: {ward: Ward, count: N}\nmeasure: school_suspensions\n", "columns"),          # no period
    ("columns: {ward: Ward, period: Month, count: N}\n", "columns"),                       # no measure at all
    ("columns: {ward: Ward, period: Month, count: N}\nmeasure: x\nyear_starts: june\n", "year_starts"),
    ("columns: {ward: Ward, period: Month, count: N}\nmeasure: x\nsheet: 2\n", "sheet"),   # unknown key
])
def test_a_wrong_partner_profile_names_the_key_and_rule(tmp_path, text, column):
    profile = tmp_path / "p.yaml"
    profile.write_text(text)
    with pytest.raises(InputError) as caught:
        partner_tables.load_partner_profile(profile)
    assert caught.value.file == str(profile) and column in caught.value.column


def test_partner_bad_rows_are_quarantined_with_a_reason_and_reconcile(built):
    # the fixture's last four lines: a suppressed count, a total row, month 13, a cell given twice
    assert quarantined(built, "partner") == {
        (74, "suppressed_partner_count", "*"), (75, "partner_total_row", "All"),
        (76, "unparseable_partner_period", "2023-13"),
        (77, "duplicate_partner_row", "hes_sharp_object_admissions_u25 2023-03 W1")}
    row = built.execute("select rows_read, rows_in, rows_loaded, rows_quarantined, reconciled from quarantine_summary "
                        "where input_table = 'partner'").fetchone()
    assert row == (76, 76, 72, 4, True)     # 2 years x 12 months x 3 ward-sex rows = 72 loaded
    reasons = built.execute("select distinct reason from quarantine where input_table = 'partner'").fetchall()
    assert all(r[0] for r in reasons)


def test_partner_periods_months_quarters_years_and_split_years(tmp_path):
    con = db.connect()
    profile = tmp_path / "p.yaml"
    profile.write_text("name: p\nmeasure: school_suspensions\nyear_starts: september\n"
                       "columns: {area: Area, period: Period, count: N}\n")
    table = tmp_path / "t.csv"
    table.write_text("Area,Period,N\nX,2023-04,1\nX,Apr 2023,1\nX,202304,1\nX,2023 Q2,1\nX,2023,1\nX,2022/23,1\n"
                     "X,2022/24,1\n")
    partner_tables.ingest_partner_tables(con, [table], partner_tables.load_partner_profile(profile))
    db.load_seeds(con)
    db.load_macros(con)
    db.run_models(con, select=["stg_partner"], upstream=True)
    got = con.execute("select period_raw, strftime(period_start, '%Y-%m-%d'), strftime(period_end, '%Y-%m-%d') "
                      "from stg_partner order by source_row").fetchall()
    assert got == [("2023-04", "2023-04-01", "2023-04-30"), ("Apr 2023", "2023-04-01", "2023-04-30"),
                   ("202304", "2023-04-01", "2023-04-30"), ("2023 Q2", "2023-04-01", "2023-06-30"),
                   ("2023", "2023-01-01", "2023-12-31"), ("2022/23", "2022-09-01", "2023-08-31"),
                   ("2022/24", None, None)]   # not a split year: quarantined as unparseable_partner_period


# ------------------------------------------------------------------------------------------- indicator set

@pytest.mark.parametrize("change, column, rule", [
    (("police:knife_crime", "police:knives"), "source_measure", "a theme of sql/seeds/themes.csv (line 2)"),
    (("partner:yj_first_time_entrants", "partner:fte"), "source_measure", "partner_measures.csv (line 5)"),
    (("fingertips:11201", "fingertips:abc"), "source_measure", "a Fingertips indicator id"),
    (("1,0,2,lower", "1,0,2,down"), "direction", "lower or higher"),
    (("1,0,2,lower", "1,2,0,lower"), "red_at", "red_at lies beyond the target"),
    (("2,2,4,lower", "2,,4,lower"), "target", "needs a target (line 3)"),
    (("55,55,65", "55,55x,65"), "target", "must be a number (line 4)"),
    (("H1,", "K1,"), "id", "each indicator id appears once (line 3; first on line 2)"),
    (("owner\n", "holder\n"), "owner", "an indicator set has the columns"),
])
def test_a_bad_indicator_set_stops_the_run_naming_file_column_line_and_rule(tmp_path, change, column, rule):
    path = tmp_path / "indicators.csv"
    path.write_text(INDICATOR_SET.replace(*change, 1))
    with pytest.raises(InputError) as caught:
        indicator_set.ingest_indicator_set(db.connect(), [path])
    assert (caught.value.file, caught.value.column) == (str(path), column)
    assert rule in caught.value.rule


def test_the_indicator_set_is_read_in_file_order(built):
    rows = built.execute("select id, source_type, source_key, target, red_at, direction from stg_indicator_set "
                         "order by sort_order").fetchall()
    assert rows == [("K1", "police", "knife_crime", 0.0, 2.0, "lower"),
                    ("H1", "partner", "hes_sharp_object_admissions_u25", 2.0, 4.0, "lower"),
                    ("V1", "fingertips", "11201", 55.0, 65.0, "lower"),
                    ("Y1", "partner", "yj_first_time_entrants", 8.0, 12.0, "lower")]


def test_a_pooled_three_year_value_is_compared_with_the_one_three_years_earlier(tmp_path):
    """2020/21 - 22/23 shares two years with 2019/20 - 21/22: the previous value is 2017/18 - 19/20's."""
    path = tmp_path / "fingertips.csv"
    rows = [fingertips_row("E09000999", "Tinytown", "UA", period, f"{year}0000", value, count, years="3y")
            for period, year, value, count in (("2017/18 - 19/20", 2017, "40.0", "40"), ("2018/19 - 20/21", 2018, "45.0", "45"),
                                               ("2019/20 - 21/22", 2019, "50.0", "50"), ("2020/21 - 22/23", 2020, "60.0", "60"))]
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    con = db.connect()
    fingertips.ingest_fingertips(con, [path])
    db.load_seeds(con)
    db.load_macros(con)
    db.set_variables(con, {"area_code": "E09000999", "area_name": "Tinytown", "run_id": "t"})
    db.run_models(con, select=["health_indicators"], upstream=True)
    assert con.execute("select time_period, value, previous_time_period, previous_value from health_indicators").fetchall() \
        == [("2020/21 - 22/23", 60.0, "2017/18 - 19/20", 40.0)]


def test_every_shipped_partner_profile_loads():
    profiles = sorted((PROJECT_ROOT / "config" / "profiles" / "partner").glob("*.yaml"))
    assert len(profiles) == 4
    for path in profiles:
        profile = partner_tables.load_partner_profile(path)
        assert profile.provider and (profile.measure or "measure" in profile.columns)


def test_a_month_inside_a_quarter_also_given_is_quarantined_not_counted_twice(tmp_path):
    config = add_partner_inputs(write_tiny_inputs(tmp_path))
    table = tmp_path / "hes_x99.csv"
    # W1 male 2023 Q1 as a quarter row too: its three month rows (3 in March) overlap it
    table.write_text(table.read_text() + "W1,2023 Q1,M,3\n")
    con = db.connect()
    cfg = load_config(config)
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run", select=["partner_summary", "quarantine_summary"])
    held = con.execute("select source_row, failing_value from quarantine where rule = 'overlapping_partner_period' "
                       "order by source_row").fetchall()
    assert held == [(38, "hes_sharp_object_admissions_u25 2023-01 W1"), (41, "hes_sharp_object_admissions_u25 2023-02 W1"),
                    (44, "hes_sharp_object_admissions_u25 2023-03 W1")]
    # 2023 is still 9: the quarter row's 3 replaces January-March's 0 + 0 + 3
    assert con.execute("select count from partner_summary").fetchone()[0] == 9
    assert con.execute("select bool_and(reconciled) from quarantine_summary").fetchone()[0]
