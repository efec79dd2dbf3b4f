"""Benchmark (not a test): the multi-area fan-out against one process, and an all-London run (issue 11).

(a) National data.police.uk: benchmarks/gen_police_uk_national.py makes (or reuses) a synthetic 2023
    and, for the comparison an annual run needs, 2022 (43 forces x 12 months each, --rows per year),
    under .bench/. Then, each in a fresh subprocess:
    - fan-out: `flows.multi_area.multi_area_run` by force on a local Dask cluster of 2 worker
      processes (43 units: ingest -> marts and the gates, then the combine and unit_comparison);
    - one process: the same steps (annual ingest, build, check) once over all the files in one DuckDB
      file, with the nation as the area (the rows placed on a ward).
    Wall time, and peak memory as the largest sum of RSS over the process and all its descendants
    (Dask workers included), sampled every 0.2 s. Check: per crime type and month, the units' rows
    placed on a ward add up to the one process's count.
(b) All London: the real MPS borough files with `areas: all` in one `svna annual`-style run (ingest,
    build, check). Needs the `areas:` config key (issue 11 item 1); skipped, saying so, without it.
(c) `--national-months 36` (issue 19), instead of (a) and (b): the national data of
    benchmarks/bench_national.py (gen_police_uk_national, 43 forces x 36 months, calendar 2023 against
    2022) as one process (one area: every force) and fanned out by force on a local Dask cluster of 2
    workers, alternating over `--rounds`. Wall, CPU (user + sys of the child and every descendant it
    reaped: Dask workers, the temporary Prefect server), the summed peak and each process's peak RSS,
    the load average as each starts. Check: of the rows placed on a ward, identical theme x month counts
    (police_uk_crime_types by theme) and ward x theme counts of 2023 (ward_hotspots), the units' added
    up. `--forces N` takes the first N forces (to try it on a subset).
Results: printed and .bench/multi_area/results.json (results-national-<months>.json for (c)).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import benchmarks.gen_police_uk_national as gen

WORK = ROOT / ".bench" / "multi_area"
DATA = {2023: gen.OUT, 2022: gen.OUT.with_name("police_uk_national_2022")}
MPS_BOROUGH = ROOT.parent / "shared" / "data" / "mps_counts" / "borough"
ENV = {"PREFECT_HOME": str(ROOT / ".prefect"), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
       "GX_ANALYTICS_ENABLED": "false"}


def national_config(path: Path, output: Path, fan_out: bool) -> Path:
    folders = [d for year in sorted(DATA) for d in sorted(DATA[year].glob("20*-*"))]
    config = {"area": {"name": "England and Wales"}, "period": {"calendar_year": 2023},
              "inputs": [{"kind": "police_uk", "paths": [str(d / "*-street.csv") for d in folders]}],
              "reference": {"lsoa_to_ward": str(gen.LOOKUP)}, "output": str(output),
              "duckdb": {"memory_limit": "2GB"}}
    if fan_out:
        # two workers share the machine: each unit's DuckDB gets one thread and half the memory
        config.update(fan_out={"by": "force"}, engine={"runner": "dask", "n_workers": 2},
                      duckdb={"memory_limit": "1GB", "threads": 1})
    path.write_text(json.dumps(config))
    return path


def child_fan_out(config: Path, result: Path) -> None:
    from pipeline.settings.config import configure_runtime

    configure_runtime()
    from flows.multi_area import multi_area_run

    out = Path(multi_area_run(str(config)))
    import duckdb

    with duckdb.connect(str(out / "svna.duckdb"), read_only=True) as con:
        con.execute("copy (select crime_type, strftime(month_start, '%Y-%m') as month, sum(placed_on_ward) as count "
                    "from police_uk_crime_types group by all) to ? (format parquet)", [str(result) + ".parquet"])
        units = con.execute("select count(distinct unit) from theme_summary").fetchone()[0]
    manifest = json.loads((out / "run.json").read_text())
    result.write_text(json.dumps({"units": units, "timings": manifest["timings_seconds"]}))


def child_single(config: Path, result: Path) -> None:
    from pipeline.runs import annual
    from pipeline.runs.steps import run_steps
    from pipeline.settings.config import load_config
    from pipeline.transform import assessment

    cfg = load_config(config)
    work = WORK / "single"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    run = annual.Run(cfg, assessment.new_run_id(), work)
    run_steps(annual.BUILD_STEPS, run)
    import duckdb

    with duckdb.connect(str(work / assessment.DB_NAME), read_only=True) as con:
        con.execute("copy (select crime_type, strftime(month_start, '%Y-%m') as month, count "
                    "from police_uk_crime_types) to ? (format parquet)", [str(result) + ".parquet"])
    result.write_text(json.dumps({"in_process_s": round(time.perf_counter() - started, 2), "timings": run.timings}))
    shutil.rmtree(work, ignore_errors=True)


def child_london(config: Path, result: Path) -> None:
    child_single(config, result)


# (c) the national 36 months: the counts both sides must agree on, the fan-out's units added up. Rows
# placed on a ward: a force unit's area is its force (Falls within), so its theme_monthly also counts
# the force's rows placed on no ward, which the one process (area: the wards) leaves out.
NATIONAL_COUNTS = {
    "themes": ("select theme, month, cast(sum(placed_on_ward) as bigint) as count from ("
               "select unnest(string_split(themes, ', ')) as theme, strftime(month_start, '%Y-%m') as month, "
               "placed_on_ward from police_uk_crime_types where themes is not null) group by all having count > 0"),
    "wards": ("select ward_code, theme, cast(sum(count) as bigint) as count from ward_hotspots "
              "where source = 'police_uk' group by all having sum(count) > 0"),
}


def export_counts(database: Path, result: Path) -> None:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        for part, query in NATIONAL_COUNTS.items():
            con.execute(f"copy ({query}) to ? (format parquet)", [f"{result}.{part}.parquet"])


def child_national_fan_out(config: Path, result: Path) -> None:
    from pipeline.settings.config import configure_runtime

    configure_runtime()
    from flows.multi_area import multi_area_run

    out = Path(multi_area_run(str(config)))
    export_counts(out / "svna.duckdb", result)
    manifest = json.loads((out / "run.json").read_text())
    units = {k: v for k, v in manifest["timings_seconds"].items() if k.startswith("unit ")}
    result.write_text(json.dumps({"units": len(units), "unit_s_sum": round(sum(units.values()), 1),
                                  "timings": {k: v for k, v in manifest["timings_seconds"].items() if k not in units}}))
    shutil.rmtree(out, ignore_errors=True)


def child_national_single(config: Path, result: Path) -> None:
    from pipeline.runs import annual
    from pipeline.runs.steps import run_steps
    from pipeline.settings.config import load_config
    from pipeline.transform import assessment

    work = WORK / "national_single"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    run = annual.Run(load_config(config), assessment.new_run_id(), work)
    run_steps(annual.BUILD_STEPS, run)
    export_counts(work / assessment.DB_NAME, result)
    result.write_text(json.dumps({"timings": run.timings}))
    shutil.rmtree(work, ignore_errors=True)


def _label(proc, child_pid: int) -> str:
    """Which process of the tree this is, for the per-process peaks."""
    if proc.pid == child_pid:
        return "main"
    command = " ".join(proc.cmdline())
    if "prefect" in command or "uvicorn" in command:
        return "prefect server"
    if "multiprocessing" in command or "dask" in command:
        return "dask worker"
    return proc.name()


def measure(name: str, args: list[str]) -> dict:
    """Wall time, CPU time (user + sys of the child and every descendant it reaped), the peak of the
    summed RSS of the child and all its descendants, and each process's own peak RSS."""
    import psutil

    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", name, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)})
    peak = [0]
    each: dict[int, list] = {}   # pid -> [label, peak rss]

    def sample() -> None:
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [parent, *parent.children(recursive=True)]
                rss = {p.pid: p.memory_info().rss for p in tree if p.is_running()}
                peak[0] = max(peak[0], sum(rss.values()))
                for p in tree:
                    if p.pid in rss:
                        seen = each.setdefault(p.pid, [_label(p, proc.pid), 0])
                        seen[1] = max(seen[1], rss[p.pid])
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.stdout.read()
    proc.wait()
    sampler.join()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{name} failed:\n{output[-4000:]}")
    peaks = sorted(([label, round(rss / 2**20)] for label, rss in each.values() if rss > 50 * 2**20),
                   key=lambda x: -x[1])
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mib": round(peak[0] / 2**20, 1),
            "process_peaks_mib": peaks, "load_1min": round(load, 2)}


