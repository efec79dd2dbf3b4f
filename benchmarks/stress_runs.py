"""Stress test (not in CI): run the demo many times in a row and report native crashes and hangs.

Each run is a fresh `python -m pipeline.cli demo --output <tmp>/run-N` subprocess, as an analyst
would run it, with `faulthandler` on (so a segfault leaves a Python stack of every thread) and
SIGUSR1 registered to dump the stacks of a run that hangs past --timeout before it is killed.
The wrapper enables both itself, so the script also works on code older than the CLI's own
faulthandler. A local Prefect server is used when PREFECT_API_URL is set, as for the CLI.

    python benchmarks/stress_runs.py --runs 15 --report .bench/stress.json

Prints one line per run (exit code or signal, seconds) and a summary; the JSON report keeps the
faulthandler stack of every run that crashed or hung.
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


def run_once(index: int, out_root: Path, timeout: float, env: dict[str, str]) -> dict:
    output = out_root / f"run-{index:03d}"
    command = [sys.executable, "-X", "faulthandler", "-c", WRAPPER, "demo", "--output", str(output)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a run counts as hung")
    parser.add_argument("--report", type=Path, default=ROOT / ".bench" / "stress.json")
    args = parser.parse_args()

    env = {**os.environ, "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(ROOT / ".prefect")),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
           # a loaded machine starts the temporary Prefect server slowly; that is not what is measured here
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS":
               os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")}
    results = []
    with tempfile.TemporaryDirectory(prefix="svna-stress-") as tmp:
        out_root = Path(tmp)
        for i in range(1, args.runs + 1):
            result = run_once(i, out_root, args.timeout, env)
            results.append(result)
            print(f"run {i:3d}/{args.runs}: {result['outcome']:<16} {result['seconds']:7.1f} s", flush=True)
            if result["outcome"] != "ok":
                print("    " + result["stack"][:1500].replace("\n", "\n    "), flush=True)
            shutil.rmtree(out_root / f"run-{i:03d}", ignore_errors=True)
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps({"root": str(ROOT), "runs": results}, indent=2))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    print(f"\n{len(results)} runs: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    print(f"report: {args.report}")
    sys.exit(0 if counts.get("ok", 0) == len(results) else 1)


if __name__ == "__main__":
    main()
