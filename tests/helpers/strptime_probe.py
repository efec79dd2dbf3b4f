"""Probe (run in its own process by tests/unit/transform/test_strptime_overread.py): every date parse svna does in SQL,
applied to fresh heap strings of every length and shape, the pattern that made DuckDB 1.5.5's strptime read
past the end of its input (/work/shared/repro/duckdb_strptime_overread.py, docs/performance.md).

    DUCKDB_JE_MALLOC_CONF=san_guard_small:1,san_guard_large:1 python tests/helpers/strptime_probe.py [--macros FILE]

With the guard-page setting (it must be in the environment before duckdb is imported) an over-read lands on
a guard page and the process dies by SIGSEGV. --macros runs another macros.sql (e.g. main's, to show the
probe catches the bug). Prints one line per parse path and "probe done" at the end.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.transform.db import load_spatial, sql_literal

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "sql"
SHAPED = re.compile(r"try_strptime_shaped\((.+?), '([^']+)'\)")
# Two timestamps that render every specifier at its widest and its narrowest (day 29, month 12, hour 8...)
WIDE, NARROW = datetime(2021, 12, 29, 18, 48, 37), datetime(2021, 1, 2, 3, 4, 5)


def formats() -> list[str]:
    """Every format svna's SQL parses with (macros and models), in order of first use."""
    found: list[str] = []
    for path in [SQL / "macros.sql", *sorted(SQL.rglob("*.sql"))]:
        for _, fmt in SHAPED.findall(path.read_text()):
            if fmt not in found:
                found.append(fmt)
    return found


def shapes(fmt: str) -> list[str]:
    """Every prefix of a wide and a narrow rendering of `fmt` (length 0 to full), each also with inner and
    outer whitespace; digits and whitespace only of every length up to the full one."""
    out: set[str] = set()
    for sample in (WIDE.strftime(fmt), NARROW.strftime(fmt).replace("01", "1").replace("02", "2")):
        full = max(len(sample), len(fmt)) + 2
        for n in range(len(sample) + 1):
            prefix = sample[:n]
            out.update({prefix, " " + prefix, prefix.replace(" ", "   "), prefix.replace(" ", "\t"), "\t" + prefix})
        for n in range(full + 1):
            out.update({"9" * n, " " * n, "\t" * n, "\t" * n + "1"})
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--macros", type=Path, default=SQL / "macros.sql")
    parser.add_argument("--copies", type=int, default=1000, help="rows per test string (varies the heap layout)")
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("set threads = 1")
    load_spatial(con)                                  # a macro builds geometries
    con.execute(args.macros.read_text())
    # main's macros had no try_strptime_shaped: its staging models called strptime on the string directly
    shaped = con.execute("select count(*) from duckdb_functions() where function_name = 'try_strptime_shaped'").fetchone()[0]
    parse = "try_strptime_shaped" if shaped else "try_strptime"
    fmts = formats()
    strings = sorted({s for f in fmts for s in shapes(f)})
    # Rows of one length together: a vector of equal-length strings packs its string heap with no slack, so
    # the last string of a heap block ends at the block's end, and the first byte past it may be a guard page.
    con.execute("create table t as select repeat('x', (i % 7)::int) as pad, s from unnest(?::varchar[]) u(s), "
                "range(?) r(i) order by length(s), s, i", [strings, args.copies])
    print(f"{len(fmts)} formats, {len(strings)} strings x {args.copies} copies", flush=True)
    fresh = {"trim": "trim(s)", "lower": "lower(s)", "concat": "s || ''", "substr": "substr(pad || s, length(pad) + 1)"}
    for expr in fresh.values():                   # the record-extract path: stg_offences, stg_people
        con.execute(f"select count(parse_timestamp({expr})) from t").fetchall()
        print(f"parse_timestamp({expr}): ok", flush=True)
    for fmt in fmts:                                  # each format on its own, as the staging models call it
        for expr in fresh.values():
            con.execute(f"select count({parse}({expr}, {sql_literal(fmt)})) from t").fetchall()
        print(f"{parse}(.., '{fmt}'): ok", flush=True)
    print("probe done", flush=True)


if __name__ == "__main__":
    sys.exit(main())
