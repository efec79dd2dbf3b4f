"""Benchmark (not a test): a national data.police.uk year through svna, against pandas and a plain DuckDB script.

1. benchmarks/gen_police_uk_national.py makes (or reuses) 43 forces x 12 months (`--months 36`: 2021-2023),
   about 500,000 rows a month, under .bench/police_uk_national/.
2. Contenders, each in a fresh subprocess, in turn (alternating over `--rounds`):
   - svna: one process runs `assessment.ingest` (one DuckDB read_csv over all the files) and
     `assessment.build` (every SQL model, staging -> intermediate -> marts) on a DuckDB file, then the
     reconciliation gate. Publishing (Great Expectations, Excel, maps, report) is NOT included.
   - svna-before (with `--before PATH`, e.g. /work/main): the same with the code at PATH; every mart must
     be identical to svna's (run_id aside).
   - pandas: pandas.read_csv of every file, each Crime ID kept once, LSOA code -> ward best fit (a merge
     with the same lookup; there are no national ward polygons), the same themes counted.
   - duckdb: a plain DuckDB script, the engine's limit: one read_csv over the files, each Crime ID kept
     once, the LSOA -> ward lookup joined, counted.
   Wall time, CPU time (user + sys) and peak memory (ru_maxrss) of a wrapper process that runs only the
   contender; the load average (1 minute) as it starts.
3. All contenders must give identical theme x month counts and ward x theme counts (2023) (asserted).
Targets (issue 19): 12 months: svna <= 2x the DuckDB script, peak <= 2.5 GB, faster than pandas;
36 months: svna within 2.5x its 12-month time (.bench/national/results-12.json) and under 4 GB.
Results: printed and .bench/national/results-<months>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.gen_police_uk_national import FORCES, LOOKUP, generate, month_files, slug
from benchmarks.gen_police_uk_national import OUT as DATA

WORK = ROOT / ".bench" / "national"
SEED = ROOT / "sql" / "seeds" / "police_uk_crime_type_themes.csv"
GB = 1e9
WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); u = resource.getrusage("
           "resource.RUSAGE_CHILDREN); print('USAGE', u.ru_maxrss, u.ru_utime + u.ru_stime); sys.exit(r.returncode)")
WARD_YEAR = "2023"   # the ward counts compared: svna's current period (calendar year 2023)


def run_svna(config: Path, result: Path, root: Path) -> None:
    sys.path.insert(0, str(root))   # the code measured: this worktree, or --before's
    import duckdb  # noqa: F401  (imports are part of the measured process either way)

    from pipeline.checks import gates
    from pipeline.settings.config import load_config
    from pipeline.transform import assessment, db

    timings = {}
    start = time.perf_counter()
    cfg = load_config(config)
    database = result.with_suffix(".duckdb")
    database.unlink(missing_ok=True)
    con = db.connect(database, settings=cfg.duckdb)
    t = time.perf_counter()
    assessment.ingest(con, cfg)
    timings["ingest_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    assessment.build(con, cfg, assessment.new_run_id())
    timings["build_s"] = round(time.perf_counter() - t, 2)
    gates.check_reconciliation(con, cfg)
    timings["in_process_s"] = round(time.perf_counter() - start, 2)
    timings["rows_loaded"] = con.execute("select count(*) from int_police_uk_located").fetchone()[0]
    timings["rows_quarantined"] = con.execute("select count(*) from quarantine").fetchone()[0]
    con.execute("""copy (select theme, strftime(month_start, '%Y-%m') as month, count from theme_monthly
                         where source = 'police_uk' and area_role = 'area') to '{}' (format parquet)"""
                .format(str(result).replace("'", "''") + ".themes.parquet"))
    con.execute("""copy (select ward_code, theme, cast(count as bigint) as count from int_ward_period_counts
                         where source = 'police_uk' and period_role = 'current' and ward_code is not null)
                   to '{}' (format parquet)""".format(str(result).replace("'", "''") + ".wards.parquet"))
    con.close()
    result.write_text(json.dumps(timings))


def run_pandas(files: list[str], result: Path) -> None:
    import pandas as pd

    start = time.perf_counter()
    columns = ["Crime ID", "Month", "Falls within", "Longitude", "Latitude", "LSOA code", "Crime type"]
    frames = [pd.read_csv(path, dtype=str, usecols=columns, keep_default_na=False) for path in files]
    crimes = pd.concat(frames, ignore_index=True)
    del frames
    repeated = (crimes["Crime ID"] != "") & crimes.duplicated("Crime ID", keep="first")
    crimes = crimes[~repeated & crimes["Month"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")]
    lookup = pd.read_csv(LOOKUP, dtype=str, usecols=["lsoa21cd", "ward22cd"])
    crimes = crimes.merge(lookup, how="left", left_on="LSOA code", right_on="lsoa21cd")
    area = crimes[crimes["ward22cd"].notna()]                   # the area: rows placed on a ward
    themes = pd.read_csv(SEED, dtype=str).dropna(subset=["theme"])[["crime_type", "theme"]]
    classified = area.merge(themes, left_on="Crime type", right_on="crime_type")
    by_month = classified.groupby(["theme", "Month"]).size().rename("count").reset_index()
    in_year = classified[classified["Month"].str.startswith(WARD_YEAR)]
    by_ward = in_year.groupby(["ward22cd", "theme"]).size().rename("count").reset_index()
    by_month.rename(columns={"Month": "month"}).to_parquet(str(result) + ".themes.parquet")
    by_ward.rename(columns={"ward22cd": "ward_code"}).to_parquet(str(result) + ".wards.parquet")
    result.write_text(json.dumps({"in_process_s": round(time.perf_counter() - start, 2), "rows_read": len(crimes)}))


def run_duckdb(files: list[str], result: Path) -> None:
    """The plain script: what DuckDB itself does with one query, no pipeline around it."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("set memory_limit = '2GB'")
    con.execute("""
        create table counts as
        with crimes as (
            select "Crime ID" as crime_id, "Month" as month, "LSOA code" as lsoa_code, "Crime type" as crime_type
            from read_csv(?, header = true, all_varchar = true)
        ),
        themes as (
            select crime_type, theme from read_csv(?, header = true, all_varchar = true) where theme is not null
        ),
        once as (   -- each Crime ID once (rows without one, anti-social behaviour, are in no theme)
            select distinct on (crime_id) * from crimes where crime_id is not null
        )
        select themes.theme, once.month, lookup.ward22cd as ward_code, count(*) as count
        from once
        join read_csv(?, header = true, all_varchar = true) as lookup
            on lookup.lsoa21cd = once.lsoa_code and lookup.ward22cd is not null   -- the area: rows placed on a ward
        join themes using (crime_type)
        group by all""", [files, str(SEED), str(LOOKUP)])
    for part, query in (("themes", "select theme, month, cast(sum(count) as bigint) as count from counts group by all"),
                        ("wards", (f"select ward_code, theme, cast(sum(count) as bigint) as count from counts "
                                   f"where month like '{WARD_YEAR}-%' group by all"))):
        con.execute(f"copy ({query}) to '{str(result).replace(chr(39), chr(39) * 2)}.{part}.parquet' (format parquet)")
    result.write_text(json.dumps({"in_process_s": round(time.perf_counter() - start, 2)}))


