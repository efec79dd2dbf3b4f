"""Areas as a dimension (issue 11): which areas a run covers, their boundaries and their residents.

A run config names its focus area in `area:`; `areas:` widens the run to
- a list of area names (the focus area is always added),
- `all`: every area in the inputs (each borough of the MPS borough-level count files), or
- `neighbours`: the focus area and the areas whose boundaries touch it, from `reference.areas`.

Neighbours share a border of at least NEIGHBOUR_MIN_BORDER_M metres, borders counting as shared where
they lie within NEIGHBOUR_TOLERANCE_M metres of each other (generalised boundary files leave slivers
and gaps of a metre or so). Two areas that meet at a single point only are not neighbours (rook, not
queen, contiguity): a corner gives about 2 x the tolerance of "shared border", far below the minimum.

Residents per area are the Census 2021 usual residents of its LSOAs (`reference.area_population`, an
LSOA x age file for England and Wales). An LSOA is assigned to its local authority by its name, which
ONS builds as the local authority name plus a number ("Merton 001A"): the shared data holds no
LSOA 2021 -> local authority lookup, and the name rule is exact for LSOA 2021 names.

This module loads the tables the SQL reads (ref_area_*); the selection itself is made in SQL
(sql/intermediate/int_areas.sql), in one query over all areas.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipeline.errors import InputError
from pipeline.reference import reference_tables
from pipeline.settings.config import RunConfig
from pipeline.transform import db

NEIGHBOUR_TOLERANCE_M = 2.0
NEIGHBOUR_MIN_BORDER_M = 50.0



def funnel_limit_counts(expected, p) -> np.ndarray:
    """Exact Poisson funnel-plot limit, as a count, at cumulative probability `p` (0.001, 0.025, 0.975,
    0.999) for a unit whose expected count is `expected` (Spiegelhalter 2005, Stat Med 24:1185, the
    appendix): the Poisson(E) quantile r_p, less the interpolation a = (F(r_p) - p) / (F(r_p) - F(r_p - 1))
    that makes the limit a smooth curve in E. 0 where E is 0 (a theme with no crimes in any unit)."""
    from scipy import stats

    e, p = np.asarray(expected, dtype=float), np.asarray(p, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = stats.poisson.ppf(p, e)
        upper_cdf, lower_cdf = stats.poisson.cdf(r, e), stats.poisson.cdf(r - 1, e)
        out = r - (upper_cdf - p) / (upper_cdf - lower_cdf)
    out[np.isfinite(e) & (e <= 0)] = 0.0   # no crimes expected: both limits are 0 crimes
    return out


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """funnel_limit(expected, p) for sql/marts/funnel_points.sql: DuckDB has no Poisson quantile."""
    import pyarrow as pa

    def funnel_limit(expected, p):
        values = funnel_limit_counts(expected.to_numpy(zero_copy_only=False), p.to_numpy(zero_copy_only=False))
        return pa.array(values, type=pa.float64(), from_pandas=True)

    # no limit (null) where the expected count is 0, e.g. a theme with no offences anywhere
    db.create_python_function(con, "funnel_limit", funnel_limit, ["DOUBLE", "DOUBLE"], "DOUBLE", "arrow",
                              null_handling="special")


def _options(cfg: RunConfig, key: str) -> dict[str, Any]:
    return cfg.reference_options.get(key, {})


def read_area_population(path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Residents per LSOA as [lsoa_code, lsoa_name, residents] from an LSOA x age band file (bands
    summed; total rows ignored, as pipeline.reference.reference_files.read_population does)."""
    from pipeline.reference.reference_files import (
        detect_code_column,
        detect_name_column,
        read_population,
        read_table_file,
    )

    options = options or {}
    residents = read_population(path, {k: v for k, v in options.items() if k != "name_column"})
    frame = read_table_file(path)
    code = detect_code_column(frame, "lsoa", path, options.get("lsoa_column"))
    name = detect_name_column(frame, code, "lsoa", options.get("name_column"))
    if name is None:
        raise InputError(str(path), "lsoa name", "the area population file needs LSOA names (e.g. 'Merton 001A'): "
                         "they give each LSOA's local authority; name the column with name_column",
                         "columns " + ", ".join(map(str, frame.columns[:12])))
    names = frame[[code, name]].drop_duplicates(code).rename(columns={code: "lsoa_code", name: "lsoa_name"})
    names["lsoa_code"] = names.lsoa_code.str.upper()
    totals = residents.groupby("lsoa_code", as_index=False)["residents"].sum()
    return totals.merge(names, on="lsoa_code", how="left")[["lsoa_code", "lsoa_name", "residents"]]


def load_area_reference(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Create ref_area_selection, ref_area_boundaries and ref_area_population (empty when the config
    names no such file) and the run variables int_areas reads."""
    from pipeline.reference.reference_files import read_boundaries

    db.load_spatial(con)
    register_functions(con)
    mode, names = cfg.areas.mode, list(cfg.areas.names)
    reference_tables.create_table(con, "ref_area_selection", pd.DataFrame({"area_name": names}) if names else None)
    boundaries = None
    if "areas" in cfg.reference:
        shapes = read_boundaries(cfg.reference["areas"], "area", _options(cfg, "areas"))
        boundaries = pd.DataFrame({"area_code": shapes.code, "area_name": shapes.name, "geom": shapes.geometry.to_wkb()})
    reference_tables.create_table(con, "ref_area_boundaries", boundaries)
    population = None
    if "area_population" in cfg.reference:
        population = read_area_population(cfg.reference["area_population"], _options(cfg, "area_population"))
    reference_tables.create_table(con, "ref_area_population", population)
    for key, frame in (("areas", boundaries), ("area_population", population)):
        if frame is not None:
            reference_tables.audit_reference(con, key, cfg.reference[key], len(frame))
    db.set_variables(con, {"areas_mode": mode, "neighbour_tolerance_m": NEIGHBOUR_TOLERANCE_M,
                           "neighbour_min_border_m": NEIGHBOUR_MIN_BORDER_M})


def check_areas(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Stop when an area listed in `areas:` is in no input: a misspelt name would silently drop an area."""
    mode, names = cfg.areas.mode, list(cfg.areas.names)
    if mode != "list":
        return
    known = {row[0] for row in con.execute("select area_key(area_name) from int_areas where in_inputs").fetchall()}
    missing = [n for n in names if con.execute("select area_key(?)", [n]).fetchone()[0] not in known]
    if missing:
        inputs = sorted(row[0] for row in con.execute("select area_name from int_areas where in_inputs").fetchall())
        raise InputError(str(cfg.config_path), "areas", "every area listed must appear in the inputs "
                         f"(areas there: {', '.join(inputs[:40]) or 'none'})",
                         f"{len(missing)} area(s) not found", examples=missing)