def london(results: dict) -> None:
    from pipeline.settings import config_sections as config_module

    if "areas" not in config_module.RUN_CONFIG_KEYS:
        print("(b) all-London: skipped: this svna has no `areas:` config key yet (issue 11 item 1)")
        results["london"] = "skipped: no areas: key"
        return
    config = WORK / "london.yaml"
    config.write_text(json.dumps({
        "area": {"name": "Merton", "code": "E09000024"}, "areas": "all",
        "comparator": {"name": "Metropolitan Police Service"}, "period": {"calendar_year": 2022},
        "inputs": [{"kind": "mps_counts", "paths": [str(MPS_BOROUGH / "*.csv")]}],
        "reference": {"areas": str(MPS_BOROUGH.parents[1] / "boundaries/london_boroughs/London_Borough_Excluding_MHW.shp"),
                      "area_population": str(MPS_BOROUGH.parents[1] / "population/census2021_usual_residents_lsoa21_age6_EW.csv.gz")},
        "output": str(WORK / "london")}))
    london = measure("london", [str(config), str(WORK / "london.json")])
    london.update(json.loads((WORK / "london.json").read_text()))
    results["london"] = london
    print(f"(b) all-London (MPS borough files, areas: all): {london['wall_s']} s wall, "
          f"{london['peak_rss_mib']} MiB peak; steps {london['timings']}")


