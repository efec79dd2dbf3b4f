"""Grid hotspots: our use of PySAL esda's Gi* against an independent computation, the SQL grid, the
FDR step, the KDE surface, and the GeoPackage and maps written at publish time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
from scipy import stats
from shapely.geometry import box

from pipeline.publish import maps, spatial_outputs
from pipeline.settings.config import load_config
from pipeline.transform import assessment, db, hotspots, stats_functions
from tests.helpers.borough import write_borough


def independent_gi_star(cols, rows, y):
    """Getis & Ord (1995) Gi*, written from the paper, not from esda: binary weights over the cell and
    its queen neighbours, z_i = (sum_j w_ij x_j - xbar W_i) / (s sqrt((n W_i - W_i^2) / (n - 1)))."""
    n = len(y)
    xbar = y.mean()
    s = np.sqrt((y**2).mean() - xbar**2)
    z = np.empty(n)
    for i in range(n):
        near = (np.abs(cols - cols[i]) <= 1) & (np.abs(rows - rows[i]) <= 1)       # includes i itself
        w_sum = near.sum()
        z[i] = (y[near].sum() - xbar * w_sum) / (s * np.sqrt((n * w_sum - w_sum**2) / (n - 1)))
    return z


@pytest.fixture
def irregular_grid():
    """A 30 x 24 grid with a hole and a missing corner, Poisson counts and a planted cluster."""
    rng = np.random.default_rng(7)
    cc, rr = np.meshgrid(np.arange(30), np.arange(24), indexing="ij")
    cols, rows = cc.ravel(), rr.ravel()
    keep = ~(((cols > 10) & (cols < 15) & (rows > 8) & (rows < 12)) | ((cols > 24) & (rows > 18)))
    cols, rows = cols[keep], rows[keep]
    y = rng.poisson(0.6, len(cols)).astype(float)
    y[(np.abs(cols - 5) <= 2) & (np.abs(rows - 5) <= 2)] += 6
    return cols, rows, y


def test_esda_gi_star_matches_independent_computation(irregular_grid):
    cols, rows, y = irregular_grid
    result = hotspots.gi_star(cols, rows, y, permutations=0)
    assert np.allclose(result.Zs, independent_gi_star(cols, rows, y), atol=1e-9)
    assert result.Zs[(cols == 5) & (rows == 5)][0] > 5                     # the planted cluster


def test_gi_star_function_called_from_sql(irregular_grid):
    cols, rows, y = irregular_grid
    con = db.connect()
    stats_functions.register_functions(con)
    out = con.execute("select unnest(gi_star_grid(?, ?, ?, 99, 1), recursive := true)",
                      [cols.tolist(), rows.tolist(), y.tolist()]).df()
    assert np.allclose(out.gi_z, independent_gi_star(cols, rows, y), atol=1e-9)
    assert np.allclose(out.p_norm, stats.norm.sf(np.abs(out.gi_z)))
    assert out.p_sim.between(1 / 100 - 1e-9, 1).all()                      # 99 seeded permutations
    again = con.execute("select unnest(gi_star_grid(?, ?, ?, 99, 1), recursive := true)",
                        [cols.tolist(), rows.tolist(), y.tolist()]).df()
    assert out.equals(again)                                              # same seed, same pseudo p-values
    flat = con.execute("select unnest(gi_star_grid([1, 2, 3], [1, 1, 1], [0.0, 0.0, 0.0], 0, 1), recursive := true)").df()
    assert flat.gi_z.isna().all()                                         # no variation: no statistic
    con.close()


def test_kde_integrates_to_the_number_of_points():
    rng = np.random.default_rng(1)
    area = box(0, 0, 10_000, 10_000)
    x, y = rng.uniform(3_000, 7_000, 500), rng.uniform(3_000, 7_000, 500)
    surface = hotspots.kde_surface(x, y, area, cell=50, bandwidth=400)
    total = surface.density_per_km2.sum() * (50 * 50) / 1e6
    assert total == pytest.approx(500, rel=0.01)
    assert surface.density_per_km2.max() > 0 and (surface.density_per_km2 >= 0).all()


def test_class_breaks():
    assert maps.class_breaks(np.array([1, 2, 3])) == [1, 2, 3]
    breaks = maps.class_breaks(np.arange(1, 101, dtype=float))
    assert len(breaks) == 5 and breaks[-1] == 100


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """The tiny borough of test_geography on a 100 m grid, with points enough for Gi* in 2023."""
    root = tmp_path_factory.mktemp("grid")
    config = write_borough(root, grid_cell_m=100, gi_min_crimes=20, gi_permutations=9)
    rng = np.random.default_rng(5)
    extra = [f"G{i:03d},{1 + i % 28:02d}/04/2023,8N,{x:.1f},{y:.1f},,,,,2024-01-10"
             for i, (x, y) in enumerate(zip(rng.normal(530_450, 80, 60), rng.normal(180_450, 80, 60)))]
    with open(root / "offences.csv", "a") as f:
        f.write("\n".join(extra) + "\n")
    cfg = load_config(config)
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    yield con, cfg, root
    con.close()


def test_grid_covers_the_area_and_counts_every_located_point(grid_run):
    con = grid_run[0]
    assert con.execute("select count(*) from int_grid_cells").fetchone()[0] == 20 * 10   # 2 km x 1 km at 100 m
    grid = con.execute("select theme, period_role, sum(count) as n from grid_hotspots group by all").df()
    points = con.execute("""
        select theme, period_role, count(*) as n from int_offences_classified
        join periods on event_date between period_start and period_end
        where location_method in ('point_in_polygon', 'point_snapped') group by all""").df()
    merged = points.merge(grid, on=["theme", "period_role"], suffixes=("_points", "_grid"))
    # C03 is snapped from 10 m outside the area: its cell is outside the grid
    assert (merged.n_points - merged.n_grid).isin([0, 1]).all() and len(merged) == len(points)


def test_grid_hotspots_gi_star_fdr_and_change(grid_run):
    con = grid_run[0]
    vwi = con.execute("select * from grid_hotspots where theme = 'vwi' and period_role = 'current' "
                      "order by grid_col, grid_row").df()
    cols, rows = vwi.grid_col.to_numpy(), vwi.grid_row.to_numpy()
    z = independent_gi_star(cols, rows, vwi["count"].to_numpy(dtype=float))
    assert np.allclose(vwi.gi_z, z, atol=1e-4)
    p = 2 * stats.norm.sf(np.abs(z))
    assert np.allclose(vwi.q_value, stats.false_discovery_control(p, method="bh"), atol=1e-5)
    hot = vwi[vwi.hotspot_class == "hot"]
    assert len(hot) and (hot.q_value <= 0.05).all() and (hot.gi_z > 0).all()
    assert set(vwi.hotspot_change) == {"not_computed"}                    # 2022 has too few crimes for Gi*
    previous = con.execute("select distinct hotspot_class, hotspot_change from grid_hotspots "
                           "where theme = 'vwi' and period_role = 'previous'").fetchall()
    assert previous == [("not_computed", None)]


def test_geopackage_and_maps(grid_run, tmp_path):
    con, cfg, _ = grid_run
    written = spatial_outputs.write_spatial_outputs(con, cfg, tmp_path)
    gpkg = tmp_path / "svna.gpkg"
    assert gpkg in written
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"wards", "ward_hotspots", "grid_hotspots", "kde_surface", "sub_areas"} <= set(layers)
    assert layers.pop("read_me") is None                                      # the marking's table: no geometry
    assert all(kind in ("Polygon", "MultiPolygon") for kind in layers.values())   # never a point layer
    wards = pyogrio.read_dataframe(gpkg, layer="ward_hotspots")
    assert wards.crs.to_epsg() == 27700 and {"rate_per_1000", "q_value", "theme"} <= set(wards.columns)
    names = {p.name for p in written}
    for theme in ("vwi", "sexual_offences", "domestic_abuse"):
        assert f"ward_{theme}.svg" in names
    assert "gi_star_vwi.svg" in names and not [name for name in names if name.endswith(".png")]
    svg = (tmp_path / "maps" / "ward_vwi.svg").read_text()
    assert "Census 2021" in svg and "Crown copyright" in svg                   # the source line


def test_no_spatial_outputs_without_boundaries(tmp_path):
    from tests.helpers.tiny_inputs import write_tiny_inputs

    cfg = load_config(write_tiny_inputs(tmp_path))
    con = db.connect()
    assessment.ingest(con, cfg)
    assessment.build(con, cfg, "test-run")
    assert spatial_outputs.write_spatial_outputs(con, cfg, tmp_path) == []
    for table in ("ward_hotspots", "sub_area_summary", "grid_hotspots"):
        assert con.execute(f"select count(*) from {table}").fetchone()[0] == 0
    located = con.execute("select location_method, count(*) from int_offences_located group by all").fetchall()
    assert located == [("unlocated", len(pd.read_csv(tmp_path / "extract" / "offences.csv")))]
    con.close()
