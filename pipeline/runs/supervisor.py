"""A crash never leaves debris: `svna annual`, `demo`, `monthly` and `multi-area` run in a supervised
child process (the same command, `python -m pipeline.cli ...`), so a native crash (DuckDB segfault),
out of memory or a kill ends the child, not the supervisor, which then cleans up after it.

The child runs in its own process group (with the temporary Prefect server and the multiprocessing
resource tracker it starts) and notes what it creates (pipeline/runs/run_record.py). When it dies by a
signal the supervisor prints the Python stack faulthandler wrote, stops every process left in the
group, removes the folders the run noted (only those carrying svna's marker with the run's id) and a
lock the dead child held, marks the flow run Crashed on a persistent Prefect server, and says in one
paragraph what happened. Ctrl-C (SIGINT, SIGTERM, SIGHUP) is passed on to the child and cleaned up
the same way. A run that ends normally (success or an input error) prints and exits as it always did.

Kept small and light: the supervisor imports nothing heavy, so it starts fast.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUPERVISED = ("annual", "demo", "monthly", "multi-area")
CHILD_ENV = "SVNA_SUPERVISOR_DIR"   # set in the child: the supervisor's folder for this run
PROG_ENV = "SVNA_PROG_NAME"
RECORD, STACK, TMP = "run.jsonl", "crash-stack.txt", "tmp"
INTERRUPT_GRACE_S = 30      # after Ctrl-C the child may tidy up itself for this long, then it is killed
STOP_GRACE_S = 5            # leftover processes get SIGTERM, then SIGKILL after this long
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def wanted(argv: list[str]) -> bool:
    """Supervise a run command, unless this process already is the supervised child."""
    return bool(argv) and argv[0] in SUPERVISED and CHILD_ENV not in os.environ \
        and not {"--help", "-h"} & set(argv)


# ---------------------------------------------------------------- in the child

class _FlowRunId:
    """A logging filter noting the flow run id from Prefect's first flow-run log line ("Beginning
    flow run ..."), so a crash at any point after it can be marked on the server. Filters survive
    Prefect's logging set-up (it replaces handlers, not filters)."""

    def filter(self, record) -> bool:
        from pipeline.runs import run_record

        run_record.flow_run(getattr(record, "flow_run_id", None))
        return True


def start_child() -> None:
    """In the child, before the command runs: native-crash stacks go to the supervisor's file."""
    import faulthandler
    import logging

    from pipeline.runs import run_record

    folder = Path(os.environ[CHILD_ENV])
    os.environ[run_record.RECORD_ENV] = str(folder / RECORD)
    stack = open(folder / STACK, "w")  # noqa: SIM115 - open for the life of the process: faulthandler writes to it
    faulthandler.enable(file=stack, all_threads=True)
    faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)   # a run that seems hung
    # the supervisor forwards Ctrl-C: the run must stop on it even when svna was started where SIGINT is
    # ignored (a background job of a non-interactive shell), which the child would otherwise inherit
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.getLogger("prefect.flow_runs").addFilter(_FlowRunId())


# ---------------------------------------------------------------- in the supervisor

def run(argv: list[str]) -> int:
    """Run `svna <argv>` in a supervised child; returns the exit code."""
    folder = Path(tempfile.mkdtemp(prefix="svna-run-"))    # mode 700: the run's temporary files live here too
    (folder / TMP).mkdir()
    env = {**os.environ, CHILD_ENV: str(folder), "TMPDIR": str(folder / TMP)}
    if not sys.argv[0].endswith(".py"):
        env[PROG_ENV] = os.path.basename(sys.argv[0])     # usage lines say `svna`, as before
    interrupted: list[int] = []
    child = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *argv], env=env, start_new_session=True)

    def forward(signum, _frame):
        if interrupted:                   # a second Ctrl-C: stop waiting
            _signal_group(child.pid, signal.SIGKILL)
        interrupted.append(signum)
        _signal_group(child.pid, signum)
        _signal_group(child.pid, signal.SIGCONT)    # a stopped child (Ctrl-Z, a debugger) must see it too

    previous = {s: signal.signal(s, forward) for s in FORWARDED}
    try:
        code = _wait(child, interrupted)
        stopped = stop_group(child.pid)
        if code < 0 or interrupted:
            signum = -code if code < 0 else interrupted[0]
            report = cleanup(folder / RECORD, child.pid, signum, interrupted=bool(interrupted))
            stack = crash_stack(folder / STACK)
            if stack:
                print(stack, file=sys.stderr)
            print(paragraph(argv[0], signum, bool(interrupted), stopped, report, bool(stack)), file=sys.stderr)
            code = 128 + signum
        else:
            cleanup(folder / RECORD, child.pid, None)     # normally nothing is left: the run tidies up itself
        return code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        shutil.rmtree(folder, ignore_errors=True)


