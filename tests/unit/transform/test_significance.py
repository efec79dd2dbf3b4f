"""The change flag: an exact test of two Poisson counts, never a flag on tiny counts (DESIGN §12)."""

from __future__ import annotations

import pytest
from scipy import stats

from pipeline.transform import db, stats_functions


@pytest.fixture
def con():
    con = db.connect()
    db.load_macros(con)
    stats_functions.register_functions(con)
    db.set_variables(con, {"current_days": 365, "previous_days": 365,
                           "significance_alpha": 0.01, "significance_min_total": 10})
    return con


def flag(con, current: int, previous: int) -> tuple[float, str]:
    return con.execute("select change_p_value($c, $p), change_flag($c, $p, change_p_value($c, $p), 0.01)",
                       {"c": current, "p": previous}).fetchone()


@pytest.mark.parametrize("current, previous", [(7, 0), (3, 0), (0, 9), (6, 3)])
def test_fewer_than_ten_crimes_are_never_flagged(con, current, previous):
    assert flag(con, current, previous)[1] == "too_few_to_test"


def test_seven_against_none_has_a_small_p_but_no_flag(con):
    p, verdict = flag(con, 7, 0)
    assert p == pytest.approx(2 * 0.5 ** 7)          # both periods equally long: Binomial(7, 1/2), doubled tail
    assert verdict == "too_few_to_test"


def test_merton_vwi_2022_is_a_significant_increase(con):
    p, verdict = flag(con, 1421, 1222)
    assert p == pytest.approx(stats.binomtest(1421, 2643, 0.5).pvalue, rel=1e-6)
    assert p < 0.001 and verdict == "significant_increase"   # p = 0.00012


def test_decrease_and_normal_variation(con):
    assert flag(con, 40, 80)[1] == "significant_decrease"
    assert flag(con, 25, 16)[1] == "no_significant_change"   # +56%, yet p = 0.21
    assert flag(con, 12, 12) == (1.0, "no_significant_change")


def test_unequal_period_lengths_weight_the_test(con):
    # 366 days against 365: C given C + P is Binomial(n, 366/731); the doubled smaller tail
    db.set_variables(con, {"current_days": 366})
    p = flag(con, 60, 40)[0]
    share = 366 / 731
    expected = min(1.0, 2 * min(stats.binom.cdf(60, 100, share), stats.binom.sf(59, 100, share)))
    assert p == pytest.approx(expected, rel=1e-9)


def test_missing_counts_give_no_verdict(con):
    assert con.execute("select change_p_value(null, 3), change_flag(null, 3, null, 0.01)").fetchone() == (None, None)
