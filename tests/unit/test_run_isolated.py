"""`make test`'s runner (tests/run_isolated.py): a test file whose process dies by a signal, or hangs, is
counted as failed, its faulthandler stack is shown, and it is never run a second time."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests import run_isolated


def _test_file(tmp_path: Path, body: str) -> tuple[Path, Path]:
    """A test file that records each run in runs.txt, then does `body`."""
    runs = tmp_path / "runs.txt"
    path = tmp_path / "test_native.py"
    path.write_text(textwrap.dedent(f"""\
        import os, signal, time

        def test_native():
            with open({str(runs)!r}, "a") as runs:
                runs.write("ran\\n")
            {body}
        """))
    return path, runs


def test_a_file_whose_process_segfaults_fails_once_with_its_stack(tmp_path):
    path, runs = _test_file(tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)")
    result = run_isolated.run_files([path])
    assert result.crashed and result.exit_code == -11
    assert result.counts == {"failed": 1}
    assert runs.read_text() == "ran\n", "the crashed file was run again"
    shown = run_isolated.report(result)
    assert "died by signal 11" in shown and "not re-run" in shown
    assert "Fatal Python error: Segmentation fault" in shown and "in test_native" in shown


def test_a_file_that_hangs_is_stopped_with_its_stack_and_fails(tmp_path):
    path, runs = _test_file(tmp_path, "time.sleep(600)")
    result = run_isolated.run_files([path], timeout_s=20)    # time for pytest to start on a busy machine
    assert result.crashed and result.hung and result.counts == {"failed": 1}
    assert result.wall_s < 120 and runs.read_text() == "ran\n"
    shown = run_isolated.report(result)
    assert "hung" in shown and "in test_native" in shown


def test_a_passing_file_counts_its_tests(tmp_path):
    path, _ = _test_file(tmp_path, "assert True")
    result = run_isolated.run_files([path])
    assert not result.failed and result.counts == {"passed": 1} and result.cpu_s > 0
