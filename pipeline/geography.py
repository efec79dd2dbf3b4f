"""Geography: reference boundaries, lookups and populations, loaded into DuckDB as ref_* tables.

Everything spatial is held in British National Grid (EPSG:27700). The SQL models do the work
(`int_offences_located` places every record on the *current* ward set by point-in-polygon;
`int_ward_populations`, `int_ward_period_counts`, `ward_hotspots`, `sub_area_summary`,
`int_grid_*` and `grid_hotspots` build on it). This module only reads the reference files the run
config names, checks them, and writes the maps and the GeoPackage at publish time.

Reference keys (config `reference:`; each a path, or ``{path: ..., <options>}``):

* ``wards``         current ward boundaries (GeoJSON / GeoPackage / shapefile, any CRS)
* ``lsoas``         LSOA boundaries (optional: gives each point its LSOA)
* ``lsoa_to_ward``  LSOA -> current ward best-fit lookup (CSV); derived from the LSOA polygons when absent
* ``population``    residents by LSOA x age band (Census 2021 layout), or by LSOA only
* ``sub_areas``     ward -> sub-area lookup (CSV), e.g. East/West
* ``previous_wards`` an older ward set, so count files on it can be re-based: boundaries or an
  LSOA -> previous ward lookup (CSV)
* ``severity_weights`` ONS Crime Severity Score weights by HO code (CSV), replacing the seed

Options: ``layer`` (GeoPackage layer), ``crs`` (when the file has none), ``code_column``,
``name_column``, ``lsoa_column``, ``ward_column``, ``age_column``, ``count_column``,
``sub_area_column``, ``weight_column``. Code columns are found by their values when not named
(ward codes start E05/W05, LSOA codes E01/W01), so WD22CD, WD23CD, GSS_CODE and ward_code all work.

Settings (config `geography:`): ``grid_cell_m`` (Gi* cell; default from the rule in
:func:`grid_cell_size`), ``snap_tolerance_m`` (default 25), ``kde_bandwidth_m``, ``kde_cell_m``,
``gi_permutations`` (0), ``gi_min_crimes`` (20), ``fdr_alpha`` (0.05), ``seed``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipeline import db
from pipeline.config import REFERENCE_KEYS, SQL_DIR, RunConfig
from pipeline.errors import InputError

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
CODE_PATTERN = r"^[A-Z][0-9]{8}$"
PREFIXES = {
    "ward": ("E05", "W05", "S13", "N08"),
    "lsoa": ("E01", "W01", "S01", "95"),
    "area": ("E06", "E07", "E08", "E09", "W06", "S12", "N09"),   # local authorities (pipeline.areas)
}
NAME_HINTS = {"ward": ("wd", "ward"), "lsoa": ("lsoa",), "area": ("lad", "la", "borough", "area")}
COUNT_HINTS = ("usual_residents", "residents", "population", "persons", "people", "count", "observation",
               "obs_value", "value", "total")
TOTAL_WORDS = ("total", "all ages", "all persons", "all usual residents", "all people")
SUB_AREA_HINTS = ("sub_area", "subarea", "sub area", "locality", "neighbourhood", "zone", "area", "side", "region")
MACROS = SQL_DIR / "macros_geography.sql"


# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class GeographySettings:
    grid_cell_m: float | None = None     # None: the rule in grid_cell_size()
    snap_tolerance_m: float = 25.0
    kde_bandwidth_m: float | None = None  # None: 2 x the Gi* cell
    kde_cell_m: float | None = None       # None: the Gi* cell / 2 (at least 25 m)
    gi_permutations: int = 0           # >0: also a permutation pseudo p-value (p_sim); FDR uses the analytical z
    gi_min_crimes: int = 20
    fdr_alpha: float = 0.05
    seed: int = 20240131


def settings(cfg: RunConfig) -> GeographySettings:
    raw = dict((cfg.raw or {}).get("geography") or {})
    known = set(GeographySettings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(str(cfg.config_path), f"geography.{unknown[0]}", f"expected one of {', '.join(sorted(known))}",
                         f"unknown setting {unknown[0]!r}")
    try:
        return GeographySettings(**{k: (None if v is None else type(getattr(GeographySettings, k) or 0.0)(v))
                                    for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise InputError(str(cfg.config_path), "geography", "settings must be numbers", str(exc)) from None


def reference_options(cfg: RunConfig, key: str) -> dict[str, Any]:
    value = ((cfg.raw or {}).get("reference") or {}).get(key)
    return {k: v for k, v in value.items() if k != "path"} if isinstance(value, dict) else {}


def grid_cell_size(width_m: float, height_m: float) -> float:
    """The stated rule for the Gi* grid: the shorter side of the area's bounding box / 40, rounded to
    the nearest 50 m, at least 50 m (a London borough gets ~200 m cells, a force area ~1 km).

    Chainey (2013) suggests shorter side / 150 for *display* cells of a KDE; Gi* tests counts per
    cell, which need to be larger to be stable, so we use about four times that. Override with
    `geography.grid_cell_m`.
    """
    short = min(width_m, height_m)
    return max(50.0, round(short / 40 / 50) * 50)


# ---------------------------------------------------------------- column detection

def _codes(values: pd.Series) -> pd.Series:
    return values.dropna().astype(str).str.strip().str.upper()


def detect_code_column(frame: pd.DataFrame, kind: str, source: Path | str, preferred: str | None = None) -> str:
    """The column holding `kind` GSS codes (ward E05/W05..., LSOA E01/W01...), found by its values."""
    if preferred:
        if preferred not in frame.columns:
            raise InputError(str(source), preferred, f"the configured {kind} code column must exist",
                             "columns " + ", ".join(map(str, frame.columns[:12])))
        return preferred
    prefixes = PREFIXES[kind]
    candidates = []
    for column in frame.columns:
        if column == "geometry":
            continue
        values = _codes(frame[column])
        if len(values) and values.str.match(CODE_PATTERN).all() and values.str[:3].isin(prefixes).mean() >= 0.95:
            candidates.append(column)
    if not candidates:
        raise InputError(str(source), f"{kind} code", f"a column of {kind} codes (GSS codes starting "
                         f"{'/'.join(prefixes[:2])}) is needed; name it with the reference option "
                         f"code_column (boundary files) or {kind}_column (lookup and population tables)",
                         "columns " + ", ".join(map(str, frame.columns[:12])))

    def score(column: str) -> tuple:
        lower = str(column).lower()
        years = [int(y) for y in re.findall(r"(\d{2})", lower)]
        return (any(h in lower for h in NAME_HINTS[kind]), max(years) if years else 0)

    return sorted(candidates, key=score, reverse=True)[0]


def detect_name_column(frame: pd.DataFrame, code_column: str, kind: str, preferred: str | None = None) -> str | None:
    if preferred:
        return preferred if preferred in frame.columns else None
    columns = {str(c).lower(): c for c in frame.columns}
    lower = str(code_column).lower()
    for twin in (re.sub(r"cd$", "nm", lower), re.sub(r"code$", "name", lower), re.sub(r"_code$", "_name", lower)):
        if twin != lower and twin in columns:
            return columns[twin]
    for low, column in columns.items():
        if (low.endswith("nm") or "name" in low) and any(h in low for h in NAME_HINTS[kind]) and not low.endswith("nmw"):
            return column
    for low, column in columns.items():
        if low in ("name", "nm"):
            return column
    return None


# ---------------------------------------------------------------- readers

def read_table_file(path: Path) -> pd.DataFrame:
    """A small reference CSV (UTF-8 with or without BOM, or Windows-1252), every column as text."""
    if not path.exists():
        raise InputError(str(path), "-", "reference file must exist", "file not found")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover
        raise InputError(str(path), "-", "file must be UTF-8 or Windows-1252", "undecodable bytes")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise InputError(str(path), "-", "reference file must have a header row and data", "no rows")
    return frame.apply(lambda s: s.str.strip()).replace("", None)


def _polygonal(geom):
    import shapely

    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def read_boundaries(path: Path, kind: str, options: dict[str, Any] | None = None):
    """Boundaries (GeoJSON, GeoPackage or shapefile, any CRS) as a GeoDataFrame [code, name, geometry]
    in EPSG:27700, one (multi)polygon per code."""
    import geopandas as gpd

    options = options or {}
    if not path.exists():
        raise InputError(str(path), "-", "boundary file must exist", "file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path, layer=options.get("layer"), engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - any reader failure is an input problem
        raise InputError(str(path), "-", "boundaries must be a readable GeoJSON, GeoPackage or shapefile",
                         str(exc).splitlines()[0][:200]) from None
    if frame.empty:
        raise InputError(str(path), "-", "boundary file must hold polygons", "no features")
    if frame.crs is None:
        frame = frame.set_crs(options.get("crs") or _guess_crs(frame, path))
    frame = frame.to_crs(BNG)
    code = detect_code_column(frame, kind, path, options.get("code_column"))
    name = detect_name_column(frame, code, kind, options.get("name_column"))
    out = gpd.GeoDataFrame({
        "code": _codes(frame[code]).reindex(frame.index),
        "name": frame[name].astype(str).str.strip() if name else None,
        "geometry": frame.geometry.map(_polygonal),
    }, crs=BNG)
    out = out[out.code.notna() & out.geometry.notna()]
    if out.code.duplicated().any():  # multi-part areas stored as several features
        out = out.dissolve(by="code", aggfunc={"name": "first"}).reset_index()
    if out.empty:
        raise InputError(str(path), code, f"the file must hold {kind} polygons", "no polygon features")
    if out.name.isna().all():
        out["name"] = out.code
    return out.sort_values("code").reset_index(drop=True)


def _guess_crs(frame, path: Path) -> str:
    xmin, ymin, xmax, ymax = frame.total_bounds
    if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        return WGS84
    if 0 <= xmin <= xmax <= 700_000 and 0 <= ymin <= ymax <= 1_300_000:
        return BNG
    raise InputError(str(path), "geometry", "boundaries need a CRS (add `crs:` to the reference entry)",
                     f"no CRS and bounds {xmin:.0f},{ymin:.0f},{xmax:.0f},{ymax:.0f}")


def read_lsoa_lookup(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """LSOA -> ward best-fit lookup as [lsoa_code, ward_code, ward_name]."""
    options = options or {}
    frame = read_table_file(path)
    lsoa = detect_code_column(frame, "lsoa", path, options.get("lsoa_column"))
    ward = detect_code_column(frame, "ward", path, options.get("ward_column"))
    name = detect_name_column(frame, ward, "ward", options.get("name_column"))
    out = pd.DataFrame({"lsoa_code": frame[lsoa].str.upper(), "ward_code": frame[ward].str.upper(),
                        "ward_name": frame[name] if name else None}).dropna(subset=["lsoa_code", "ward_code"])
    dupes = out[out.lsoa_code.duplicated(keep=False)]
    if not dupes.empty:
        raise InputError(str(path), lsoa, "a best-fit lookup gives each LSOA exactly one ward",
                         f"{dupes.lsoa_code.nunique()} LSOAs with several wards", examples=dupes.lsoa_code.unique()[:5])
    return out.reset_index(drop=True)


_AGE_NUMBER = re.compile(r"\d+")


def age_band_bounds(label: str) -> tuple[int, int | None] | None:
    """(lowest, highest) age in a band label; None for totals. 'Aged 15 years and under' -> (0, 15),
    'Aged 16 to 24 years' -> (16, 24), 'Aged 65 years and over' / '90+' -> (65, None), 'Under 1' -> (0, 0)."""
    text = str(label).strip().lower()
    if not text or any(text.startswith(w) or text == w for w in TOTAL_WORDS):
        return None
    numbers = [int(n) for n in _AGE_NUMBER.findall(text)]
    if not numbers:
        raise ValueError(label)
    if re.search(r"\bunder\s+\d+", text) or re.search(r"\bless than\s+\d+", text):
        return 0, numbers[0] - 1
    if re.search(r"(and|or)\s+(under|younger|less)", text):
        return 0, numbers[0]
    if re.search(r"(and|or)\s+(over|older|more|above)|\+", text):
        return numbers[0], None
    if len(numbers) >= 2:
        return numbers[0], numbers[1]
    return numbers[0], numbers[0]


def read_population(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Residents by LSOA x age band as [lsoa_code, age_group, residents, under_25].

    Long layout (one row per LSOA x band, e.g. the Census 2021 extract), wide layout (one column per
    band) or a total per LSOA (under_25 then unknown). Bands must split at 25 so under-25s can be
    counted exactly; total rows or columns are ignored rather than double-counted.
    """
    options = options or {}
    frame = read_table_file(path)
    lsoa = detect_code_column(frame, "lsoa", path, options.get("lsoa_column"))
    others = [c for c in frame.columns if c != lsoa]
    age = options.get("age_column") or next(
        (c for c in others if "age" in c.lower() and pd.to_numeric(frame[c], errors="coerce").isna().any()), None)
    if age:
        count = options.get("count_column") or _count_column(frame, [c for c in others if c != age], path)
        long = pd.DataFrame({"lsoa_code": frame[lsoa].str.upper(), "age_group": frame[age], "value": frame[count]})
    else:
        numeric = [c for c in others if pd.to_numeric(frame[c], errors="coerce").notna().all()]
        bands = [c for c in numeric if _AGE_NUMBER.search(c)]
        if len(bands) >= 2:
            long = frame.melt(id_vars=[lsoa], value_vars=bands, var_name="age_group", value_name="value")
            long = long.rename(columns={lsoa: "lsoa_code"})
            long["lsoa_code"] = long.lsoa_code.str.upper()
        else:
            count = options.get("count_column") or _count_column(frame, others, path)
            long = pd.DataFrame({"lsoa_code": frame[lsoa].str.upper(), "age_group": "All ages", "value": frame[count]})
    long["residents"] = pd.to_numeric(long.pop("value"), errors="coerce")
    bad = long[long.residents.isna() | (long.residents < 0)]
    if not bad.empty:
        raise InputError(str(path), options.get("count_column") or "residents", "resident counts must be whole numbers >= 0",
                         f"{len(bad)} bad values", examples=bad.lsoa_code.head(5).tolist())
    if age or long.age_group.nunique() > 1:
        bounds = {}
        for label in long.age_group.dropna().unique():
            try:
                bounds[label] = age_band_bounds(label)
            except ValueError:
                raise InputError(str(path), age or "age band", "age bands must name their ages (e.g. 'Aged 16 to 24 years')",
                                 repr(label)) from None
        long = long[long.age_group.map(lambda a: bounds.get(a) is not None)].copy()
        straddle = [a for a, b in bounds.items() if b and b[0] < 25 and (b[1] is None or b[1] >= 25)]
        if straddle:
            raise InputError(str(path), age or "age band", "age bands must split at 25 so under-25 residents can be counted",
                             f"{len(straddle)} band(s) spanning 25", examples=straddle)
        long["under_25"] = long.age_group.map(lambda a: bounds[a][1] is not None and bounds[a][1] <= 24)
    else:
        long["under_25"] = None
    long["residents"] = long.residents.round().astype("int64")
    return long[["lsoa_code", "age_group", "residents", "under_25"]].reset_index(drop=True)


