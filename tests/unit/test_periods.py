from datetime import date

import pytest

from pipeline.config import resolve_periods
from pipeline.errors import InputError


def bounds(spec):
    current, previous = resolve_periods(spec)
    return (current.label, current.start, current.end), (previous.label, previous.start, previous.end)


def test_calendar_year():
    assert bounds({"calendar_year": 2022}) == (("2022", date(2022, 1, 1), date(2022, 12, 31)),
                                               ("2021", date(2021, 1, 1), date(2021, 12, 31)))


def test_financial_year():
    assert bounds({"financial_year": 2022}) == (("2022/23", date(2022, 4, 1), date(2023, 3, 31)),
                                                ("2021/22", date(2021, 4, 1), date(2022, 3, 31)))


def test_rolling_12_months():
    current, previous = bounds({"rolling_12m_to": "2023-06"})
    assert current == ("12 months to Jun 2023", date(2022, 7, 1), date(2023, 6, 30))
    assert previous == ("12 months to Jun 2022", date(2021, 7, 1), date(2022, 6, 30))


def test_custom_october_to_september_shifts_by_whole_months():
    current, previous = bounds({"start": "2022-10-01", "end": "2023-09-30"})
    assert (current[1], current[2]) == (date(2022, 10, 1), date(2023, 9, 30))
    assert (previous[1], previous[2]) == (date(2021, 10, 1), date(2022, 9, 30))


def test_custom_days_previous_has_equal_length():
    current, previous = resolve_periods({"start": "2023-03-10", "end": "2023-03-19"})
    assert (previous.start, previous.end) == (date(2023, 2, 28), date(2023, 3, 9))
    assert (current.end - current.start) == (previous.end - previous.start)


@pytest.mark.parametrize("spec", [{}, {"quarter": 1}, {"rolling_12m_to": "June"}, {"start": "2023-02-01", "end": "2023-01-01"}])
def test_bad_period_names_the_rule(spec):
    with pytest.raises(InputError, match="period"):
        resolve_periods(spec)
