"""A crash never leaves debris (issue 16 item 4): a run killed at the start of each step (SIGKILL, as
the kernel's OOM killer does; SIGSEGV, as a DuckDB crash does) leaves the previous outputs byte for
byte, no work folder, `.partial` or lock, no process, a one-paragraph message and a non-zero exit;
and the next run succeeds.

`svna annual` and `svna monthly` (the tiny config) run under one persistent Prefect server shared by
this file, whose flow runs the supervisor marks Crashed. One `svna demo`, killed as ingest starts, runs
under its default temporary Prefect server, which the supervisor must stop (one such run: each start of
a temporary server costs seconds of CPU). Each kill is made by the test-only hook SVNA_FAULT_AT
(pipeline/runs/run_record.py). One run of each command writes the previous outputs, four kills follow, then
one good run: runs are slow on a busy machine, so each is shared by the tests below.
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
from pathlib import Path

import pytest

from pipeline.settings.config import PROJECT_ROOT
from tests.helpers.prefect_server import persistent_server
from tests.helpers.tiny_inputs import write_tiny_inputs

pytestmark = pytest.mark.integration
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
    time.sleep(0.5)    # processes killed by the supervisor are gone within moments
    return {"code": code, **printed, "left": tagged_processes(tag), "seconds": round(time.monotonic() - started),
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


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A persistent Prefect server, as `prefect server start` in another terminal."""
    root = tmp_path_factory.mktemp("prefect_server")
    with persistent_server(root / "server.log", clean_env(root)) as api:
        yield api


@pytest.fixture(scope="module")
def annual(tmp_path_factory, prefect_server):
    root = tmp_path_factory.mktemp("annual_crash")
    args = ["annual", "--config", str(write_tiny_inputs(root))]
    result = crash_sequence(args, args, ANNUAL_KILLS, root, root / "out", clean_env(root, PREFECT_API_URL=prefect_server))
    return {**result, "kills": ANNUAL_KILLS, "api": prefect_server}


@pytest.fixture(scope="module")
def monthly(tmp_path_factory, prefect_server):
    root = tmp_path_factory.mktemp("monthly_crash")
    config = write_tiny_inputs(root)
    env = clean_env(root, PREFECT_API_URL=prefect_server)
    result = crash_sequence(["monthly", "--config", str(config)], ["monthly", "--config", str(config), "--month",
                                                                   "2023-11"], MONTHLY_KILLS, root, root / "out", env)
    return {**result, "kills": MONTHLY_KILLS, "api": prefect_server}


@pytest.fixture(scope="module")
def demo_on_a_temporary_server(tmp_path_factory):
    """`svna demo` without PREFECT_API_URL, so on the temporary Prefect server it starts, killed as ingest
    starts."""
    root = tmp_path_factory.mktemp("demo_crash")
    (root / "tmp").mkdir()
    out = root / "out"
    run = svna(["demo", "--output", str(out)], root, clean_env(root), "ingest")
    return {**run, "debris": debris(root), "out": out}


@pytest.fixture(params=["annual", "monthly"])
def sequence(request):
    return request.getfixturevalue(request.param)


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


def test_a_native_crash_prints_the_python_stack(annual):
    stderr = annual["killed"]["build"]["stderr"]
    assert "Fatal Python error: Segmentation fault" in stderr
    assert re.search(r'line \d+ in run_steps', stderr)             # the step runner, as the build step starts
    assert "Extension modules" not in stderr                      # not a 250-name list


def test_the_temporary_prefect_server_is_stopped(demo_on_a_temporary_server):
    run = demo_on_a_temporary_server
    assert run["code"] == 128 + signal.SIGKILL, run["stderr"][-2000:]
    last = run["stderr"].strip().splitlines()[-1]
    assert last.startswith("svna demo crashed in the ingest step: the run was killed by SIGKILL"), last
    assert "such as the temporary Prefect server: pid" in last
    assert "ended with it, so there is no flow run to mark" in last
    assert f"There were no previous outputs in {run['out']}; nothing of this run was published." in last
    assert run["left"] == [] and run["debris"] == [] and run["tmp"] == []


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
