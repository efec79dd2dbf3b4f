"""The supervised runs of the crash tests (tests/integration/test_crash_cleanup.py: `svna annual` and a
temporary server; test_crash_cleanup_monthly.py: `svna monthly`): one good run of a command writes the
previous outputs, one run killed at the start of each step follows (each kill made by the test-only hook
SVNA_FAULT_AT, pipeline/runs/run_record.py), then one good run again. The tests each sequence must pass
are here, imported by both files (two files: two processes of `make test` run them at the same time).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.settings.config import PROJECT_ROOT
from tests.helpers.prefect_server import IDLE_SERVICES, SUITE_PREFECT_ENV, persistent_server

TAG = "SVNA_CRASH_TEST_RUN"     # every process of a run inherits it: how the test finds leftovers
RUN_TIMEOUT_S = 900
ANNUAL_KILLS = {"ingest": "ingest", "build": "build:SIGSEGV", "validate": "validate", "publish": "publish"}
# "report:SIGINT": the run stops itself as the step starts, then the supervisor gets Ctrl-C's SIGINT
MONTHLY_KILLS = {"ingest": "ingest", "report": "report:SIGINT", "record": "record", "publish": "publish"}


def tagged_processes(tag: str) -> list[int]:
    """Live processes (not zombies) carrying this run's tag in their environment."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{TAG}={tag}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def debris(root: Path) -> list[str]:
    """Anything a run leaves beside or inside its outputs when it does not finish."""
    return sorted(str(p) for p in root.rglob("*")
                  if p.name.startswith(".work-") or ".partial" in p.name or p.name.endswith(".lock")
                  or p.name.endswith(".previous"))


def stopped(tag: str) -> bool:
    """A process of the run has stopped itself (SIGSTOP)."""
    for pid in tagged_processes(tag):
        try:
            if (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "T":
                return True
        except OSError:
            pass
    return False


def svna(args: list[str], root: Path, env: dict, fault: str | None = None, interrupt: int | None = None) -> dict:
    """One supervised run; what it printed and what it left. With `interrupt`, the run stops itself at
    the fault's step and the supervisor is sent that signal, as Ctrl-C in the terminal does."""
    tag = uuid.uuid4().hex
    run_env = {**env, TAG: tag, "TMPDIR": str(root / "tmp")}
    if fault:
        run_env["SVNA_FAULT_AT"] = fault
    started = time.monotonic()
    name = (fault or "good").replace(":", "-")
    with open(root / f"stdout-{name}.txt", "w+") as stdout, open(root / f"stderr-{name}.txt", "w+") as stderr:
        # whatever SIGINT disposition the tests were started with (ignored in `make test &` from a script)
        # is inherited: the supervisor's child must still stop on the Ctrl-C it forwards
        supervisor = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=PROJECT_ROOT, env=run_env,
                                      stdout=stdout, stderr=stderr, text=True, start_new_session=True)
        try:
            if interrupt:
                while not stopped(tag):
                    assert supervisor.poll() is None and time.monotonic() - started < RUN_TIMEOUT_S
                    time.sleep(0.2)
                supervisor.send_signal(interrupt)
            code = supervisor.wait(timeout=RUN_TIMEOUT_S)
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
        stdout.seek(0)
        stderr.seek(0)
        printed = {"stdout": stdout.read(), "stderr": stderr.read()}
    left = tagged_processes(tag)
    settle = time.monotonic() + 0.5     # processes killed by the supervisor are gone within moments
    while left and time.monotonic() < settle:
        time.sleep(0.05)
        left = tagged_processes(tag)
    return {"code": code, **printed, "left": left, "seconds": round(time.monotonic() - started),
            "tmp": sorted(p.name for p in (root / "tmp").iterdir())}


