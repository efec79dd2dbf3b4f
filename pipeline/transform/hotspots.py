"""Grid hotspots: Getis-Ord Gi* with PySAL esda, a kernel density surface, and the spatial layers
behind the GeoPackage and the maps.

Gi* is called from SQL (`int_grid_gi_star` calls `gi_star_grid`, registered by
`pipeline.transform.stats_functions.register_functions`), so the statistic is part of the model graph; FDR
adjustment and hot/cold classes are SQL (`grid_hotspots`). The KDE is a smoothed surface for the
GeoPackage and maps only: it is not a table in the data pack.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline.transform import db

BNG = "EPSG:27700"
QUEEN = [(dc, dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1) if dc or dr]


# ---------------------------------------------------------------- Gi*

def queen_neighbours(cols: np.ndarray, rows: np.ndarray) -> dict[int, list[int]]:
    """Cells sharing an edge or a corner, among the cells given (cells outside the area are absent)."""
    index = {(int(c), int(r)): i for i, (c, r) in enumerate(zip(cols, rows))}
    return {i: [index[(int(c) + dc, int(r) + dr)] for dc, dr in QUEEN if (int(c) + dc, int(r) + dr) in index]
            for i, (c, r) in enumerate(zip(cols, rows))}


def gi_star(cols, rows, counts, permutations: int = 999, seed: int = 0):
    """esda.G_Local (Gi*: binary queen weights with the cell itself included) on a grid of counts.

    Returns esda's result object; `Zs` are the z-scores, `p_norm` the one-sided normal tail of |z|,
    `p_sim` the conditional-permutation pseudo p-value (seeded, so runs are repeatable).
    """
    from esda.getisord import G_Local

    cols, rows = np.asarray(cols, dtype=np.int64), np.asarray(rows, dtype=np.int64)
    y = np.asarray(counts, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, _star_weights(cols, rows), transform="B", star=True, permutations=permutations, seed=seed,
                       n_jobs=1, keep_simulations=False)


_STAR_WEIGHTS: dict[bytes, object] = {}


def _star_weights(cols: np.ndarray, rows: np.ndarray):
    """Queen weights with the cell itself (diagonal 1), the W that G_Local builds for star=True from
    the queen W. Every theme and period of a run has the same grid, so it is built once per grid:
    building it took most of Gi*'s time. G_Local only sets its (binary) transform, the same each call."""
    from libpysal.weights import W, fill_diagonal

    key = cols.tobytes() + b"|" + rows.tobytes()
    if key not in _STAR_WEIGHTS:
        if len(_STAR_WEIGHTS) >= 4:  # a few grids at most (tests build many small ones)
            _STAR_WEIGHTS.clear()
        w = W(queen_neighbours(cols, rows), silence_warnings=True)
        w.transform = "B"
        _STAR_WEIGHTS[key] = fill_diagonal(w, 1)
    return _STAR_WEIGHTS[key]


def gi_star_udf(cols: list[int], rows: list[int], counts: list[float], permutations: int, seed: int) -> list[dict]:
    """The DuckDB scalar function gi_star_grid: one call per theme x period, one struct per cell."""
    if not cols:
        return []
    y = np.asarray(counts, dtype=float)
    if len(y) < 3 or np.all(y == y[0]):
        return [{"grid_col": c, "grid_row": r, "gi_z": None, "p_norm": None, "p_sim": None} for c, r in zip(cols, rows)]
    result = gi_star(cols, rows, y, permutations=int(permutations), seed=int(seed))
    p_sim = result.p_sim if permutations else np.full(len(y), np.nan)

    def nums(values) -> list:  # whole arrays at once: a call per value took a third of the time
        values = np.asarray(values, dtype=float)
        return [v if ok else None for v, ok in zip(values.tolist(), np.isfinite(values).tolist())]

    return [{"grid_col": int(c), "grid_row": int(r), "gi_z": z, "p_norm": pn, "p_sim": ps}
            for c, r, z, pn, ps in zip(cols, rows, nums(result.Zs), nums(result.p_norm), nums(p_sim))]


# ---------------------------------------------------------------- KDE

def kde_surface(x: np.ndarray, y: np.ndarray, area, cell: float, bandwidth: float) -> pd.DataFrame:
    """Quartic (biweight) kernel density on cell centres inside `area` (a shapely polygon in metres):
    density in crimes per km^2. Kernel K(d) = 3 / (pi h^2) * (1 - d^2/h^2)^2 for d < h (Chainey 2013)."""
    import shapely
    from scipy.spatial import cKDTree

    xmin, ymin, xmax, ymax = area.bounds
    c0, r0 = int(np.floor(xmin / cell)), int(np.floor(ymin / cell))
    c1, r1 = int(np.ceil(xmax / cell)), int(np.ceil(ymax / cell))
    cc, rr = np.meshgrid(np.arange(c0, c1), np.arange(r0, r1), indexing="ij")
    cx, cy = (cc.ravel() + 0.5) * cell, (rr.ravel() + 0.5) * cell
    inside = shapely.contains_xy(area, cx, cy)
    cc, rr, cx, cy = cc.ravel()[inside], rr.ravel()[inside], cx[inside], cy[inside]
    density = np.zeros(len(cx))
    points = np.column_stack([x, y])[np.isfinite(x) & np.isfinite(y)]
    if len(points) and len(cx):
        pairs = cKDTree(points).sparse_distance_matrix(cKDTree(np.column_stack([cx, cy])), bandwidth,
                                                       output_type="coo_matrix")
        weight = 3.0 / (np.pi * bandwidth**2) * (1 - (pairs.data / bandwidth) ** 2) ** 2
        density = np.bincount(pairs.col, weights=weight, minlength=len(cx)) * 1e6
    return pd.DataFrame({"grid_col": cc, "grid_row": rr, "x_centre": cx, "y_centre": cy, "density_per_km2": density})


