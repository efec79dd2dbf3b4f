"""core_measures and indicator_status on the tiny extract plus the partner fixtures, against figures counted
by hand (tests/helpers/tiny_inputs.py, tests/helpers/partner_inputs.py).

Tiny extract, calendar 2023 vs 2022: homicide C8 (4.1) / none; knife crime C2 (June, victims 40 and 17) and
C3 (July, victim 16) / none. Fingertips 11201: Tinytown 60 (count 60) in 2022/23, 50 in 2021/22, England
45, Otherton 80 and Thirdham 30 of the same area type. HES X99 under 25: 2023 = 3 (Mar) + 2 (Jul) + 4 (Nov)
= 9, 2022 = 1 (Feb) + 3 (Sep) = 4.
"""

from __future__ import annotations

import pytest
from scipy import stats

from pipeline.checks import gates
from pipeline.report.core_measures import indicator_summary
from pipeline.report.report_tables import Tables
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db
from tests.helpers.partner_inputs import add_indicator_set, add_partner_inputs
from tests.helpers.tiny_inputs import write_tiny_inputs


def build(config):
    con = db.connect()
    cfg = load_config(config)
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    gates.check_coverage(con, cfg)
    gates.check_reconciliation(con, cfg)
    return con


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    con = build(add_indicator_set(add_partner_inputs(write_tiny_inputs(tmp_path_factory.mktemp("core")))))
    yield con
    con.close()


@pytest.fixture(scope="module")
def police_only(tmp_path_factory):
    con = build(write_tiny_inputs(tmp_path_factory.mktemp("police")))
    yield con
    con.close()


def measure(con, name):
    cursor = con.execute("select * from core_measures where measure = ?", [name])
    return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))


# exact test of C against P over equal periods: Binomial(C + P, 1/2), two-sided by doubling the smaller tail
@pytest.mark.parametrize("name, source, current, previous, p_value, flag", [
    ("homicide", "record_extract", 1, 0, 1.0, "too_few_to_test"),                    # 2 x P(X >= 1 | n=1) = 2 x 0.5
    ("knife_serious_violence", "record_extract", 2, 0, 0.5, "too_few_to_test"),      # 2 x 0.25
    ("knife_serious_violence_u25", "record_extract", 2, 0, 0.5, "too_few_to_test"),  # C2 (17) and C3 (16)
    ("hospital_admissions_sharp_object_u25", "partner_table", 9, 4, 0.266846,          # 2 x 1093/8192
     "no_significant_change"),
])
def test_core_counts_change_and_exact_test_by_hand(marts, name, source, current, previous, p_value, flag):
    m = measure(marts, name)
    assert (m["available"], m["source"], m["period_label"], m["previous_period_label"]) == (True, source, "2023", "2022")
    assert (m["count"], m["previous_count"], m["change"]) == (current, previous, current - previous)
    assert m["p_value"] == pytest.approx(p_value, abs=1e-6) and m["change_flag"] == flag


def test_the_partner_change_and_pct_change_by_hand(marts):
    assert measure(marts, "hospital_admissions_sharp_object_u25")["pct_change"] == 125.0    # (9 - 4) / 4


def test_hospital_admissions_for_violence_from_fingertips(marts):
    m = measure(marts, "hospital_admissions_violence")
    assert (m["source"], m["period_label"], m["previous_period_label"]) == ("fingertips", "2022/23", "2021/22")
    assert (m["value"], m["count"], m["previous_count"], m["change"]) == (60.0, 60.0, 50.0, 10.0)
    assert (m["comparator"], m["comparator_value"], m["rank_in_file"], m["areas_in_file"]) == ("England", 45.0, 2, 3)
    assert m["p_value"] == pytest.approx(stats.binomtest(60, 110, 0.5).pvalue, abs=1e-6)


def test_a_measure_without_data_says_not_available_and_what_to_request(police_only):
    rows = police_only.execute("select measure, available, count, not_available from core_measures order by sort_order").fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("homicide", True), ("knife_serious_violence", True), ("knife_serious_violence_u25", True),
        ("hospital_admissions_violence", False), ("hospital_admissions_sharp_object_u25", False)]
    fingertips, hes = rows[3], rows[4]
    assert fingertips[2] is None and "Fingertips" in fingertips[3] and fingertips[3].startswith("not available: request")
    assert "X99" in hes[3] and "NHS England" in hes[3]


# (id, quarter): value, year earlier, result, trend
EXPECTED_STATUS = {
    ("K1", "Q1 2023"): (0, 0, "met", "same"), ("K1", "Q2 2023"): (1, 0, "amber", "up"),     # C2 in June
    ("K1", "Q3 2023"): (1, 0, "amber", "up"), ("K1", "Q4 2023"): (0, 0, "met", "same"),     # C3 in July
    ("H1", "Q1 2023"): (3, 1, "amber", "up"), ("H1", "Q2 2023"): (0, 0, "met", "same"),     # target 2, red at 4
    ("H1", "Q3 2023"): (2, 3, "met", "down"), ("H1", "Q4 2023"): (4, 0, "red", "up"),
    ("V1", "Q1 2023"): (None, None, "not_measured", None), ("V1", "Q2 2023"): (None, None, "not_measured", None),
    ("V1", "Q3 2023"): (None, None, "not_measured", None), ("V1", "Q4 2023"): (60, 50, "amber", "up"),
    **{("Y1", f"Q{q} 2023"): (None, None, "no_data", None) for q in range(1, 5)},
}


def test_indicator_status_by_hand(marts):
    rows = marts.execute("select id, quarter_label, value, previous_year_value, result, trend from indicator_status").fetchall()
    assert {(r[0], r[1]): tuple(r[2:]) for r in rows} == EXPECTED_STATUS


def test_rag_and_whether_the_trend_is_better(marts):
    rows = {(r[0], r[1]): r[2:] for r in marts.execute(
        "select id, quarter_label, rag, trend_better from indicator_status").fetchall()}
    assert rows["H1", "Q3 2023"] == ("green", True)     # down, and lower is better
    assert rows["H1", "Q4 2023"] == ("red", False)
    assert rows["K1", "Q1 2023"] == ("green", None)     # the same as a year earlier
    assert rows["Y1", "Q4 2023"] == (None, None)


def test_the_summary_sentence_for_the_last_quarter(marts):
    latest = Tables(marts, "main").rows("indicator_status", "quarter_label = 'Q4 2023'", order="order by sort_order")
    assert indicator_summary(latest) == ("Of the 4 indicators in the delivery plan's set, 1 met its target in Q4 2023, "
                                         "2 did not (1 amber, 1 red) and 1 has no data received.")
