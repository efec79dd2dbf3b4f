"""Disclosure control for the public tier: the suppression, on frames (pipeline/publish/disclosure.py writes the
result as the DuckDB schema `public` beside the restricted marts).

Each public mart's rule is its catalog entry's TableRule (pipeline/publish/catalog.py); the log holds one row
per suppressed cell: table_name, row_key (the table's `-- unique_key:` values joined with " | "),
column_name and the rule. The algorithm, kept simple so an analyst can explain it:

1. primary_small_count: a count of 1 to disclosure.min_count - 1 (default 1-4) is suppressed; zeros
   are shown (ONS practice: a zero reveals nothing about a person unless it makes a difference exact).
   primary_sensitive_small_count: in ward- or LSOA-level tables, counts of sexual offences, rape and
   domestic abuse (and of under-18 victims) under disclosure.sensitive_min_count (default 10).
2. derived: every column computed from a suppressed count (change, pct_change, rates, shares, z, p
   and q values, flags, ranks of it) is suppressed with it, so `count = previous_count + change` or
   `count = pct x base` cannot give it back.
3. base_under_10: a percentage whose base is under 10 is suppressed.
4. secondary: the tables' additive structures (wards summing to the area or sub-area total, the
   categories of a person dimension, the DA split of a theme, months summing to the year, ...) are
   listed in TableRule.groups. A group with exactly one suppressed cell gets a second one: its
   smallest non-zero published cell (a zero only if no other is left; ties by the table's order).
   A group whose suppressed cells are all 1s gets one more the same way, but a zero first (else
   "two suppressed cells and 2 missing from the total" says both are 1s). small_total: a group
   whose total is under the threshold is suppressed whole, zeros included (else "4 primary cells of
   a total under 5" says each is a 1).
   The same cell published in two tables (catalog.MIRRORS) is suppressed in both. Steps 2-4 repeat until
   nothing changes. Then pipeline/publish/disclosure_audit.py audits the result by linear programming and adds
   secondary cells until every small count is protected (its docstring); steps 2-4 run again after each.
5. rounded: with disclosure.round_to (e.g. 5), every published count and change is rounded to it.

Numeric columns a rule does not name are withheld (`unclassified_column`): a new mart column is
never published unchecked. Tables with point or record-level data are not in the public tier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.publish import catalog, disclosure_audit
from pipeline.publish.disclosure_rules import (PCT_BASE_MIN, SENSITIVE_THEMES, TableRule, group_rows, join_rows, numbers,
                                               row_keys)
from pipeline.settings.config import DisclosureSettings as Settings


def key_order(name: str, frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    return frame.sort_values(list(key), kind="stable").reset_index(drop=True) if key else frame


def _ref(frames: dict[str, pd.DataFrame], name: str, frame: pd.DataFrame, ref: str, key: tuple[str, ...],
         masks: dict[str, dict[str, np.ndarray]], group: tuple[str, ...] | None, joins: dict):
    """(values, suppressed) of a ref (see Pct) aligned with `frame`'s rows."""
    if ref.startswith("group_sum:"):
        column = ref.split(":", 1)[1]
        values = frame.groupby(list(group), dropna=False)[column].transform("sum") if group else frame[column].sum()
        return pd.Series(values, index=frame.index), np.zeros(len(frame), dtype=bool)
    if "." in ref:
        other, column = ref.split(".", 1)
        if other not in frames:
            return pd.Series(pd.NA, index=frame.index), np.zeros(len(frame), dtype=bool)
        if (name, other) not in joins:   # the frames do not change: the join is made once
            i, j = join_rows(frame, key, frames[other], key, how="left")
            if len(i) != len(frame):
                raise ValueError(f"{other} has more than one row per key of {name}")
            joins[(name, other)] = j
        j = joins[(name, other)]
        found = j >= 0
        values = frames[other][column].iloc[np.where(found, j, 0)].where(found, other=np.nan) if len(frames[other]) \
            else pd.Series(np.nan, index=frame.index)
        suppressed = masks[other][column][np.where(found, j, 0)] & found if column in masks[other] and len(frames[other]) \
            else np.zeros(len(frame), dtype=bool)
        return values.set_axis(frame.index), suppressed
    return frame[ref], masks[name][ref] if ref in masks[name] else np.zeros(len(frame), dtype=bool)


