"""Benchmark (not a test): assigning 5 million points to 700 polygons, svna vs geopandas.sjoin.

svna runs its real location model (sql/intermediate/int_offences_located.sql: point-in-polygon,
deterministic shared edges, snapping and outside-area checks) in DuckDB spatial; the comparison is
`geopandas.sjoin(points, polygons, predicate="within")` on the same data. Each side runs in its own
fresh subprocess, one after the other in the same benchmark run, and reports wall time (from reading
the points file to the assigned table) and the process's peak resident memory.

Polygons: the first 700 London LSOA 2011 boundaries by code (real, detailed shapes, EPSG:27700),
from ../shared/data. Points: 98% drawn uniformly inside the polygons (area-weighted), 2% anywhere in
their bounding box. Fixed seed; the data are cached under .bench/spatial/.
Target (issue #4): svna at least 2x faster with at most a quarter of the memory.

    python benchmarks/bench_spatial.py [--points N] [--polygons N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
LSOAS = SHARED_DATA / "boundaries" / "london_lsoa_2011" / "LSOA_2011_London_gen_MHW.shp"
CACHE = ROOT / ".bench" / "spatial"


def prepare(n_points: int, n_polygons: int) -> tuple[Path, Path]:
    polygons_path = CACHE / f"polygons_{n_polygons}.parquet"
    points_path = CACHE / f"points_{n_points}_{n_polygons}.parquet"
    if polygons_path.exists() and points_path.exists():
        return polygons_path, points_path
    import geopandas as gpd
    import pandas as pd
    from shapely import contains_xy

    if not LSOAS.exists():
        sys.exit(f"benchmark data not found: {LSOAS} (../shared/data is present on the CI machines)")
    CACHE.mkdir(parents=True, exist_ok=True)
    lsoas = gpd.read_file(LSOAS).to_crs("EPSG:27700").sort_values("LSOA11CD").head(n_polygons)
    polygons = gpd.GeoDataFrame({"code": lsoas.LSOA11CD.values}, geometry=lsoas.geometry.values, crs="EPSG:27700")
    polygons.to_parquet(polygons_path)

    rng = np.random.default_rng(5)
    inside = int(n_points * 0.98)
    per_polygon = rng.multinomial(inside, (polygons.area / polygons.area.sum()).to_numpy())
    xs, ys = [], []
    for geom, n in zip(polygons.geometry, per_polygon):
        xmin, ymin, xmax, ymax = geom.bounds
        got_x, got_y = np.empty(0), np.empty(0)
        while len(got_x) < n:
            x, y = rng.uniform(xmin, xmax, 2 * n + 10), rng.uniform(ymin, ymax, 2 * n + 10)
            keep = contains_xy(geom, x, y)
            got_x, got_y = np.concatenate([got_x, x[keep]]), np.concatenate([got_y, y[keep]])
        xs.append(got_x[:n])
        ys.append(got_y[:n])
    xmin, ymin, xmax, ymax = polygons.total_bounds
    xs.append(rng.uniform(xmin, xmax, n_points - inside))
    ys.append(rng.uniform(ymin, ymax, n_points - inside))
    order = rng.permutation(n_points)
    pd.DataFrame({"x": np.concatenate(xs)[order].round(1), "y": np.concatenate(ys)[order].round(1)}).to_parquet(
        points_path)
    return polygons_path, points_path


# Each side is a small script run in a fresh interpreter; it prints one JSON line.
SVNA = """
import json, resource, tempfile, time
from pathlib import Path
from pipeline.transform import db
t = time.perf_counter()
con = db.connect(Path(tempfile.mkdtemp()) / "bench.duckdb", settings={settings})  # a database file, as in a run
db.load_macros(con)
db.set_variables(con, {{"snap_tolerance_m": 25.0}})
con.execute("create table ref_wards as select code as ward_code, code as ward_name, geometry::geometry as geom "
            "from read_parquet('{polygons}')")
con.execute("create table ref_lsoas (lsoa_code varchar, lsoa_name varchar, geom geometry)")
con.execute("create table ref_lsoa_to_ward (lsoa_code varchar, ward_code varchar)")
con.execute("create table ref_area as select st_union_agg(geom) as geom from ref_wards")
con.execute("create view stg_offences as select 'points' as source_file, file_row_number + 2 as source_row, "
            "x as easting, y as northing, null::double as latitude, null::double as longitude, "
            "null::varchar as lsoa_code, null::varchar as ward_code "
            "from read_parquet('{points}', file_row_number = true)")
for model in ("int_location_grid", "int_location_cells", "int_offences_located"):
    con.execute(f"create table {{model}} as " + open(f"{sql}/intermediate/{{model}}.sql").read())
counts = dict(con.execute("select location_method, count(*) from int_offences_located group by 1").fetchall())
wall = time.perf_counter() - t
print(json.dumps({{"wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "assigned": counts.get("point_in_polygon", 0), "methods": counts}}))
"""

GEOPANDAS = """
import json, resource, time
import geopandas as gpd, pandas as pd
t = time.perf_counter()
polygons = gpd.read_parquet("{polygons}")
frame = pd.read_parquet("{points}")
points = gpd.GeoDataFrame(index=frame.index, geometry=gpd.points_from_xy(frame.x, frame.y), crs=polygons.crs)
joined = gpd.sjoin(points, polygons, how="left", predicate="within")
assigned = int(joined.loc[~joined.index.duplicated(), "code"].notna().sum())
wall = time.perf_counter() - t
print(json.dumps({{"wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "assigned": assigned}}))
"""


def run(script: str) -> dict:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5_000_000)
    parser.add_argument("--polygons", type=int, default=700)
    parser.add_argument("--memory-limit", default="256MB", help="DuckDB memory_limit for the bounded svna run")
    args = parser.parse_args()
    polygons, points = prepare(args.points, args.polygons)
    paths = {"polygons": polygons, "points": points, "sql": ROOT / "sql"}
    runs = {
        "svna, DuckDB defaults": run(SVNA.format(settings={}, **paths)),
        f"svna, duckdb: {{memory_limit: {args.memory_limit}}}": run(SVNA.format(settings={"memory_limit": args.memory_limit}, **paths)),
        "geopandas.sjoin": run(GEOPANDAS.format(**paths)),
    }
    reference = runs["geopandas.sjoin"]
    print(f"{args.points:,} points x {args.polygons} polygons; "
          f"svna location methods {runs['svna, DuckDB defaults']['methods']}")
    print(f"{'':<40} {'wall s':>7} {'peak MiB':>9} {'speed-up':>9} {'memory':>7}  target (>= 2x, <= 25%)")
    for name, r in runs.items():
        if r["assigned"] != reference["assigned"]:  # the same answer, or the timing means nothing
            sys.exit(f"{name} placed {r['assigned']:,} points inside a polygon, geopandas {reference['assigned']:,}")
        speed, memory = reference["wall_s"] / r["wall_s"], r["peak_rss_mib"] / reference["peak_rss_mib"]
        met = "" if r is reference else ("met" if speed >= 2 and memory <= 0.25 else "NOT met")
        print(f"{name:<40} {r['wall_s']:>7.1f} {r['peak_rss_mib']:>9.0f} {speed:>8.1f}x {memory:>7.0%}  {met}")
    print(f"{reference['assigned']:,} points inside a polygon, the same in every run")
    (ROOT / ".bench").mkdir(exist_ok=True)
    (ROOT / ".bench" / "spatial.json").write_text(json.dumps(
        {"points": args.points, "polygons": args.polygons, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
