"""Spatial outputs at publish time: the maps (SVG) and the GeoPackage of a run."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.settings.config import RunConfig
from pipeline.transform import db


def write_spatial_outputs(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> list[Path]:
    """Maps (SVG) under <out_dir>/maps and the GeoPackage <out_dir>/svna.gpkg; none without
    current ward boundaries."""
    if not db.has_table(con, "ref_wards") or not con.execute("select count(*) from ref_area").fetchone()[0]:
        return []
    from pipeline.publish import maps
    from pipeline.transform import hotspots

    db.load_spatial(con)  # publishing opens its own connection
    gs = cfg.geography
    layers = hotspots.spatial_layers(con, gs)
    written = [hotspots.write_geopackage(layers, out_dir / "svna.gpkg")]
    written += maps.write_maps(layers, out_dir / "maps", source_line=maps.source_line(con, cfg))
    return written
