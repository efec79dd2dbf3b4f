"""The tier's tables as report.html reads them, and the template's number filters.

Everything shown is read from the run's tables in one DuckDB schema: `main` for the restricted tier,
`public` for the disclosure-controlled tier, where a suppressed cell is NULL and listed in
`public.disclosure_log(table_name, row_key, column_name, rule)` (row_key: the table's `-- unique_key:`
values joined with " | " in header order). A suppressed cell reads as SUPPRESSED and shows as "[c]".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from pipeline.narrative.phrases import HIDDEN_COLUMN, MIN_BASE
from pipeline.publish.table_files import mart_models
from pipeline.transform import db

# tables read from main when the tier's schema does not hold them: definitions and geography, no counts
SHARED_PREFIXES = ("seed_", "ref_")
SHARED_TABLES = ("periods",)


class Suppressed:
    """A cell the public tier withheld (disclosure control): shown as [c], never as a number."""

    def __repr__(self) -> str:
        return "[c]"


SUPPRESSED = Suppressed()


class Tables:
    """The tier's tables, with suppressed cells replaced by SUPPRESSED."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str):
        self.con, self.schema = con, schema
        self.present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = ?", [schema]).fetchall()}
        self.keys = {name: model.unique_key for name, model in mart_models().items()}
        self.suppressed: set[tuple[str, str, str]] = set()
        if schema != "main" and "disclosure_log" in self.present:
            self.suppressed = {(t, k, c) for t, k, c in con.execute(
                "select table_name, row_key, column_name from disclosure_log").fetchall()}

    def has(self, name: str) -> bool:
        return name in self.present

    def rows(self, name: str, where: str = "true", params: list | None = None, order: str = "") -> list[dict]:
        """Rows of a table in the tier (none when it is absent); `where`/`order` are ours, values bound."""
        if not self.has(name):
            return []
        cursor = self.con.execute(f"select * from {db.sql_identifier(name)} where {where} {order}", params or [])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
        if self.suppressed:
            key = self.keys.get(name, ())
            for row in rows:
                row_key = " | ".join("" if row.get(k) is None else str(row[k]) for k in key)
                for column in names:
                    if (name, row_key, column) in self.suppressed:
                        row[column] = SUPPRESSED
        return rows


@contextmanager
def tier_scope(con: duckdb.DuckDBPyConnection, schema: str) -> Iterator[None]:
    """Unqualified names (ours and the narrative's) resolve in the tier's schema only; definitions and
    geography it lacks are temporary views of main's, so no restricted count can leak into the public tier.
    DuckDB falls back to main for a name the search path lacks, so every other table of main is hidden
    behind an empty temporary view with no column of its own: a query on it finds no rows or fails to bind."""
    if schema == "main":
        yield
        return
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"not a schema name: {schema!r}")
    catalog = con.execute("select current_database()").fetchone()[0]
    previous = con.execute("select current_setting('search_path')").fetchone()[0]
    own = {r[0] for r in con.execute("select table_name from information_schema.tables where table_catalog = ? "
                                     "and table_schema = ?", [catalog, schema]).fetchall()}
    in_main = [r[0] for r in con.execute("select table_name from information_schema.tables where table_catalog = ? "
                                         "and table_schema = 'main'", [catalog]).fetchall() if r[0] not in own]
    shared = [name for name in in_main if name.startswith(SHARED_PREFIXES) or name in SHARED_TABLES]
    hidden = [name for name in in_main if name not in shared]
    con.execute("set search_path = ?", [schema])
    try:
        for name in shared:
            con.execute(f"create or replace temp view {db.sql_identifier(name)} as select * from "
                        f"{db.sql_identifier(catalog)}.main.{db.sql_identifier(name)}")
        for name in hidden:
            con.execute(f"create or replace temp view {db.sql_identifier(name)} as "
                        f"select null as {HIDDEN_COLUMN} where false")
        yield
    finally:
        for name in shared + hidden:
            con.execute(f"drop view if exists temp.main.{db.sql_identifier(name)}")
        con.execute("set search_path = ?", [previous])


def fmt_number(value, decimals: int = 0) -> str:
    if value is SUPPRESSED:
        return "[c]"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{decimals}f}"


def fmt_pct(value, decimals: int = 1) -> str:
    text = fmt_number(value, decimals)
    return text if text in ("[c]", "–") else text + "%"


def fmt_signed_pct(value) -> str:
    text = fmt_pct(value)
    return ("+" + text) if isinstance(value, (int, float)) and value > 0 else text


def fmt_change_pct(value, base) -> str:
    """A % change, or '–' on a base under phrases.MIN_BASE (volatile; the narrative quotes none either)."""
    if value is SUPPRESSED or base is SUPPRESSED:
        return "[c]"
    if base is None or base < MIN_BASE:
        return "–"
    return fmt_signed_pct(value)


def fmt_flag(value) -> str:
    return {"significant_increase": "significant increase", "significant_decrease": "significant decrease",
            "no_significant_change": "no significant change", "too_few_to_test": "too few to test",
            None: "–"}.get(value, str(value).replace("_", " ")) if value is not SUPPRESSED else "[c]"


def as_number(v) -> float | None:
    """A number for a chart, or None (missing or suppressed)."""
    return None if v is None or v is SUPPRESSED else float(v)
