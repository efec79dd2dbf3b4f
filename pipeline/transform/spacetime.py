"""Space-time statistics the SQL models call: emerging hot spot classes (Gi* per month plus a
Mann-Kendall trend, as ArcGIS's Emerging Hot Spot Analysis) and the Knox test for near repeats (as
Ratcliffe's Near Repeat Calculator).

Both are registered as DuckDB functions by `pipeline.transform.stats_functions.register_functions`, like
Gi*, so they are part of the model graph: `emerging_hotspots` calls `emerging_hotspot` on each cell's
monthly series (int_grid_month_gi_star), `near_repeats` calls `knox_bands` on each theme's points.
"""

from __future__ import annotations

import math

import numpy as np

# ArcGIS's Emerging Hot Spot Analysis needs at least ten time steps, and its classes turn on 90% of them
MIN_SLICES = 10
MOST = 0.9


# ---------------------------------------------------------------- emerging hot spots

def mann_kendall(series) -> tuple[float, float]:
    """Mann-Kendall trend test of a series against time: Kendall's tau-b and its two-sided p-value from
    the normal approximation with the variance corrected for ties in the series (time has none), which
    is scipy.stats.kendalltau(time, series, method="asymptotic") (tests check they agree) at a
    fiftieth of its cost: emerging_hotspots runs it on every cell of every theme. (nan, nan) when the
    series does not vary."""
    y = np.asarray(series, dtype=float)
    n = len(y)
    if n < 3 or np.all(y == y[0]):
        return float("nan"), float("nan")
    s = float(np.sign(y[None, :] - y[:, None])[np.triu_indices(n, 1)].sum())   # concordant - discordant pairs
    _, ties = np.unique(y, return_counts=True)
    pairs, tied = n * (n - 1) / 2, float((ties * (ties - 1) / 2).sum())
    variance = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18
    z = s / math.sqrt(variance)
    return s / math.sqrt(pairs * (pairs - tied)), math.erfc(abs(z) / math.sqrt(2))


def emerging_class(classes: list[str], tau: float, p: float, alpha: float = 0.05) -> str:
    """ArcGIS's emerging hot spot pattern of one cell, from its Gi* class in each time step (oldest
    first: 'hot', 'cold' or anything else for neither) and the Mann-Kendall trend of its z-scores.

    Hot spot patterns (cold spot patterns mirror them, with the trend's sign reversed):
      new           hot in the final step, never significant (hot or cold) before
      consecutive   one unbroken run of at least two hot steps ending in the final step, never
                    significant before the run, and hot in under 90% of steps
      intensifying  hot in at least 90% of steps including the final one; the z-scores rise (trend p <= alpha)
      persistent    hot in at least 90% of steps including the final one; no significant trend
      diminishing   hot in at least 90% of steps including the final one; the z-scores fall (trend p <= alpha)
      oscillating   hot in the final step, under 90% of steps hot, and a cold spot in some earlier step
      sporadic      hot in the final step, under 90% of steps hot, never cold, and not new or consecutive
      historical    not hot in the final step, but hot in at least 90% of steps
    Otherwise 'no_pattern'; 'not_computed' with fewer than MIN_SLICES steps.
    """
    n = len(classes)
    if n < MIN_SLICES:
        return "not_computed"
    for kind, other, rising in (("hot", "cold", 1), ("cold", "hot", -1)):
        marks = np.array([c == kind for c in classes])
        opposite = np.array([c == other for c in classes])
        share = marks.sum() / n
        if not marks[-1]:
            if share >= MOST:
                return f"historical_{kind}_spot"
            continue
        if share >= MOST:
            if np.isfinite(p) and p <= alpha and tau * rising > 0:
                return f"intensifying_{kind}_spot"
            if np.isfinite(p) and p <= alpha and tau * rising < 0:
                return f"diminishing_{kind}_spot"
            return f"persistent_{kind}_spot"
        run = _final_run(marks)
        before = slice(0, n - run)
        if opposite[:-1].any():
            return f"oscillating_{kind}_spot"
        if not marks[before].any():
            return f"new_{kind}_spot" if run == 1 else f"consecutive_{kind}_spot"
        return f"sporadic_{kind}_spot"
    return "no_pattern"


def _final_run(marks: np.ndarray) -> int:
    """Length of the unbroken run of True at the end of `marks`."""
    run = 0
    for mark in marks[::-1]:
        if not mark:
            break
        run += 1
    return run


def emerging_udf(z: list[float | None], classes: list[str], alpha: float) -> dict:
    """The DuckDB scalar function emerging_hotspot: one call per cell x theme, the series oldest first."""
    if not z or any(v is None for v in z):
        return {"trend_tau": None, "trend_p": None, "emerging_class": "not_computed"}
    tau, p = mann_kendall(z)
    return {"trend_tau": None if not np.isfinite(tau) else round(tau, 6),
            "trend_p": None if not np.isfinite(p) else round(p, 6),
            "emerging_class": emerging_class(list(classes), tau, p, float(alpha))}


