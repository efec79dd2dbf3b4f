from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect backend for every flow test (~8 s once per session)."""
    # the 30 s default is often missed on a busy 2-core machine; svna itself allows 180 s
    with prefect_test_harness(server_startup_timeout=180):
        yield


class DemoRun(NamedTuple):
    root: Path        # a project folder: data/raw/demo (the generated borough) and config/
    out: Path         # the run's output folder (data/processed/demo)
    returned: str     # what the annual_assessment flow returned


@pytest.fixture(scope="session")
def shared_demo_run(request, tmp_path_factory) -> DemoRun:
    """The synthetic demo borough through the annual_assessment flow, built once per suite and shared
    by every test that only reads it (never write into it: make your own run for that).

    `make test` (tests/run_isolated.py) names a folder in SVNA_TEST_SHARED: the first test process
    that needs the run builds it there under a lock and the others reuse it. Without it (plain
    pytest) the run is built once per pytest session."""
    from flows.annual_assessment import annual_assessment
    from pipeline.config import CONFIG_DIR
    from pipeline.demo import generate_demo_data

    shared = os.environ.get("SVNA_TEST_SHARED")
    folder = Path(shared) if shared else tmp_path_factory.mktemp("shared")
    root, done = folder / "demo", folder / "demo.json"
    with open(folder / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # released by the kernel if the builder crashes
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)   # what a crashed builder left
            request.getfixturevalue("prefect_harness")
            generate_demo_data(root / "data" / "raw" / "demo")
            shutil.copytree(CONFIG_DIR, root / "config")
            returned = annual_assessment(str(root / "config" / "demo.yaml"), demo=True)
            done.write_text(json.dumps({"returned": returned}))
    return DemoRun(root, root / "data" / "processed" / "demo", json.loads(done.read_text())["returned"])


@pytest.fixture
def task_order():
    """read(flow_run_id, expected): the tasks a flow run ran, by name in the order they started (a
    mapped task's runs once); a task run of a name not in `expected` appears by its run name."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    def names(flow_run_id, expected: list[str]) -> list[str]:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        order = []
        for run in sorted(runs, key=lambda r: (r.start_time or r.expected_start_time, r.name)):
            name = next((n for n in expected if run.name.startswith(n + "-")), run.name)
            if not order or order[-1] != name:
                order.append(name)
        return order

    def read(flow_run_id, expected: list[str]) -> list[str]:
        deadline = time.monotonic() + 60      # the server records task runs from events, a moment later
        while (order := names(flow_run_id, expected)) != expected and time.monotonic() < deadline:
            time.sleep(1)
        return order

    return read
