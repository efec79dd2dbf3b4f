"""Spatial outputs at publish time: the maps (SVG) and the GeoPackage of a run."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb

from pipeline.publish.catalog import MARKING
from pipeline.settings.config import RunConfig
from pipeline.transform import db

GEOPACKAGE_NAME = "svna.gpkg"
# what each layer holds, as QGIS and ArcGIS show it (gpkg_contents.description), each followed by the marking
LAYER_DESCRIPTIONS = {
    "wards": "Current wards with their residents (all ages and under 25)",
    "sub_areas": "Sub-areas (groups of wards) with their residents",
    "ward_hotspots": "Every theme's ward figures in one layer (one row per ward and theme); the wards_ layers "
                     "hold one theme each",
    "grid_hotspots": "Getis-Ord Gi* hot and cold spots on a grid, this period and the previous one, and their change",
    "kde_surface": "Kernel density of this period's located crimes per theme (crimes per square km)",
}
THEME_LAYER_PREFIX = "wards_"
READ_ME = "read_me"


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
    gpkg = hotspots.write_geopackage(layers, out_dir / GEOPACKAGE_NAME)
    write_theme_layers(layers, gpkg)
    mark_geopackage(gpkg)
    written = [gpkg]
    written += maps.write_maps(layers, out_dir / "maps", source_line=maps.source_line(con, cfg))
    return written


def write_theme_layers(layers: dict, path: Path) -> list[str]:
    """One layer per theme (wards_<theme>, named by the theme's label in QGIS and ArcGIS) split from
    ward_hotspots, so a reader opens the theme they want instead of filtering one long layer."""
    import pyogrio

    wards = layers.get("ward_hotspots")
    if wards is None or len(wards) == 0:
        return []
    written = []
    for theme, label in layers["themes"].items():
        rows = wards[wards.theme == theme]
        if rows.empty:
            continue
        rows = rows.copy()
        for column in rows.columns:  # as hotspots.write_geopackage: dates as ISO text
            if rows[column].dtype == object and rows[column].notna().any() \
                    and hasattr(rows[column].dropna().iloc[0], "isoformat"):
                rows[column] = rows[column].astype(str)
        name = THEME_LAYER_PREFIX + theme
        pyogrio.write_dataframe(rows, path, layer=name, driver="GPKG", use_arrow=True, layer_options={
            "IDENTIFIER": label,
            "DESCRIPTION": f"{label} by current ward this period: counts, rate per 1,000 residents, change on the "
                           f"previous period and its significance. {MARKING}"})
        written.append(name)
    return written


def mark_geopackage(path: Path) -> None:
    """The marking in the file itself: every layer's description (gpkg_contents, shown by QGIS and
    ArcGIS) ends with it, and a read_me table (a GeoPackage attributes table QGIS lists beside the
    layers) holds it with what each layer is. Not gpkg_metadata: GDAL opening such a file read-only
    writes a .aux.xml copy of the metadata beside it."""
    import pandas as pd
    import pyogrio

    with closing(sqlite3.connect(path)) as gpkg:
        names = [name for (name,) in gpkg.execute("select table_name from gpkg_contents order by rowid").fetchall()]
        described = dict(gpkg.execute("select table_name, description from gpkg_contents").fetchall())
    descriptions = {name: described[name] if name.startswith(THEME_LAYER_PREFIX) and described[name]
                    else f"{LAYER_DESCRIPTIONS.get(name, name.replace('_', ' ').capitalize())}. {MARKING}"
                    for name in names}
    read_me = pd.DataFrame({"item": ["marking", "about", *names],
                            "text": [MARKING, "svna's GeoPackage of the run: current wards and the run's ward, grid "
                                     "and density layers, in British National Grid (EPSG:27700)",
                                     *descriptions.values()]})
    pyogrio.write_dataframe(read_me, path, layer=READ_ME, driver="GPKG",
                            layer_options={"IDENTIFIER": "Read me", "DESCRIPTION": f"What this file holds. {MARKING}"})
    with closing(sqlite3.connect(path)) as gpkg, gpkg:
        gpkg.executemany("update gpkg_contents set description = ? where table_name = ?",
                         [(text, name) for name, text in descriptions.items()])
