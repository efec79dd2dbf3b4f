"""A crash never leaves debris (issue 16 item 4), for `svna monthly` (the tiny config) under a persistent
Prefect server: killed at the start of each step, or interrupted (Ctrl-C) in the report step, it leaves
the previous outputs byte for byte, no work folder, `.partial` or lock, no process, a one-paragraph
message, a non-zero exit and its flow run marked Crashed; the next run succeeds. `svna annual` is in
test_crash_cleanup.py; the runs and these tests are in tests/helpers/crash_runs.py.
"""

from __future__ import annotations

import pytest

from tests.helpers.crash_runs import (
    MONTHLY_KILLS,
    clean_env,
    crash_sequence,
    crash_server,
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
def sequence(tmp_path_factory):
    root = tmp_path_factory.mktemp("monthly_crash")
    config = write_tiny_inputs(root)
    with crash_server(root) as api:
        env = clean_env(root, PREFECT_API_URL=api)
        kill_args = ["monthly", "--config", str(config), "--month", "2023-11"]
        result = crash_sequence(["monthly", "--config", str(config)], kill_args, MONTHLY_KILLS, root, root / "out", env)
        yield {**result, "kills": MONTHLY_KILLS, "api": api}
