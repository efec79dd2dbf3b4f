"""Benchmark (not a test): the demo's annual run, in-process and through the CLI, against issue 19's targets.

    python benchmarks/bench_annual.py                      # in-process run, then `python -m pipeline.cli demo`
    python benchmarks/bench_annual.py --compare /work/main # in-process runs of this checkout and another, alternating

Each measurement runs in a fresh subprocess of the checkout being measured (its own .venv when it has
one). Printed for each: wall time, CPU time (user + system of every process of the run: steadier than
wall time on a shared machine), peak memory, the load average at start and end, and the time per step
from the run's run.json (timings_seconds: ingest, build, check, validate, publish and, inside publish,
tables, public tier, Excel, maps, report). The in-process run is the annual job without Prefect; the
CLI run adds Python start-up, imports and Prefect's temporary server, with the demo data present and
bytecode cached by the runs before it (warm). Results are saved to .bench/annual.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IN_PROCESS_TARGET_S = 10.0
CLI_TARGET_S = 20.0
STEPS = ("ingest", "build", "check", "validate", "publish")
# the child: one annual run of the demo; prints its wall time, CPU time and peak memory as JSON
IN_PROCESS = """
import json, resource, sys, time
start = time.perf_counter()
from pipeline.settings.config import load_config, DEMO_CONFIG
from pipeline.runs.annual import run_annual
run_annual(load_config(DEMO_CONFIG, {"output": sys.argv[1]}, demo=True))
wall = time.perf_counter() - start
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                  "peak_rss_mib": max(own.ru_maxrss, children.ru_maxrss) / 1024}))
"""


def python_of(root: Path) -> str:
    venv = root / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def child_env(root: Path) -> dict:
    """Warm, as an analyst's second run is: where the shell forbids bytecode files
    (PYTHONDONTWRITEBYTECODE), every import would compile from source on every run, so the children
    write them under .bench/pycache instead."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "GX_ANALYTICS_ENABLED": "false"}
    env.setdefault("PREFECT_HOME", str(root / ".prefect"))
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env.setdefault("PYTHONPYCACHEPREFIX", str(root / ".bench" / "pycache"))
    return env


# the demo borough's data, generated when absent (before the measurement: not part of a run)
DEMO_DATA = """
from pipeline.demo.riverford import RELATIVE_PATHS, generate_demo_data
from pipeline.settings.config import DEMO_RAW_DIR
if not all((DEMO_RAW_DIR / rel).exists() for rel in RELATIVE_PATHS.values()):
    generate_demo_data(DEMO_RAW_DIR)
"""


def ensure_demo_data(root: Path) -> None:
    subprocess.run([python_of(root), "-c", DEMO_DATA], cwd=root, env=child_env(root), check=True, capture_output=True)


def step_timings(run_json: Path) -> dict[str, float]:
    return json.loads(run_json.read_text())["timings_seconds"]


def in_process(root: Path) -> dict:
    """One in-process annual run of `root`'s code on the demo (outputs in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="svna-bench-") as tmp:
        output = Path(tmp) / "demo"
        load = os.getloadavg()[0]
        result = subprocess.run([python_of(root), "-c", IN_PROCESS, str(output)], cwd=root, capture_output=True,
                                text=True, env=child_env(root), check=False)
        if result.returncode != 0:
            sys.exit(f"in-process run of {root} failed:\n{result.stderr[-2000:]}")
        row = json.loads(result.stdout.strip().splitlines()[-1])
        return {"run": "in-process annual run", "checkout": str(root), "target_s": IN_PROCESS_TARGET_S, **row,
                "load_start": load, "load_end": os.getloadavg()[0], "steps": step_timings(output / "run.json")}


def cli_demo(root: Path) -> dict:
    """`python -m pipeline.cli demo` in `root`: the analyst's command, Prefect's temporary server included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load, start = os.getloadavg()[0], time.perf_counter()
    result = subprocess.run([python_of(root), "-m", "pipeline.cli", "demo"], cwd=root, capture_output=True, text=True,
                            env=child_env(root), check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"svna demo in {root} failed:\n{result.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"run": "CLI warm run: python -m pipeline.cli demo", "checkout": str(root), "target_s": CLI_TARGET_S,
            "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": after.ru_maxrss / 1024,  # max over this script's children
            "load_start": load, "load_end": os.getloadavg()[0],
            "steps": step_timings(root / "data" / "processed" / "demo" / "run.json")}


def show(rows: list[dict]) -> None:
    for r in rows:
        met = "met" if r["wall_s"] <= r["target_s"] else "NOT met"
        print(f"\n{r['run']} ({r['checkout']})\n"
              f"  wall {r['wall_s']:.1f} s (target <= {r['target_s']:.0f} s: {met}), cpu {r['cpu_s']:.1f} s, "
              f"peak {r['peak_rss_mib']:.0f} MiB, load average {r['load_start']:.2f} -> {r['load_end']:.2f}")
        steps = r["steps"]
        print("  steps: " + ", ".join(f"{s} {steps[s]:.2f}" for s in STEPS if s in steps))
        inside = {k.split(".", 1)[1]: v for k, v in steps.items() if k.startswith("publish.")}
        if inside:
            print("  inside publish: " + ", ".join(f"{k} {v:.2f}" for k, v in inside.items()))


def compare(other: Path, repeat: int) -> list[dict]:
    """In-process runs of this checkout and `other`, alternating, so both see the same load."""
    rows = []
    for _ in range(repeat):
        for root in (ROOT, other):
            rows.append(in_process(root))
    for root in (ROOT, other):
        mine = [r for r in rows if r["checkout"] == str(root)]
        walls = ", ".join(f"{r['wall_s']:.1f}" for r in mine)
        cpus = ", ".join(f"{r['cpu_s']:.1f}" for r in mine)
        print(f"{root}: wall {walls} s; cpu {cpus} s (in run order)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="another checkout (e.g. /work/main): in-process runs of both, alternating")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each checkout with --compare (default 2)")
    args = parser.parse_args()
    for root in (ROOT, args.compare) if args.compare else (ROOT,):
        ensure_demo_data(root.resolve())
    if args.compare:
        rows = compare(args.compare.resolve(), args.repeat)
    else:
        rows = [in_process(ROOT), cli_demo(ROOT)]
    show(rows)
    (ROOT / ".bench").mkdir(exist_ok=True)
    (ROOT / ".bench" / "annual.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
