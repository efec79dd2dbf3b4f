"""A crash never leaves debris (issue 16 item 4): a run killed at the start of each step (SIGKILL, as
the kernel's OOM killer does; SIGSEGV, as a DuckDB crash does) leaves the previous outputs byte for
byte, no work folder, `.partial` or lock, no process, a one-paragraph message and a non-zero exit;
and the next run succeeds.

This file: `svna annual` (the tiny config) under a persistent Prefect server, whose flow runs the
supervisor marks Crashed, and one `svna demo`, killed as ingest starts, under its default temporary
Prefect server, which the supervisor must stop (one such run: each start of a temporary server costs
seconds of CPU). `svna monthly` is in test_crash_cleanup_monthly.py, so `make test` runs both at once;
the runs and the tests every command's sequence must pass are in tests/helpers/crash_runs.py.
"""

from __future__ import annotations

import re
import signal

import pytest

from tests.helpers.crash_runs import (
    ANNUAL_KILLS,
    clean_env,
    crash_sequence,
    crash_server,
    debris,
    svna,
    test_no_process_of_the_run_is_left,  # noqa: F401  (each sequence's tests, collected here too)
    test_no_work_folder_partial_or_lock_is_left,  # noqa: F401
    test_the_flow_run_is_marked_crashed_on_a_persistent_server,  # noqa: F401
    test_the_next_run_succeeds,  # noqa: F401
    test_the_previous_outputs_stay_byte_identical,  # noqa: F401
    test_the_supervisor_exits_non_zero_with_one_paragraph,  # noqa: F401
)
from tests.helpers.tiny_inputs import write_tiny_inputs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def annual(tmp_path_factory):
    root = tmp_path_factory.mktemp("annual_crash")
    args = ["annual", "--config", str(write_tiny_inputs(root))]
    with crash_server(root) as api:
        result = crash_sequence(args, args, ANNUAL_KILLS, root, root / "out", clean_env(root, PREFECT_API_URL=api))
        # the flow runs are read back from the server by a test: keep it until the module ends
        yield {**result, "kills": ANNUAL_KILLS, "api": api}


@pytest.fixture(scope="module")
def sequence(annual):
    return annual


@pytest.fixture(scope="module")
def demo_on_a_temporary_server(tmp_path_factory):
    """`svna demo` without PREFECT_API_URL, so on the temporary Prefect server it starts, killed as ingest
    starts."""
    root = tmp_path_factory.mktemp("demo_crash")
    (root / "tmp").mkdir()
    out = root / "out"
    run = svna(["demo", "--output", str(out)], root, clean_env(root), "ingest")
    return {**run, "debris": debris(root), "out": out}


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
