"""Stress test (not in CI): many builds in a row, each in a fresh process; counts native crashes and hangs.

--what build (the default): the ingest and build steps (every SQL model) in a fresh process per build,
alternating between the demo borough and the real Merton files (MPS borough counts, extract 2023-08,
calendar 2022, as tests/integration/test_merton_published.py configures them; --targets to choose).
--what cli: the whole `svna demo` (Prefect flow, validation, publish), as an analyst runs it.
--guard runs every child with jemalloc guard pages (DUCKDB_JE_MALLOC_CONF), so a read past the end of a
heap block is a SIGSEGV every time, not now and then (docs/performance.md, "Native crashes").

Each child has `faulthandler` on (a segfault leaves a Python stack of every thread) and SIGUSR1
registered to dump the stacks of a run that hangs past --timeout before it is killed. The wrapper
enables both itself, so the script also works on older code: copy it into another checkout and it
builds that checkout's code.

    python benchmarks/stress_runs.py --runs 100 --guard --report .bench/stress.json

Prints one line per build (exit code or signal, seconds) and a summary line
("stress: N builds (...), N ok, N crashed (signal), N hung; load average ..."); the JSON report keeps
the faulthandler stack of every build that crashed or hung. Exit status 1 if any build did not succeed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# faulthandler on (also via -X faulthandler), plus an on-demand dump of every thread for hangs
WRAPPER = ("import faulthandler, signal, sys; faulthandler.enable(all_threads=True); "
           "faulthandler.register(signal.SIGUSR1, all_threads=True); "
           "from pipeline.cli import app; sys.argv[0] = 'svna'; app()")


# one build (ingest + build steps) of a target in a fresh process: argv = target, work folder
BUILD_WRAPPER = """
import faulthandler, signal, sys
faulthandler.enable(all_threads=True); faulthandler.register(signal.SIGUSR1, all_threads=True)
from pathlib import Path
from pipeline.transform import assessment, db
from pipeline.settings.config import DEMO_CONFIG, configure_runtime, load_config
configure_runtime()
target, work = sys.argv[1], Path(sys.argv[2])
if target == "demo":
    cfg = load_config(DEMO_CONFIG, {"output": str(work / "out")}, demo=True)
else:
    cfg = load_config(work / f"{target}.yaml")
with db.connect(work / "svna.duckdb", settings=cfg.duckdb) as con:
    assessment.ingest(con, cfg)
    models = assessment.build(con, cfg, "stress")
