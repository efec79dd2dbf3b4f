"""What a supervised run tells its supervisor (pipeline/runs/supervisor.py), so that a crash leaves nothing
behind: the step it is in, its flow run, and each folder and lock it creates. One JSON line per note,
appended to the file named by SVNA_RUN_RECORD; without it (tests, scripting) every note is a no-op.

Notes hold paths and ids only, never data values.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

RECORD_ENV = "SVNA_RUN_RECORD"
# Test-only fault injection (tests/integration/test_crash_cleanup.py): the run kills itself as the
# named step starts, e.g. SVNA_FAULT_AT=build (SIGKILL) or SVNA_FAULT_AT=build:SIGSEGV.
FAULT_ENV = "SVNA_FAULT_AT"
_flow_run_noted: set[str] = set()


def note(**fields) -> None:
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as record:   # one short write per line: whole lines even on a crash
        record.write(json.dumps(fields, default=str) + "\n")


def made(folder: Path, run_id: str | None) -> None:
    """This run created `folder` (carrying svna's marker with `run_id`): remove it if the run dies."""
    note(made=str(Path(folder).resolve()), run_id=run_id)


def locked(lock: Path) -> None:
    note(lock=str(Path(lock).resolve()), pid=os.getpid())


def output(folder: Path) -> None:
    """Where this run's outputs go (the previous ones stay there if it dies)."""
    note(output=str(Path(folder).resolve()))


def published(folder: Path) -> None:
    """The run's new outputs are in place (a crash after this point lost nothing)."""
    note(published=str(Path(folder).resolve()))


def flow_run(flow_run_id: str | None) -> None:
    if flow_run_id and flow_run_id not in _flow_run_noted:
        _flow_run_noted.add(flow_run_id)
        note(flow_run_id=flow_run_id)


def step(name: str) -> None:
    """A step starts."""
    if "prefect" in sys.modules:   # inside a Prefect run: say which flow run (never import Prefect here)
        from prefect.runtime import flow_run as runtime

        flow_run(runtime.id)
    note(step=name)
    fault = os.environ.get(FAULT_ENV, "")
    if fault and os.environ.get(RECORD_ENV) and fault.split(":")[0] == name:
        signum = getattr(signal, fault.split(":")[1]) if ":" in fault else signal.SIGKILL
        os.kill(os.getpid(), signum)
