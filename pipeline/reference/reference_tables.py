"""Reference tables: the ref_* tables the SQL models read, loaded from the files the run config names
(read by pipeline.reference.reference_files), with the geography run variables.

The SQL models do the spatial work (`int_offences_located` places every record on the *current* ward
set by point-in-polygon; `int_ward_populations`, `int_ward_period_counts`, `ward_hotspots`,
`sub_area_summary`, `int_grid_*` and `grid_hotspots` build on it).

Settings (config `geography:`): ``grid_cell_m`` (Gi* cell; default from the rule in
:func:`grid_cell_size`), ``snap_tolerance_m`` (default 25), ``kde_bandwidth_m``, ``kde_cell_m``,
``gi_permutations`` (0), ``gi_min_crimes`` (20), ``fdr_alpha`` (0.05), ``seed``.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.errors import InputError
from pipeline.reference.reference_files import (
    BNG,
    best_fit_from_polygons,
    read_boundaries,
    read_lsoa_lookup,
    read_population,
    read_previous_ward_weights,
    read_severity_weights,
    read_sub_areas,
)
from pipeline.settings.config import RunConfig
from pipeline.settings.config_sections import REFERENCE_KEYS
from pipeline.transform import db
from pipeline.transform.stats_functions import register_functions


def grid_cell_size(width_m: float, height_m: float) -> float:
    """The stated rule for the Gi* grid: the shorter side of the area's bounding box / 40, rounded to
    the nearest 50 m, at least 50 m (a London borough gets ~200 m cells, a force area ~1 km).

    Chainey (2013) suggests shorter side / 150 for *display* cells of a KDE; Gi* tests counts per
    cell, which need to be larger to be stable, so we use about four times that. Override with
    `geography.grid_cell_m`.
    """
    short = min(width_m, height_m)
    return max(50.0, round(short / 40 / 50) * 50)


REF_SCHEMAS = {
    "ref_wards": "ward_code varchar, ward_name varchar, geom geometry",
    "ref_area": "geom geometry",
    "ref_lsoas": "lsoa_code varchar, lsoa_name varchar, geom geometry",
    "ref_lsoa_to_ward": "lsoa_code varchar, ward_code varchar, ward_name varchar",
    "ref_population": "lsoa_code varchar, age_group varchar, residents bigint, under_25 boolean",
    "ref_sub_areas": "ward_code varchar, sub_area varchar",
    "ref_previous_ward_weights": "previous_ward_code varchar, previous_ward_name varchar, ward_code varchar, "
                                 "weight double, lsoas bigint, basis varchar",
    "ref_severity_weights": "ho_code varchar, weight double, source varchar",
    "ref_geography_log": "item varchar, value varchar, note varchar",
    # the analyses' reference tables (pipeline.reference.analysis_reference)
    "ref_term_dates": "term_start date, term_end date, term varchar, source varchar",
    "ref_population_bands": "age_group varchar, age_from integer, age_to integer, under_25 boolean",
    "ref_imd": "lsoa_code varchar, imd_decile integer, imd_rank bigint, lsoa11_codes varchar, basis varchar",
    "ref_population_projection": "age_group varchar, age_from integer, age_to integer, under_25 boolean, "
                                 "projection_year integer, residents double",
    # the areas a run compares (pipeline.reference.areas)
    "ref_area_selection": "area_name varchar",
    "ref_area_boundaries": "area_code varchar, area_name varchar, geom geometry",
    "ref_area_population": "lsoa_code varchar, lsoa_name varchar, residents bigint",
}


def create_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | None = None, geo: bool = False) -> None:
    con.execute(f"create or replace table {table} ({REF_SCHEMAS[table]})")
    if frame is None or frame.empty:
        return
    columns = [c.split()[0] for c in REF_SCHEMAS[table].split(", ")]
    data = frame.copy()
    if geo:
        data["geom"] = data.pop("geometry").to_wkb()
    con.register("incoming_ref", data)
    select = ", ".join("st_geomfromwkb(geom)" if c == "geom" else c for c in columns)
    con.execute(f"insert into {table} select {select} from incoming_ref")
    con.unregister("incoming_ref")


def audit_reference(con: duckdb.DuckDBPyConnection, key: str, path: Path, rows: int) -> None:
    """Reference files are inputs too: record path, checksum and rows beside the police files."""
    from pipeline.sources.files import sha256_of

    try:
        con.execute("insert into audit_inputs (path, kind, role, size, sha256, encoding, rows_read) "
                    "values (?, 'reference', ?, ?, ?, null, ?)", [str(path), key, path.stat().st_size, sha256_of(path), rows])
    except duckdb.CatalogException:
        pass  # building without an ingest step (unit tests): nothing to record into


def load_reference(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Create the ref_* tables the SQL models read (empty when the config names no reference data),
    register the statistical functions, set the geography variables, and refuse count files on a
    ward set that cannot be re-based onto the current one."""
    db.load_spatial(con)
    register_functions(con)
    opts = {key: cfg.reference_options.get(key, {}) for key in REFERENCE_KEYS}
    ref = cfg.reference
    log: list[tuple[str, str, str]] = []

    wards = read_boundaries(ref["wards"], "ward", opts["wards"]) if "wards" in ref else None
    lsoas = read_boundaries(ref["lsoas"], "lsoa", opts["lsoas"]) if "lsoas" in ref else None
    if "lsoa_to_ward" in ref:
        lookup = read_lsoa_lookup(ref["lsoa_to_ward"], opts["lsoa_to_ward"])
        log.append(("lsoa_to_ward", ref["lsoa_to_ward"].name, "best-fit lookup file"))
    elif lsoas is not None and wards is not None:
        lookup = best_fit_from_polygons(lsoas, wards)
        log.append(("lsoa_to_ward", "derived", "the ward holding each LSOA's point-on-surface"))
    else:
        lookup = None

    if wards is not None:
        current = set(wards.code)
        if lookup is not None:  # an England-wide lookup is cut to the area's wards
            lookup = lookup[lookup.ward_code.isin(current)]
            names = dict(zip(wards.code, wards.name))
            lookup = lookup.assign(ward_name=lookup.ward_code.map(names))
        if lsoas is not None and lookup is not None and not lookup.empty:
            lsoas = lsoas[lsoas.code.isin(set(lookup.lsoa_code))]
    elif lookup is not None:  # no boundaries: the lookup defines the current ward set (no geometry)
        import geopandas as gpd

        first = lookup.drop_duplicates("ward_code")
        wards = gpd.GeoDataFrame({"code": first.ward_code.values, "name": first.ward_name.values,
                                  "geometry": [None] * len(first)}, crs=BNG)

    population = read_population(ref["population"], opts["population"]) if "population" in ref else None
    if population is not None and lookup is not None and not lookup.empty:
        population = population[population.lsoa_code.isin(set(lookup.lsoa_code))]
        missing = sorted(set(lookup.lsoa_code) - set(population.lsoa_code))
        if missing:
            raise InputError(str(ref["population"]), "lsoa code", "every LSOA of the area needs a population",
                             f"{len(missing)} of {lookup.lsoa_code.nunique()} LSOAs missing", examples=missing)

    sub_areas = read_sub_areas(ref["sub_areas"], opts["sub_areas"]) if "sub_areas" in ref else None
    if sub_areas is not None and wards is not None:
        unknown = sorted(set(sub_areas.ward_code) - set(wards.code))
        if unknown:
            raise InputError(str(ref["sub_areas"]), "ward code", "the sub-area lookup must use the current ward set "
                             "(reference.wards)", f"{len(unknown)} ward code(s) not in it", examples=unknown)

    weights = None
    if "previous_wards" in ref:
        weights = read_previous_ward_weights(ref["previous_wards"], opts["previous_wards"], lookup, lsoas, population)

    if "severity_weights" in ref:
        severity = read_severity_weights(ref["severity_weights"], opts["severity_weights"])
    else:
        seed = con.execute("select ho_code, try_cast(css_weight as double) as weight, source "
                           "from seed_crime_severity_weights where try_cast(css_weight as double) is not null").df() \
            if db.has_table(con, "seed_crime_severity_weights") else None
        severity = seed
    if severity is not None and not severity.empty:
        severity = severity.assign(ho_code=severity.ho_code.map(_norm_ho_code))

    # ---- tables
    create_table(con, "ref_wards", None if wards is None else wards.rename(columns={"code": "ward_code", "name": "ward_name"}),
            geo=True)
    con.execute("create or replace table ref_area as select st_union_agg(geom) as geom from ref_wards where geom is not null "
                "having count(geom) > 0")
    create_table(con, "ref_lsoas", None if lsoas is None else lsoas.rename(columns={"code": "lsoa_code", "name": "lsoa_name"}),
            geo=True)
    create_table(con, "ref_lsoa_to_ward", lookup)
    create_table(con, "ref_population", population)
    create_table(con, "ref_sub_areas", sub_areas)
    create_table(con, "ref_previous_ward_weights", weights)
    create_table(con, "ref_severity_weights", severity)
    for key, frame in (("wards", wards), ("lsoas", lsoas), ("lsoa_to_ward", lookup), ("population", population),
                       ("sub_areas", sub_areas), ("previous_wards", weights), ("severity_weights", severity)):
        if key in ref and frame is not None:
            audit_reference(con, key, ref[key], len(frame))

    # ---- run parameters the models read
    gs = cfg.geography
    cell = gs.grid_cell_m
    if cell is None:
        extent = con.execute("select st_xmax(geom) - st_xmin(geom), st_ymax(geom) - st_ymin(geom) from ref_area").fetchone()
        cell = grid_cell_size(*extent) if extent else 200.0
    db.set_variables(con, {
        "grid_cell_m": float(cell),
        "snap_tolerance_m": float(gs.snap_tolerance_m),
        "gi_permutations": int(gs.gi_permutations),
        "gi_min_crimes": int(gs.gi_min_crimes),
        "fdr_alpha": float(gs.fdr_alpha),
        "geo_seed": int(gs.seed),
    })
    log += [("grid_cell_m", f"{cell:g}", "configured" if gs.grid_cell_m else "rule: shorter side of the area's bounding box / 40"),
            ("snap_tolerance_m", f"{gs.snap_tolerance_m:g}", "points this close outside the area are snapped"),
            ("kde_bandwidth_m", f"{gs.kde_bandwidth_m or 2 * cell:g}", "configured" if gs.kde_bandwidth_m else "2 x grid cell"),
            ("kde_cell_m", f"{gs.kde_cell_m or max(25.0, cell / 2):g}", "configured" if gs.kde_cell_m else "grid cell / 2")]
    con.execute(f"create or replace table ref_geography_log ({REF_SCHEMAS['ref_geography_log']})")
    con.executemany("insert into ref_geography_log values (?, ?, ?)", log)
    check_ward_sets(con, cfg)


