from datetime import date

import pytest

from pipeline.errors import InputError
from pipeline.settings.config import resolve_periods


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


def test_month_arithmetic_crosses_year_ends():
    from pipeline.settings.periods import add_months, due_month, month_end

    assert add_months(date(2023, 11, 1), 3) == date(2024, 2, 1)
    assert add_months(date(2024, 1, 1), -13) == date(2022, 12, 1)
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)              # a leap year
    assert month_end(date(2023, 12, 1)) == date(2023, 12, 31)
    assert due_month(date(2024, 1, 20), 1) == date(2023, 12, 1)         # January's run reports December


@pytest.mark.parametrize("text", ["2023-13", "June 2023", "2023-06-01", ""])
def test_a_month_not_written_yyyy_mm_names_the_option(text):
    from pipeline.settings.periods import parse_month

    with pytest.raises(InputError, match="YYYY-MM") as caught:
        parse_month(text)
    assert caught.value.column == "--month"
