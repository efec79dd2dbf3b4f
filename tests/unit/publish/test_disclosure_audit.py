"""The LP audit of the public tier's suppression (issue 17 item 2) on hand-built tables: the three attacks
that undo the partner heuristic recover nothing once the audit has added its cells. The reader here is
written from the tables' meaning (not from the code under test): it knows each group's total, each
suppressed cell's rule from the log, and the documented partner choice, and solves for each hidden cell
with integers (scipy milp). `heuristic_only` shows each attack succeeds on the heuristic alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from pipeline.publish import catalog, disclosure_audit
from pipeline.publish.disclosure_rules import TableRule, row_keys
from pipeline.publish.disclosure_suppression import suppress_frames
from pipeline.settings.config import DisclosureSettings as Settings

SETTINGS = Settings()
WARDS = TableRule(counts=("count",), groups=(("count", ("area_code", "theme")),
                                             ("count", ("area_code", "sub_area", "theme"))), small_area=True)
KEY = ("area_code", "ward_code", "theme")


def wards(theme: str, counts: dict[str, list[int]]) -> pd.DataFrame:
    """One area's wards by sub-area: {"E": [4, 4, 20], "W": [30, 25]}."""
    rows = [(sub, c) for sub, cs in counts.items() for c in cs]
    return pd.DataFrame({"area_code": "A", "ward_code": [f"W{i}" for i in range(len(rows))],
                         "sub_area": [s for s, _ in rows], "theme": theme, "count": [c for _, c in rows]})


@pytest.fixture(params=["audit", "heuristic_only"])
def mode(request, monkeypatch):
    if request.param == "heuristic_only":   # today's algorithm: the audit adds nothing
        monkeypatch.setattr(disclosure_audit, "protect", lambda *a, **k: pd.DataFrame(columns=disclosure_audit.COLUMNS))
    return request.param


def reader_ranges(restricted: pd.DataFrame, public: pd.DataFrame, log: pd.DataFrame, key, groups, partner_groups,
                  sensitive: bool) -> dict[int, tuple[int, int]]:
    """For each hidden cell holding a small count: the integer (min, max) the reader can derive. Groups'
    totals are known; a primary cell is 1 to threshold - 1; a secondary cell is 0 or at least the
    threshold, and at most the smallest published non-zero cell of each of `partner_groups` (the partner
    is the smallest non-zero published cell)."""
    hidden = np.flatnonzero(public["count"].isna().to_numpy())
    values = restricted["count"].to_numpy(dtype=float)
    keys = row_keys(restricted, list(key))
    rule = {k: r for k, r, c in zip(log["row_key"], log["rule"], log["column_name"]) if c == "count"}
    t = 10 if sensitive else 5
    lb, ub = np.zeros(len(hidden)), np.full(len(hidden), np.inf)
    for j, i in enumerate(hidden):
        r = rule[keys.iat[i]]
        if r.startswith("primary"):
            lb[j], ub[j] = 1, (10 if "sensitive" in r else 5) - 1
        elif r == "secondary" and values[i] > 0:
            lb[j] = t
            for group in partner_groups:
                same = (restricted[group] == restricted.iloc[i][group]).all(axis=1).to_numpy()
                shown = values[same & public["count"].notna().to_numpy() & (values > 0)]
                if len(shown) and shown.min() >= values[i]:
                    ub[j] = min(ub[j], shown.min())
    rows, rhs = [], []
    for group in groups:
        for _, part in restricted.groupby(group).groups.items():
            idx = np.asarray(part)
            row = np.isin(hidden, idx).astype(float)
            if row.any():
                rows.append(row)
                rhs.append(values[idx].sum() - np.nansum(public["count"].iloc[idx].astype(float)))
    constraint = LinearConstraint(np.array(rows), rhs, rhs)
    out = {}
    for j, i in enumerate(hidden):
        if not 0 < values[i] < t:
            continue
        ends = []
        for sign in (1, -1):
            c = np.zeros(len(hidden))
            c[j] = sign
            result = milp(c, constraints=constraint, integrality=np.ones(len(hidden)), bounds=Bounds(lb, ub))
            assert result.success
            ends.append(round(sign * result.fun))
        out[i] = tuple(ends)
    return out


def suppressed(frame, rule, name="ward_hotspots", settings=SETTINGS, key=KEY):
    public, log = suppress_frames({name: frame}, {name: key}, settings, rules={name: rule}, mirrors=())
    return public[name], log


