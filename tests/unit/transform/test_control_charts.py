"""c-chart limits, run rules and Benjamini-Hochberg of the monthly refresh, on hand-made series.

Each test builds mth_reported_series by hand and runs the two SQL models over it
(sql/monthly/mth_control_limits.sql, mth_exceptions.sql); expected figures are arithmetic in the test.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import duckdb
import pytest
from scipy import stats

from pipeline.runs import monthly
from pipeline.settings import periods
from pipeline.transform import db

JUNE_2023 = date(2023, 6, 1)


def chart(series: dict[tuple[str, str, str], list[int]], report: date = JUNE_2023, baseline_months: int = 24,
          seasonal: tuple[str, ...] = (), fdr_alpha: float = 0.05) -> duckdb.DuckDBPyConnection:
    """`series`: (unit level, unit code, theme) -> monthly counts ending in the report month."""
    con = duckdb.connect()
    db.load_seeds(con)
    monthly.register_functions(con)
    con.execute("create table mth_reported_series (source varchar, unit_level varchar, unit_code varchar, "
                "unit_name varchar, theme varchar, month_start date, count bigint, extract_date date, extract_file varchar)")
    for (level, code, theme), counts in series.items():
        con.executemany("insert into mth_reported_series values ('mps_counts', ?, ?, ?, ?, ?, ?, null, null)",
                        [[level, code, code, theme, periods.add_months(report, i - len(counts) + 1), n]
                         for i, n in enumerate(counts)])
    db.set_variables(con, {"area_code": "E09000001", "run_id": "test"})
    settings = monthly.MonthlySettings(warehouse=Path("unused"), baseline_months=baseline_months,
                                       seasonal_themes=seasonal, fdr_alpha=fdr_alpha)
    monthly.set_report_variables(con, report, settings)
    for name in ("mth_control_limits", "mth_exceptions"):
        con.execute(f"create table {name} as {(monthly.MONTHLY_SQL_DIR / f'{name}.sql').read_text()}")
    return con


def limits_at(con, month: date = JUNE_2023, code: str = "Area") -> dict:
    cur = con.execute("select * from mth_control_limits where unit_code = ? and month_start = ?", [code, month])
    return dict(zip([d[0] for d in cur.description], cur.fetchone()))


def exceptions(con) -> list[tuple]:
    return con.execute("select unit_code, rule, count, reason from mth_exceptions order by unit_code, rule").fetchall()


def test_limits_are_centre_plus_minus_three_root_centre():
    con = chart({("area", "Area", "personal_robbery"): [16] * 24 + [20]})
    row = limits_at(con)
    assert row["centre"] == 16 and row["baseline_values"] == 24
    assert row["ucl"] == pytest.approx(16 + 3 * 4) and row["lcl"] == pytest.approx(16 - 3 * 4)
    assert row["upper_warning"] == pytest.approx(24) and row["lower_warning"] == pytest.approx(8)
    assert row["baseline"] == "24 months (Jun 2021 to May 2023)"


def test_lower_limit_is_never_below_zero():
    row = limits_at(chart({("area", "Area", "personal_robbery"): [4] * 24 + [4]}))
    assert row["lcl"] == 0 and row["ucl"] == pytest.approx(4 + 3 * 2)   # 4 - 3*2 < 0


def test_baseline_ends_before_the_reported_month_and_has_the_configured_length():
    spike = chart({("area", "Area", "vwi"): [16] * 24 + [100]})
    assert limits_at(spike)["centre"] == 16                   # the month itself never moves its own centre
    history = [40] * 12 + [16] * 24 + [16]
    assert limits_at(chart({("area", "Area", "vwi"): history}, baseline_months=24))["centre"] == 16
    assert limits_at(chart({("area", "Area", "vwi"): history}, baseline_months=36))["centre"] == pytest.approx(
        (12 * 40 + 24 * 16) / 36)


def test_a_month_above_the_upper_limit_is_an_exception_with_a_plain_reason():
    assert exceptions(chart({("area", "Area", "personal_robbery"): [16] * 24 + [28]})) == []   # 28 = UCL: inside
    got = exceptions(chart({("area", "Area", "personal_robbery"): [16] * 24 + [29]}))
    assert got == [("Area", "above_upper_limit", 29,
                    "Personal robbery in Area: 29 in June 2023, above the usual range of up to 28")]


def test_a_month_below_the_lower_limit_is_an_exception():
    got = exceptions(chart({("area", "Area", "vwi"): [16] * 24 + [3]}))
    assert got == [("Area", "below_lower_limit", 3,
                    "Violence with Injury in Area: 3 in June 2023, below the usual range of at least 4")]


def test_eight_consecutive_months_above_the_centre():
    # baseline Jun 2021 - May 2023 = 17 months of 10 + 7 of 13: centre 261 / 24 = 10.875; 13 < warning 17.5
    fired = chart({("area", "Area", "vwi"): [10] * 17 + [13] * 8})
    assert limits_at(fired)["centre"] == pytest.approx((17 * 10 + 7 * 13) / 24)
    assert [r[1] for r in exceptions(fired)] == ["eight_above_centre"]
    assert exceptions(fired)[0][3] == ("Violence with Injury in Area: above the usual level of 10.9 a month for "
                                       "8 months in a row (November 2022 to June 2023)")
    assert exceptions(chart({("area", "Area", "vwi"): [10] * 18 + [13] * 7})) == []   # 7 in a row: no signal


@pytest.mark.parametrize(("last_three", "fires"), [((25, 37, 37), True), ((37, 30, 37), True),
                                                   ((25, 30, 37), False), ((37, 37, 30), False)])
def test_two_of_three_months_beyond_two_sigma(last_three, fires):
    counts = [25] * 22 + list(last_three)
    con = chart({("area", "Area", "vwi"): counts})
    centre = sum(counts[-25:-1]) / 24
    assert limits_at(con)["upper_warning"] == pytest.approx(centre + 2 * math.sqrt(centre))
    assert 37 < centre + 3 * math.sqrt(centre)                  # never above the UCL: only the run rule can fire
    assert [r[1] for r in exceptions(con)] == (["two_of_three_above_warning"] if fires else [])


def test_wards_are_screened_with_benjamini_hochberg_but_the_area_is_not():
    wards = {("ward", f"W{i:02d}", "personal_robbery"): [4] * 24 + [4] for i in range(1, 21)}
    p_11 = stats.poisson.sf(10, 4)                              # P(X >= 11 | 4) = 0.0028; x 20 wards = 0.057
    assert 0.05 < p_11 * 20
    one = chart({**wards, ("ward", "W01", "personal_robbery"): [4] * 24 + [11],
                 ("area", "Area", "personal_robbery"): [4] * 24 + [11]})
    assert [(r[0], r[1]) for r in exceptions(one)] == [("Area", "above_upper_limit")]   # W01 alone does not survive

    two = chart({**wards, ("ward", "W01", "personal_robbery"): [4] * 24 + [11],
                 ("ward", "W02", "personal_robbery"): [4] * 24 + [13]})
    got = dict(two.execute("select unit_code, q_value from mth_exceptions").fetchall())
    p = [p_11, stats.poisson.sf(12, 4)] + [stats.poisson.sf(3, 4)] * 18
    q = stats.false_discovery_control(p)                        # step-up: W02's small p carries W01 through
    assert got == {"W01": pytest.approx(q[0]), "W02": pytest.approx(q[1])}


def test_same_month_of_year_baseline_for_a_seasonal_theme():
    june_peaks = [30 if periods.add_months(JUNE_2023, i - 36).month == 6 else 10 for i in range(36)] + [31]
    plain = chart({("area", "Area", "vwi"): june_peaks})
    assert limits_at(plain)["centre"] == pytest.approx((22 * 10 + 2 * 30) / 24)
    assert [r[1] for r in exceptions(plain)] == ["above_upper_limit"]    # June always peaks: a false alarm

    seasonal = chart({("area", "Area", "vwi"): june_peaks}, seasonal=("vwi",))
    row = limits_at(seasonal)
    assert row["centre"] == 30 and row["baseline"] == "same month of 2 earlier years (Jun 2021 to Jun 2022)"
    assert limits_at(seasonal, date(2023, 5, 1))["centre"] == 10
    assert exceptions(seasonal) == []


def test_a_series_without_enough_baseline_has_no_limits():
    con = chart({("area", "Area", "vwi"): [10] * 11 + [50]})
    assert limits_at(con)["centre"] is None and exceptions(con) == []


# Issue 20, item 7: run rules only on a series busy enough to have a level (a centre of 1 a month or more).

def test_a_rare_series_gets_no_run_rule_but_a_real_spike_still_fires():
    # homicide in a ward: 2 in the 24-month baseline (centre 1/12), then 0 for the 8 months to June:
    # "8 months below the usual level of 0.1" is what a quiet series always does: not an exception
    quiet = [0] * 10 + [1] + [0] * 6 + [1] + [0] * 7
    assert exceptions(chart({("area", "Area", "homicide"): quiet})) == []
    # the same series with a month of 3: P(X >= 3 | 1/12) = 9e-5, far beyond the UCL of 0.95
    spike = chart({("area", "Area", "homicide"): quiet[:-1] + [3]})
    assert limits_at(spike)["centre"] == pytest.approx(2 / 24)
    assert exceptions(spike) == [("Area", "above_upper_limit", 3,
                                  "Homicide in Area: 3 in June 2023, where a month usually has none")]


def test_run_rules_stop_below_the_floor_and_fire_at_it():
    # the 8 months to June all above the centre: a run rule fires on a centre over 1 a month, not under it
    under = [0, 0, 0] + [1] * 14 + [2] * 8            # baseline: 3 zeros, 14 ones, 7 twos = 28 / 24 = 1.17
    assert limits_at(chart({("area", "Area", "rape"): under}))["centre"] == pytest.approx(28 / 24)
    assert [r[1] for r in exceptions(chart({("area", "Area", "rape"): under}))] == ["eight_above_centre"]
    rare = [0] * 10 + [1] * 7 + [1] * 8                # baseline 14 ones in 24 months: 0.58, every month above
    assert limits_at(chart({("area", "Area", "rape"): rare}))["centre"] == pytest.approx(14 / 24)
    assert exceptions(chart({("area", "Area", "rape"): rare})) == []


def test_no_reason_says_a_level_of_zero():
    series = {("ward", f"W{i}", "homicide"): [0] * 25 for i in range(3)}
    series[("ward", "W0", "homicide")] = [1] + [0] * 24
    series[("area", "Area", "homicide")] = [0] * 17 + [1] * 8
    con = chart(series)
    assert all("0.0" not in r[3] for r in exceptions(con))
    assert exceptions(con) == []
