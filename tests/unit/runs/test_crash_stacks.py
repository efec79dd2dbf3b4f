"""No silent native crashes (issue 7 item 13): every run has faulthandler on, so a segfault leaves a
Python stack; and Python functions called from SQL run on the calling thread, never on DuckDB's
worker threads."""

from __future__ import annotations

import subprocess
import sys
import threading

import pyarrow.compute as pc

from pipeline.settings.config import PROJECT_ROOT
from pipeline.transform import db


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)


def test_a_segfault_in_a_run_leaves_a_python_stack():
    crashed = _python("from pipeline.runs.annual import enable_crash_stacks\n"
                      "enable_crash_stacks()\n"
                      "def build_models():\n"
                      "    import ctypes; ctypes.string_at(0)\n"
                      "build_models()\n")
    assert crashed.returncode == -11                                     # SIGSEGV
    assert "Fatal Python error: Segmentation fault" in crashed.stderr
    assert "in build_models" in crashed.stderr


def test_the_cli_turns_faulthandler_on_before_the_run():
    result = _python("import faulthandler, flows.annual_assessment as flow\n"
                     "from pipeline.errors import InputError\n"
                     "def refuse(*args, **kwargs): raise InputError('x.yaml', '-', 'a rule', 'a value')\n"
                     "flow.annual_assessment = refuse\n"
                     "from pipeline.cli import app\n"
                     "try: app(['annual', '--config', 'x.yaml'])\n"
                     "except SystemExit: pass\n"
                     "print('faulthandler on:', faulthandler.is_enabled())\n")
    assert "faulthandler on: True" in result.stdout, result.stderr[-2000:]


def test_models_calling_python_functions_run_on_the_calling_thread(tmp_path, monkeypatch):
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "probed.sql").write_text("select sum(probe(range)) as total from range(3000000)\n")
    (tmp_path / "staging" / "plain.sql").write_text("select count(*) as n from range(10)\n")
    seen: set[int] = set()

    def probe(x):
        seen.add(threading.get_ident())
        return pc.add(x, 1)

    con = db.connect()
    con.execute("set threads = 4")
    db.create_python_function(con, "probe", probe, ["BIGINT"], "BIGINT")
    assert db.run_models(con, layers=("staging",), sql_dir=tmp_path) and seen
    assert seen == {threading.get_ident()}, "a Python function ran on a DuckDB worker thread"
    assert con.execute("select current_setting('threads')").fetchone()[0] == 4   # restored afterwards
    assert con.execute("select total from probed").fetchone()[0] == sum(range(3_000_000)) + 3_000_000