def crash_sequence(args: list[str], kill_args: list[str], kills: dict, root: Path, out: Path, env: dict) -> dict:
    """One good run (the previous outputs), one killed run per step, then one good run again."""
    (root / "tmp").mkdir()
    first = svna(args, root, env)
    assert first["code"] == 0, first["stderr"][-3000:]
    before = file_hashes(out)
    killed = {}
    for step, fault in kills.items():
        name, _, how = fault.partition(":")
        interrupt = getattr(signal, how) if how in ("SIGINT", "SIGTERM") else None
        killed[step] = svna(kill_args, root, env, f"{name}:SIGSTOP" if interrupt else fault, interrupt)
        killed[step].update(hashes=file_hashes(out), debris=debris(root))
    return {"command": args[0], "before": before, "killed": killed, "again": svna(kill_args, root, env), "out": out}


def clean_env(root: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SVNA_"))}
    env.update(PREFECT_HOME=str(root / ".prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               GX_ANALYTICS_ENABLED="false", **extra)
    return env


@contextmanager
def crash_server(root: Path) -> Iterator[str]:
    """A persistent Prefect server, as `prefect server start` in another terminal: under `make test` the
    suite's one server (a start costs about 20 s of CPU); otherwise one of the test file's own, in
    `root`/prefect_server, without the services that look for work every few seconds (the supervisor
    marks a run Crashed itself)."""
    suite_api = os.environ.get(SUITE_PREFECT_ENV)
    if suite_api:
        yield suite_api
        return
    home = root / "prefect_server"
    home.mkdir()
    env = clean_env(home, **{f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in IDLE_SERVICES})
    with persistent_server(home / "server.log", env) as api:
        yield api


# The tests every command's sequence must pass; each importing file's `sequence` fixture gives its own.
def test_the_previous_outputs_stay_byte_identical(sequence):
    assert len(sequence["before"]) > 10
    for step, run in sequence["killed"].items():
        assert run["hashes"] == sequence["before"], f"killed in {step}: the previous outputs changed"


def test_no_work_folder_partial_or_lock_is_left(sequence):
    for step, run in sequence["killed"].items():
        assert run["debris"] == [], f"killed in {step}"
        assert run["tmp"] == [], f"killed in {step}: the run's temporary folder is left"


def test_no_process_of_the_run_is_left(sequence):
    for step, run in sequence["killed"].items():
        assert run["left"] == [], f"killed in {step}: processes {run['left']} still running"


def test_the_supervisor_exits_non_zero_with_one_paragraph(sequence):
    command = sequence["command"]
    for step, run in sequence["killed"].items():
        killed_by = sequence["kills"][step].partition(":")[2] or "SIGKILL"
        assert run["code"] == 128 + getattr(signal, killed_by), (step, run["stderr"][-2000:])
        last = run["stderr"].strip().splitlines()[-1]
        assert last.startswith(f"svna {command} was interrupted ({killed_by}" if killed_by == "SIGINT" else
                               f"svna {command} crashed in the {step} step: the run was killed by {killed_by}"), last
        assert "Traceback" not in run["stderr"]
        previous = sequence["out"] / "monthly" if command == "monthly" else sequence["out"]
        assert f"The previous outputs are intact in {previous}; nothing of this run was published." in last


def test_the_flow_run_is_marked_crashed_on_a_persistent_server(sequence):
    for step, run in sequence["killed"].items():
        interrupted = sequence["kills"][step].endswith("SIGINT")  # then Prefect may have ended the run itself
        marked = r"(?:is marked Crashed|ended as \w+)" if interrupted else "is marked Crashed"
        found = re.search(rf"Its flow run ([0-9a-f-]{{36}}) {marked} on (\S+)\.", run["stderr"])
        assert found and found[2] == sequence["api"], (step, run["stderr"][-1500:])
        with urllib.request.urlopen(f"{sequence['api']}/flow_runs/{found[1]}", timeout=10) as response:
            state = json.load(response)["state"]["type"]
        assert state in (("CRASHED", "CANCELLED", "FAILED") if interrupted else ("CRASHED",)), step


def test_the_next_run_succeeds(sequence):
    again = sequence["again"]
    assert again["code"] == 0, again["stderr"][-3000:]
    assert "crashed" not in again["stderr"] and again["left"] == []
    assert debris(sequence["out"].parent) == []
