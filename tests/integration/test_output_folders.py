"""svna never deletes or overwrites what it did not write: `output:` and `reports:` must be a new folder
or one svna wrote before (marked by .svna-output); everything else is refused before any work, and the
user's files survive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.publish import output_folders
from pipeline.runs import annual
from pipeline.settings.config import load_config
from tests.helpers.tiny_inputs import write_tiny_inputs


def _no_work(*args):
    raise AssertionError("the run started work on a folder it must refuse")


def _refused(cfg, match: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(annual, "run_steps", _no_work)
        with pytest.raises(InputError, match=match):
            annual.run_annual(cfg, run_id="run-refused")


def _users_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    precious = folder / "thesis.docx"
    precious.write_text("years of work")
    return precious


def test_an_output_folder_holding_a_users_file_is_refused_and_the_file_survives(tmp_path):
    precious = _users_folder(tmp_path / "Documents")
    cfg = load_config(write_tiny_inputs(tmp_path / "run"), {"output": str(tmp_path / "Documents")})
    _refused(cfg, r"Documents.*svna replaces only a folder it wrote itself.*1 entry that svna did not write")
    assert precious.read_text() == "years of work"
    assert sorted(p.name for p in precious.parent.iterdir()) == ["thesis.docx"]
    assert not (tmp_path / "Documents.partial").exists() and not (tmp_path / "Documents.lock").exists()


def test_an_existing_file_as_output_is_refused(tmp_path):
    config = write_tiny_inputs(tmp_path)
    (tmp_path / "out").write_text("not a folder")
    _refused(load_config(config), r"svna writes only to a folder; found an existing file")
    assert (tmp_path / "out").read_text() == "not a folder"


@pytest.mark.parametrize("target, reason", [
    ("config_folder", "the run config's folder"),
    ("input_folder", "a folder holding one of the run's input or reference files"),
    ("input_ancestor", "a folder holding one of the run's input or reference files"),
    ("cwd", "the current folder"),
    ("home", "the home folder"),
    ("root", "the filesystem root"),
])
def test_folders_svna_must_never_replace_are_refused_before_any_work(tmp_path, monkeypatch, target, reason):
    # inputs in <tmp>/data/raw, the config in <tmp>/conf: so "an ancestor of an input" is not the config's
    write_tiny_inputs(tmp_path / "data" / "raw")
    text = (tmp_path / "data" / "raw" / "run.yaml").read_text()
    for name in ("tiny.yaml", "extract/", "mps.csv"):
        text = text.replace(f" {name}", f" ../data/raw/{name}").replace(f"[{name}", f"[../data/raw/{name}")
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "run.yaml"
    config.write_text(text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    folders = {"config_folder": tmp_path / "conf", "input_folder": tmp_path / "data" / "raw" / "extract",
               "input_ancestor": tmp_path / "data", "cwd": elsewhere, "home": tmp_path / "home", "root": Path("/")}
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    _refused(load_config(config, {"output": str(folders[target])}), reason)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before          # nothing written or deleted


def test_a_reports_folder_holding_a_users_file_is_refused_and_the_file_survives(tmp_path):
    config = write_tiny_inputs(tmp_path)
    config.write_text(config.read_text() + "reports: shared_drive\n")
    precious = _users_folder(tmp_path / "shared_drive")
    _refused(load_config(config), r"shared_drive, column 'reports'.*svna did not write")
    assert precious.read_text() == "years of work"
    assert not (tmp_path / "out").exists()


def test_reports_may_not_be_the_output_folder(tmp_path):
    config = write_tiny_inputs(tmp_path)
    config.write_text(config.read_text() + "reports: out\n")
    _refused(load_config(config), "reports must be a folder of its own")


def test_a_leftover_partial_folder_svna_did_not_write_is_refused_and_kept(tmp_path):
    cfg = load_config(write_tiny_inputs(tmp_path))
    precious = _users_folder(tmp_path / "out.partial")
    _refused(cfg, r"out.partial.*only if it wrote it")
    assert precious.read_text() == "years of work"


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    return int(child.stdout)


@pytest.fixture(scope="module")
def marked_run(tmp_path_factory):
    """A first run with reports: both folders come out marked."""
    folder = tmp_path_factory.mktemp("marked")
    config = write_tiny_inputs(folder)
    config.write_text(config.read_text() + "reports: reports\n")
    cfg = load_config(config)
    annual.run_annual(cfg, run_id="run-one")
    return cfg


def test_every_folder_svna_writes_is_marked_with_the_run_id(marked_run):
    for folder in (marked_run.output, marked_run.reports):
        marker = json.loads((folder / output_folders.MARKER).read_text())
        assert marker["written_by"] == "svna" and marker["run_id"] == "run-one"
    assert (marked_run.reports / "headlines.md").exists()
    assert (marked_run.reports / "report.html").read_bytes() == (marked_run.output / "report.html").read_bytes()


def test_a_marked_previous_output_is_replaced_a_stale_lock_cleared_and_a_leftover_partial_removed(
        marked_run, capsys):
    cfg = marked_run
    (cfg.output / "stale_table.csv").write_text("from an older run")      # inside svna's own folder
    lock = output_folders.sibling(cfg.output, ".lock")
    lock.write_text(f"{_dead_pid()}\n")                                   # a run that crashed holding the lock
    leftover = output_folders.sibling(cfg.output, ".partial")
    leftover.mkdir()
    output_folders.write_marker(leftover, "run-crashed")
    (leftover / "half_written.parquet").write_bytes(b"partial")

    annual.run_annual(cfg, run_id="run-two")

    printed = capsys.readouterr().out
    assert "Removed a stale lock" in printed and "no longer running" in printed
    assert "left by an earlier run that did not finish" in printed
    for folder in (cfg.output, cfg.reports):
        assert json.loads((folder / output_folders.MARKER).read_text())["run_id"] == "run-two"
    assert not (cfg.output / "stale_table.csv").exists() and (cfg.output / "run.json").exists()
    for suffix in (".partial", ".previous", ".lock"):
        assert not output_folders.sibling(cfg.output, suffix).exists(), suffix
        assert not output_folders.sibling(cfg.reports, suffix).exists(), suffix


def test_a_live_lock_refuses_a_second_run(marked_run):
    lock = output_folders.sibling(marked_run.output, ".lock")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            lock.write_text(f"{other.pid}\n")
            _refused(marked_run, f"another run is writing this output.*process {other.pid}")
            assert lock.exists()
        finally:
            other.kill()
            lock.unlink(missing_ok=True)