# ---------------------------------------------------------------- layers

def _cells(frame: pd.DataFrame, cell: float):
    import geopandas as gpd
    import shapely

    x0, y0 = frame.grid_col.to_numpy() * cell, frame.grid_row.to_numpy() * cell
    return gpd.GeoDataFrame(frame, geometry=shapely.box(x0, y0, x0 + cell, y0 + cell), crs=BNG)


def _geo(con: duckdb.DuckDBPyConnection, sql: str):
    import geopandas as gpd
    import shapely

    frame = con.execute(sql).df()
    geom = frame.pop("wkb")
    return gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(geom.map(bytes) if len(geom) else []), crs=BNG)


def spatial_layers(con: duckdb.DuckDBPyConnection, gs) -> dict:
    """Every spatial layer of the run, as GeoDataFrames in EPSG:27700 (plus `themes` labels)."""
    layers: dict = {}
    layers["wards"] = _geo(con, """
        select w.ward_code, w.ward_name, p.sub_area, p.population, p.population_u25, st_aswkb(w.geom) as wkb
        from ref_wards as w left join int_ward_populations as p using (ward_code)
        where w.geom is not null order by w.ward_code""")
    layers["area"] = _geo(con, "select st_aswkb(geom) as wkb from ref_area")
    if layers["wards"].sub_area.notna().any():
        layers["sub_areas"] = layers["wards"].dissolve(by="sub_area", aggfunc={"population": "sum"}).reset_index()[
            ["sub_area", "population", "geometry"]]
    if db.has_table(con, "ward_hotspots"):
        layers["ward_hotspots"] = _geo(con, """
            select h.*, st_aswkb(w.geom) as wkb from ward_hotspots as h join ref_wards as w using (ward_code)
            where w.geom is not null order by h.theme, h.ward_code""")
    cell = float(con.execute("select try_cast(any_value(value) as double) from ref_geography_log "
                             "where item = 'grid_cell_m'").fetchone()[0] or 200.0)
    layers["cell_m"] = cell
    layers["fdr_alpha"] = gs.fdr_alpha
    if db.has_table(con, "grid_hotspots"):
        grid = con.execute("select * from grid_hotspots order by theme, period_role, grid_col, grid_row").df()
        layers["grid_hotspots"] = _cells(grid, cell)
    if db.has_table(con, "emerging_hotspots"):
        emerging = con.execute("select * from emerging_hotspots order by theme, grid_col, grid_row").df()
        layers["emerging_hotspots"] = _cells(emerging, cell)
    layers["themes"] = dict(con.execute("select theme, label from seed_themes order by cast(sort_order as integer)").fetchall())
    layers["kde_surface"] = kde_layer(con, gs, cell, layers["area"])
    return layers


def kde_layer(con: duckdb.DuckDBPyConnection, gs, cell: float, area):
    """KDE of the current period per theme (themes with at least gi_min_crimes located points), cells with
    density > 0. The previous period is compared through Gi* (grid_hotspots.hotspot_change), which keeps
    the GeoPackage small enough to open quickly."""
    import geopandas as gpd

    if area.empty or not db.has_table(con, "int_offences_classified"):
        return gpd.GeoDataFrame({"theme": [], "period_role": []}, geometry=[], crs=BNG)
    points = con.execute("""
        select c.theme, p.period_role, p.period_label, c.x_bng, c.y_bng
        from int_offences_classified as c
        join periods as p on c.event_date between p.period_start and p.period_end
        where c.x_bng is not null and c.location_method in ('point_in_polygon', 'point_snapped')
          and p.period_role = 'current'""").df()
    kde_cell = gs.kde_cell_m or max(25.0, cell / 2)
    bandwidth = gs.kde_bandwidth_m or 2 * cell
    frames = []
    geom = area.geometry.iloc[0]
    for (theme, role, label), group in points.groupby(["theme", "period_role", "period_label"], sort=True):
        if len(group) < gs.gi_min_crimes:
            continue
        surface = kde_surface(group.x_bng.to_numpy(), group.y_bng.to_numpy(), geom, kde_cell, bandwidth)
        surface = surface[surface.density_per_km2 > 0].copy()
        surface.insert(0, "theme", theme)
        surface.insert(1, "period_role", role)
        surface.insert(2, "period_label", label)
        surface["density_per_km2"] = surface.density_per_km2.round(3)
        surface["bandwidth_m"] = bandwidth
        surface["crimes"] = len(group)
        frames.append(surface)
    if not frames:
        return gpd.GeoDataFrame({"theme": [], "period_role": []}, geometry=[], crs=BNG)
    return _cells(pd.concat(frames, ignore_index=True), kde_cell)


def write_geopackage(layers: dict, path: Path) -> Path:
    """One GeoPackage for QGIS and ArcGIS users: wards with metrics, the Gi* grid, the KDE surface."""
    import pyogrio

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    # a new file, written whole or not at all: SQLite need not wait for the disk after each layer
    synchronous = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        for name in ("wards", "sub_areas", "ward_hotspots", "grid_hotspots", "emerging_hotspots", "kde_surface"):
            layer = layers.get(name)
            if layer is None or len(layer) == 0:
                continue
            layer = layer.copy()
            for column in layer.columns:  # GeoPackage has no date type for pandas dates stored as object
                if layer[column].dtype == object and len(layer) and hasattr(layer[column].dropna().iloc[0] if layer[column].notna().any() else None, "isoformat"):
                    layer[column] = layer[column].astype(str)
            # through Arrow: the same features and fields at about half the CPU time of row by row
            pyogrio.write_dataframe(layer, path, layer=name, driver="GPKG", use_arrow=True)
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": synchronous})
    return path
