"""Benchmark (not a test): wall time and peak memory of `make demo` and of the annual flow.

Each measurement runs in a fresh subprocess, as an analyst would run it, so it includes Python
start-up, imports and Prefect's temporary server. Results print as a table and are saved to
.bench/annual.json. Targets (issue #2): the annual flow on the demo borough under 20 s.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the CLI of this checkout (`python -m pipeline.cli` from the project folder), not whatever the
# venv's `svna` entry point was installed from
SVNA = [sys.executable, "-m", "pipeline.cli"]


def child_env(extra: dict | None = None) -> dict:
    """The environment of each measured process: warm, as an analyst's second run is. Where the shell
    forbids bytecode files (PYTHONDONTWRITEBYTECODE), every import would compile from source on every
    run; the children write them under .bench/pycache instead."""
    env = {**os.environ, **(extra or {})}
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env.setdefault("PYTHONPYCACHEPREFIX", str(ROOT / ".bench" / "pycache"))
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, command: list[str], env: dict | None = None) -> dict:
    """Wall time, CPU time (user + system, all the run's processes: steadier than wall time on a
    shared machine) and peak memory of one command in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu = _cpu()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=child_env(env), check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{name} failed:\n{result.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB; max over children so far
    return {"step": name, "wall_s": round(wall, 2), "cpu_s": round(_cpu() - cpu, 2),
            "peak_rss_mib": round(max(peak, before) / 1024, 1)}


def in_process_pipeline() -> dict:
    """The same annual job without Prefect: the pipeline's own cost."""
    code = ("import time; t=time.perf_counter(); from pipeline.settings.config import load_config, DEMO_CONFIG; "
            "from pipeline.runs.annual import run_annual; "
            "run_annual(load_config(DEMO_CONFIG, {'output': '/tmp/svna-bench-demo'}, demo=True)); "
            "print(round(time.perf_counter()-t, 2))")
    start, cpu = time.perf_counter(), _cpu()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=child_env())
    return {"step": "annual steps without Prefect (in-process)", "wall_s": float(out.stdout.strip().splitlines()[-1]),
            "cpu_s": round(_cpu() - cpu, 2), "process_wall_s": round(time.perf_counter() - start, 2)}


def main() -> None:
    shutil.rmtree(ROOT / "data" / "raw" / "demo", ignore_errors=True)
    rows = [
        measure("make demo (generate data + flow), fresh data", [*SVNA, "demo", "--regenerate"]),
        measure("svna demo, data present", [*SVNA, "demo"]),
        measure("annual flow: svna annual --config config/demo.yaml",
                [*SVNA, "annual", "--config", "config/demo.yaml"],
                env={"SVNA_PSEUDONYMISATION_KEY": secrets.token_hex(32)}),  # a real run needs a key
        in_process_pipeline(),
    ]
    print(f"{'step':<55} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}")
    for r in rows:
        print(f"{r['step']:<55} {r['wall_s']:>8} {r['cpu_s']:>8} {r.get('peak_rss_mib', ''):>9}")
    (ROOT / ".bench").mkdir(exist_ok=True)
    (ROOT / ".bench" / "annual.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
