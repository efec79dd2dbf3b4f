"""DuckDB plumbing: connections, seeds, macros and the layered SQL models in sql/.

Models are plain `select` statements, one per file (dbt style). Each becomes a table named after
its file. Dependencies are found by name, so a model runs after every model it mentions.
"""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

from pipeline.config import SEEDS_DIR, SQL_DIR

LAYERS = ("staging", "intermediate", "marts")
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def sql_literal(text: str | Path) -> str:
    """`text` as a SQL string literal, for the few statements that take no bind parameter (LOAD):
    never paste a path or value into SQL any other way."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A table or column name svna made itself (model file names, canonical columns), checked before
    it is put into SQL text."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def connect(path: str | Path = ":memory:", read_only: bool = False,
            settings: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """`settings`: DuckDB settings from the run config's `duckdb:` key (memory_limit, threads, ...)."""
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set preserve_insertion_order = true")
    for name, value in (settings or {}).items():
        if not re.fullmatch(r"[a-z_]+", str(name)):
            raise ValueError(f"not a DuckDB setting name: {name!r}")
        con.execute(f"set {name} = ?", [value])
    return con


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB spatial from the installed wheel, never from the network (DESIGN §9)."""
    import duckdb_extension_spatial

    ext = next(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
    con.execute(f"load {sql_literal(ext)}")  # LOAD takes no bind parameter


def load_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """Every reference CSV in sql/seeds becomes a table seed_<name> (all text, as versioned)."""
    for csv in sorted(SEEDS_DIR.glob("*.csv")):
        con.execute(
            f"create or replace table {sql_identifier('seed_' + csv.stem)} as "
            "select * from read_csv(?, header = true, all_varchar = true)", [str(csv)]
        )


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    load_spatial(con)  # some macros build geometries
    con.execute((SQL_DIR / "macros.sql").read_text())


def set_variables(con: duckdb.DuckDBPyConnection, variables: dict[str, Any]) -> None:
    for name, value in variables.items():
        con.execute(f"set variable {sql_identifier(name)} = ?", [value])


def model_files(layers: tuple[str, ...] = LAYERS) -> dict[str, Path]:
    return {p.stem: p for layer in layers for p in sorted((SQL_DIR / layer).glob("*.sql"))}


def model_order(models: dict[str, str]) -> list[str]:
    """Order models so each runs after the models its SQL names."""
    graph = {}
    for name, sql in models.items():
        words = set(re.findall(r"[a-z_][a-z0-9_]*", _strip_comments(sql).lower()))
        graph[name] = {other for other in models if other != name and other in words}
    return list(TopologicalSorter(graph).static_order())


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def run_models(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Build every model in `layers` as a table; returns the names in build order."""
    sources = {name: path.read_text() for name, path in model_files(layers).items()}
    order = model_order(sources)
    for name in order:
        try:
            con.execute(f"create or replace table {sql_identifier(name)} as {sources[name]}")
        except duckdb.Error as exc:
            raise RuntimeError(f"SQL model {name} failed: {exc}") from exc
    return order
