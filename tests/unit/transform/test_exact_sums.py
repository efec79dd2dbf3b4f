"""Fractional sums are exact, so a re-run gives the same figures to the last digit: a sum of doubles
depends on the order DuckDB's threads add the rows in (41.75 + 37.06 + 49.76 + 34.23 + 8.95 is
171.74999999999997 in that order as doubles, 171.75 exactly), and rounding such a sum to 0.1 can then
flip between 171.7 and 171.8 from one run to the next."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from pipeline.settings.config import SQL_DIR
from pipeline.transform import db

WEIGHTS = {"A1": 41.75, "A2": 37.06, "A3": 49.76, "A4": 34.23, "A5": 8.95}   # exact total 171.75


def _harm_total(order: tuple[str, ...]) -> float:
    """int_ward_period_counts over one ward's crimes, inserted in `order`; its harm-weighted count."""
    con = db.connect()
    con.execute("set threads = 1")   # rows are added in insertion order: the order is the test's
    con.execute("set variable area_name = 'Tinytown'")
    con.execute("create table periods as select * from (values ('current', '2023', date '2023-01-01', "
                "date '2023-12-31')) t(period_role, period_label, period_start, period_end)")
    con.execute("create table ref_severity_weights (ho_code varchar, weight double, source varchar)")
    con.executemany("insert into ref_severity_weights values (?, ?, 'test')", list(WEIGHTS.items()))
    con.execute("create table int_offences_classified (crime_ref varchar, current_ward_code varchar, "
                "theme varchar, event_date date, ho_code varchar)")
    con.executemany("insert into int_offences_classified values (?, 'W1', 'vwi', ?, ?)",
                    [(f"C{i}", date(2023, 3, i + 1), code) for i, code in enumerate(order)])
    con.execute("create table int_mps_counts_classified (area_level varchar, borough_name varchar, "
                "ward_code varchar, theme varchar, month_start date, count bigint)")
    con.execute("create table int_police_uk_classified (month_start date, in_area boolean, current_ward_code varchar, "
                "theme varchar, crimes bigint)")   # no data.police.uk rows here
    con.execute("create table ref_wards (ward_code varchar)")
    con.execute("create table ref_previous_ward_weights (previous_ward_code varchar, ward_code varchar, weight double)")
    sql = (SQL_DIR / "intermediate" / "int_ward_period_counts.sql").read_text()
    harm = con.execute(f"select harm_weighted_count from ({sql}) where ward_code = 'W1'").fetchone()[0]
    con.close()
    return float(harm)


@pytest.mark.parametrize("order", list(itertools.permutations(WEIGHTS))[::17])
def test_harm_weighted_count_is_the_exact_sum_in_any_order(order):
    assert _harm_total(order) == 171.75


def test_the_fixture_is_one_where_doubles_disagree():
    # the reason for the test above: as doubles the five weights do not add up to 171.75
    assert sum(WEIGHTS.values()) != 171.75