def recovered(ranges: dict[int, tuple[int, int]], restricted: pd.DataFrame, log, key) -> dict[int, tuple[int, int]]:
    """Cells whose range is narrower than what their rule alone says (1 to threshold - 1)."""
    keys = row_keys(restricted, list(key))
    rule = {k: r for k, r, c in zip(log["row_key"], log["rule"], log["column_name"]) if c == "count"}
    return {i: r for i, r in ranges.items()
            if r != (1, (9 if "sensitive" in rule[keys.iat[i]] else 4))}


def test_two_wards_at_the_top_of_the_range_are_not_pinned_by_the_sub_area_total(mode):
    frame = wards("robbery", {"E": [4, 4, 20], "W": [30, 25]})
    public, log = suppressed(frame, WARDS)
    groups = [["area_code", "theme"], ["area_code", "sub_area", "theme"]]
    ranges = reader_ranges(frame, public, log, KEY, groups, groups, sensitive=False)
    assert set(ranges) == {0, 1}
    found = recovered(ranges, frame, log, KEY)
    if mode == "heuristic_only":
        assert found == {0: (4, 4), 1: (4, 4)}      # 28 - 20 = 8 = 4 + 4
    else:
        assert found == {}


def test_a_partner_that_is_the_smallest_published_cell_does_not_pin_its_primary(mode):
    frame = wards("knife_crime", {"E": [4, 5, 5, 30]})      # the partner (5) is also the smallest shown (5)
    public, log = suppressed(frame, WARDS)
    groups = [["area_code", "theme"]]
    found = recovered(reader_ranges(frame, public, log, KEY, groups, groups, sensitive=False), frame, log, KEY)
    if mode == "heuristic_only":
        assert found == {0: (4, 4)}                  # 44 - 35 = 9 = 4 + a partner of 5 at most
    else:
        assert found == {}


def test_a_sensitive_ward_count_of_9_is_not_pinned_by_its_partner(mode):
    frame = wards("sexual_offences", {"E": [9, 10, 10, 40]})
    public, log = suppressed(frame, WARDS)
    groups = [["area_code", "theme"]]
    found = recovered(reader_ranges(frame, public, log, KEY, groups, groups, sensitive=True), frame, log, KEY)
    if mode == "heuristic_only":
        assert found == {0: (9, 9)}                  # 69 - 50 = 19 = 9 + a partner of 10 at most
    else:
        assert found == {}


def test_a_lone_suppressed_month_of_one_area_is_protected_within_that_area(mode):
    """areas: all: theme_monthly holds every area; each area's year is published (area_comparison)."""
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    a = [3] + [20 + i for i in range(11)]
    b = [2, 4] + [30 + i for i in range(10)]
    frame = pd.DataFrame({"source": "mps", "area_role": "area", "area_name": ["A"] * 12 + ["B"] * 12,
                          "theme": "robbery", "month_start": list(months) * 2, "_year": months[0], "count": a + b})
    key = ("source", "area_role", "area_name", "theme", "month_start")
    rule = catalog.MARTS["theme_monthly"].disclosure
    if mode == "heuristic_only":   # today's group: every area's months in one
        rule = dataclasses.replace(rule, groups=(("count", ("source", "area_role", "theme", "_year")),))
    public, log = suppressed(frame, rule, "theme_monthly", key=key)
    public = public.assign(area_name=frame["area_name"])
    groups = [["area_name"]]                          # each area's months add up to its published year
    found = recovered(reader_ranges(frame, public, log, key, groups, groups, sensitive=False), frame, log, key)
    if mode == "heuristic_only":
        assert found[0] == (3, 3)                     # A's year minus A's 11 published months
    else:
        assert found == {}


def test_every_small_cell_is_feasible_from_0_to_the_threshold_without_the_rules():
    frame = pd.concat([wards("robbery", {"E": [4, 4, 20], "W": [30, 25]}),
                       wards("sexual_offences", {"E": [9, 10, 10, 40]}).assign(area_code="B")], ignore_index=True)
    _, log = suppressed(frame, WARDS)
    audit = log.attrs["audit"]
    assert len(audit) == 3 and audit["protected"].all()
    assert (audit["lower"] <= 0).all() and (audit["upper"] >= audit["threshold"]).all()
    assert audit.set_index("row_key").loc["B | W0 | sexual_offences", "threshold"] == 10


