"""Reading reference files: boundaries, LSOA lookups, populations, sub-areas and severity weights,
from the files the run config names, into checked pandas / geopandas frames (pipeline.reference.reference_tables
loads them into DuckDB). Everything spatial is returned in British National Grid (EPSG:27700).

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
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import InputError

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
CODE_PATTERN = r"^[A-Z][0-9]{8}$"
PREFIXES = {
    "ward": ("E05", "W05", "S13", "N08"),
    "lsoa": ("E01", "W01", "S01", "95"),
    "area": ("E06", "E07", "E08", "E09", "W06", "S12", "N09"),   # local authorities (pipeline.reference.areas)
}
NAME_HINTS = {"ward": ("wd", "ward"), "lsoa": ("lsoa",), "area": ("lad", "la", "borough", "area")}
COUNT_HINTS = ("usual_residents", "residents", "population", "persons", "people", "count", "observation",
               "obs_value", "value", "total")
TOTAL_WORDS = ("total", "all ages", "all persons", "all usual residents", "all people")
SUB_AREA_HINTS = ("sub_area", "subarea", "sub area", "locality", "neighbourhood", "zone", "area", "side", "region")


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
        count = options.get("count_column") or count_column(frame, [c for c in others if c != age], path)
        long = pd.DataFrame({"lsoa_code": frame[lsoa].str.upper(), "age_group": frame[age], "value": frame[count]})
    else:
        numeric = [c for c in others if pd.to_numeric(frame[c], errors="coerce").notna().all()]
        bands = [c for c in numeric if _AGE_NUMBER.search(c)]
        if len(bands) >= 2:
            long = frame.melt(id_vars=[lsoa], value_vars=bands, var_name="age_group", value_name="value")
            long = long.rename(columns={lsoa: "lsoa_code"})
            long["lsoa_code"] = long.lsoa_code.str.upper()
        else:
            count = options.get("count_column") or count_column(frame, others, path)
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


def count_column(frame: pd.DataFrame, columns: list[str], path: Path) -> str:
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


def read_previous_ward_weights(path: Path, options: dict[str, Any], lookup, lsoas, population) -> pd.DataFrame:
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