# ---------------------------------------------------------------- near repeats (Knox)

def band_of(values: np.ndarray, width: float, bands: int) -> np.ndarray:
    """Band 1 holds 0..width, band k ((k-1) width, k width]; bands + 1 is 'further'. Distances in
    metres, times in whole days: 0-7 days is band 1, 8-14 band 2 (the Near Repeat Calculator's bands)."""
    band = np.maximum(1, np.ceil(np.asarray(values, dtype=float) / width)).astype(np.int64)
    return np.minimum(band, bands + 1)


def knox_table(x, y, days, distance_m: float, distance_bands: int, time_days: float, time_bands: int,
               permutations: int, seed: int) -> dict[str, np.ndarray]:
    """The Knox contingency table of every pair of points: distance band x time band (each with a last
    'further' band), observed pairs, the pairs expected if the times were unrelated to the places
    (row total x column total / all pairs: the exact mean over every permutation of the times) and a
    one-sided Monte Carlo p-value, (1 + permutations with at least as many pairs) / (permutations + 1),
    from `permutations` shuffles of the times over the points (seeded: a re-run gives the same p)."""
    from scipy.spatial import cKDTree

    x, y, t = (np.asarray(a, dtype=float) for a in (x, y, days))
    n = len(t)
    shape = (distance_bands + 1, time_bands + 1)
    if n < 2:
        return {"observed": np.zeros(shape, dtype=np.int64), "expected": np.zeros(shape), "p_value": np.ones(shape)}
    # Only pairs within the last distance band are listed (a KD-tree): the 'further' row is the time
    # bands' totals over all pairs, which no shuffle of the times changes, minus the rows above.
    near = cKDTree(np.column_stack([x, y])).query_pairs(distance_m * distance_bands, output_type="ndarray")
    near = near.reshape(-1, 2)
    d_band = band_of(np.hypot(x[near[:, 0]] - x[near[:, 1]], y[near[:, 0]] - y[near[:, 1]]), distance_m,
                     distance_bands) - 1
    totals = time_band_totals(t, time_days, time_bands)

    def table(times: np.ndarray) -> np.ndarray:
        t_band = band_of(np.abs(times[near[:, 0]] - times[near[:, 1]]), time_days, time_bands) - 1
        out = np.zeros(shape, dtype=np.int64)
        out[:distance_bands] = np.bincount(d_band * (time_bands + 1) + t_band,
                                           minlength=distance_bands * (time_bands + 1)).reshape(distance_bands, -1)
        out[distance_bands] = totals - out[:distance_bands].sum(axis=0)
        return out

    observed = table(t)
    expected = np.outer(observed.sum(axis=1), totals) / (n * (n - 1) / 2)
    at_least = np.zeros(shape, dtype=np.int64)
    rng = np.random.default_rng(seed)
    for _ in range(int(permutations)):
        at_least += table(t[rng.permutation(n)]) >= observed
    p_value = (1 + at_least) / (int(permutations) + 1) if permutations else np.full(shape, np.nan)
    return {"observed": observed, "expected": expected, "p_value": p_value}


def time_band_totals(t: np.ndarray, time_days: float, time_bands: int) -> np.ndarray:
    """Pairs of points in each time band (the last: further apart), from the sorted times."""
    s = np.sort(np.asarray(t, dtype=float))
    n = len(s)
    within = [int((np.searchsorted(s, s + time_days * b, side="right") - np.arange(1, n + 1)).sum())
              for b in range(1, time_bands + 1)]
    cumulative = np.array(within + [n * (n - 1) // 2])
    return np.diff(cumulative, prepend=0)


def knox_udf(x: list[float], y: list[float], days: list[int], distance_m: float, distance_bands: int,
             time_days: int, time_bands: int, permutations: int, seed: int) -> list[dict]:
    """The DuckDB scalar function knox_bands: one call per theme, one struct per distance x time band."""
    result = knox_table(x, y, days, distance_m, int(distance_bands), time_days, int(time_bands), int(permutations),
                        int(seed))
    out = []
    for a in range(int(distance_bands) + 1):
        for b in range(int(time_bands) + 1):
            expected = float(result["expected"][a, b])
            p = float(result["p_value"][a, b])
            out.append({"distance_band": a + 1, "time_band": b + 1, "observed_pairs": int(result["observed"][a, b]),
                        "expected_pairs": round(expected, 4),
                        "knox_ratio": round(result["observed"][a, b] / expected, 4) if expected > 0 else None,
                        "p_value": round(p, 6) if np.isfinite(p) else None})
    return out