def suppress_frames(frames: dict[str, pd.DataFrame], keys: dict[str, tuple[str, ...]], settings: Settings,
                    rules: dict[str, TableRule] | None = None, mirrors=None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The public version of each frame (suppressed cells None, counts rounded if asked) and the log.
    `frames`: restricted tables by name; `keys`: their unique keys (the log's row_key); `rules` and
    `mirrors`: the catalog's unless given."""
    rules = catalog.disclosure_rules() if rules is None else rules
    mirrors = catalog.MIRRORS if mirrors is None else mirrors
    frames = {n: key_order(n, f, keys.get(n, ())) for n, f in frames.items()}
    # per table and column, as arrays over the rows: suppressed or not, and the first rule that suppressed it
    masks = {n: {c: np.zeros(len(f), dtype=bool) for c in f.columns} for n, f in frames.items()}
    rule_of = {n: {c: np.full(len(f), None, dtype=object) for c in f.columns} for n, f in frames.items()}

    def mark(name: str, column: str, where, rule: str) -> bool:
        if column not in masks[name]:
            return False
        where = where.fillna(False).to_numpy(dtype=bool) if isinstance(where, pd.Series) else np.asarray(where, dtype=bool)
        new = where & ~masks[name][column]
        if not new.any():
            return False
        masks[name][column][new] = True
        rule_of[name][column][new] = rule
        return True

    groups = {}   # (table, group-by columns) -> each row's group: the frames do not change
    for name, frame in frames.items():
        rule = rules[name]
        for _, group in rule.groups:
            if set(group) <= set(frame.columns) and (name, group) not in groups:
                groups[(name, group)] = group_rows(frame, group)
    for name, frame in frames.items():
        rule = rules[name]
        sensitive = np.zeros(len(frame), dtype=bool)
        if rule.small_area and "theme" in frame:
            sensitive = frame["theme"].isin(SENSITIVE_THEMES).to_numpy(dtype=bool)
        # a breakdown of a small total is not published at all, zeros included: with the cells' rules in
        # the log, "4 primary cells of a total under 5" would say each is a 1
        for column, group in rule.groups:
            if column in frame and set(group) <= set(frame.columns):
                values = numbers(frame, column)
                rows, codes = groups[(name, group)]
                n = len(rows)
                total = np.bincount(codes, weights=np.nan_to_num(values), minlength=n)[codes]
                limit = np.where(sensitive, settings.sensitive_min_count, settings.min_count)
                mark(name, column, (total > 0) & (total < limit) & ~np.isnan(values), "small_total")
        for column in rule.counts:
            if column not in frame:
                continue
            values = numbers(frame, column)
            small_area_u18 = rule.small_area and "u18" in column
            mark(name, column, (values > 0) & (values < settings.min_count), "primary_small_count")
            mark(name, column, (sensitive | small_area_u18) & (values > 0) & (values < settings.sensitive_min_count),
                 "primary_sensitive_small_count")
        classified = set(rule.counts) | set(rule.safe) | set(rule.pcts) | {c for d in rule.derived.values() for c in d}
        for column in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
            if numeric and column not in classified and not column.startswith("_"):
                mark(name, column, np.ones(len(frame), dtype=bool), "unclassified_column")

    joins: dict = {}
    memo: dict = {}   # the audit's join and group structure, made once (the frames do not change)
    pairs = {}   # mirrors: the joined rows (left, right) of each pair of tables, made once
    for k, (left, right, on, _) in enumerate(mirrors):
        if left in frames and right in frames:
            left_on, right_on = zip(*[(c, c) if isinstance(c, str) else c for c in on])
            if set(left_on) <= set(frames[left]) and set(right_on) <= set(frames[right]):
                pairs[k] = join_rows(frames[left], left_on, frames[right], right_on)
    changed, audit = True, None
    while changed:
        changed = False
        for name, frame in frames.items():
            rule = rules[name]
            for count, columns in rule.derived.items():
                if count in frame:
                    for column in columns:
                        changed |= mark(name, column, masks[name][count], "secondary")
            for column, pct in rule.pcts.items():
                if column not in frame:
                    continue
                group = next((g for c, g in rule.groups if c == pct.numerator), None)
                _, num_suppressed = _ref(frames, name, frame, pct.numerator, keys.get(name, ()), masks, group, joins)
                base, base_suppressed = _ref(frames, name, frame, pct.base, keys.get(name, ()), masks, group, joins)
                changed |= mark(name, column, num_suppressed | base_suppressed, "secondary")
                changed |= mark(name, column, pd.to_numeric(base, errors="coerce") < PCT_BASE_MIN, "base_under_10")
            for count, group in rule.groups:
                if count not in frame or not set(group) <= set(frame.columns):
                    continue
                changed |= _secondary_in_groups(frame, count, groups[(name, group)], masks[name], mark, name)
        for k, (left, right, _, columns) in enumerate(mirrors):
            if k not in pairs:
                continue
            ai, bi = pairs[k]
            for column in columns:
                left_column, right_column = (column, column) if isinstance(column, str) else column
                if left_column not in frames[left] or right_column not in frames[right]:
                    continue
                # a cell is suppressed if the same figure is suppressed in the other table
                from_right = np.zeros(len(frames[left]), dtype=bool)
                np.logical_or.at(from_right, ai, masks[right][right_column][bi])
                from_left = np.zeros(len(frames[right]), dtype=bool)
                np.logical_or.at(from_left, bi, masks[left][left_column][ai])
                changed |= mark(left, left_column, from_right, "secondary")
                changed |= mark(right, right_column, from_left, "secondary")
        if not changed:   # the heuristic is done: the LP audit adds cells until it proves every small cell protected
            audit = disclosure_audit.protect(frames, masks, rule_of, mark, settings, rules, mirrors, keys, memo)
            changed = audit is None

    public, log = {}, []
    for name, frame in frames.items():
        mask = pd.DataFrame(masks[name], index=frame.index, columns=frame.columns)
        # a column with a suppressed cell holds None there (object); the others keep their type
        out = frame.assign(**{c: frame[c].astype(object).where(~masks[name][c], None)
                              for c in frame.columns if masks[name][c].any()})
        if settings.round_to:
            out = _rounded(out, mask, rules[name], settings.round_to)
        public[name] = out[[c for c in frame.columns if not c.startswith("_")]]
        shown = [c for c in frame.columns if not c.startswith("_")]
        rules_of_cells = np.column_stack([rule_of[name][c] for c in shown]) if shown else np.empty((len(frame), 0))
        rows, cols = np.nonzero(rules_of_cells != None)  # noqa: E711  (elementwise: cells with a rule, row by row)
        if len(rows):
            row_key = row_keys(frame, list(keys.get(name, ()))).to_numpy()[rows]
            log.append(pd.DataFrame({"table_name": name, "row_key": row_key,
                                     "column_name": np.array(shown, dtype=object)[cols], "rule": rules_of_cells[rows, cols]}))
        if settings.round_to:
            log += [pd.DataFrame({"table_name": [name], "row_key": ["*"], "column_name": [column], "rule": ["rounded"]})
                    for column in _rounded_columns(frame, rules[name])]
    columns = ["table_name", "row_key", "column_name", "rule"]
    log = pd.concat(log, ignore_index=True)[columns] if log else pd.DataFrame(columns=columns)
    log.attrs["audit"] = audit   # restricted: each small cell's feasible range (pipeline/publish/disclosure_audit.py)
    return public, log


def _secondary_in_groups(frame: pd.DataFrame, count: str, groups: tuple[list, np.ndarray], mask: dict, mark, name) -> bool:
    """Per group of rows adding up to a published total: exactly one suppressed cell gets a partner,
    the smallest non-zero published cell (else a zero); ties by table order."""
    values = numbers(frame, count)
    suppressed = mask[count]
    rows, codes = groups
    n = len(rows)
    per_group = np.bincount(codes, weights=suppressed, minlength=n)[codes]
    # a group whose suppressed cells are all 1s gives them away too (k cells of at least 1 adding up to k):
    # it gets one more cell, as a group with a lone suppressed cell does
    ones = np.bincount(codes, weights=suppressed & (values == 1), minlength=n)[codes]
    positive = np.bincount(codes, weights=suppressed & (values > 0), minlength=n)[codes]
    all_ones = (per_group > 0) & (ones == per_group) & (positive == per_group)
    candidates = np.flatnonzero(((per_group == 1) | all_ones) & ~suppressed & ~np.isnan(values))
    if not len(candidates):
        return False
    value = values[candidates]
    zero = value == 0
    # lone cell: the smallest non-zero partner; all ones: a zero first (it hides which cells are the ones)
    rank = np.where(all_ones[candidates], ~zero, zero)
    order = np.lexsort((candidates, value, rank, codes[candidates]))
    first = np.r_[True, codes[candidates][order][1:] != codes[candidates][order][:-1]]
    where = np.zeros(len(frame), dtype=bool)
    where[candidates[order][first]] = True
    return mark(name, count, where, "secondary")


def _rounded_columns(frame: pd.DataFrame, rule: TableRule) -> list[str]:
    change = [c for c in ("change", "trend_change") if any(c in d for d in rule.derived.values())]
    return [c for c in (*rule.counts, *change) if c in frame]


def _rounded(out: pd.DataFrame, mask: pd.DataFrame, rule: TableRule, base: int) -> pd.DataFrame:
    """Published counts to the nearest `base` (halves away from zero, as Excel's ROUND), and the changes
    recomputed from the rounded counts so the identity count - previous_count = change still holds."""
    def nearest(value):
        if value is None or pd.isna(value):
            return value
        sign = -1 if value < 0 else 1
        return int(sign * ((abs(float(value)) + base / 2) // base) * base)

    for column in rule.counts:
        if column in out:
            out[column] = pd.Series([nearest(v) for v in out[column]], index=out.index, dtype=object)
    for change, (a, b) in (("change", ("count", "previous_count")), ("trend_change", ("count", "trend_start_count"))):
        if change in out and a in out and b in out:
            ok = ~mask[change]
            out[change] = out[change].astype(object)
            out.loc[ok, change] = [None if x is None or y is None or pd.isna(x) or pd.isna(y) else x - y
                                   for x, y in zip(out.loc[ok, a], out.loc[ok, b])]
    return out