def test_a_cell_the_audit_cannot_protect_is_reported():
    frame = wards("robbery", {"E": [3, 4]})            # 7 = 3 + 4 and each is 1-4: each is 3 or 4; no cell to add
    public, log = suppressed(frame, WARDS)
    audit = log.attrs["audit"]
    assert public["count"].isna().all()
    assert audit.loc[~audit["protected"], "row_key"].tolist() == ["A | W0 | robbery", "A | W1 | robbery"]
    assert audit[["known_lower", "known_upper"]].values.tolist() == [[3, 4], [3, 4]]
    assert disclosure_audit.summary(audit)["not_protected"] == ["ward_hotspots | A | W0 | robbery | count",
                                                                "ward_hotspots | A | W1 | robbery | count"]


def small_series() -> tuple[dict, dict]:
    """Area B's 12 months of homicide in 2022 are each 1 or 2 (13 in all): the year's 13 is published in
    theme_summary and area_comparison, whose areas add up to London's 82. With the year known, 12 cells of
    1-4 summing to 13 are each at most 2; no month is left to suppress."""
    months = pd.date_range("2022-01-01", periods=12, freq="MS")
    start, previous = pd.Timestamp("2022-01-01"), pd.Timestamp("2021-01-01")
    monthly = pd.DataFrame({"source": "mps_counts", "area_role": "other_area", "area_name": "B", "theme": "homicide",
                            "month_start": months, "count": [2] + [1] * 11, "_year": start})
    areas = {"B": (13, 9), "C": (7, 8), "D": (12, 15), "E": (20, 22), "F": (30, 25)}
    summary = pd.DataFrame({"area_name": list(areas), "theme": "homicide", "period_label": "2022",
                            "period_start": start, "_previous_start": previous,
                            "count": [c for c, _ in areas.values()], "previous_count": [p for _, p in areas.values()]})
    frames = {"theme_monthly": monthly, "theme_summary": summary,
              "area_comparison": summary.drop(columns=["period_start", "_previous_start"])}
    keys = {"theme_monthly": ("source", "area_role", "area_name", "theme", "month_start"),
            "theme_summary": ("area_name", "theme", "period_label"), "area_comparison": ("area_name", "theme", "period_label")}
    return frames, keys


def test_a_series_of_small_months_has_its_year_withheld_in_every_table_that_publishes_it():
    frames, keys = small_series()
    public, log = suppress_frames(frames, keys, SETTINGS)
    audit = log.attrs["audit"]
    assert public["theme_monthly"]["count"].isna().all()
    # the year is one figure: withheld in both tables, and another area with it (else London's 82 less the rest)
    assert public["theme_summary"].set_index("area_name")["count"].isna().to_dict() == \
        public["area_comparison"].set_index("area_name")["count"].isna().to_dict()
    hidden_years = public["area_comparison"].set_index("area_name")["count"].isna()
    assert hidden_years["B"] and hidden_years.sum() >= 2
    assert len(audit) == 12 and audit["protected"].all()
    # the reader (written here): months >= 1 add up to B's year; the hidden years (each a secondary cell,
    # so >= 5) add up to London's 82 less the published years; integer ranges of each month
    values = frames["area_comparison"].set_index("area_name")["count"]
    n_years = int(hidden_years.sum())
    a = np.zeros((2, 12 + n_years))
    a[0, :12], a[0, 12] = 1, -1                       # months - B's year = 0 (B first of the hidden years)
    a[1, 12:] = 1                                     # hidden years = 82 - published years
    rhs = [0, values[hidden_years].sum()]
    lb = np.r_[np.ones(12), np.full(n_years, 5)]
    ub = np.r_[np.full(12, 4), np.full(n_years, np.inf)]
    for month in range(12):
        ends = []
        for sign in (1, -1):
            c = np.zeros(12 + n_years)
            c[month] = sign
            result = milp(c, constraints=LinearConstraint(a, rhs, rhs), integrality=np.ones(12 + n_years),
                          bounds=Bounds(lb, ub))
            assert result.success
            ends.append(sign * result.fun)
        assert ends == [1, 4], month


def test_without_the_year_to_withhold_the_small_series_is_reported_not_protected(monkeypatch):
    monkeypatch.setattr(catalog, "TOTALS", {})
    frames, keys = small_series()
    _, log = suppress_frames(frames, keys, SETTINGS)
    audit = log.attrs["audit"]
    assert len(audit) == 12 and not audit["protected"].any()
    assert (audit["known_upper"] == 2).all()
