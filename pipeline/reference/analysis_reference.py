"""Reference data and settings for the assessment's analyses (issue 10): school term dates, the
population's age bands, IMD 2019 deciles on the current LSOAs, and an optional population projection.

Loaded as ref_* tables beside pipeline.reference.reference_tables' (their shapes in its REF_SCHEMAS, written by
`create_table`, audited by `audit_reference`),
after them, so the current LSOAs and the population are known. Config keys (`reference:`):

* ``term_dates``            school terms (CSV: a start and an end date column per term); default: the
                            seed sql/seeds/school_term_dates.csv (a typical English local-authority pattern)
* ``imd``                   English Indices of Deprivation 2019 by LSOA 2011 (the MHCLG ranks-and-deciles CSV)
* ``lsoa11_to_lsoa21``      LSOA 2011 -> 2021 lookup (CSV), or LSOA 2011 boundaries from which svna derives it
* ``population_projection`` residents by age band x year for the area (CSV, long or one column per year)

Settings (`temporal:`): ``max_window_hours`` (default 72): a committed from/to window longer than this
carries too little information about when the crime happened to be spread over the hours; such crimes
are counted apart (``time_basis = 'long_window'``), never dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.errors import InputError
from pipeline.reference import reference_files, reference_tables
from pipeline.settings.config import RunConfig
from pipeline.transform import db


def load_analysis_reference(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Create ref_term_dates, ref_population_bands, ref_imd and ref_population_projection (empty when
    not configured) and the `temporal_*` run variables. Runs after reference_tables.load_reference."""
    ref = cfg.reference
    opts = {key: cfg.reference_options.get(key, {}) for key in
            ("term_dates", "imd", "lsoa11_to_lsoa21", "population_projection")}

    if "term_dates" in ref:
        terms = read_term_dates(ref["term_dates"], opts["term_dates"])
        reference_tables.audit_reference(con, "term_dates", ref["term_dates"], len(terms))
    else:
        terms = con.execute("select cast(term_start as date) as term_start, cast(term_end as date) as term_end, "
                            "school_year || ' ' || term as term, 'default: sql/seeds/school_term_dates.csv' as source "
                            "from seed_school_term_dates").df()
    reference_tables.create_table(con, "ref_term_dates", terms)

    labels = [r[0] for r in con.execute("select distinct age_group from ref_population order by 1").fetchall()]
    reference_tables.create_table(con, "ref_population_bands", population_bands(labels))

    imd = None
    if "imd" in ref:
        imd = imd_on_current_lsoas(con, ref["imd"], opts["imd"], ref.get("lsoa11_to_lsoa21"), opts["lsoa11_to_lsoa21"])
        reference_tables.audit_reference(con, "imd", ref["imd"], len(imd))
        if "lsoa11_to_lsoa21" in ref:
            reference_tables.audit_reference(con, "lsoa11_to_lsoa21", ref["lsoa11_to_lsoa21"], int(imd.basis.eq("lsoa11_to_lsoa21").sum()))
    reference_tables.create_table(con, "ref_imd", imd)

    projection = None
    if "population_projection" in ref:
        projection = read_population_projection(ref["population_projection"], opts["population_projection"])
        reference_tables.audit_reference(con, "population_projection", ref["population_projection"], len(projection))
    reference_tables.create_table(con, "ref_population_projection", projection)

    db.set_variables(con, {"temporal_max_window_hours": cfg.temporal.max_window_hours})


# ---------------------------------------------------------------- readers

def population_bands(labels: list[str]) -> pd.DataFrame:
    """The population file's age bands with their ages ('Aged 16 to 24 years' -> 16, 24); totals dropped."""
    rows = []
    for label in labels:
        bounds = reference_files.age_band_bounds(label) if label != "All ages" else None
        if bounds is None:
            continue
        low, high = bounds
        rows.append({"age_group": label, "age_from": low, "age_to": high, "under_25": high is not None and high <= 24})
    return pd.DataFrame(rows, columns=["age_group", "age_from", "age_to", "under_25"])


def _date_columns(frame: pd.DataFrame, path: Path, options: dict[str, Any]) -> tuple[str, str]:
    start = options.get("start_column") or next((c for c in frame.columns if "start" in c.lower() or "from" in c.lower()), None)
    end = options.get("end_column") or next((c for c in frame.columns if "end" in c.lower() or c.lower().endswith("to")), None)
    if start is None or end is None or start not in frame.columns or end not in frame.columns:
        raise InputError(str(path), "term_start/term_end", "term dates need a start and an end date column "
                         "(name them with the reference options start_column and end_column)",
                         "columns " + ", ".join(frame.columns))
    return start, end