def _count_column(frame: pd.DataFrame, columns: list[str], path: Path) -> str:
    numeric = [c for c in columns if pd.to_numeric(frame[c], errors="coerce").notna().mean() > 0.99]
    for hint in COUNT_HINTS:
        for column in numeric:
            if hint in column.lower():
                return column
    if len(numeric) == 1:
        return numeric[0]
    raise InputError(str(path), "residents", "the population file needs one numeric residents column "
                     "(name it with the reference option count_column)", "columns " + ", ".join(columns[:10]))


def read_sub_areas(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Ward -> sub-area lookup as [ward_code, sub_area]."""
    options = options or {}
    frame = read_table_file(path)
    ward = detect_code_column(frame, "ward", path, options.get("code_column") or options.get("ward_column"))
    name = detect_name_column(frame, ward, "ward", options.get("name_column"))
    rest = [c for c in frame.columns if c not in (ward, name)]
    column = options.get("sub_area_column") or next(
        (c for hint in SUB_AREA_HINTS for c in rest if hint in c.lower()), rest[-1] if rest else None)
    if column is None or column not in frame.columns:
        raise InputError(str(path), "sub_area", "the sub-area lookup needs a ward code column and a sub-area column",
                         "columns " + ", ".join(frame.columns))
    out = pd.DataFrame({"ward_code": frame[ward].str.upper(), "sub_area": frame[column]}).dropna()
    dupes = out[out.ward_code.duplicated(keep=False)]
    if not dupes.empty:
        raise InputError(str(path), ward, "each ward belongs to one sub-area", f"{dupes.ward_code.nunique()} wards listed twice",
                         examples=dupes.ward_code.unique()[:5])
    return out.reset_index(drop=True)


def read_severity_weights(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """ONS Crime Severity Score weights as [ho_code, weight, source]."""
    options = options or {}
    frame = read_table_file(path)
    lower = {c.lower(): c for c in frame.columns}
    code = options.get("code_column") or next((lower[k] for k in lower if "code" in k or k in ("ho_class", "offence")), None)
    weight = options.get("weight_column") or next((lower[k] for k in lower if "weight" in k or "severity" in k), None)
    if code is None or weight is None:
        raise InputError(str(path), "ho_code/weight", "a weights file needs an offence code column and a weight column",
                         "columns " + ", ".join(frame.columns))
    out = pd.DataFrame({"ho_code": frame[code], "weight": pd.to_numeric(frame[weight], errors="coerce"),
                        "source": frame[lower["source"]] if "source" in lower else str(path.name)})
    return out.dropna(subset=["ho_code", "weight"]).reset_index(drop=True)


# ---------------------------------------------------------------- derived lookups

def best_fit_from_polygons(lsoas, wards) -> pd.DataFrame:
    """LSOA -> ward by the ward holding each LSOA's point-on-surface (used when no lookup file is given)."""
    import geopandas as gpd

    points = gpd.GeoDataFrame({"lsoa_code": lsoas.code.values}, geometry=lsoas.geometry.representative_point().values, crs=BNG)
    joined = gpd.sjoin(points, wards[["code", "name", "geometry"]], how="inner", predicate="intersects")
    joined = joined.sort_values(["lsoa_code", "code"]).drop_duplicates("lsoa_code")
    return pd.DataFrame({"lsoa_code": joined.lsoa_code.values, "ward_code": joined.code.values,
                         "ward_name": joined["name"].values})


def previous_ward_weights(previous: pd.DataFrame, lsoa_to_ward: pd.DataFrame, population: pd.DataFrame | None) -> pd.DataFrame:
    """Weights to re-base counts on a previous ward set onto the current one, through LSOAs.

    `previous` maps current LSOAs to previous wards [lsoa_code, previous_ward_code, previous_ward_name].
    weight(previous ward p -> current ward c) = residents of p's LSOAs whose best-fit ward is c /
    residents of all p's LSOAs (each LSOA counts 1 when no population is configured).
    """
    frame = previous.merge(lsoa_to_ward[["lsoa_code", "ward_code"]], on="lsoa_code", how="inner")
    if population is not None and not population.empty:
        residents = population.groupby("lsoa_code", as_index=False).residents.sum()
        frame = frame.merge(residents, on="lsoa_code", how="left")
        frame["residents"] = frame.residents.fillna(0)
        basis = "residents"
    else:
        frame["residents"] = 1.0
        basis = "lsoa_count"
    grouped = frame.groupby(["previous_ward_code", "previous_ward_name", "ward_code"], as_index=False, dropna=False).agg(
        residents=("residents", "sum"), lsoas=("lsoa_code", "count"))
    totals = grouped.groupby("previous_ward_code").residents.transform("sum")
    grouped["weight"] = np.where(totals > 0, grouped.residents / totals.where(totals > 0, 1), 0.0)
    grouped["basis"] = basis
    return grouped[["previous_ward_code", "previous_ward_name", "ward_code", "weight", "lsoas", "basis"]]


# ---------------------------------------------------------------- DuckDB: functions and reference tables

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

    from pipeline import hotspots

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
    ):
        db.create_python_function(con, name, fn, args, result, kind)
    con.execute(MACROS.read_text())


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
}


