"""Benchmark (not a test): three ways to parse svna's dates on DuckDB 1.5.5, compared (docs/performance.md,
"Native crashes"): results and speed.

- before: `try_strptime(trim(x), [formats])`, main's parse_timestamp until issue 16 (over-reads its input);
- pad: `try_strptime(nullif(trim(x), '') || ' ', [formats])`, the workaround measured in the repro notes;
- shape: svna's parse_timestamp (sql/macros.sql: try_strptime_shaped, the shape checked first).

On the demo's offence rows (4 date columns; `svna demo` generates them) and on every prefix of a sample of
each format plus odd inputs. Prints, for each, the best of 5 timings and the strings whose result differs
from `before`. One thread; no guard pages (the `before` and `pad` forms can crash under them).

    python benchmarks/bench_date_parsing.py
"""

from __future__ import annotations

import re
import time

import duckdb

from pipeline.settings.config import DEMO_RAW_DIR
from pipeline.transform import db

MACROS = (db.SQL_DIR / "macros.sql").read_text()
FORMATS = re.findall(r"try_strptime_shaped\(trim\(x\), '([^']+)'\)", MACROS)
LIST = "[" + ", ".join(f"'{f}'" for f in FORMATS) + "]"
EXCEL = re.search(r"(case when regexp_full_match\(trim\(x\), '\[1-9\].*? end)\);", MACROS, re.DOTALL).group(1)
CANDIDATES = {
    "before": f"try_strptime(trim(x), {LIST})",
    "pad": f"try_strptime(nullif(trim(x), '') || ' ', {LIST})",
    "shape": None,   # svna's parse_timestamp as loaded
}
SAMPLES = ['29/12/2021 08:08:07', '29/12/2021 08:08', '29/12/2021', '2021-12-29 08:08:07', '2021-12-29T08:08:07',
           '2021-12-29 08:08', '2021-12-29', '29-12-2021 08:08', '29-12-2021', '29.12.2021', '1/2/2021 8:8:7', '1/2/21',
           '1-2-2021 8:8', '2021-1-2 3:4', '31/02/2021', '29/12/2021\t08:08', '29/12/2021   08:08:07', ' 29/12/2021 ',
           '\t2021-12-29\t', '44561', '44561.5', '44561.25 ', 'infinity', '-infinity', 'epoch', 'garbage', '', ' ',
           '\t' * 14, '29/12/2021 08:08:07x', '2021-12-29T', '99/99/9999', '00/01/2021']


def main() -> None:
    con = duckdb.connect()
    con.execute("set threads = 1")
    db.load_macros(con)
    con.execute("create table demo as select * from read_csv(?, all_varchar = true)",
                [str(DEMO_RAW_DIR / "extract" / "offences_*.csv")])
    cols = ["Recorded_Date", "Committed_From", "Committed_To", "Extract_Date"]
    corpus = sorted({s[:n] for s in SAMPLES for n in range(len(s) + 1)})
    con.execute("create table corpus as select unnest(?::varchar[]) as s", [corpus])
    results = {}
    for name, body in CANDIDATES.items():
        if body:
            con.execute(f"create or replace macro pt(x) as coalesce({body}, {EXCEL})")
        else:
            con.execute("create or replace macro pt(x) as parse_timestamp(x)")
        corpus_rows = con.execute("select s, cast(pt(s) as varchar) from corpus order by s").fetchall()
        demo_rows = con.execute("select " + ", ".join(f"cast(pt({c}) as varchar)" for c in cols) + " from demo").fetchall()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            con.execute("select " + ", ".join(f"count(pt({c}))" for c in cols) + " from demo").fetchall()
            times.append(time.perf_counter() - start)
        results[name] = (corpus_rows, demo_rows)
        print(f"{name:7} {len(demo_rows):,} demo rows x {len(cols)} columns: best of 5 {min(times) * 1000:.0f} ms")
    for name in ("pad", "shape"):
        corpus_rows, demo_rows = results[name]
        diffs = [(a[0], a[1], b[1]) for a, b in zip(results["before"][0], corpus_rows) if a != b]
        print(f"{name}: demo rows identical to before: {demo_rows == results['before'][1]}; "
              f"{len(corpus_rows) - len(diffs)} of {len(corpus_rows)} test strings identical; differ: {diffs}")


if __name__ == "__main__":
    main()
