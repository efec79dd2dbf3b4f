from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

SUITE_PREFECT_ENV = "SVNA_TEST_PREFECT_API_URL"   # set by tests/run_isolated.py


@pytest.fixture(scope="session")
def prefect_harness():
    """The Prefect backend of every flow test, also of the svna commands a test runs in a child process
    (through PREFECT_API_URL: each would start a temporary server of its own, ~15 s of CPU, without it).
    Under `make test` that is the suite's one Prefect server (tests/run_isolated.py), shared by every
    test process; otherwise a temporary backend for this session (~23 s of CPU). A test that reads
    Prefect's database itself makes its own (test_no_personal_data)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    suite_api = os.environ.get(SUITE_PREFECT_ENV)
    with pytest.MonkeyPatch.context() as patch:
        if suite_api:
            with temporary_settings(updates={PREFECT_API_URL: suite_api}):
                patch.setenv("PREFECT_API_URL", suite_api)
                yield
        else:
            from prefect.testing.utilities import prefect_test_harness   # the server's code: ~5 s of CPU to import

            # the 30 s default is often missed on a busy 2-core machine; svna itself allows 180 s
            with prefect_test_harness(server_startup_timeout=180):
                patch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
                yield


class DemoRun(NamedTuple):
    root: Path        # a project folder: data/raw/demo (the generated borough) and config/
    out: Path         # the run's output folder (data/processed/demo)
    returned: str     # what the annual_assessment flow returned


def build_once(tmp_path_factory, name: str, build) -> tuple[Path, dict]:
    """A run that several test files only read, built once per suite: `build(folder)` writes it into
    `folder` and returns what to remember of it (JSON). Returns the folder and that.

    `make test` (tests/run_isolated.py) names a folder in SVNA_TEST_SHARED: the first test process
    that needs the run builds it there under a lock and the others reuse it. Without it (plain
    pytest) the run is built once per pytest session."""
    shared = os.environ.get("SVNA_TEST_SHARED")
    folder = Path(shared) if shared else tmp_path_factory.getbasetemp() / "shared"
    folder.mkdir(exist_ok=True)
    root, done = folder / name, folder / f"{name}.json"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)        # released by the kernel if the builder crashes
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)   # what a crashed builder left
            root.mkdir()
            done.write_text(json.dumps(build(root)))
    return root, json.loads(done.read_text())


@pytest.fixture(scope="session")
def shared_demo_run(request, tmp_path_factory) -> DemoRun:
    """The synthetic demo borough through the annual_assessment flow, built once per suite and shared
    by every test that only reads it (never write into it: make your own run for that)."""
    def build(root: Path) -> dict:
        from flows.annual_assessment import annual_assessment
        from pipeline.demo.riverford import generate_demo_data
        from pipeline.settings.config import CONFIG_DIR

        request.getfixturevalue("prefect_harness")
        generate_demo_data(root / "data" / "raw" / "demo")
        shutil.copytree(CONFIG_DIR, root / "config")
        return {"returned": annual_assessment(str(root / "config" / "demo.yaml"), demo=True)}

    root, done = build_once(tmp_path_factory, "demo", build)
    return DemoRun(root, root / "data" / "processed" / "demo", done["returned"])


class LondonRun(NamedTuple):
    cfg: object       # the run's loaded config (pipeline.settings.config)
    out: Path         # its output folder: both tiers


@pytest.fixture(scope="session")
def shared_london_run(tmp_path_factory) -> LondonRun:
    """Every London borough (`areas: all`) of the real MPS counts through the annual run with both tiers,
    built once per suite and shared by the tests that only read it (test_public_tier_real,
    test_disclosure_audit_runs)."""
    from pipeline.settings.config import load_config
    from tests.helpers.real_configs import ALL_LONDON

    def build(root: Path) -> dict:
        from pipeline.runs.annual import run_annual

        (root / "run.yaml").write_text(yaml.safe_dump({**ALL_LONDON, "tiers": ["restricted", "public"],
                                                       "output": "out"}))
        return {"out": str(run_annual(load_config(root / "run.yaml")))}

    root, done = build_once(tmp_path_factory, "london", build)
    return LondonRun(load_config(root / "run.yaml"), Path(done["out"]))


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
