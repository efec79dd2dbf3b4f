"""Generate a national year shaped like data.police.uk (for benchmarks/bench_national.py; not real data).

43 territorial forces of England and Wales, 12 months (or `--months 36`: 2021-01 to 2023-12), about
500,000 rows a month, the real street-level column layout, one CSV per force per month in a folder per
month, as the data.police.uk download (`2023-01/2023-01-avon-and-somerset-street.csv`). Written under
.bench/police_uk_national/ (gitignored); a month already there with the same settings is reused, so the
36 months add 2021 and 2022 to the 12 (2023's files are the same either way).

How it is made (all in DuckDB, deterministic from the seed):
- LSOAs: the real 2021 LSOA codes of the GLA England and Wales best-fit lookup, sorted by code and cut
  into 43 contiguous runs, one per force (the Met first, so it gets London's E01000001.. codes; then
  alphabetically), sized by rough force population shares; each row picks an LSOA uniformly, so a
  force's rows follow its share. Codes are roughly ordered by local authority, so a run is a plausible
  patch, but force boundaries are NOT real.
- Points: each LSOA gets a synthetic centre on a grid over England and Wales' latitude/longitude
  range and each row a point within +-0.005 degrees of it. The points are NOT in their LSOA: they are
  only parsed and checked here (no national ward polygons are available, so rows are placed by
  LSOA code -> ward best fit, as svna does without ward polygons).
- Crime types: a fixed mix close to the England and Wales street-level files (violence and sexual
  offences about 30%, anti-social behaviour about 18%, ...); anti-social behaviour rows have no
  Crime ID, as in the real files. About 1.5% of rows have no location (no point, no LSOA).
- Crime ID: 64 hex characters (sha256 of the row number and seed), like the real ones.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
LOOKUP = ROOT.parent / "shared" / "data" / "lookups" / "lsoa21_ward22_best_fit_EW_from_GLA_rds.csv"
OUT = ROOT / ".bench" / "police_uk_national"
YEAR = 2023
# (force, rough share of the population of England and Wales, per cent)
FORCES = [
    ("Avon and Somerset Constabulary", 2.9), ("Bedfordshire Police", 1.2), ("Cambridgeshire Constabulary", 1.5),
    ("Cheshire Constabulary", 1.8), ("City of London Police", 0.1), ("Cleveland Police", 1.0),
    ("Cumbria Constabulary", 0.9), ("Derbyshire Constabulary", 1.8), ("Devon & Cornwall Police", 3.0),
    ("Dorset Police", 1.3), ("Durham Constabulary", 1.1), ("Dyfed-Powys Police", 0.9), ("Essex Police", 3.1),
    ("Gloucestershire Constabulary", 1.1), ("Greater Manchester Police", 4.8), ("Gwent Police", 1.0),
    ("Hampshire Constabulary", 3.4), ("Hertfordshire Constabulary", 2.0), ("Humberside Police", 1.6),
    ("Kent Police", 3.1), ("Lancashire Constabulary", 2.6), ("Leicestershire Police", 1.9),
    ("Lincolnshire Police", 1.3), ("Merseyside Police", 2.4), ("Metropolitan Police Service", 14.8),
    ("Norfolk Constabulary", 1.5), ("North Wales Police", 1.2), ("North Yorkshire Police", 1.4),
    ("Northamptonshire Police", 1.3), ("Northumbria Police", 2.5), ("Nottinghamshire Police", 1.9),
    ("South Wales Police", 2.2), ("South Yorkshire Police", 2.4), ("Staffordshire Police", 1.9),
    ("Suffolk Constabulary", 1.3), ("Surrey Police", 2.0), ("Sussex Police", 2.9),
    ("Thames Valley Police", 4.2), ("Warwickshire Police", 1.0), ("West Mercia Police", 2.2),
    ("West Midlands Police", 5.0), ("West Yorkshire Police", 4.0), ("Wiltshire Police", 1.2),
]
CRIME_TYPES = [  # (type, per cent of rows)
    ("Violence and sexual offences", 30.0), ("Anti-social behaviour", 18.6), ("Public order", 9.0),
    ("Other theft", 8.0), ("Criminal damage and arson", 8.0), ("Vehicle crime", 6.0), ("Shoplifting", 6.0),
    ("Burglary", 4.5), ("Drugs", 3.0), ("Other crime", 2.0), ("Theft from the person", 1.5),
    ("Bicycle theft", 1.2), ("Robbery", 1.2), ("Possession of weapons", 1.0),
]
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect", "Under investigation",
            "Awaiting court outcome", "Status update unavailable", "Local resolution",
            "Formal action is not in the public interest", "Offender given a caution"]
STREETS = ["High Street", "Station Road", "Church Lane", "Park Road", "Supermarket", "Shopping Area", "Nightclub",
           "Petrol Station", "Parking Area", "Sports/Recreation Area", "Mill Lane", "Victoria Road"]
LAYOUT = '"Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", ' \
         '"LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"'


def slug(name: str) -> str:
    name = re.sub(r"\b(police|constabulary|service)\b", "", name.lower()).replace("&", "and")
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-")


def month_labels(months: int = 12) -> list[str]:
    """The `months` months up to December YEAR, oldest first."""
    return [f"{YEAR - (months - 1 - k) // 12}-{12 - (months - 1 - k) % 12:02d}" for k in range(months)]


def generate(rows: int = 6_000_000, seed: int = 2023, out: Path = OUT, force: bool = False, months: int = 12) -> Path:
    """`rows` a year (rows // 12 a month); the months already written with the same settings are kept."""
    settings = {"rows": rows, "seed": seed, "year": YEAR, "forces": len(FORCES), "version": 1}
    marker = out / "generated.json"
    done = json.loads(marker.read_text()) if marker.exists() and not force else {}
    if done.get("settings") != settings:
        done = {}
    # a marker from before --months holds 2023's twelve
    written = done.get("months", dict.fromkeys(month_labels(12), rows // 12) if done else {})
    todo = [label for label in month_labels(months) if label not in written]
    if not todo:
        return out
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    con.execute("create table forces (force_id integer, force varchar, slug varchar, share double)")
    con.executemany("insert into forces values (?, ?, ?, ?)", [(i, f, slug(f), s) for i, (f, s) in enumerate(FORCES)])
    con.execute("create table crime_types (type_id integer, crime_type varchar, low double, upto double)")
    total = sum(p for _, p in CRIME_TYPES)
    cumulative = 0.0
    for i, (crime_type, share) in enumerate(CRIME_TYPES):
        low, cumulative = cumulative, cumulative + share / total
        con.execute("insert into crime_types values (?, ?, ?, ?)",
                    [i, crime_type, low, 1.01 if i == len(CRIME_TYPES) - 1 else cumulative])
    con.execute("create table outcomes as select unnest(?) as outcome, generate_subscripts(?, 1) - 1 as i", [OUTCOMES, OUTCOMES])
    con.execute("create table streets as select unnest(?) as street, generate_subscripts(?, 1) - 1 as i", [STREETS, STREETS])
    # LSOAs: real codes, contiguous runs per force by population share; a synthetic centre each
    con.execute("""
        create table lsoas as
        with codes as (
            select lsoa21cd as lsoa_code, row_number() over (order by lsoa21cd) - 1 as n, count(*) over () as total
            from read_csv(?, header = true, all_varchar = true)
        ),
        bounds as (
            select force_id, sum(share) over (order by force <> 'Metropolitan Police Service', force_id) / sum(share) over () as upto
            from forces
        )
        select codes.lsoa_code, codes.n,
               (select arg_min(force_id, upto) from bounds where (codes.n + 0.5) / codes.total <= bounds.upto) as force_id,
               50.0 + 5.8 * ((codes.n * 7919) % codes.total) / codes.total as lat0,
               -5.5 + 7.2 * ((codes.n * 104729) % codes.total) / codes.total as lon0
        from codes""", [str(LOOKUP)])
    con.execute("""create table lsoa_index as
        select lsoas.*, forces.force, forces.slug,
               row_number() over (partition by lsoas.force_id order by lsoas.n) - 1 as k,
               count(*) over (partition by lsoas.force_id) as in_force,
               split_part(forces.force, ' ', 1) || ' ' || lpad(cast(row_number() over (partition by lsoas.force_id order by lsoas.n) as varchar), 3, '0') || 'A'
                   as lsoa_name
        from lsoas join forces using (force_id)""")
    n_lsoa = con.execute("select count(*) from lsoa_index").fetchone()[0]
    per_month = rows // 12
    for label in todo:
        year, month = int(label[:4]), int(label[5:])
        month_seed = seed * 100 + (year - YEAR) * 12 + month   # 2023's as before --months
        con.execute("""
            create or replace table month_rows as
            with numbered as (
                select i, hash(i, ?) as h1, hash(i, ? + 1) as h2, hash(i, ? + 2) as h3
                from range(?) as t(i)
            )
            select numbered.i, lsoa_index.*, numbered.h2, numbered.h3,
                   (numbered.h2 % 1000000) / 1000000.0 as u_type,
                   (numbered.h3 % 1000) as u_loc
            from numbered
            join lsoa_index on lsoa_index.n = numbered.h1 % ?""",
                    [month_seed, month_seed, month_seed, per_month, n_lsoa])
        con.execute("""
            create or replace table month_out as
            select
                m.slug,
                case when t.crime_type <> 'Anti-social behaviour'
                     then sha256(cast(m.i as varchar) || '-' || ? || '-' || ?) end as "Crime ID",
                ? as "Month", m.force as "Reported by", m.force as "Falls within",
                case when m.u_loc >= 15 then round(m.lon0 + (cast((m.h2 // 7) % 1000 as integer) - 500) / 100000.0, 6) end as "Longitude",
                case when m.u_loc >= 15 then round(m.lat0 + (cast((m.h3 // 7) % 1000 as integer) - 500) / 100000.0, 6) end as "Latitude",
                case when m.u_loc >= 15 then 'On or near ' || s.street else 'No Location' end as "Location",
                case when m.u_loc >= 15 then m.lsoa_code end as "LSOA code",
                case when m.u_loc >= 15 then m.lsoa_name end as "LSOA name",
                t.crime_type as "Crime type",
                case when t.crime_type <> 'Anti-social behaviour' then o.outcome end as "Last outcome category",
                cast(null as varchar) as "Context"
            from month_rows as m
            join crime_types as t on m.u_type >= t.low and m.u_type < t.upto
            join outcomes as o on o.i = (m.h2 // 13) % 8
            join streets as s on s.i = (m.h3 // 17) % 12""", [seed, label, label])
        folder = out / label
        folder.mkdir(exist_ok=True)
        for (force_slug,) in con.execute("select slug from forces order by force_id").fetchall():
            path = folder / f"{label}-{force_slug}-street.csv"
            con.execute(f"copy (select * exclude (slug) from month_out where slug = ? order by \"LSOA code\", \"Crime ID\") "
                        f"to '{str(path).replace(chr(39), chr(39) * 2)}' (header true, delimiter ',')", [force_slug])
        written[label] = con.execute("select count(*) from month_out").fetchone()[0]
        print(f"  {label}: {written[label]:,} rows in {len(FORCES)} files", flush=True)
        marker.write_text(json.dumps({"settings": settings, "months": dict(sorted(written.items())),
                                      "files": len(written) * len(FORCES), "rows": sum(written.values()),
                                      "seconds": round(time.perf_counter() - start, 1)}, indent=1))
    return out


def month_files(out: Path, months: int = 12) -> tuple[list[Path], int]:
    """The street files of the last `months` months (generated) and their rows."""
    written = json.loads((out / "generated.json").read_text()).get("months", dict.fromkeys(month_labels(12), 500_000))
    labels = month_labels(months)
    return sorted(p for label in labels for p in (out / label).glob("*-street.csv")), sum(written[x] for x in labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    parser.add_argument("--months", type=int, default=12, help="months up to December 2023 (12 or 36)")
    args = parser.parse_args()
    if not LOOKUP.exists():
        sys.exit(f"needs the England and Wales LSOA -> ward lookup at {LOOKUP}")
    out = generate(args.rows, args.seed, args.out, args.force, args.months)
    print(out / "generated.json", (out / "generated.json").read_text())


if __name__ == "__main__":
    main()
