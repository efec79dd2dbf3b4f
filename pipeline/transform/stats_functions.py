"""Statistical functions the SQL models call (scipy, PySAL esda), registered on a DuckDB connection
with the macros of sql/macros_geography.sql built on them."""

from __future__ import annotations

import duckdb
import numpy as np

from pipeline.settings.config import SQL_DIR
from pipeline.transform import db

MACROS = SQL_DIR / "macros_geography.sql"


def exact_change_p_values(current, previous, current_days, previous_days) -> np.ndarray:
    """Two-sided p-value of the exact test for two Poisson counts (DESIGN §12): given the total
    n = C + P, C is Binomial(n, t_C / (t_C + t_P)) when the rate has not changed. Two-sided by doubling
    the smaller tail, capped at 1; null where a count or a period length is missing."""
    from scipy import stats

    c, p, tc, tp = (np.asarray(a, dtype=float) for a in (current, previous, current_days, previous_days))
    with np.errstate(invalid="ignore", divide="ignore"):
        n, share = c + p, tc / (tc + tp)
        lower, upper = stats.binom.cdf(c, n, share), stats.binom.sf(c - 1, n, share)
    out = np.minimum(1.0, 2 * np.minimum(lower, upper))
    out[~np.isfinite(c + p + tc + tp) | (tc <= 0) | (tp <= 0)] = np.nan
    return out


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Python functions the SQL models call, where SQL has no equivalent, then the macros on top of them.

    DuckDB has no chi-square quantile or normal tail function, and Gi* must come from PySAL esda
    (never hand-rolled: DESIGN §11), so these are registered from scipy / esda here, before the
    models run. Formulas built on them live in sql/macros_geography.sql.
    """
    import pyarrow as pa
    from scipy import stats

    from pipeline.transform import hotspots, spacetime

    def chi2_ppf(q, df):  # vectorised: one call per batch of rows
        q, df = q.to_numpy(zero_copy_only=False), df.to_numpy(zero_copy_only=False)
        return pa.array(stats.chi2.ppf(q, df), type=pa.float64(), from_pandas=True)

    def norm_sf(z):
        return pa.array(stats.norm.sf(z.to_numpy(zero_copy_only=False)), type=pa.float64(), from_pandas=True)

    def exact_change_p(current, previous, current_days, previous_days):
        return pa.array(exact_change_p_values(*(a.to_numpy(zero_copy_only=False) for a in
                                                (current, previous, current_days, previous_days))),
                        type=pa.float64(), from_pandas=True)

    for name, fn, args, result, kind in (
        ("chi2_ppf", chi2_ppf, ["DOUBLE", "DOUBLE"], "DOUBLE", "arrow"),
        ("norm_sf", norm_sf, ["DOUBLE"], "DOUBLE", "arrow"),
        ("exact_change_p", exact_change_p, ["DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE"], "DOUBLE", "arrow"),
        ("gi_star_grid", hotspots.gi_star_udf, ["BIGINT[]", "BIGINT[]", "DOUBLE[]", "INTEGER", "INTEGER"],
         "STRUCT(grid_col BIGINT, grid_row BIGINT, gi_z DOUBLE, p_norm DOUBLE, p_sim DOUBLE)[]", "native"),
        ("emerging_hotspot", spacetime.emerging_udf, ["DOUBLE[]", "VARCHAR[]", "DOUBLE"],
         "STRUCT(trend_tau DOUBLE, trend_p DOUBLE, emerging_class VARCHAR)", "native"),
        ("knox_bands", spacetime.knox_udf,
         ["DOUBLE[]", "DOUBLE[]", "BIGINT[]", "DOUBLE", "INTEGER", "INTEGER", "INTEGER", "INTEGER", "INTEGER"],
         ("STRUCT(distance_band INTEGER, time_band INTEGER, observed_pairs BIGINT, expected_pairs DOUBLE, "
          "knox_ratio DOUBLE, p_value DOUBLE)[]"), "native"),
    ):
        db.create_python_function(con, name, fn, args, result, kind)
    con.execute(MACROS.read_text())
