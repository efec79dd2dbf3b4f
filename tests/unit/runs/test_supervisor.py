"""The supervisor's clean-up after a crash removes only what the crashed run made (pipeline/runs/supervisor.py);
the kills themselves are in tests/integration/test_crash_cleanup.py."""

from __future__ import annotations

import json
import os
import signal

from pipeline.publish import output_folders
from pipeline.runs import run_record, supervisor

DEAD_CHILD = 4_000_000   # above the kernel's pid limit: never a live process


def test_cleanup_removes_only_what_the_crashed_run_made_and_marked(tmp_path, monkeypatch):
    record = tmp_path / "run.jsonl"
    monkeypatch.setenv(run_record.RECORD_ENV, str(record))
    ours, other_run, unmarked = tmp_path / "out.partial", tmp_path / ".work-other", tmp_path / ".work-user"
    for folder, run_id in ((ours, "run-1"), (other_run, "run-2")):
        folder.mkdir()
        output_folders.write_marker(folder, run_id)
        (folder / "rows.parquet").write_text("x")
    unmarked.mkdir()
    (unmarked / "notes.txt").write_text("the user's")
    for folder in (ours, other_run, unmarked):
        run_record.made(folder, "run-1")          # even if noted, only a folder marked with the run id goes
    our_lock, their_lock = tmp_path / "out.lock", tmp_path / "monthly.lock"
    our_lock.write_text(f"{DEAD_CHILD} host\n")
    their_lock.write_text(f"{os.getpid()} host\n")
    for lock in (our_lock, their_lock):
        run_record.note(lock=str(lock), pid=DEAD_CHILD)
    run_record.output(tmp_path / "out")
    run_record.step("build")

    report = supervisor.cleanup(record, DEAD_CHILD, signal.SIGKILL)

    assert not ours.exists() and not our_lock.exists()
    assert (other_run / "rows.parquet").exists() and (unmarked / "notes.txt").read_text() == "the user's"
    assert their_lock.exists()                    # held by a live process that is not the child
    assert report["removed"] == [str(ours)] and report["step"] == "build"


def test_a_crash_between_the_swaps_two_renames_puts_the_previous_outputs_back(tmp_path, monkeypatch):
    record = tmp_path / "run.jsonl"
    monkeypatch.setenv(run_record.RECORD_ENV, str(record))
    previous = tmp_path / "out.previous"
    previous.mkdir()
    output_folders.write_marker(previous, "run-0")
    run_record.output(tmp_path / "out")
    supervisor.cleanup(record, DEAD_CHILD, signal.SIGKILL)
    assert json.loads((tmp_path / "out" / output_folders.MARKER).read_text())["run_id"] == "run-0"
    assert not previous.exists()


def test_the_paragraph_says_what_happened_and_where_the_previous_outputs_are(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    report = {"step": "validate", "output": str(tmp_path), "published": None, "removed": [str(tmp_path) + ".partial"],
              "lock": str(tmp_path) + ".lock", "flow_run": None, "marked": None}
    text = supervisor.paragraph("annual", signal.SIGKILL, False, [123, 456], report)
    assert "\n" not in text
    assert text.startswith("svna annual crashed in the validate step: the run was killed by SIGKILL, which means "
                           "it ran out of memory or someone ended it with kill -9.")
    assert f"removed its work folder {tmp_path}.partial, cleared its lock {tmp_path}.lock and stopped 2 " \
           "processes" in text
    assert "no flow run to mark" in text and f"The previous outputs are intact in {tmp_path};" in text
