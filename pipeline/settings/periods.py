"""Reporting periods and month arithmetic, written once: the run config (pipeline.settings.config) and the monthly
refresh use them.

A month is the date of its first day."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.errors import InputError


@dataclass(frozen=True)
class Period:
    """A reporting period; both ends inclusive."""

    label: str
    start: date
    end: date

    @property
    def month_aligned(self) -> bool:
        return self.start.day == 1 and (self.end + timedelta(days=1)).day == 1


def parse_month(text: str, where: str = "command line", column: str = "--month") -> date:
    """A month written YYYY-MM; an InputError naming `where` and `column` otherwise."""
    try:
        year, month = (int(part) for part in str(text).strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise InputError(where, column, "expected a month written YYYY-MM", str(text)) from None


def add_months(month: date, n: int) -> date:
    """The first day of the month `n` months after `month`'s (before it when `n` is negative)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    """The last day of `month`'s month."""
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def due_month(today: date, lag_months: int) -> date:
    """The month a scheduled run should report: `lag_months` months before the run's month (the MPS
    files for month M are published during month M + 1)."""
    return add_months(date(today.year, today.month, 1), -lag_months)