def _create(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | None = None, geo: bool = False) -> None:
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


def _audit(con: duckdb.DuckDBPyConnection, key: str, path: Path, rows: int) -> None:
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
    opts = {key: reference_options(cfg, key) for key in REFERENCE_KEYS}
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
        weights = _previous_ward_weights(ref["previous_wards"], opts["previous_wards"], lookup, lsoas, population)

    if "severity_weights" in ref:
        severity = read_severity_weights(ref["severity_weights"], opts["severity_weights"])
    else:
        seed = con.execute("select ho_code, try_cast(css_weight as double) as weight, source "
                           "from seed_crime_severity_weights where try_cast(css_weight as double) is not null").df() \
            if _has_table(con, "seed_crime_severity_weights") else None
        severity = seed
    if severity is not None and not severity.empty:
        severity = severity.assign(ho_code=severity.ho_code.map(_norm_ho_code))

    # ---- tables
    _create(con, "ref_wards", None if wards is None else wards.rename(columns={"code": "ward_code", "name": "ward_name"}),
            geo=True)
    con.execute("create or replace table ref_area as select st_union_agg(geom) as geom from ref_wards where geom is not null "
                "having count(geom) > 0")
    _create(con, "ref_lsoas", None if lsoas is None else lsoas.rename(columns={"code": "lsoa_code", "name": "lsoa_name"}),
            geo=True)
    _create(con, "ref_lsoa_to_ward", lookup)
    _create(con, "ref_population", population)
    _create(con, "ref_sub_areas", sub_areas)
    _create(con, "ref_previous_ward_weights", weights)
    _create(con, "ref_severity_weights", severity)
    for key, frame in (("wards", wards), ("lsoas", lsoas), ("lsoa_to_ward", lookup), ("population", population),
                       ("sub_areas", sub_areas), ("previous_wards", weights), ("severity_weights", severity)):
        if key in ref and frame is not None:
            _audit(con, key, ref[key], len(frame))

    # ---- run parameters the models read
    gs = settings(cfg)
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


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchone()[0])


