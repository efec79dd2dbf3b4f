"""No native crash from DuckDB 1.5.5's strptime over-read (docs/performance.md, "Native crashes").

The probe (tests/helpers/strptime_probe.py) runs every date parse svna does in SQL on fresh heap strings of every
length and shape, in a process with jemalloc guard pages, where reading one byte past a string that ends at
a heap block's end is a SIGSEGV. On main's parse_timestamp (try_strptime on trim(x)) the probe died by
SIGSEGV at its first query; a signal here is a failure, never retried.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.strptime_probe import formats

ROOT = Path(__file__).resolve().parents[3]
GUARD_PAGES = "san_guard_small:1,san_guard_large:1"


def test_every_parse_path_survives_guard_pages():
    env = {**os.environ, "DUCKDB_JE_MALLOC_CONF": GUARD_PAGES}   # read when duckdb is imported: a new process
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "helpers" / "strptime_probe.py")], check=False,
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    died = f"died by {signal.Signals(-result.returncode).name}" if result.returncode < 0 else ""
    assert result.returncode == 0, f"probe {died or 'exit ' + str(result.returncode)}:\n{result.stdout}{result.stderr[-3000:]}"
    assert result.stdout.rstrip().endswith("probe done")


def test_only_the_shaped_macro_calls_strptime():
    """Every date parse goes through try_strptime_shaped, so the probe covers it."""
    calls = {}
    for path in sorted((ROOT / "sql").rglob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text())                # comments may name strptime
        n = len(re.findall(r"\b(?:try_)?strptime\s*\(", text))
        if n:
            calls[path.name] = n
    assert calls == {"macros.sql": 1}       # the one call, inside try_strptime_shaped


def test_the_probe_covers_every_accepted_format():
    assert formats() == ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S',
                         '%Y-%m-%d %H:%M', '%Y-%m-%d', '%d-%m-%Y %H:%M', '%d-%m-%Y', '%d.%m.%Y', '%Y%m%d']