def read_term_dates(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """School terms as [term_start, term_end, term, source]; dates ISO or day-first, both inclusive."""
    options = options or {}
    frame = reference_files.read_table_file(path)
    start, end = _date_columns(frame, path, options)
    parsed = {}
    for column in (start, end):
        iso = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
        parsed[column] = iso.fillna(pd.to_datetime(frame[column], format="%d/%m/%Y", errors="coerce"))
        bad = frame[column][parsed[column].isna()]
        if len(bad):
            raise InputError(str(path), column, "term dates must be dates (YYYY-MM-DD or DD/MM/YYYY)",
                             f"{len(bad)} unreadable value(s)", examples=bad.head(5).tolist())
    out = pd.DataFrame({"term_start": parsed[start].dt.date, "term_end": parsed[end].dt.date})
    backwards = out[out.term_end < out.term_start]
    if len(backwards):
        raise InputError(str(path), end, "a term must not end before it starts", f"{len(backwards)} term(s)",
                         examples=[f"{r.term_start} .. {r.term_end}" for r in backwards.head(5).itertuples()])
    name = next((c for c in frame.columns if c.lower() in ("term", "name", "term_name")), None)
    out["term"] = frame[name] if name else None
    out["source"] = path.name
    return out


def _imd_columns(frame: pd.DataFrame, path: Path, options: dict[str, Any]) -> tuple[str | None, str | None]:
    lower = {c.lower(): c for c in frame.columns}

    def find(word: str) -> str | None:
        for key, column in lower.items():
            if word in key and ("imd" in key or "index of multiple" in key or "index_of_multiple" in key):
                return column
        return None

    decile = options.get("decile_column") or find("decile")
    rank = options.get("rank_column") or find("rank")
    if decile is None and rank is None:
        raise InputError(str(path), "imd decile", "the IMD file needs an IMD decile or rank column (name it with "
                         "the reference option decile_column or rank_column)", "columns " + ", ".join(frame.columns[:12]))
    return decile, rank


ENGLAND_LSOAS_2011 = 32844  # LSOAs ranked in IMD 2019: decile = ceil(rank / 32844 x 10)


def read_imd(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """IMD 2019 as [lsoa11_code, imd_decile, imd_rank] (decile 1 = the most deprived 10% of England)."""
    options = options or {}
    frame = reference_files.read_table_file(path)
    lsoa = reference_files.detect_code_column(frame, "lsoa", path, options.get("lsoa_column"))
    decile, rank = _imd_columns(frame, path, options)
    out = pd.DataFrame({"lsoa11_code": frame[lsoa].str.upper(),
                        "imd_rank": pd.to_numeric(frame[rank], errors="coerce") if rank else None,
                        "imd_decile": pd.to_numeric(frame[decile], errors="coerce") if decile else None})
    if decile is None:
        out["imd_decile"] = (out.imd_rank * 10 / ENGLAND_LSOAS_2011).apply(lambda v: int(-(-v // 1)) if pd.notna(v) else None)
    bad = out[out.imd_decile.isna() | ~out.imd_decile.between(1, 10)]
    if len(bad):
        raise InputError(str(path), decile or rank, "IMD deciles must be whole numbers from 1 to 10",
                         f"{len(bad)} bad value(s)", examples=bad.lsoa11_code.head(5).tolist())
    return out.drop_duplicates("lsoa11_code").reset_index(drop=True)


def read_lsoa11_to_lsoa21(path: Path, options: dict[str, Any], current_lsoas: pd.DataFrame) -> pd.DataFrame:
    """[lsoa21_code, lsoa11_code]: a CSV lookup (columns named with 11 and 21, e.g. LSOA11CD/LSOA21CD), or
    LSOA 2011 boundaries: each current LSOA's point-on-surface in a 2011 LSOA."""
    if path.suffix.lower() == ".csv":
        frame = reference_files.read_table_file(path)
        old = options.get("lsoa11_column") or next((c for c in frame.columns if re.search(r"lsoa.?11.*(cd|code)", c.lower())), None)
        new = options.get("lsoa21_column") or next((c for c in frame.columns if re.search(r"lsoa.?21.*(cd|code)", c.lower())), None)
        if old is None or new is None:
            raise InputError(str(path), "lsoa11/lsoa21", "the lookup needs an LSOA 2011 and an LSOA 2021 code column "
                             "(e.g. LSOA11CD, LSOA21CD; or the options lsoa11_column, lsoa21_column)",
                             "columns " + ", ".join(frame.columns[:12]))
        return pd.DataFrame({"lsoa21_code": frame[new].str.upper(), "lsoa11_code": frame[old].str.upper()}).dropna()
    import geopandas as gpd

    if current_lsoas.empty:
        raise InputError(str(path), "-", "deriving LSOA 2011 -> 2021 from boundaries needs the current LSOA "
                         "boundaries (reference.lsoas); or give a lookup CSV", "no current LSOA boundaries")
    old = reference_files.read_boundaries(path, "lsoa", options)
    points = gpd.GeoDataFrame({"lsoa21_code": current_lsoas.lsoa_code.values},
                              geometry=current_lsoas.geometry.representative_point().values, crs=reference_files.BNG)
    joined = gpd.sjoin(points, old[["code", "geometry"]], how="inner", predicate="intersects")
    joined = joined.sort_values(["lsoa21_code", "code"]).drop_duplicates("lsoa21_code")
    return pd.DataFrame({"lsoa21_code": joined.lsoa21_code.values, "lsoa11_code": joined.code.values})


def imd_on_current_lsoas(con: duckdb.DuckDBPyConnection, imd_path: Path, imd_options: dict[str, Any],
                         lookup_path: Path | None, lookup_options: dict[str, Any]) -> pd.DataFrame:
    """Each current LSOA's IMD 2019 decile. IMD 2019 is on the 2011 LSOAs: a current LSOA whose code is a
    2011 code (unchanged) takes its decile; otherwise (a 2021 split or merge) the lookup gives its 2011
    LSOA(s), and with several the most deprived decile is taken. LSOAs matched neither way get none."""
    import geopandas as gpd
    import shapely

    imd = read_imd(imd_path, imd_options)
    rows = con.execute("select lsoa_code, st_aswkb(geom) from ref_lsoas where geom is not null").fetchall()
    current_lsoas = gpd.GeoDataFrame({"lsoa_code": [r[0] for r in rows]},
                                     geometry=[shapely.from_wkb(bytes(r[1])) for r in rows], crs=reference_files.BNG)
    codes = sorted({r[0] for r in con.execute(
        "select lsoa_code from ref_lsoas union select lsoa_code from ref_lsoa_to_ward "
        "union select lsoa_code from ref_population").fetchall()})
    if not codes:
        raise InputError(str(imd_path), "-", "IMD deciles are given to the current LSOAs: configure reference.lsoas, "
                         "reference.lsoa_to_ward or reference.population", "no current LSOAs")
    by_code = imd.set_index("lsoa11_code")
    lookup = read_lsoa11_to_lsoa21(lookup_path, lookup_options, current_lsoas) if lookup_path else None
    out = []
    for code in codes:
        if code in by_code.index:
            parents, basis = [code], "same_code"
        elif lookup is not None:
            parents = sorted(set(lookup.lsoa11_code[lookup.lsoa21_code == code]) & set(by_code.index))
            basis = "lsoa11_to_lsoa21" if parents else "no_imd"
        else:
            parents, basis = [], "no_imd"
        found = by_code.loc[parents] if parents else None
        out.append({"lsoa_code": code,
                    "imd_decile": int(found.imd_decile.min()) if found is not None else None,
                    "imd_rank": int(found.imd_rank.min()) if found is not None and found.imd_rank.notna().all() else None,
                    "lsoa11_codes": ";".join(parents) or None, "basis": basis})
    return pd.DataFrame(out)


def read_population_projection(path: Path, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Projected residents of the area by age band x year: long (age, year, residents columns) or wide
    (an age column and one column per year, e.g. 2025, 2030)."""
    options = options or {}
    frame = reference_files.read_table_file(path)
    age = options.get("age_column") or next((c for c in frame.columns if "age" in c.lower()), None)
    if age is None:
        raise InputError(str(path), "age", "a population projection needs an age band column (option age_column)",
                         "columns " + ", ".join(frame.columns))
    year_columns = [c for c in frame.columns if re.fullmatch(r"\d{4}", c.strip())]
    year = options.get("year_column") or next((c for c in frame.columns if "year" in c.lower()), None)
    if year:
        count = options.get("count_column") or reference_files.count_column(
            frame, [c for c in frame.columns if c not in (age, year)], path)
        long = pd.DataFrame({"age_group": frame[age], "projection_year": frame[year], "residents": frame[count]})
    elif year_columns:
        long = frame.melt(id_vars=[age], value_vars=year_columns, var_name="projection_year", value_name="residents")
        long = long.rename(columns={age: "age_group"})
    else:
        raise InputError(str(path), "year", "a population projection needs a year column or one column per year",
                         "columns " + ", ".join(frame.columns))
    long["projection_year"] = pd.to_numeric(long.projection_year, errors="coerce")
    long["residents"] = pd.to_numeric(long.residents, errors="coerce")
    bad = long[long.projection_year.isna() | long.residents.isna() | (long.residents < 0)]
    if len(bad):
        raise InputError(str(path), "year/residents", "years and residents must be numbers (residents >= 0)",
                         f"{len(bad)} bad row(s)", examples=bad.age_group.head(5).astype(str).tolist())
    bands = population_bands(sorted(long.age_group.astype(str).unique()))
    straddle = bands[(bands.age_from < 25) & (bands.age_to.isna() | (bands.age_to >= 25))]
    if len(straddle):
        raise InputError(str(path), age, "age bands must split at 25 so under-25 residents can be counted",
                         f"{len(straddle)} band(s) spanning 25", examples=straddle.age_group.tolist())
    long = long.merge(bands, on="age_group", how="inner")
    long["projection_year"] = long.projection_year.astype(int)
    return long[["age_group", "age_from", "age_to", "under_25", "projection_year", "residents"]]