def _norm_ho_code(code: str) -> str:
    """The same normalisation as the norm_ho_code SQL macro ('4.1', '004/01' -> '4/1')."""
    text = re.sub(r"\s", "", str(code).upper().replace(".", "/"))
    text = re.sub(r"^0+([0-9])", r"\1", text)
    return re.sub(r"/0+([0-9])", r"/\1", text)


def _previous_ward_weights(path: Path, options: dict[str, Any], lookup, lsoas, population) -> pd.DataFrame:
    if lookup is None or lookup.empty:
        raise InputError(str(path), "-", "re-basing a previous ward set needs the current LSOA -> ward lookup "
                         "(reference.lsoa_to_ward, or reference.lsoas with reference.wards)", "none configured")
    if path.suffix.lower() == ".csv":
        frame = read_table_file(path)
        lsoa = detect_code_column(frame, "lsoa", path, options.get("lsoa_column"))
        ward = detect_code_column(frame, "ward", path, options.get("code_column") or options.get("ward_column"))
        name = detect_name_column(frame, ward, "ward", options.get("name_column"))
        previous = pd.DataFrame({"lsoa_code": frame[lsoa].str.upper(), "previous_ward_code": frame[ward].str.upper(),
                                 "previous_ward_name": frame[name] if name else frame[ward]})
    else:
        import geopandas as gpd

        if lsoas is None or lsoas.empty:
            raise InputError(str(path), "-", "re-basing through previous ward *boundaries* needs LSOA boundaries "
                             "(reference.lsoas); or give an LSOA -> previous ward lookup CSV instead", "no LSOA boundaries")
        old = read_boundaries(path, "ward", options)
        points = gpd.GeoDataFrame({"lsoa_code": lsoas.code.values}, geometry=lsoas.geometry.representative_point().values,
                                  crs=BNG)
        joined = gpd.sjoin(points, old, how="inner", predicate="intersects").sort_values(["lsoa_code", "code"])
        joined = joined.drop_duplicates("lsoa_code")
        previous = pd.DataFrame({"lsoa_code": joined.lsoa_code.values, "previous_ward_code": joined.code.values,
                                 "previous_ward_name": joined["name"].values})
    return previous_ward_weights(previous, lookup, population)


def check_ward_sets(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Refuse ward-level count files for the area on a ward set that is neither the current one nor
    re-basable through LSOAs: old-ward and new-ward counts are never mixed in one table."""
    if not _has_table(con, "raw_mps_counts") or not con.execute("select count(*) from ref_wards").fetchone()[0]:
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


# ---------------------------------------------------------------- publish-time outputs

def write_spatial_outputs(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> list[Path]:
    """Maps (PNG and SVG) under <out_dir>/maps and the GeoPackage <out_dir>/svna.gpkg; none without
    current ward boundaries."""
    if not _has_table(con, "ref_wards") or not con.execute("select count(*) from ref_area").fetchone()[0]:
        return []
    from pipeline import hotspots, maps

    db.load_spatial(con)  # publishing opens its own connection
    gs = settings(cfg)
    layers = hotspots.spatial_layers(con, gs)
    written = [hotspots.write_geopackage(layers, out_dir / "svna.gpkg")]
    written += maps.write_maps(layers, out_dir / "maps", source_line=maps.source_line(con, cfg))
    return written
