"""Benchmark (not a test): a borough's annual run against what it is compared with, side by side.

1. The real Merton count-only run (MPS borough counts, extract 2023-08, calendar 2022, as
   tests/integration/test_merton_published.py and stress_runs.py configure it) in-process, against a
   small pandas script computing the same headline figures (each theme's count, previous count and
   change, and the MPS change) from the same files; the benchmark checks that the figures agree.
   Target (issue 19): the svna run <= 5 s.
2. The demo's annual run against a borough ten times the demo (the demo extract repeated with
   distinct crime and person references, benchmarks/bench_ingest.py's `scaled_extract`; the same
   reference files and MPS counts). Target (issue 19): the 10x borough <= 1.3x the demo's time.

Each measurement runs in a fresh process and times the run alone (`run_annual`, or the pandas
script's work), after its imports, as a notebook would; the rounds alternate between the two sides
of each comparison. Wall time, CPU time (user + system) and the load average are printed; results go
to .bench/borough.json. Needs the real files in ../shared/data for the Merton comparison (skipped
without them). `--rounds N` changes the rounds (the best is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ingest import scaled_extract  # after the path is set

SHARED_DATA = ROOT.parent / "shared" / "data"
if not SHARED_DATA.exists():          # a worktree under /work/wt, or a copy elsewhere
    SHARED_DATA = Path("/work/shared/data")
MERTON_FILES = f"{SHARED_DATA}/mps_counts/borough/*extract2023-08.csv"
MERTON_CONFIG = f"""area: {{name: Merton, code: E09000024}}
comparator: {{name: Metropolitan Police Service}}
period: {{calendar_year: 2022}}
inputs:
  - kind: mps_counts
    paths: [{MERTON_FILES}]
output: out
"""

# svna in-process: the run alone is timed; its steps' times come from run.json
SVNA = """
import json, resource, sys, time
from pathlib import Path
from pipeline.settings.config import load_config
from pipeline.runs.annual import run_annual
config, demo = Path(sys.argv[1]), sys.argv[2] == "demo"
cfg = load_config(config, {"output": sys.argv[3]}, demo=demo)
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
cpu0, start = cpu(), time.perf_counter()
out = run_annual(cfg)
wall, cpu_s = time.perf_counter() - start, cpu() - cpu0
steps = json.loads((Path(out) / "run.json").read_text())["timings_seconds"]
print(json.dumps({"wall_s": wall, "cpu_s": cpu_s, "steps": steps}))
"""

# the notebook: each theme's count in 2022 and 2021 in Merton and in the MPS, from the same files
PANDAS = """
import glob, json, resource, sys, time
import pandas as pd
files, seed, area = sys.argv[1], sys.argv[2], sys.argv[3]
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
cpu0, start = cpu(), time.perf_counter()
wide = pd.concat([pd.read_csv(f, dtype={"MajorText": str, "MinorText": str}) for f in sorted(glob.glob(files))])
long = wide.melt(id_vars=["MajorText", "MinorText", "LookUp_BoroughName"], var_name="month", value_name="n")
long["year"] = long.month.str[:4]
long = long[long.year.isin(["2021", "2022"])]
norm = lambda s: s.str.strip().str.upper().str.replace(r"\\s+", " ", regex=True)
long["major"], long["minor"] = norm(long.MajorText), norm(long.MinorText)
themes = pd.read_csv(seed, dtype=str).dropna(subset=["theme"])
themes["major"], themes["minor"] = norm(themes.major_text), norm(themes.minor_text)
exact = long.merge(themes[themes.minor != "*"][["major", "minor", "theme"]], on=["major", "minor"])
whole = long.merge(themes[themes.minor == "*"][["major", "theme"]], on="major")
rows = pd.concat([exact, whole])
rows["area"] = rows.LookUp_BoroughName.str.lower() == area.lower()
mps = rows.pivot_table(index="theme", columns="year", values="n", aggfunc="sum")
borough = rows[rows.area].pivot_table(index="theme", columns="year", values="n", aggfunc="sum")
figures = {theme: {"count": int(borough.at[theme, "2022"]), "previous_count": int(borough.at[theme, "2021"]),
                   "pct_change": round(100 * (borough.at[theme, "2022"] / borough.at[theme, "2021"] - 1), 1),
                   "comparator_pct_change": round(100 * (mps.at[theme, "2022"] / mps.at[theme, "2021"] - 1), 1)}
           for theme in borough.index}