def _norm_ho_code(code: str) -> str:
    """The same normalisation as the norm_ho_code SQL macro ('4.1', '004/01' -> '4/1')."""
    text = re.sub(r"\s", "", str(code).upper().replace(".", "/"))
    text = re.sub(r"^0+([0-9])", r"\1", text)
    return re.sub(r"/0+([0-9])", r"/\1", text)


def check_ward_sets(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Refuse ward-level count files for the area on a ward set that is neither the current one nor
    re-basable through LSOAs: old-ward and new-ward counts are never mixed in one table."""
    if not db.has_table(con, "raw_mps_counts") or not con.execute("select count(*) from ref_wards").fetchone()[0]:
        return
    rows = con.execute("""
        select upper(trim(ward_code)) as ward_code, any_value(ward_name), any_value(source_file), count(*)
        from raw_mps_counts
        where area_level = 'ward' and lower(trim(borough_name)) = lower(getvariable('area_name'))
          and nullif(trim(ward_code), '') is not null
          and upper(trim(ward_code)) not in (select ward_code from ref_wards)
          and upper(trim(ward_code)) not in (select previous_ward_code from ref_previous_ward_weights)
        group by 1 order by 1""").fetchall()
    if not rows:
        return
    files = sorted({r[2] for r in rows})
    rebase = "previous_wards" in cfg.reference
    raise InputError(
        ", ".join(Path(f).name for f in files), "WardCode",
        f"ward counts must be on the current ward set ({cfg.reference.get('wards', 'reference.wards')!s}) "
        + ("or on the previous ward set given in reference.previous_wards" if rebase else
           "or re-basable onto it: add reference.previous_wards (the older ward boundaries, or an LSOA -> "
           "previous-ward lookup CSV) so svna can re-base them through LSOAs; old-ward and new-ward counts are "
           "never mixed in one table"),
        f"{len(rows)} ward code(s) of {cfg.area_name} in no configured ward set",
        examples=[f"{r[0]} {r[1] or ''}".strip() for r in rows])