def crash_stack(path: Path) -> str:
    """The Python stacks faulthandler wrote, without its closing list of every extension module."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return text.split("\nExtension modules:")[0].strip()


def _wait(child: subprocess.Popen, interrupted: list[int]) -> int:
    deadline = None
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if interrupted and deadline is None:
                deadline = time.monotonic() + INTERRUPT_GRACE_S
            if deadline and time.monotonic() > deadline:
                _signal_group(child.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) of process group `pgid`, from /proc."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (name) ": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_group(pgid: int) -> list[int]:
    """Stop every process left in the run's group (the temporary Prefect server, the resource
    tracker); returns their pids."""
    left = group_members(pgid) if Path("/proc/self/stat").exists() else []
    if not left:
        return []
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(pgid, signal.SIGKILL)
    return left


def read_record(path: Path) -> list[dict]:
    notes = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                notes.append(json.loads(line))
            except ValueError:
                pass          # a line cut short by the crash
    return notes


def cleanup(record: Path, child_pid: int, signum: int | None, interrupted: bool = False) -> dict:
    """Remove what the dead run left: its marked folders, its lock; restore an output folder caught
    between the swap's two renames; mark its flow run Crashed. Returns what was found and done."""
    from pipeline.publish import output_folders

    notes = read_record(record)
    report = {"step": None, "output": None, "published": None, "removed": [], "lock": None, "flow_run": None,
              "marked": None}
    for note in notes:
        report["step"] = note.get("step", report["step"])
        report["output"] = note.get("output", report["output"])
        report["published"] = note.get("published", report["published"])
        report["flow_run"] = report["flow_run"] or note.get("flow_run_id")
        if "made" in note:
            folder = Path(note["made"])
            if folder.is_dir() and not folder.is_symlink() and _marker_run_id(folder) == note["run_id"]:
                shutil.rmtree(folder, ignore_errors=True)
                report["removed"].append(str(folder))
        if "lock" in note:
            lock = Path(note["lock"])
            pid, _host = output_folders.lock_owner(lock)
            if pid == note["pid"] == child_pid:
                lock.unlink(missing_ok=True)
                report["lock"] = str(lock)
    if report["output"]:
        output = Path(report["output"])
        previous = output_folders.sibling(output, ".previous")
        if not output.exists() and output_folders.is_marked(previous):   # died between the swap's renames
            previous.rename(output)
    if signum is not None and report["flow_run"]:
        report["marked"] = mark_crashed(report["flow_run"], signum, interrupted)
    return report


def _marker_run_id(folder: Path) -> str | None:
    from pipeline.publish import output_folders

    try:
        return json.loads((folder / output_folders.MARKER).read_text()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None


def mark_crashed(flow_run_id: str, signum: int, interrupted: bool) -> str | None:
    """On a persistent Prefect server (PREFECT_API_URL), a flow run still Running becomes Crashed.
    Returns what became of it ("is marked Crashed on <url>", or the final state Prefect gave it
    itself, as after Ctrl-C); None without a server or when it does not answer."""
    import urllib.request

    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if not api:
        return None
    try:
        with urllib.request.urlopen(f"{api}/flow_runs/{flow_run_id}", timeout=10) as response:
            state = (json.load(response).get("state") or {}).get("type")
        if state in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED"):
            return f"ended as {state.title()} on {api}"
        message = (f"The run was {'interrupted' if interrupted else 'killed'} by {_signal_name(signum)}; "
                   "svna removed its work folders and kept the previous outputs.")
        body = json.dumps({"state": {"type": "CRASHED", "name": "Crashed", "message": message},
                           "force": True}).encode()
        request = urllib.request.Request(f"{api}/flow_runs/{flow_run_id}/set_state", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):
            return f"is marked Crashed on {api}"
    except (OSError, ValueError):
        return None


def _cause(signum: int) -> str:
    if signum in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE):
        return "a native crash (in DuckDB or another library)"
    if signum == signal.SIGKILL:
        return "which means it ran out of memory or someone ended it with kill -9"
    return "sent by someone or something to end it"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def paragraph(command: str, signum: int, interrupted: bool, stopped: list[int], report: dict,
              stack: bool = False) -> str:
    """The one paragraph after a crash: what happened, what was cleaned, where the previous outputs are."""
    where = f"in the {report['step']} step" if report["step"] else "before its first step"
    if interrupted:
        text = f"svna {command} was interrupted ({_signal_name(signum)}) {where} and stopped."
    else:
        text = f"svna {command} crashed {where}: the run was killed by {_signal_name(signum)}, {_cause(signum)}."
    cleaned = []
    if report["removed"]:
        cleaned.append(f"removed its work folder{'s' if len(report['removed']) > 1 else ''} "
                       + ", ".join(report["removed"]))
    if report["lock"]:
        cleaned.append(f"cleared its lock {report['lock']}")
    if stopped:
        cleaned.append(f"stopped {len(stopped)} process{'es' if len(stopped) > 1 else ''} it left running (helpers "
                       f"such as the temporary Prefect server: pid {', '.join(map(str, stopped))})")
    if cleaned:
        text += " svna " + (", ".join(cleaned[:-1]) + " and " if len(cleaned) > 1 else "") + cleaned[-1] + "."
    else:
        text += " It had left nothing to remove."
    if report["marked"]:
        text += f" Its flow run {report['flow_run']} {report['marked']}."
    elif not os.environ.get("PREFECT_API_URL"):
        text += " Its temporary Prefect server ended with it, so there is no flow run to mark."
    output = report["output"]
    if report["published"]:
        text += f" It had already published its new outputs to {report['published']}, complete, before it ended."
    elif output and Path(output).exists():
        text += f" The previous outputs are intact in {output}; nothing of this run was published."
    elif output:
        text += f" There were no previous outputs in {output}; nothing of this run was published."
    else:
        text += " Nothing of this run was published."
    return text + " Run the command again" + ("; the Python stack above shows where the crash happened." if stack
                                               else ".")
