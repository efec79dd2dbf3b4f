"""`make test`: each integration test file in its own pytest process, unit test files
UNIT_FILES_PER_PROCESS to a process, two processes at a time (two cores), then one closing line.

An integration file in its own process means a native crash ends that file, not the suite: DuckDB 1.5.5
(the only version that pairs with its spatial extension here) segfaulted now and then: its strptime
reads past the end of its input (docs/performance.md, "Native crashes"; svna's SQL now avoids it, and
`make test-guard` runs the files under guard pages that make such a read crash every time). Unit files share a process to save its start
(pytest, DuckDB, pandas, geopandas: half their CPU time). A crash is a failure, never re-run: a process
that dies by a signal, or hangs past FILE_TIMEOUT_S, counts as failed, named by its files, and its
stderr, where pytest's faulthandler writes the Python stack, is printed. A hung process is sent SIGABRT
first (faulthandler dumps every thread's stack), then its whole process group is killed, so no child
server outlives it.

Runs that several files only read (the demo run, all London) are built once per suite into the folder
named by SVNA_TEST_SHARED (tests/integration/conftest.py, `build_once`), removed at the end. Processes
start longest first, by the wall times of the last suite on this machine (.test-times.json), unknown
ones first; without that file, in the committed order SLOWEST_FIRST. Prints each process's pytest
summary with its wall and CPU time, then "N passed, N failed, N skipped". SVNA_TEST_JOBS sets how many
processes run at once (default: 2, or 1 on a one-core machine); test files given as arguments run
instead of all, each in its own process.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))       # run as a script (make test): tests.helpers
from tests.helpers.prefect_server import IDLE_SERVICES, SUITE_PREFECT_ENV, persistent_server

FILE_TIMEOUT_S = 1500   # the slowest process takes 1-2 min on a quiet machine; longer is a hang
UNIT_FILES_PER_PROCESS = 6
TIMES_FILE = ROOT / ".test-times.json"
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
# The order without .test-times.json (a fresh clone, CI): longest first as last measured (docs/performance.md),
# then the files not named here. Files that read the same shared run (the demo: analyses_demo, annual_flow,
# public_tier, report_browser, disclosure_audit_runs; all London: public_tier_real, disclosure_audit_runs)
# are spread out, so the second one does not start while the first still builds it and wait for it.
SLOWEST_FIRST = tuple(f"tests/integration/test_{name}.py" for name in (
    "crash_cleanup", "public_tier_real", "crash_cleanup_monthly", "analyses_demo", "multi_area", "no_personal_data",
    "monthly_schedule", "merton_geography", "monthly_demo", "merton_published", "mps_counts", "monthly_mps", "areas",
    "disclosure_audit_runs", "no_misleading_changes", "idempotence", "annual_flow", "public_tier",
    "report_browser"))


@dataclass
class FileResult:
    paths: list[Path]
    exit_code: int                 # negative: killed by that signal
    hung: bool
    wall_s: float
    cpu_s: float                   # user + system of the pytest process and the children it waited for
    stdout: str
    stderr: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def crashed(self) -> bool:
        return self.hung or self.exit_code < 0 or self.exit_code >= 128

    @property
    def failed(self) -> bool:
        return self.crashed or self.exit_code not in (0, 5) or bool(self.counts.get("failed"))

    @property
    def name(self) -> str:
        return process_name(self.paths)


def process_name(paths: list[Path]) -> str:
    first = paths[0].relative_to(ROOT) if paths[0].is_relative_to(ROOT) else paths[0]
    return str(first) if len(paths) == 1 else f"{first} .. {paths[-1].name} ({len(paths)} files)"


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)   # whatever the file started and left behind (a Prefect server)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(pid: int, timeout_s: float) -> tuple[int, resource.struct_rusage, bool]:
    """(wait status, resource usage, hung) of a child started in its own session."""
    deadline = time.monotonic() + timeout_s
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, False
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    os.kill(pid, signal.SIGABRT)          # faulthandler prints every thread's stack to stderr
    for _ in range(100):
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, True
        time.sleep(0.1)
    _kill_group(pid)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, True


def run_files(paths: list[Path], timeout_s: float = FILE_TIMEOUT_S) -> FileResult:
    """One pytest process for these files, never re-run. Its own PREFECT_HOME: two files run at once, and a
    test may read every file Prefect keeps (test_no_personal_data)."""
    with (tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err,
          tempfile.TemporaryDirectory(prefix="svna-test-prefect-") as prefect_home):
        start = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, paths)],
                                   cwd=ROOT, stdout=out, stderr=err, start_new_session=True,
                                   env={**os.environ, "PREFECT_HOME": prefect_home})
        status, usage, hung = _wait(process.pid, timeout_s)
        process.returncode = os.waitstatus_to_exitcode(status)   # reaped here, by wait4
        _kill_group(process.pid)
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        result = FileResult(paths, process.returncode, hung, wall, usage.ru_utime + usage.ru_stime,
                            out.read(), err.read())
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    for n, word in COUNTS.findall(tail):
        key = "failed" if word.startswith("error") else word
        result.counts[key] = result.counts.get(key, 0) + int(n)
    if result.failed and not result.counts.get("failed"):
        result.counts["failed"] = result.counts.get("failed", 0) + 1   # a crash, hang or error outside tests
    return result


def report(result: FileResult) -> str:
    name = result.name
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "no output"
    lines = [f"{name}: {tail}  [wall {result.wall_s:.1f} s, cpu {result.cpu_s:.1f} s]"]
    if result.crashed:
        what = (f"hung for more than {result.wall_s:.0f} s and was stopped" if result.hung
                else f"died by signal {-result.exit_code if result.exit_code < 0 else result.exit_code - 128}")
        headline = (f"FAILED {name}: the test process {what}; a crash is a failure and is not re-run. "
                    "Its output, then its stderr (faulthandler's stack):")
        lines += [headline, result.stdout[-6000:], result.stderr[-20000:]]
    elif result.failed:
        lines += [result.stdout[-8000:], result.stderr[-4000:]]
    return "\n".join(lines)


def _processes(args: list[str]) -> list[list[Path]]:
    """The files of each pytest process, longest first by the last suite's times (unknown first), or
    without them in the order SLOWEST_FIRST."""
    if args:
        return [[Path(a).resolve()] for a in args]
    unit = sorted((ROOT / "tests" / "unit").rglob("test_*.py"))
    groups = [unit[i:i + UNIT_FILES_PER_PROCESS] for i in range(0, len(unit), UNIT_FILES_PER_PROCESS)]
    groups += [[path] for path in sorted((ROOT / "tests" / "integration").rglob("test_*.py"))]
    try:
        times = json.loads(TIMES_FILE.read_text())
    except (OSError, ValueError):
        times = {}
    if times:
        return sorted(groups, key=lambda g: -times.get(process_name(g), 1e9))
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    return sorted(groups, key=lambda g: rank.get(process_name(g), len(rank)))


def main(args: list[str]) -> int:
    processes = _processes(args)
    jobs = int(os.environ.get("SVNA_TEST_JOBS", min(2, os.cpu_count() or 1)))
    shared = Path(tempfile.mkdtemp(prefix="svna-test-shared-"))
    os.environ["SVNA_TEST_SHARED"] = str(shared)
    total: dict[str, int] = {}
    times: dict[str, float] = {}
    start = time.monotonic()
    # one Prefect server for the flow tests of every process (the fixture prefect_harness), not a
    # temporary one in each (about 23 s of CPU each); its database is in the shared folder. Without the
    # services that look for work every few seconds (schedules, late or paused runs, workers): the tests
    # only run flows in their own processes (test_monthly_schedule starts a server of its own)
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    server_env.update(PREFECT_HOME=str(shared / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server_env.update({f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in IDLE_SERVICES})
    integration = any("integration" in path.parts for paths in processes for path in paths)
    try:
        with (persistent_server(shared / "prefect-server.log", server_env) if integration else nullcontext() as api,
              ThreadPoolExecutor(max_workers=jobs) as pool):
            if api:
                os.environ[SUITE_PREFECT_ENV] = api
            for done in as_completed([pool.submit(run_files, paths) for paths in processes]):
                result = done.result()
                print(report(result), flush=True)
                times[result.name] = round(result.wall_s, 1)
                for key, n in result.counts.items():
                    total[key] = total.get(key, 0) + n
    finally:
        shutil.rmtree(shared, ignore_errors=True)   # the shared runs hold (synthetic) record-level rows
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"suite: {sum(map(len, processes))} files in {len(processes)} processes, {jobs} at a time, wall {time.monotonic() - start:.0f} s, "
          f"cpu {usage.ru_utime + usage.ru_stime:.0f} s, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args:
        TIMES_FILE.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    print(f"{total.get('passed', 0)} passed, {total.get('failed', 0)} failed, {total.get('skipped', 0)} skipped")
    return 1 if total.get("failed") or not total.get("passed") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
