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
    con.execute(f"load '{ext}'")


def load_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """Every reference CSV in sql/seeds becomes a table seed_<name> (all text, as versioned)."""
    for csv in sorted(SEEDS_DIR.glob("*.csv")):
        con.execute(
            f"create or replace table seed_{csv.stem} as "
            f"select * from read_csv('{csv}', header = true, all_varchar = true)"
        )


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    load_spatial(con)  # some macros build geometries
    con.execute((SQL_DIR / "macros.sql").read_text())


def set_variables(con: duckdb.DuckDBPyConnection, variables: dict[str, Any]) -> None:
    for name, value in variables.items():
        con.execute(f"set variable {name} = ?", [value])


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


# Functions pipeline.geography registers from Python (scipy, esda).
PYTHON_FUNCTIONS = ("chi2_ppf", "norm_sf", "gi_star_grid")


def python_function_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The Python functions and every macro that calls one, directly or through another macro."""
    macros = dict(con.execute("select function_name, coalesce(macro_definition, '') from duckdb_functions() "
                              "where function_type in ('macro', 'table_macro') and not internal").fetchall())
    names = set(PYTHON_FUNCTIONS)
    while True:
        more = {m for m, body in macros.items() if m not in names
                and names & set(re.findall(r"[a-z_][a-z0-9_]*", body.lower()))}
        if not more:
            return names
        names |= more


def run_models(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Build every model in `layers` as a table; returns the names in build order.

    A model that calls a Python function runs on one DuckDB thread, the calling one: Python code is
    then never run on DuckDB's worker threads (a suspect in the rare native crashes of the build,
    issue 7 item 13), at little cost, since the GIL serialises those calls anyway.
    """
    sources = {name: path.read_text() for name, path in model_files(layers).items()}
    order = model_order(sources)
    python_names = python_function_names(con)
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    for name in order:
        single = bool(python_names & set(re.findall(r"[a-z_][a-z0-9_]*", _strip_comments(sources[name]).lower())))
        try:
            if single:
                con.execute("set threads = 1")
            con.execute(f"create or replace table {name} as {sources[name]}")
        except duckdb.Error as exc:
            raise RuntimeError(f"SQL model {name} failed: {exc}") from exc
        finally:
            if single:
                con.execute("set threads = ?", [threads])
    return order
