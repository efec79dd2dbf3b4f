"""The public tier's suppression proved by an audit (issue 17 item 2), as tau-ARGUS audits tables.

After primary and heuristic secondary suppression (pipeline/publish/disclosure_suppression.py), every suppressed
small count (1 to min_count - 1; under sensitive_min_count where the sensitive threshold applies) gets the range of
values consistent with what the public tier publishes, by linear programming (SciPy's HiGHS linprog:
minimise and maximise the cell subject to the published equations and non-negativity). The equations:

- every additive group of TableRule.groups: its members add up to its total. The total is taken as
  published (the attacker knows it: it is in another table, or the area's figure), except a total
  under the threshold, which is a count suppressed wherever it is published (then a free unknown), a
  total of no published period (a null helper key: theme_monthly's months outside any published
  period; a free unknown) and a total withheld in every cell that publishes it (catalog.TOTALS: that cell's
  unknown, tied to its own groups);
- catalog.MIRRORS: the same figure in two tables is one unknown.

Derived columns (changes, shares, rates, percentages) are suppressed with their counts, so they add no
equation. Two attackers are audited, and a cell is protected only against both:

- `open`: every suppressed cell is only known to be >= 0. The cell must be feasible from 0 to at
  least the threshold (a 1-4 cell anywhere in [0, 5]; a sensitive cell under 10 in [0, 10]);
- `rule known`: a reader of a log that names the rule also knows each primary cell lies in
  [1, threshold - 1]. The cell must still be feasible over all of that range (nothing learnt beyond
  the rule: "two wards of 4 and 8 left in the sub-area" pins both to 4).

A cell that fails gets secondary suppression: the smallest published non-zero cell (then a zero) of a
group it belongs to; with none left (every month a small count), every cell publishing one of its groups'
totals (catalog.TOTALS); then the same for the groups of the unknowns linked to it (a withheld total's
own group).
The audit runs again, until every cell passes or none is left to add (then the cell is reported as not
protected). Ranges are of the LP relaxation (integer ranges can only be as
wide or narrower by less than one; the equations are sums, so their vertices are whole numbers).

The audit works per independent component (suppressed cells linked by a shared equation): a
component of one equation is solved by interval arithmetic, vectorised; larger ones by HiGHS on a
sparse matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from pipeline.publish import catalog
from pipeline.publish.disclosure_rules import group_rows, join_rows, numbers, row_keys, thresholds

SECONDARY = "secondary"
TABLE = "disclosure_audit"         # main.disclosure_audit and <output>/disclosure_audit.csv (restricted)
COLUMNS = ["table_name", "row_key", "column_name", "rule", "threshold", "lower", "upper", "known_lower",
           "known_upper", "protected"]


# ranges of LP components already solved (the rounds of one run re-audit mostly unchanged components);
# keyed by everything that defines the LP, so a hit is always the same problem
_SOLVED: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


@dataclass
class System:
    """Suppressed cells as unknowns and the published equations over them: A x = b, lb <= x <= ub."""

    cells: list[tuple[str, str, int]]          # (table, column, row) of each unknown; free totals are ("", "", -1)
    index: dict[tuple[str, str, int], int]
    rows: list[int]
    cols: list[int]
    coefs: list[float]
    rhs: list[float]
    members: list[list[tuple[str, str, int]]]  # per equation from a group: its published cells (candidates)
    totals: list[list[tuple[str, str, int]]]   # per equation: the published cells of its total (last candidates)
    # per unknown: the smallest published non-zero cell of each of its groups that is at least its value (a
    # partner is its group's smallest such cell: a reader of the method knows it lies under that cell)
    partner_cap: dict[int, float]
    alias: dict[tuple[str, str, int], tuple[str, str, int]]   # a mirror's cell -> the same figure's first cell
    seen: set
    mirror_of: dict = field(default_factory=dict)   # cell -> the same figure's cells in other tables

    def variable(self, cell: tuple[str, str, int]) -> int:
        cell = self.alias.get(cell, cell)
        if cell not in self.index:
            self.index[cell] = len(self.cells)
            self.cells.append(cell)
        return self.index[cell]

    def equation(self, terms: list[tuple[int, float]], rhs: float, published: list, totals: list = ()) -> None:
        signature = (tuple(sorted(terms)), round(rhs, 6))
        self.totals.append(list(totals))
        if signature in self.seen:   # the same group in two tables (wards in ward_summary and ward_hotspots)
            self.members.append(published)
            self.rhs.append(None)
            return
        self.seen.add(signature)
        row = len(self.rhs)
        for col, coef in terms:
            self.rows.append(row)
            self.cols.append(col)
            self.coefs.append(coef)
        self.rhs.append(rhs)
        self.members.append(published)


def _total_cells(frames, name: str, column: str) -> dict[int, list[tuple[str, str, int]]]:
    """Row of `name` -> the cells (catalog.TOTALS) that publish the total of its group on `column`."""
    out: dict[int, list[tuple[str, str, int]]] = {}
    frame = frames[name]
    for other, other_column, on in catalog.TOTALS.get((name, column), ()):
        here, there = (list(x) for x in zip(*on))
        if other not in frames or not set(here) <= set(frame) or not {*there, other_column} <= set(frames[other]):
            continue
        a = frame[here].assign(_i=np.arange(len(frame))).dropna(subset=here)
        b = frames[other][there].assign(_j=np.arange(len(frames[other]))).dropna(subset=there)
        for i, j in a.merge(b, left_on=here, right_on=there)[["_i", "_j"]].itertuples(index=False):
            out.setdefault(int(i), []).append((other, other_column, int(j)))
    return out


def _memo(memo: dict, key: tuple, make):
    return memo[key] if key in memo else memo.setdefault(key, make())


def _values(memo: dict, frames, name: str, column: str) -> np.ndarray:
    return _memo(memo, ("values", name, column), lambda: numbers(frames[name], column))


def _limits(memo: dict, frames, rules, name: str, column: str, settings) -> np.ndarray:
    return _memo(memo, ("limit", name, column), lambda: thresholds(frames[name], rules[name], column, settings))


def build_system(frames, masks, rules, mirrors, settings, memo: dict) -> System:
    """`memo`: what depends on the frames alone (joins, groups, values), kept between the rounds of one run."""
    system = System([], {}, [], [], [], [], [], [], {}, {}, set())
    for k, (left, right, on, columns) in enumerate(mirrors):
        if left not in frames or right not in frames:
            continue
        left_on, right_on = zip(*[(c, c) if isinstance(c, str) else c for c in on])
        for column in columns:
            lc, rc = (column, column) if isinstance(column, str) else column
            if not {*left_on, lc} <= set(frames[left]) or not {*right_on, rc} <= set(frames[right]):
                continue
            ai, bi = _memo(memo, ("mirror", k), lambda: join_rows(frames[left], left_on, frames[right], right_on))
            av, bv = _values(memo, frames, left, lc)[ai], _values(memo, frames, right, rc)[bi]
            a, b = masks[left][lc][ai], masks[right][rc][bi]
            same = av == bv
            for i, j in zip(ai[same].tolist(), bi[same].tolist()):
                system.mirror_of.setdefault((left, lc, i), []).append((right, rc, j))
                system.mirror_of.setdefault((right, rc, j), []).append((left, lc, i))
            # not the same figure (a join wider than one cell): no equation
            pick = same & (a | b)
            for i, j, x, y, row_a, row_b in zip(*(x[pick].tolist() for x in (ai, bi, av, bv, a, b))):
                if row_a and row_b:   # one unknown
                    system.alias[(right, rc, j)] = system.alias.get((left, lc, i), (left, lc, i))
                    continue
                terms, rhs = [], 0.0
                if row_a:
                    terms.append((system.variable((left, lc, i)), 1.0))
                else:
                    rhs -= float(x)
                if row_b:
                    terms.append((system.variable((right, rc, j)), -1.0))
                else:
                    rhs += float(y)
                system.equation(terms, rhs, [])
    for name, frame in frames.items():
        rule = rules[name]
        for column, group in rule.groups:
            if column not in frame or not set(group) <= set(frame.columns) or (name, column) in catalog.NOT_ADDITIVE:
                continue
            values = _values(memo, frames, name, column)
            hidden = masks[name][column] & ~np.isnan(values)
            if not hidden.any():
                continue
            limit = _limits(memo, frames, rules, name, column, settings)
            # a null in a helper key (theme_monthly's _year): the rows belong to no published total
            helper = [g for g in group if g.startswith("_")]
            unpublished = _memo(memo, ("unpublished", name, group), lambda: frame[helper].isna().any(axis=1).to_numpy()
                                if helper else np.zeros(len(frame), dtype=bool))
            total_cells = _memo(memo, ("totals", name, column), lambda: _total_cells(frames, name, column))
            groups, codes = _memo(memo, ("groups", name, group), lambda: group_rows(frame, group))
            for g in np.flatnonzero(np.bincount(codes, weights=hidden, minlength=len(groups))):
                rows = groups[g]
                secret = rows[hidden[rows]]
                shown = rows[~hidden[rows] & ~np.isnan(values[rows])]
                total, shown_sum = float(np.nansum(values[rows])), float(values[shown].sum())
                terms = [(system.variable((name, column, r)), 1.0) for r in secret.tolist()]
                smallest = float(values[shown][values[shown] > 0].min(initial=math.inf))
                for (v, _), r in zip(terms, secret):
                    if smallest >= values[r]:
                        system.partner_cap[v] = min(system.partner_cap.get(v, math.inf), smallest)
                rhs = total - shown_sum
                # only a cell holding the same figure is the group's total (not a partial year's months)
                totals = [c for c in total_cells.get(int(rows[0]), [])
                          if abs(_values(memo, frames, c[0], c[1])[c[2]] - total) < 1e-9]
                withheld = [c for c in totals if masks[c[0]][c[1]][c[2]]]
                if withheld and len(withheld) == len(totals):
                    # the total is suppressed wherever published: those cells' one unknown (tied to their groups)
                    terms.append((system.variable(withheld[0]), -1.0))
                    rhs = -shown_sum
                    for other in withheld[1:]:
                        system.equation([(system.variable(withheld[0]), 1.0), (system.variable(other), -1.0)], 0.0, [])
                elif not totals and (unpublished[rows[0]] or 0 < total < limit[rows[0]]):
                    # a total under the threshold is itself suppressed wherever it is published; an unpublished total
                    # (a null helper key) is unknown too
                    terms.append((system.variable(("", f"{name}.{column}.{'.'.join(group)}", int(rows[0]))), -1.0))
                    rhs = -shown_sum
                system.equation(terms, rhs, [(name, column, r) for r in shown.tolist()],
                                [c for c in totals if not masks[c[0]][c[1]][c[2]]])
    return system


def _implied(a: sparse.csr_matrix, b: np.ndarray) -> np.ndarray:
    """Equations of +1 terms that are the sum of others over disjoint parts of their cells (an area's
    wards = the sum of its sub-areas' wards): dropping them leaves independent, simpler components."""
    ones = np.array([len(a.indices[a.indptr[e]:a.indptr[e + 1]]) > 1 and (a.data[a.indptr[e]:a.indptr[e + 1]] == 1).all()
                     for e in range(a.shape[0])])
    by_var = a.tocsc()
    implied = np.zeros(a.shape[0], dtype=bool)
    for e in np.flatnonzero(ones):
        cells = set(a.indices[a.indptr[e]:a.indptr[e + 1]])
        parts = {f for v in cells for f in by_var.indices[by_var.indptr[v]:by_var.indptr[v + 1]]
                 if f != e and ones[f] and not implied[f]}
        covered, total = set(), 0.0
        for f in sorted(parts, key=lambda f: -(a.indptr[f + 1] - a.indptr[f])):
            part = set(a.indices[a.indptr[f]:a.indptr[f + 1]])
            if part < cells and not part & covered:
                covered |= part
                total += b[f]
        implied[e] = covered == cells and abs(total - b[e]) < 1e-6
    return implied


def _ranges(system: System, n: int, lb: np.ndarray, ub: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min and max of each target unknown (NaN elsewhere) subject to A x = b, lb <= x <= ub."""
    low, high = np.full(n, np.nan), np.full(n, np.nan)
    if not len(system.rhs):
        low[targets], high[targets] = lb[targets], ub[targets]
        return low, high
    a = sparse.csr_matrix((system.coefs, (system.rows, system.cols)), shape=(len(system.rhs), n))
    b = np.array([0.0 if r is None else r for r in system.rhs])
    implied = _implied(a, b)
    a = sparse.diags((~implied).astype(float)) @ a   # an implied equation's row left empty (0 = 0)
    a.eliminate_zeros()
    b[implied] = 0.0
    # components: unknowns linked through a shared equation (bipartite graph unknowns + equations)
    m = a.shape[0]
    link = sparse.bmat([[None, a.T != 0], [a != 0, None]], format="csr")
    _, label = connected_components(link, directed=False)
    var_label, eq_label = label[:n], label[n:]
    in_equation = np.asarray((a != 0).sum(axis=0)).ravel() > 0
    lone = targets & ~in_equation
    low[lone], high[lone] = lb[lone], ub[lone]
    eq_per_label = np.bincount(eq_label, minlength=label.max() + 1)
    coo = a.tocoo()
    all_ones = np.ones(m, dtype=bool)
    np.logical_and.at(all_ones, coo.row, coo.data == 1.0)
    # one equation of +1 terms: x_i = b - sum of the others, each in its bounds (interval arithmetic)
    simple_eq = (eq_per_label[eq_label] == 1) & all_ones
    eq_of_var = np.full(n, -1)
    eq_of_var[coo.col] = coo.row
    simple_var = targets & in_equation & (eq_of_var >= 0)
    simple_var &= simple_eq[np.where(eq_of_var >= 0, eq_of_var, 0)]
    if simple_var.any():
        sum_lb = np.bincount(coo.row, weights=lb[coo.col], minlength=m)
        sum_ub = np.bincount(coo.row, weights=np.where(np.isinf(ub), 1e18, ub)[coo.col], minlength=m)
        e = eq_of_var[simple_var]
        others_ub = sum_ub[e] - np.where(np.isinf(ub[simple_var]), 1e18, ub[simple_var])
        others_lb = sum_lb[e] - lb[simple_var]
        low[simple_var] = np.maximum(lb[simple_var], b[e] - others_ub)
        high[simple_var] = np.minimum(ub[simple_var], b[e] - others_lb)
    rest = targets & in_equation & ~simple_var
    for component in np.unique(var_label[rest]):
        variables = np.flatnonzero(var_label == component)
        equations = np.flatnonzero(eq_label == component)
        sub = a[equations][:, variables]
        key = (tuple(system.cells[v] for v in variables), sub.data.tobytes(), sub.indices.tobytes(),
               sub.indptr.tobytes(), b[equations].tobytes(), lb[variables].tobytes(), ub[variables].tobytes(),
               rest[variables].tobytes())
        if key in _SOLVED:   # the same component as in an earlier round: the same ranges
            low[variables], high[variables] = _SOLVED[key]
            continue
        bounds = list(zip(lb[variables], [None if math.isinf(u) else u for u in ub[variables]]))
        for k, v in enumerate(variables):
            if not rest[v]:
                continue
            c = np.zeros(len(variables))
            for sign, out in ((1.0, low), (-1.0, high)):
                c[k] = sign
                result = linprog(c, A_eq=sub, b_eq=b[equations], bounds=bounds, method="highs")
                if result.status == 3:       # unbounded above
                    out[v] = np.inf
                elif result.status == 0:
                    out[v] = sign * result.fun
                else:
                    raise RuntimeError(f"disclosure audit: LP failed ({result.message})")
        if len(_SOLVED) > 100_000:
            _SOLVED.clear()
        _SOLVED[key] = (low[variables].copy(), high[variables].copy())
    return low, high


def _known_bounds(system: System, frames, rule_of, rules, settings, memo) -> tuple[np.ndarray, np.ndarray]:
    """What a reader of a log naming each cell's rule, who knows the method, can say of each unknown:
    a primary cell lies in [1, threshold - 1]; a cell of a small total under the threshold; a non-zero
    secondary cell is not small (>= min_count) and lies under its groups' smallest published non-zero
    cell (the partner choice). Only true facts: the audit's attacker is at least as strong as the reader."""
    n = len(system.cells)
    lb, ub = np.zeros(n), np.full(n, np.inf)
    primary_limit = {"primary_small_count": settings.min_count,
                     "primary_sensitive_small_count": settings.sensitive_min_count}
    cells = pd.DataFrame(system.cells, columns=["name", "column", "row"])
    for (name, column), part in cells[cells["name"] != ""].groupby(["name", "column"], sort=False):
        v, r = part.index.to_numpy(), part["row"].to_numpy()
        value = _values(memo, frames, name, column)[r]
        limit = _limits(memo, frames, rules, name, column, settings).astype(float)[r]
        rule = rule_of[name][column][r]
        primary = np.array([primary_limit.get(x, 0) for x in rule], dtype=float)
        # a primary cell: 1 to threshold - 1 (a weighted count may be a fraction under 1)
        lb[v] = np.where(primary > 0, np.minimum(1.0, value), lb[v])
        ub[v] = np.where(primary > 0, np.maximum(primary - 1.0, value), ub[v])
        small_total = rule == "small_total"
        ub[v] = np.where(small_total, np.maximum(limit - 1.0, value), ub[v])
        # a non-zero secondary cell is published-size: at least its threshold (the sensitive one if it applies)
        secondary = rule == SECONDARY
        at_least = np.where(value >= limit, limit, np.where(value >= settings.min_count, settings.min_count, 0.0))
        cap = np.array([system.partner_cap.get(x, math.inf) for x in v])
        lb[v] = np.where(secondary, at_least, lb[v])
        ub[v] = np.where(secondary, cap, ub[v])
    return lb, ub


def audit(frames, masks, rule_of, rules, mirrors, settings, memo: dict) -> tuple[pd.DataFrame, System]:
    """One row per suppressed small count: its threshold, its range for the open attacker (lower, upper)
    and for the rule-known attacker (known_lower, known_upper), and whether both cover their interval."""
    system = build_system(frames, masks, rules, mirrors, settings, memo)
    checked = []   # per count column: (table, column, rows of its suppressed small counts, their thresholds)
    for name, frame in frames.items():
        for column in rules[name].counts:
            if column in frame:
                values, limit = _values(memo, frames, name, column), _limits(memo, frames, rules, name, column, settings)
                rows = np.flatnonzero(masks[name][column] & (values > 0) & (values < limit))
                checked.append((name, column, rows, limit[rows]))
    tables = [name for name, _, rows, _ in checked for _ in rows]
    columns = [column for _, column, rows, _ in checked for _ in rows]
    rows, limit = (np.concatenate([c[k] for c in checked] + [np.zeros(0, dtype=int)]) for k in (2, 3))
    cell_rules = [rule_of[name][column][r] for name, column, rows, _ in checked for r in rows]
    where = np.array([system.variable((name, column, int(r))) for name, column, r in zip(tables, columns, rows)], dtype=int)
    n = len(system.cells)
    targets = np.zeros(n, dtype=bool)
    targets[where] = True
    lb, ub = np.zeros(n), np.full(n, np.inf)
    low, high = (x[where] for x in _ranges(system, n, lb, ub, targets))
    known = _known_bounds(system, frames, rule_of, rules, settings, memo)
    known_lb, known_ub = (x[where] for x in known)
    known_low, known_high = (x[where] for x in _ranges(system, n, *known, targets))
    tolerance = 1e-6
    open_ok = (low <= tolerance) & (high >= limit - tolerance)
    # the reader must learn nothing beyond the rule: every value it allows stays feasible
    known_ok = (known_low <= known_lb + tolerance) & (known_high >= known_ub - tolerance)
    result = pd.DataFrame({"table_name": tables, "row": rows, "column_name": columns, "rule": cell_rules,
                           "threshold": limit.astype(int), "lower": low, "upper": high, "known_lower": known_low,
                           "known_upper": known_high, "protected": open_ok & known_ok})
    return result, system


def protect(frames, masks, rule_of, mark, settings, rules, mirrors, keys, memo: dict) -> pd.DataFrame | None:
    """Audit; where a cell is not protected, suppress one more cell of one of its groups (the smallest
    published non-zero, else a zero) with its mirrors, and audit again, until every cell passes or none
    can be added. Returns None if cells were added (the caller propagates derived columns and the
    heuristic, then calls again), else the audit (COLUMNS), with any cell it could not protect."""
    added = False
    while True:
        result, system = audit(frames, masks, rule_of, rules, mirrors, settings, memo)
        chosen = _choose(frames, result[~result["protected"]], system, memo)
        if not chosen:
            break
        for cell in chosen:
            for name, column, r in [cell, *system.mirror_of.get(cell, [])]:
                where = pd.Series(False, index=frames[name].index)
                where.iloc[r] = True
                added |= mark(name, column, where, SECONDARY)
    if added:
        return None
    out = []
    for name, part in result.groupby("table_name", sort=False):
        frame = frames[name]
        part = part.assign(row_key=row_keys(frame.iloc[part["row"].to_numpy()], list(keys.get(name, ()))).to_numpy())
        out.append(part)
    return pd.concat(out, ignore_index=True)[COLUMNS] if out else pd.DataFrame(columns=COLUMNS)


def _choose(frames, failing: pd.DataFrame, system: System, memo: dict) -> set[tuple[str, str, int]]:
    """One published cell per failing cell: the smallest non-zero (else a zero) of its groups; none
    beside a cell already chosen this round (one more cell may be enough for both)."""
    chosen: set[tuple[str, str, int]] = set()
    if not len(failing):
        return chosen
    a = sparse.csr_matrix(([1.0] * len(system.cols), (system.cols, system.rows)),
                          shape=(len(system.cells), len(system.rhs)))
    for row in failing.itertuples(index=False):
        v = system.variable((row.table_name, row.column_name, row.row))
        candidates, total = _candidates(system, a, v)
        if not candidates or chosen & set(candidates):
            continue
        if total:   # a group's total: every cell that publishes it (one figure)
            chosen.update(candidates)
            continue
        value = {cell: float(_values(memo, frames, cell[0], cell[1])[cell[2]]) for cell in candidates}
        chosen.add(min(candidates, key=lambda cell: (value[cell] == 0, value[cell], cell)))
    return chosen


def _candidates(system: System, a: sparse.csr_matrix, v: int) -> tuple[list[tuple[str, str, int]], bool]:
    """The published cells of v's groups; none left (every month a small count): the cells publishing one of
    their totals (True); none left either: the same for the groups of the unknowns linked to v (a suppressed
    total's own groups, e.g. the areas of area_comparison), nearest first."""
    seen, unknowns = {v}, [v]
    while unknowns:
        equations = sorted({e for u in unknowns if u < a.shape[0] for e in a[u].indices})
        members = [c for e in equations for c in system.members[e]]
        if members:
            return members, False
        totals = next((system.totals[e] for e in equations if system.totals[e]), [])
        if totals:
            return totals, True
        a_t = a[:, equations] if equations else None
        unknowns = [] if a_t is None else [u for u in np.unique(a_t.nonzero()[0]) if u not in seen]
        seen.update(unknowns)
    return [], False


def summary(result: pd.DataFrame) -> dict:
    """What run.json records: cells checked, the narrowest range found, the cells not protected."""
    if not len(result):
        return {"cells_checked": 0, "narrowest_range": None, "not_protected": []}
    result = result.assign(protected=result["protected"].astype(str).str.lower().eq("true"))
    width = (result["upper"] - result["lower"]).astype(float)
    narrow = result.loc[width.idxmin()]
    return {"cells_checked": int(len(result)),
            "narrowest_range": {"table_name": narrow["table_name"], "row_key": narrow["row_key"],
                                "column_name": narrow["column_name"], "lower": float(narrow["lower"]),
                                "upper": float(narrow["upper"])},
            "not_protected": [f"{r.table_name} | {r.row_key} | {r.column_name}"
                              for r in result[~result["protected"]].itertuples(index=False)]}


def summary_of_file(path) -> dict:
    return summary(pd.read_csv(path, dtype={"row_key": str, "table_name": str, "column_name": str}))
