"""Benchmark (not a test): a national data.police.uk year through svna, against plain pandas, in one run.

1. benchmarks/gen_police_uk_national.py makes (or reuses) 43 forces x 12 months, about 6 million rows,
   under .bench/police_uk_national/.
2. svna: one process runs `assessment.ingest` (one DuckDB read_csv over all 516 files) and
   `assessment.build` (every SQL model, staging -> intermediate -> marts) on a DuckDB file, then the
   reconciliation gate. Publishing (Great Expectations, Excel, maps, report) is NOT included.
3. pandas: one process reads the same files with pandas.read_csv, keeps each Crime ID once, places
   rows by LSOA code -> ward best fit (a merge with the same lookup; there are no national ward
   polygons, so geopandas has no point-in-polygon to do and is not used) and counts the same themes.
Each runs in a fresh subprocess, timed by wall clock, with its peak memory from
resource.getrusage(RUSAGE_CHILDREN) of a wrapper process that runs only it. The two must give
identical theme x month counts and ward x theme counts. Results: printed and .bench/national/results.json.
Targets (issue 8): svna <= 120 s and <= 3 GB; >= 3x faster than pandas.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.gen_police_uk_national import LOOKUP, generate
from benchmarks.gen_police_uk_national import OUT as DATA

WORK = ROOT / ".bench" / "national"
SEED = ROOT / "sql" / "seeds" / "police_uk_crime_type_themes.csv"
WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
           "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def run_svna(config: Path, result: Path) -> None:
    import duckdb  # noqa: F401  (imports are part of the measured process either way)

    from pipeline.checks import gates
    from pipeline.settings.config import load_config
    from pipeline.transform import assessment, db

    timings = {}
    start = time.perf_counter()
    cfg = load_config(config)
    database = WORK / "svna.duckdb"
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


def run_pandas(files_glob: str, result: Path) -> None:
    import glob

    import pandas as pd

    start = time.perf_counter()
    columns = ["Crime ID", "Month", "Falls within", "Longitude", "Latitude", "LSOA code", "Crime type"]
    frames = [pd.read_csv(path, dtype=str, usecols=columns, keep_default_na=False)
              for path in sorted(glob.glob(files_glob))]
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
    by_ward = classified.groupby(["ward22cd", "theme"]).size().rename("count").reset_index()
    by_month.rename(columns={"Month": "month"}).to_parquet(str(result) + ".themes.parquet")
    by_ward.rename(columns={"ward22cd": "ward_code"}).to_parquet(str(result) + ".wards.parquet")
    result.write_text(json.dumps({"in_process_s": round(time.perf_counter() - start, 2), "rows_read": len(crimes)}))


def measure(name: str, args: list[str]) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, __file__, "--child", name, *args],
                          cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    peak = int(next(line.split()[1] for line in proc.stdout.splitlines() if line.startswith("PEAK_KIB")))
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(peak / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--data", type=Path, default=DATA, help="where the generated files are (or go)")
    parser.add_argument("--child", choices=["svna", "pandas"])
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    if args.child == "svna":
        return run_svna(Path(args.rest[0]), Path(args.rest[1]))
    if args.child == "pandas":
        return run_pandas(args.rest[0], Path(args.rest[1]))

    if not LOOKUP.exists():
        sys.exit(f"needs the England and Wales LSOA -> ward lookup at {LOOKUP} (../shared/data)")
    t = time.perf_counter()
    data = generate(args.rows, out=args.data)
    generated = json.loads((data / "generated.json").read_text())
    print(f"data: {generated['rows']:,} rows in {generated['files']} files ({time.perf_counter() - t:.1f} s to "
          f"generate or reuse), {sum(p.stat().st_size for p in data.glob('*/*.csv')) / 2**30:.2f} GiB")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    files_glob = str(data / "*" / "*-street.csv")
    config = WORK / "run.yaml"
    config.write_text(json.dumps({
        "area": {"name": "England and Wales"}, "period": {"calendar_year": 2023},
        # a folder per month, as the download (a config pattern globs file names, not folders)
        "inputs": [{"kind": "police_uk", "paths": [str(d / "*-street.csv") for d in sorted(data.glob("20*-*"))]}],
        "reference": {"lsoa_to_ward": str(LOOKUP)}, "output": str(WORK / "out"),
        "duckdb": {"memory_limit": "2GB"},
    }))
    svna = measure("svna", [str(config), str(WORK / "svna.json")])
    svna.update(json.loads((WORK / "svna.json").read_text()))
    pandas = measure("pandas", [files_glob, str(WORK / "pandas.json")])
    pandas.update(json.loads((WORK / "pandas.json").read_text()))

    import pandas as pd

    same = {}
    for part, key in (("themes", ["theme", "month"]), ("wards", ["ward_code", "theme"])):
        a = pd.read_parquet(WORK / f"svna.json.{part}.parquet").sort_values(key).reset_index(drop=True)
        b = pd.read_parquet(WORK / f"pandas.json.{part}.parquet").sort_values(key).reset_index(drop=True)
        same[part] = bool(len(a) and a[key].astype(str).equals(b[key].astype(str))
                          and a["count"].astype("int64").equals(b["count"].astype("int64")))
        same[f"{part}_rows"] = len(a)
    ratio = round(pandas["wall_s"] / svna["wall_s"], 2)
    results = {"rows": generated["rows"], "files": generated["files"], "svna": svna, "pandas": pandas,
               "pandas_over_svna": ratio, "identical_counts": same,
               "targets": {"svna_wall_s<=120": svna["wall_s"] <= 120, "svna_peak<=3GiB": svna["peak_rss_mib"] <= 3072,
                           "ratio>=3": ratio >= 3}}
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    print(f"{'':24}{'wall s':>10}{'peak MiB':>10}")
    print(f"{'svna ingest -> marts':24}{svna['wall_s']:>10}{svna['peak_rss_mib']:>10}   "
          f"(ingest {svna['ingest_s']} s, build {svna['build_s']} s)")
    print(f"{'pandas':24}{pandas['wall_s']:>10}{pandas['peak_rss_mib']:>10}")
    print(f"pandas / svna wall time: {ratio}x; identical counts: {same}")
    print("targets:", results["targets"])
    if not (same["themes"] and same["wards"]):
        sys.exit("svna and pandas disagree: see .bench/national/*.parquet")


if __name__ == "__main__":
    main()
