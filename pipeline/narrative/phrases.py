"""What every drafted sentence shares (pipeline.narrative.sentences, pipeline.narrative.analyses, the report):
the smallest base a percentage is quoted on, number formatting, inert Markdown for input text, and
the few table reads the sentences make."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import duckdb

MIN_BASE = 10  # no percentage is quoted on a denominator smaller than this
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}|~#!])")
ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def md_text(value: object) -> str:
    """Input text (area, comparator, ward names) as inert Markdown: one line, HTML tags shown as text,
    Markdown punctuation backslash-escaped, so a name cannot become a link, an emphasis or markup."""
    text = " ".join(str(value).split())  # a newline in a name must not start a Markdown block
    text = ENTITY_LIKE.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def fmt_count(n: float | None) -> str:
    return "–" if n is None else f"{int(n):,}"  # a missing figure never ends the run


def fmt_pct(p: float | None) -> str:
    return "–" if p is None else f"{abs(p):.0f}%"


def offences(n: int, label: str = "") -> str:
    """'1 offence', '19 offences', '1 homicide offence'; `label` goes before the noun."""
    noun = f"{label} offence" if label else "offence"
    return f"{fmt_count(n)} {noun}{'' if n == 1 else 's'}"


# (connection, table names, (table, column) pairs) while catalog_read_once holds
_CATALOG: ContextVar[tuple | None] = ContextVar("svna_narrative_catalog", default=None)


# The one column of the empty views that hide, in the public tier's scope, the tables that tier does not have
# (pipeline.report.report_tables.tier_scope): such a table is absent for has_table.
HIDDEN_COLUMN = "not_in_this_tier"


@contextmanager
def catalog_read_once(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While headlines or a report are drafted no table is made or dropped, so has_table and has_column
    answer from one read of the catalog: each catalog query costs ~5 ms and a tier's drafts ask ~150."""
    columns = set(con.execute("select table_name, column_name from information_schema.columns").fetchall())
    hidden = {name for name, column in columns if column == HIDDEN_COLUMN}
    tables = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()} - hidden
    token = _CATALOG.set((con, tables, columns))
    try:
        yield
    finally:
        _CATALOG.reset(token)


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A table or view of this name in any schema, unless the public tier's scope hides it."""
    known = _CATALOG.get()
    if known is not None and known[0] is con:
        return name in known[1]
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ? and not exists ("
                            "select 1 from information_schema.columns where table_name = ? and column_name = ?)",
                            [name, name, HIDDEN_COLUMN]).fetchone()[0])


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    known = _CATALOG.get()
    if known is not None and known[0] is con:
        return (table, column) in known[2]
    return bool(con.execute("select count(*) from information_schema.columns where table_name = ? and column_name = ?",
                            [table, column]).fetchone()[0])


def records(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