wall, cpu_s = time.perf_counter() - start, cpu() - cpu0
print(json.dumps({"wall_s": wall, "cpu_s": cpu_s, "figures": figures}))
"""


def run(code: str, args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=False)
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def best(results: list[dict]) -> dict:
    return min(results, key=lambda r: r["wall_s"])


def svna_figures(output: Path) -> dict:
    """theme_summary's headline figures from the run's database (read-only)."""
    import duckdb

    con = duckdb.connect(str(output / "svna.duckdb"), read_only=True)
    rows = con.execute("select theme, count, previous_count, round(pct_change, 1), "
                       "round(comparator_pct_change, 1) from theme_summary").fetchall()
    con.close()
    names = ("count", "previous_count", "pct_change", "comparator_pct_change")
    return {r[0]: dict(zip(names, r[1:], strict=True)) for r in rows}


def demo_configs(folder: Path, copies: int) -> tuple[Path, Path]:
    """The demo's run config, and the same run over `copies` repeats of the demo extract (both in
    `folder`, paths made absolute, without the demo's copy of the reports into the project)."""
    paths = scaled_extract(folder / "extract", copies)   # generates the demo extract if the project has none
    text = (ROOT / "config" / "demo.yaml").read_text()
    text = re.sub(r"(?m)^reports:.*$", "", text).replace("profiles/", f"{ROOT}/config/profiles/")
    text = text.replace("../data/", f"{ROOT}/data/")
    demo, scaled = folder / "demo.yaml", folder / "scaled.yaml"
    demo.write_text(text)
    for role, path in paths.items():
        text = text.replace(f"{ROOT}/data/raw/demo/extract/{role}_*.csv", str(path))
    scaled.write_text(text)
    return demo, scaled


def line(name: str, r: dict) -> str:
    return f"  {name:<52} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of each comparison, alternating (the best is kept)")
    parser.add_argument("--copies", type=int, default=10, help="the large borough: copies of the demo extract")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="svna-bench-borough-"))
    env = {"SVNA_PSEUDONYMISATION_KEY": secrets.token_hex(32), "PREFECT_HOME": str(folder / "prefect")}
    report: dict = {"load_average_before": os.getloadavg()}
    try:
        header = f"  {'':<52} {'wall s':>7} {'CPU s':>7}"
        if SHARED_DATA.exists():
            merton = folder / "merton"
            merton.mkdir()
            (merton / "merton.yaml").write_text(MERTON_CONFIG)
            seed = ROOT / "sql" / "seeds" / "mps_category_themes.csv"
            svna, pandas = [], []
            for _ in range(args.rounds):
                svna.append(run(SVNA, [str(merton / "merton.yaml"), "real", str(merton / "out")], env))
                pandas.append(run(PANDAS, [MERTON_FILES, str(seed), "Merton"]))
            s, p = best(svna), best(pandas)
            ours = svna_figures(merton / "out")
            agree = ours == p["figures"]
            met = s["wall_s"] <= 5
            print("Merton count-only run, calendar 2022 (real MPS borough files)")
            print(header)
            print(line("svna run_annual in-process", s))
            print("    steps: " + ", ".join(f"{k} {v:.2f}" for k, v in s["steps"].items()))
            print(line("pandas script, the same headline figures", p))
            print(f"  svna / pandas: {s['wall_s'] / p['wall_s']:.1f}x; headline figures agree: {agree}")
            print(f"  target: svna <= 5 s -> {'met' if met else 'NOT met'} ({s['wall_s']:.2f} s)")
            report["merton"] = {"svna": s, "pandas": {k: v for k, v in p.items() if k != "figures"},
                                "figures_agree": agree, "target_s": 5, "met": met}
        else:
            print(f"Merton count-only run: skipped (no real files in {SHARED_DATA})")
        demo_config, scaled_config = demo_configs(folder, args.copies)
        demo, scaled = [], []
        for _ in range(args.rounds):
            demo.append(run(SVNA, [str(demo_config), "demo", str(folder / "demo-out")], env))
            scaled.append(run(SVNA, [str(scaled_config), "demo", str(folder / "scaled-out")], env))
        d, x = best(demo), best(scaled)
        ratio = x["wall_s"] / d["wall_s"]
        print(f"\nThe demo borough against {args.copies}x the demo (annual run in-process, both tiers)")
        print(header)
        print(line("demo", d))
        print("    steps: " + ", ".join(f"{k} {v:.2f}" for k, v in d["steps"].items()))
        print(line(f"{args.copies}x the demo", x))
        print("    steps: " + ", ".join(f"{k} {v:.2f}" for k, v in x["steps"].items()))
        print(f"  target: {args.copies}x <= 1.3x the demo -> {'met' if ratio <= 1.3 else 'NOT met'} ({ratio:.2f}x; "
              f"CPU {x['cpu_s'] / d['cpu_s']:.2f}x)")
        report["scaled"] = {"demo": d, "scaled": x, "copies": args.copies, "ratio": round(ratio, 2),
                            "target": 1.3, "met": ratio <= 1.3}
        report["load_average_after"] = os.getloadavg()
        print(f"\nload average before / after: {report['load_average_before']} / {report['load_average_after']}")
        (ROOT / ".bench").mkdir(exist_ok=True)
        (ROOT / ".bench" / "borough.json").write_text(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
