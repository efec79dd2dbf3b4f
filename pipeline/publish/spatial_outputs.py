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
    """The marking in the file itself: the dataset's metadata (gpkg_metadata, scope 'dataset', read by
    QGIS's layer properties and by GDAL as the MARKING item) and every layer's description."""
    xml = ('<GDALMultiDomainMetadata><Metadata><MDI key="MARKING">' + _xml_text(MARKING)
           + '</MDI></Metadata></GDALMultiDomainMetadata>')
    with closing(sqlite3.connect(path)) as gpkg, gpkg:
        gpkg.execute("create table if not exists gpkg_metadata (id integer primary key autoincrement not null, "
                     "md_scope text not null default 'dataset', md_standard_uri text not null, "
                     "mime_type text not null default 'text/xml', metadata text not null default '')")
        gpkg.execute("create table if not exists gpkg_metadata_reference (reference_scope text not null, "
                     "table_name text, column_name text, row_id_value integer, timestamp datetime not null "
                     "default (strftime('%Y-%m-%dT%H:%M:%fZ','now')), md_file_id integer not null, "
                     "md_parent_id integer, constraint crmr_mfi_fk foreign key (md_file_id) references "
                     "gpkg_metadata(id), constraint crmr_mpi_fk foreign key (md_parent_id) references "
                     "gpkg_metadata(id))")
        gpkg.execute("create table if not exists gpkg_extensions (table_name text, column_name text, extension_name "
                     "text not null, definition text not null, scope text not null, constraint ge_tce unique "
                     "(table_name, column_name, extension_name))")
        gpkg.execute("insert into gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                     "select null, null, 'gpkg_metadata', 'http://www.geopackage.org/spec121/#extension_metadata', "
                     "'read-write' where not exists (select 1 from gpkg_extensions "
                     "where extension_name = 'gpkg_metadata')")
        md_id = gpkg.execute("insert into gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
                             "values ('dataset', 'http://gdal.org', 'text/xml', ?)", [xml]).lastrowid
        gpkg.execute("insert into gpkg_metadata_reference (reference_scope, md_file_id) values ('geopackage', ?)",
                     [md_id])
        for name, in gpkg.execute("select table_name from gpkg_contents").fetchall():
            if not name.startswith(THEME_LAYER_PREFIX):
                description = LAYER_DESCRIPTIONS.get(name, name.replace("_", " ").capitalize())
                gpkg.execute("update gpkg_contents set description = ? where table_name = ?",
                             [f"{description}. {MARKING}", name])


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