print("built", len(models), "models")
"""
SHARED_DATA = ROOT.parent / "shared" / "data"
if not SHARED_DATA.exists():          # a worktree under /work/wt, or a copy elsewhere
    SHARED_DATA = Path("/work/shared/data")
MERTON_CONFIG = f"""area: {{name: Merton, code: E09000024}}
comparator: {{name: Metropolitan Police Service}}
period: {{calendar_year: 2022}}
inputs:
  - kind: mps_counts
    paths: [{SHARED_DATA}/mps_counts/borough/*extract2023-08.csv]
output: out
"""
GUARD_PAGES = "san_guard_small:1,san_guard_large:1"

PREFECT_TIMEOUT = "Timed out while attempting to connect to ephemeral Prefect API server"


def outcome(returncode: int | None, hung: bool, output: str) -> str:
    if hung:
        return "hung"
    if returncode is None:
        return "unknown"
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    if returncode and PREFECT_TIMEOUT in output:
        return "prefect startup timeout"   # the run never started: not a native crash (issue 7 item 10)
    return "ok" if returncode == 0 else f"exit {returncode}"


def crash_stack(stderr: str) -> str:
    """The faulthandler part of stderr ('Fatal Python error' or a SIGUSR1 dump), else its tail."""
    for marker in ("Fatal Python error", "Current thread", "Thread 0x"):
        at = stderr.find(marker)
        if at >= 0:
            return stderr[at:][:20000]
    return stderr[-4000:]


def command_for(what: str, target: str, work: Path) -> list[str]:
    if what == "cli":
        return [sys.executable, "-X", "faulthandler", "-c", WRAPPER, "demo", "--output", str(work)]
    work.mkdir(parents=True)
    if target == "merton":
        (work / "merton.yaml").write_text(MERTON_CONFIG)
    return [sys.executable, "-X", "faulthandler", "-c", BUILD_WRAPPER, target, str(work)]


def run_once(index: int, command: list[str], timeout: float, env: dict[str, str]) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hung = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hung = True
        proc.send_signal(signal.SIGUSR1)   # faulthandler dumps every thread's stack
        time.sleep(3)
        proc.kill()
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    result = {"run": index, "outcome": outcome(proc.returncode, hung, stdout + stderr), "returncode": proc.returncode,
              "seconds": round(seconds, 1)}
    if result["outcome"] != "ok":
        result["stack"] = crash_stack(stderr)
        result["stdout_tail"] = stdout[-2000:]
    return result


def ensure_demo_data(env: dict[str, str]) -> None:
    """The demo's synthetic files, generated once before the builds (not timed, not counted)."""
    code = ("from pipeline.settings.config import DEMO_RAW_DIR; from pipeline.demo.riverford import RELATIVE_PATHS, generate_demo_data\n"
            "if not all((DEMO_RAW_DIR / r).exists() for r in RELATIVE_PATHS.values()): generate_demo_data(DEMO_RAW_DIR)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="builds in all (targets taken in turn)")
    parser.add_argument("--what", choices=("build", "cli"), default="build",
                        help="build: ingest + build steps in a fresh process; cli: the whole `svna demo`")
    parser.add_argument("--targets", default="demo,merton", help="build: comma-separated, of demo and merton")
    parser.add_argument("--guard", action="store_true", help="jemalloc guard pages in every child (see above)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a run counts as hung")
    parser.add_argument("--max-minutes", type=float, help="start no build after this long (a busy machine)")
    parser.add_argument("--report", type=Path, default=ROOT / ".bench" / "stress.json")
    args = parser.parse_args()
    targets = ["demo"] if args.what == "cli" else args.targets.split(",")
    if not set(targets) <= {"demo", "merton"}:
        parser.error("--targets: demo and/or merton")
    if "merton" in targets and not SHARED_DATA.exists():
        parser.error(f"--targets merton needs the real files in {SHARED_DATA}")

    env = {**os.environ, "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(ROOT / ".prefect")),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
           # a loaded machine starts the temporary Prefect server slowly; that is not what is measured here
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS":
               os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")}
    env.pop("DUCKDB_JE_MALLOC_CONF", None)
    if "demo" in targets and args.what == "build":
        ensure_demo_data(env)
    if args.guard:                       # read by DuckDB's jemalloc as the child starts
        env["DUCKDB_JE_MALLOC_CONF"] = GUARD_PAGES
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="svna-stress-") as tmp:
        out_root = Path(tmp)
        started = time.monotonic()
        for i in range(1, args.runs + 1):
            if args.max_minutes and time.monotonic() - started > 60 * args.max_minutes:
                print(f"stopping after {args.max_minutes:g} minutes (--max-minutes): {i - 1} of {args.runs} builds run")
                break
            target = targets[(i - 1) % len(targets)]
            work = out_root / f"run-{i:03d}"
            result = {"target": target, **run_once(i, command_for(args.what, target, work), args.timeout, env)}
            results.append(result)
            print(f"run {i:3d}/{args.runs} {target:<7}: {result['outcome']:<16} {result['seconds']:7.1f} s", flush=True)
            if result["outcome"] != "ok":
                print("    " + result["stack"][:1500].replace("\n", "\n    "), flush=True)
            shutil.rmtree(work, ignore_errors=True)
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps({"root": str(ROOT), "what": args.what, "guard": args.guard,
                                               "runs": results}, indent=2))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    crashed = sum(n for k, n in counts.items() if k.startswith("signal"))
    load_after = os.getloadavg()
    print(f"\n{len(results)} runs: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(f"stress: {len(results)} {args.what}s ({', '.join(targets)}{', guard pages' if args.guard else ''}), "
          f"{counts.get('ok', 0)} ok, {crashed} crashed (signal), {counts.get('hung', 0)} hung; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after", flush=True)
    print(f"report: {args.report}")
    sys.exit(0 if counts.get("ok", 0) == len(results) else 1)


if __name__ == "__main__":
    main()
