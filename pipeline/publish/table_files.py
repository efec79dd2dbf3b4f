"""A run's tables as files: Parquet (values as they are) and CSV (formula-like text neutralised), each in
its mart's stated order, so re-runs write identical files."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.publish import catalog
from pipeline.transform import db


def csv_columns(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The select list for a table's CSV: text columns through csv_safe_text (sql/macros.sql), so a
    cell starting with = + - @, a tab or CR cannot run as a spreadsheet formula; numbers untouched."""
    # the columns from an empty select: a catalog query (information_schema) costs ~7 ms a table
    columns = con.execute(f"select * from {db.sql_identifier(name)} limit 0").description
    return ", ".join(f'csv_safe_text("{c}") as "{c}"' if dtype == "VARCHAR" else f'"{c}"'
                     for c, dtype in ((db.sql_identifier(c), str(dtype)) for c, dtype, *_ in columns))


@functools.cache
def mart_models() -> dict[str, db.Model]:
    """The marts' models, read from sql/marts once: ordered() is asked for every table file and sheet
    (reading and checking every model each time cost ~10 ms a call)."""
    return db.load_models(("marts",))


def ordered(name: str, where: str = "true", select: str = "m.*") -> str:
    """`select ... from <mart>` in its stated order, so re-runs write identical files: by the unique key
    in the model's header, themes in their seed order (sql/seeds/themes.csv) rather than alphabetically."""
    model = mart_models().get(name)
    if model is None:  # not a model (a table made in a test): as stored
        return f"select {select} from {db.sql_identifier(name)} as m where {where}"
    terms = []
    for column in model.unique_key:
        if column == "theme":
            terms.append("(select cast(sort_order as integer) from seed_themes as s where s.theme = m.theme)")
        terms.append(f'm."{column}"')
    return f"select {select} from {db.sql_identifier(name)} as m where {where} order by {', '.join(terms)}"


def write_csv(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> Path:
    """One table of the connection's current schema as CSV, formula-like text neutralised (csv_columns)."""
    con.execute(f"copy ({ordered(name, select=csv_columns(con, name))}) to ? (format csv, header true)",
                [str(path)])  # path: a bind parameter
    return path

def write_tables(con: duckdb.DuckDBPyConnection, out_dir: Path, names: list[str] | None = None) -> list[Path]:
    """Parquet keeps the values as they are; CSV neutralises formula-like text (csv_columns). `names`:
    the tables to write (default every mart), read from the connection's current schema."""
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    written = []
    for name in catalog.mart_names() if names is None else names:
        name = db.sql_identifier(name)
        path = tables / f"{name}.parquet"
        con.execute(f"copy ({ordered(name)}) to ? (format parquet)", [str(path)])  # path: a bind parameter
        written += [path, write_csv(con, name, tables / f"{name}.csv")]
    return written

@contextmanager
def in_schema(con: duckdb.DuckDBPyConnection, schema: str) -> Iterator[None]:
    """Unqualified table names read `schema` first (seeds and macros still resolve from main): the
    public tier's writers are the restricted ones run over the public schema."""
    before = con.execute("select current_schema()").fetchone()[0]
    con.execute("set schema = ?", [db.sql_identifier(schema)])
    try:
        yield
    finally:
        con.execute("set schema = ?", [before])
