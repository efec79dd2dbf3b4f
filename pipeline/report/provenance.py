"""Where each figure comes from, in the reader's words: the three kinds of input (the record extract,
the MPS files, data.police.uk) and the extracts a run used, with their dates.

Every figure, chart and sentence of report.html names one of these sources; a sentence never joins
figures of two sources, and a rate uses the count of the source beside it. `extracts_used` is also
written into run.json (pipeline/runs/annual.py, check step), so the report and the run record agree.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.sources import registry

# the reader's name of each kind of input (registry kind ids, not themes)
SOURCE_NAMES = {"record_extract": "record extract", "mps_counts": "MPS files", "police_uk": "data.police.uk"}


def source_name(kind: str | None) -> str:
    """'record extract', 'MPS files', 'data.police.uk'; a kind registered elsewhere reads as its display name."""
    if kind in SOURCE_NAMES:
        return SOURCE_NAMES[kind]
    known = registry.kinds().get(str(kind or ""))
    return known.display_name if known else "the inputs"


def source_note(kind: str | None) -> str:
    """The label under a figure: 'Source: the MPS files.'"""
    name = source_name(kind)
    return f"Source: {'' if name.startswith(('data.', 'the ')) else 'the '}{name}."


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'main' "
                            "and table_name = ?", [table]).fetchone()[0])


# (source kind, table of the rows a run kept, table of every row read); main schema: names and dates only
_KEPT = (("record_extract", "int_offences_current", "raw_offences"),
         ("mps_counts", "int_mps_counts_current", "raw_mps_counts"))


def extracts_used(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Each input file the run's figures come from: its source, file name, extract date (None when the
    input has none, e.g. data.police.uk) and whether its rows were used or replaced by a newer extract.
    File names and dates only: no count, so the list can go into either tier."""
    found = []
    for kind, kept, read in _KEPT:
        if not _has(con, kept):
            continue
        used = dict(con.execute(f"select source_file, max(extract_date)::varchar from main.{kept} "
                                "group by source_file").fetchall())
        every = dict(con.execute(f"select source_file, max(extract_date)::varchar from main.{read} "
                                 "group by source_file").fetchall()) if _has(con, read) else {}
        for file in sorted(set(used) | set(every), key=lambda f: (str(every.get(f) or used.get(f)), f)):
            found.append({"source": kind, "source_name": source_name(kind), "file": Path(file).name,
                          "extract_date": _date(used.get(file) or every.get(file)),
                          "used": file in used})
    if _has(con, "int_police_uk_checked"):
        first, last = con.execute("select min(source_month)::varchar, max(source_month)::varchar "
                                  "from main.int_police_uk_checked").fetchone()
        if first is not None:
            found.append({"source": "police_uk", "source_name": source_name("police_uk"),
                          "file": f"street-level files, {first} to {last}", "extract_date": None, "used": True})
    return found


def _date(value: str | None) -> str | None:
    return None if value is None else str(value)[:10]


def sources_in(rows: list[dict]) -> list[str]:
    """The source kinds of a list of mart rows, in the registry's order (record extract first)."""
    order = list(registry.kinds())
    kinds = {r.get("source") for r in rows if r.get("source")}
    return sorted(kinds, key=lambda k: order.index(k) if k in order else len(order))