def measure(name: str, args: list[str]) -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    kind = "svna" if name.startswith("svna") else name
    proc = subprocess.run(["nice", "-n", "5", sys.executable, "-c", WRAPPER, sys.executable, __file__, "--child", kind,
                           *args], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    peak, cpu = next(line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("USAGE"))
    return {"wall_s": round(wall, 2), "cpu_s": round(float(cpu), 2), "peak_gb": round(int(peak) * 1024 / GB, 2),
            "load_1min": round(load, 2)}


def same_counts(a: str, b: str, months: int) -> dict:
    import pandas as pd

    same = {}
    for part, key in (("themes", ["theme", "month"]), ("wards", ["ward_code", "theme"])):
        x = pd.read_parquet(WORK / f"{a}-{months}.json.{part}.parquet").sort_values(key).reset_index(drop=True)
        y = pd.read_parquet(WORK / f"{b}-{months}.json.{part}.parquet").sort_values(key).reset_index(drop=True)
        same[part] = bool(len(x) and x[key].astype(str).equals(y[key].astype(str))
                          and x["count"].astype("int64").equals(y["count"].astype("int64")))
    return same


def same_marts(before: Path, after: Path) -> list[str]:
    """The marts (and the period count models) that differ between two svna databases, run_id aside."""
    import duckdb

    con = duckdb.connect()
    for alias, path in (("a", before), ("b", after)):   # attach takes no parameter: the path quoted as a literal
        con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {alias} (read_only)")
    names = [p.stem for p in sorted((ROOT / "sql" / "marts").glob("*.sql"))] + [
        "int_theme_period_counts", "int_ward_period_counts", "int_period_coverage"]
    differ = []
    for name in names:
        columns = ", ".join(f'"{c}"' for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'a' and table_name = ? "
            "and column_name <> 'run_id' order by column_index", [name]).fetchall())
        types = [con.execute(f"select {columns} from {db}.{name} limit 0").description for db in ("a", "b")]
        extra = con.execute(f"select (select count(*) from (select {columns} from a.{name} except all "
                            f"select {columns} from b.{name})) + (select count(*) from (select {columns} from b.{name} "
                            f"except all select {columns} from a.{name}))").fetchone()[0]
        if extra or [t[1] for t in types[0]] != [t[1] for t in types[1]]:
            differ.append(name)
    con.close()
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6_000_000, help="rows a year")
    parser.add_argument("--months", type=int, default=12, choices=[12, 36])
    parser.add_argument("--forces", type=int, default=len(FORCES), help="only the first N forces (to iterate)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--contenders", default="svna,pandas,duckdb")
    parser.add_argument("--before", type=Path, help="also run svna with the code at this path; marts must match")
    parser.add_argument("--child", choices=["svna", "pandas", "duckdb"])
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    if args.child == "svna":
        return run_svna(Path(args.rest[0]), Path(args.rest[1]), Path(args.rest[2]))
    if args.child in ("pandas", "duckdb"):
        files = json.loads(Path(args.rest[0]).read_text())
        return (run_pandas if args.child == "pandas" else run_duckdb)(files, Path(args.rest[1]))

    if not LOOKUP.exists():
        sys.exit(f"needs the England and Wales LSOA -> ward lookup at {LOOKUP} (../shared/data)")
    t = time.perf_counter()
    generate(args.rows, months=args.months)
    slugs = {slug(force) for force, _ in FORCES[:args.forces]}
    files, rows = month_files(DATA, args.months)
    files = [p for p in files if p.name[8:-len("-street.csv")] in slugs]
    rows = rows if args.forces == len(FORCES) else None
    print(f"data: {len(files)} files, {args.months} months, {rows or 'a subset of'} rows "
          f"({time.perf_counter() - t:.1f} s to generate or reuse), {sum(p.stat().st_size for p in files) / 2**30:.2f} GiB")
    for old in WORK.glob(f"*-{args.months}*"):
        old.unlink() if old.is_file() else shutil.rmtree(old)
    WORK.mkdir(parents=True, exist_ok=True)
    file_list = WORK / f"files-{args.months}.json"
    file_list.write_text(json.dumps([str(p) for p in files]))
    config = WORK / f"run-{args.months}.yaml"
    config.write_text(json.dumps({
        "area": {"name": "England and Wales"}, "period": {"calendar_year": 2023},
        "inputs": [{"kind": "police_uk", "paths": [str(p) for p in files]}],
        "reference": {"lsoa_to_ward": str(LOOKUP)}, "output": str(WORK / f"out-{args.months}"),
        "duckdb": {"memory_limit": "2GB"},
    }))
    contenders = args.contenders.split(",") + (["svna-before"] if args.before else [])
    runs: dict[str, list[dict]] = {name: [] for name in contenders}
    for round_ in range(args.rounds):
        order = contenders[round_ % len(contenders):] + contenders[:round_ % len(contenders)]
        for name in order:
            out = WORK / f"{name}-{args.months}.json"
            if name.startswith("svna"):
                code = args.before if name == "svna-before" else ROOT
                got = measure(name, [str(config), str(out), str(code)])
            else:
                got = measure(name, [str(file_list), str(out)])
            got.update(json.loads(out.read_text()))
            runs[name].append(got)
            print(f"  round {round_ + 1} {name:12} wall {got['wall_s']:7.1f} s  cpu {got['cpu_s']:7.1f} s  "
                  f"peak {got['peak_gb']:5.2f} GB  load {got['load_1min']:5.2f}"
                  + (f"  (ingest {got['ingest_s']} s, build {got['build_s']} s)" if "ingest_s" in got else ""),
                  flush=True)

    median = {name: {k: statistics.median(r[k] for r in got) for k in ("wall_s", "cpu_s", "peak_gb")}
              for name, got in runs.items()}
    identical = {name: same_counts(contenders[0], name, args.months) for name in contenders[1:]}
    marts_differ = (same_marts(WORK / f"svna-before-{args.months}.duckdb", WORK / f"svna-{args.months}.duckdb")
                    if args.before and "svna" in runs else None)
    targets = {}
    svna = median.get("svna")
    if svna and args.months == 12:
        if "duckdb" in median:
            targets["svna wall <= 2x the DuckDB script"] = svna["wall_s"] <= 2 * median["duckdb"]["wall_s"]
        if "pandas" in median:
            targets["svna wall < pandas"] = svna["wall_s"] < median["pandas"]["wall_s"]
        targets["svna peak <= 2.5 GB"] = svna["peak_gb"] <= 2.5
    elif svna:
        twelve = WORK / "results-12.json"
        if twelve.exists() and "svna" in json.loads(twelve.read_text())["median"]:
            base = json.loads(twelve.read_text())["median"]["svna"]["wall_s"]
            targets[f"svna wall <= 2.5x its 12-month time ({base} s)"] = svna["wall_s"] <= 2.5 * base
        targets["svna peak < 4 GB"] = svna["peak_gb"] < 4
    results = {"months": args.months, "files": len(files), "rows": rows, "runs": runs, "median": median,
               "identical_counts": identical, "marts_differ_before_after": marts_differ, "targets": targets}
    (WORK / f"results-{args.months}.json").write_text(json.dumps(results, indent=1))

    print(f"\n{'median of ' + str(args.rounds) + ' round(s)':28}{'wall s':>9}{'cpu s':>9}{'peak GB':>9}")
    for name, m in median.items():
        print(f"{name:28}{m['wall_s']:>9.1f}{m['cpu_s']:>9.1f}{m['peak_gb']:>9.2f}")
    if svna and "duckdb" in median:
        print(f"svna / DuckDB script: {svna['wall_s'] / median['duckdb']['wall_s']:.2f}x wall, "
              f"{svna['cpu_s'] / median['duckdb']['cpu_s']:.2f}x cpu")
    for target, met in targets.items():
        print(f"target {target}: {'met' if met else 'NOT met'}")
    print(f"identical counts (against {contenders[0]}): {identical}")
    if marts_differ is not None:
        print("marts before/after:", "identical" if not marts_differ else f"DIFFER: {marts_differ}")
    if not all(all(v.values()) for v in identical.values()) or marts_differ:
        sys.exit("the contenders disagree: see .bench/national/")


if __name__ == "__main__":
    main()
