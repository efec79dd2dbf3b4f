"""What the reader is told around the figures: the glossary (sql/seeds/glossary.csv) and the caveats
(sql/seeds/caveats.csv), each cut to what applies to this run.

A row's applies_to is 'all', a tier ('public'), a source kind (record_extract, mps_counts, police_uk)
or a mart: the row is shown when the run has that tier, takes figures from that source, or has rows
in that mart. So a count-only run is not told about knife flags or school terms.
"""

from __future__ import annotations

import duckdb

from pipeline import seeds
from pipeline.report.report_tables import Tables
from pipeline.transform import db


def run_traits(t: Tables, tier: str, sources: set[str]) -> set[str]:
    """What a row's applies_to can name that this run has: 'all', its tier, its sources, marts with rows."""
    traits = {"all", tier} | sources
    for name in t.present:
        try:
            if t.con.execute(f"select exists (select 1 from {db.sql_identifier(name)})").fetchone()[0]:
                traits.add(name)
        except duckdb.Error:   # a view over a table of another tier: not this run's
            continue
    return traits


def applicable(rows: list[dict], traits: set[str]) -> list[dict]:
    return [r for r in rows if r["applies_to"] in traits]


def caveats(traits: set[str]) -> list[dict]:
    return applicable(seeds.read_seed("caveats"), traits)


def glossary(traits: set[str]) -> list[dict]:
    return sorted(applicable(seeds.read_seed("glossary"), traits), key=lambda r: r["term"].lower().lstrip("["))
