"""Geography: reference boundaries, lookups and populations, loaded into DuckDB as ref_* tables.

(Being extended under issue #4: location by point-in-polygon, populations and rates, hotspots.)
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.config import RunConfig


def load_reference(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Create the ref_* tables the SQL models read; empty when the config names no reference data."""
    con.execute("create table if not exists ref_lsoa_to_ward (lsoa_code varchar, ward_code varchar, ward_name varchar)")


def write_spatial_outputs(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> list[Path]:
    """Maps and GeoPackage layers for the run (none yet without reference boundaries)."""
    return []