def national(months: int, rows: int, forces: int, rounds: int) -> None:
    """(c): one process against the fan-out by force on 2 Dask workers, alternating."""
    import pandas as pd

    if not gen.LOOKUP.exists():
        sys.exit(f"needs the England and Wales LSOA -> ward lookup at {gen.LOOKUP} (../shared/data)")
    gen.generate(rows, out=gen.OUT, months=months)
    slugs = {gen.slug(force) for force, _ in gen.FORCES[:forces]}
    files = [p for p in gen.month_files(gen.OUT, months)[0] if p.name[8:-len("-street.csv")] in slugs]
    size = sum(p.stat().st_size for p in files) / 2**30
    print(f"(c) data: {len(files)} files, {forces} forces x {months} months, {size:.2f} GiB; "
          f"{os.cpu_count()} cores", flush=True)
    base = {"area": {"name": "England and Wales"}, "period": {"calendar_year": 2023},
            "inputs": [{"kind": "police_uk", "paths": [str(p) for p in files]}],
            "reference": {"lsoa_to_ward": str(gen.LOOKUP)}}
    configs = {
        "one process": {**base, "output": str(WORK / "national_single_out"), "duckdb": {"memory_limit": "2GB"}},
        # two workers share the 2 cores: each unit's DuckDB gets one thread and half the memory
        "fan-out, 2 Dask workers": {**base, "output": str(WORK / "national_fan_out_out"),
                                    "fan_out": {"by": "force"}, "engine": {"runner": "dask", "n_workers": 2},
                                    "duckdb": {"memory_limit": "1GB", "threads": 1}},
    }
    children = {"one process": "national_single", "fan-out, 2 Dask workers": "national_fan_out"}
    runs: dict[str, list[dict]] = {name: [] for name in configs}
    names = list(configs)
    for round_ in range(rounds):
        for name in names[round_ % 2:] + names[:round_ % 2]:
            key = children[name]
            config = WORK / f"{key}.yaml"
            config.write_text(json.dumps(configs[name]))
            got = measure(key, [str(config), str(WORK / f"{key}.json")])
            got.update(json.loads((WORK / f"{key}.json").read_text()))
            runs[name].append(got)
            print(f"  round {round_ + 1} {name:24} wall {got['wall_s']:7.1f} s  cpu {got['cpu_s']:7.1f} s  "
                  f"peak {got['peak_rss_mib']:7.0f} MiB (summed)  load {got['load_1min']:5.2f}\n"
                  f"      per process peak MiB: {got['process_peaks_mib']}\n      {got['timings']}", flush=True)
    identical = {}
    for part, key in (("themes", ["theme", "month"]), ("wards", ["ward_code", "theme"])):
        a, b = (pd.read_parquet(WORK / f"{k}.json.{part}.parquet").sort_values(key).reset_index(drop=True)
                for k in ("national_single", "national_fan_out"))
        same = bool(len(a) and a[key].equals(b[key]) and a["count"].astype("int64").equals(b["count"].astype("int64")))
        identical[part] = {"rows": len(a), "identical": same}
    results = {"months": months, "forces": forces, "files": len(files), "gib": round(size, 2), "runs": runs,
               "identical_counts": identical}
    (WORK / f"results-national-{months}.json").write_text(json.dumps(results, indent=1))
    print(f"counts identical (one process vs the units added up): {identical}")
    if not all(v["identical"] for v in identical.values()):
        sys.exit("the fan-out and the one process disagree: see .bench/multi_area/*.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6_000_000, help="rows per year")
    parser.add_argument("--child", choices=["fan_out", "single", "london", "national_fan_out", "national_single"])
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--national-months", type=int, choices=[24, 36],
                        help="(c) only: the national data of bench_national.py, these months up to 2023-12 "
                             "(2022 and 2023 at least: the run compares them)")
    parser.add_argument("--forces", type=int, default=len(gen.FORCES), help="(c): only the first N forces")
    parser.add_argument("--rounds", type=int, default=1, help="(c): rounds, the two sides alternating")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    if args.child:
        return globals()[f"child_{args.child}"](Path(args.rest[0]), Path(args.rest[1]))

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    if args.national_months:
        return national(args.national_months, args.rows, args.forces, args.rounds)
    results: dict = {}
    if not args.skip_national:
        if not gen.LOOKUP.exists():
            sys.exit(f"needs the England and Wales LSOA -> ward lookup at {gen.LOOKUP} (../shared/data)")
        for year, out in sorted(DATA.items()):
            gen.YEAR = year   # the generator writes its module's YEAR
            gen.generate(args.rows, seed=year, out=out)
        rows = sum(json.loads((d / "generated.json").read_text())["rows"] for d in DATA.values())
        size = sum(p.stat().st_size for d in DATA.values() for p in d.glob("*/*.csv")) / 2**30
        print(f"(a) data: {rows:,} rows, 2 years x 43 forces x 12 months, {size:.2f} GiB")
        fan_out = measure("fan_out", [str(national_config(WORK / "fan_out.yaml", WORK / "out", True)),
                                      str(WORK / "fan_out.json")])
        fan_out.update(json.loads((WORK / "fan_out.json").read_text()))
        single = measure("single", [str(national_config(WORK / "single.yaml", WORK / "single_out", False)),
                                    str(WORK / "single.json")])
        single.update(json.loads((WORK / "single.json").read_text()))
        import pandas as pd

        key = ["crime_type", "month"]
        a = pd.read_parquet(str(WORK / "fan_out.json") + ".parquet").sort_values(key).reset_index(drop=True)
        b = pd.read_parquet(str(WORK / "single.json") + ".parquet").sort_values(key).reset_index(drop=True)
        same = bool(len(a) and a[key].equals(b[key]) and a["count"].astype("int64").equals(b["count"].astype("int64")))
        results.update(rows=rows, gib=round(size, 2), fan_out=fan_out, single=single, identical_counts=same)
        print(f"{'':34}{'wall s':>10}{'peak MiB':>10}")
        print(f"{'fan-out, 43 units, 2 Dask workers':34}{fan_out['wall_s']:>10}{fan_out['peak_rss_mib']:>10}")
        print(f"{'one process':34}{single['wall_s']:>10}{single['peak_rss_mib']:>10}   {single['timings']}")
        print(f"crime type x month counts identical: {same} ({len(a)} rows)")
    london(results)
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    if results.get("identical_counts") is False:
        sys.exit("the fan-out and the one process disagree: see .bench/multi_area/*.parquet")


if __name__ == "__main__":
    main()
