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
