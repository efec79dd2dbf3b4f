"""The vocabulary of the public tier's disclosure control, shared by the catalog (each mart's rule),
the suppression (pipeline/publish/disclosure_suppression.py) and its audit (pipeline/publish/disclosure_audit.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import seeds

SENSITIVE_THEMES = seeds.themes_where("sensitive")  # sensitive_min_count applies (sql/seeds/themes.csv)
PCT_BASE_MIN = 10


@dataclass(frozen=True)
class Pct:
    """A percentage column: suppressed with its numerator, and when its base is under 10. A ref is a
    column of the row, `table.column` (joined on the shared unique key), or `group_sum:column` (the
    sum of the column over the group, e.g. all categories of a dimension)."""

    numerator: str
    base: str


@dataclass(frozen=True)
class TableRule:
    counts: tuple[str, ...]                            # counts of crimes or people: primary suppression
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)   # count -> columns computed from it
    pcts: dict[str, Pct] = field(default_factory=dict)
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (count column, group-by columns): members add up
    small_area: bool = False                           # ward / LSOA level: sensitive thresholds apply
    safe: tuple[str, ...] = ()                         # numeric columns that hold no count (ids, years, populations)
    prepare: str | None = None                         # select adding helper columns (prefixed _) for groups


CHANGE = ("change", "pct_change", "poisson_z", "p_value", "change_flag")
WARD_CHANGE = CHANGE + ("q_value", "significant_after_fdr")
# the start of the period a row's previous_count counts (the same number of months just before): where
# the disclosure audit finds the months that previous_count totals (catalog.TOTALS)
PREVIOUS_START = ("cast(period_start - to_months(datediff('month', period_start, period_end) + 1) as date) "
                  "as _previous_start")


def thresholds(frame: pd.DataFrame, rule: TableRule, column: str, settings) -> np.ndarray:
    """The protection threshold of each cell of a count column (sensitive_min_count where it applies)."""
    sensitive = np.full(len(frame), rule.small_area and "u18" in column)
    if rule.small_area and "theme" in frame:
        sensitive |= frame["theme"].isin(SENSITIVE_THEMES).to_numpy(dtype=bool)
    return np.where(sensitive, settings.sensitive_min_count, settings.min_count)


def row_keys(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    """The log's row_key: the unique key's values joined with " | " (dates as YYYY-MM-DD, null as '')."""
    joined = np.full(len(frame), "", dtype=object)
    for n, column in enumerate(key):
        values = frame[column]
        text = values.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(values) else values.astype(str)
        text = text.where(values.notna(), "").to_numpy(dtype=object)
        joined = text if n == 0 else joined + " | " + text
    return pd.Series(joined, index=frame.index, dtype=object)


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column's values as float (NaN for a blank or a value that is not a number)."""
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def group_rows(frame: pd.DataFrame, group) -> tuple[list[np.ndarray], np.ndarray]:
    """The rows of each group of the group-by columns (nulls a group of their own), and each row's group."""
    groups = list(frame.groupby(list(group), dropna=False, sort=False).indices.values())
    codes = np.zeros(len(frame), dtype=int)
    for g, rows in enumerate(groups):
        codes[rows] = g
    return groups, codes


def join_rows(left: pd.DataFrame, left_on, right: pd.DataFrame, right_on, how: str = "inner") -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i in left, j in right) of the pairs joined on the columns (-1: no match, how="left")."""
    a = left[list(left_on)].assign(_i=np.arange(len(left)))
    b = right[list(right_on)].assign(_j=np.arange(len(right)))
    both = a.merge(b, left_on=list(left_on), right_on=list(right_on), how=how)
    return both["_i"].to_numpy(), both["_j"].fillna(-1).to_numpy(dtype=int)
