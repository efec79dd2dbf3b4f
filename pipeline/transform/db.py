"""DuckDB plumbing: connections, seeds, macros and the layered SQL models in sql/.

Models are plain `select` statements, one per file (dbt style). Each becomes a table named after
its file. A model runs after every model it names (outside comments and string literals), never
reads a later layer, and is checked against the `-- unique_key:` in its header; sql/tests holds
data tests that run after every build.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

from pipeline.settings.config import SEEDS_DIR, SQL_DIR
from pipeline.transform import rules

LAYERS = ("staging", "intermediate", "marts")   # what an annual run builds
TRACE_MODELS = os.environ.get("SVNA_TRACE_MODELS")   # a file: each model's name is appended before it runs
# sql/monthly reads the annual layers and is built only by the monthly refresh (pipeline.runs.monthly)
LAYER_ORDER = LAYERS + ("monthly", "multi_area")   # sql/multi_area: over the combined units (pipeline.runs.multi_area)
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


def load_seeds(con: duckdb.DuckDBPyConnection, seeds_dir: Path | None = None) -> None:
    """Every reference CSV in sql/seeds (or `seeds_dir`) becomes a table seed_<name> (all text, as versioned)."""
    for csv in sorted((seeds_dir or SEEDS_DIR).glob("*.csv")):
        # quoting stated, not sniffed: the rule seed's SQL cells hold quotes, commas and backslashes
        con.execute(
            f"create or replace table {sql_identifier('seed_' + csv.stem)} as "
            "select * from read_csv(?, header = true, all_varchar = true, quote = '\"', escape = '\"')", [str(csv)]
        )


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    load_spatial(con)  # some macros build geometries
    con.execute((SQL_DIR / "macros.sql").read_text())


def set_variables(con: duckdb.DuckDBPyConnection, variables: dict[str, Any]) -> None:
    for name, value in variables.items():
        con.execute(f"set variable {sql_identifier(name)} = ?", [value])


class ModelError(RuntimeError):
    """A model that cannot be built or trusted: its SQL failed, its layout breaks the layer rules, its
    unique key is not unique, or a data test in sql/tests returned rows."""


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    refs: frozenset[str]          # the other models it reads
    unique_key: tuple[str, ...]   # from its `-- unique_key: a, b` header line; () when it states none


# Comments and string literals never name a model: 'int_x' in a string or `-- from int_x` is not a reference.
_NOT_CODE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table of that name exists in any schema of the connection (a model, a ref_* or raw_* table)."""
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = ?", [name]).fetchone()[0])


def sql_identifiers(sql: str) -> set[str]:
    return set(_IDENTIFIER.findall(_NOT_CODE.sub(" ", sql).lower()))


def _unique_key(sql: str) -> tuple[str, ...]:
    match = re.search(r"^--\s*unique_key:\s*(.+)$", sql, re.MULTILINE | re.IGNORECASE)
    return tuple(c.strip() for c in match.group(1).split(",") if c.strip()) if match else ()


def model_files(layers: tuple[str, ...] = LAYERS) -> dict[str, Path]:
    return {name: m.path for name, m in load_models(layers).items()}


def load_models(layers: tuple[str, ...] = LAYERS, sql_dir: Path = SQL_DIR) -> dict[str, Model]:
    """Every model in `layers`, checked: one model per name, and no model reads a later layer
    (staging -> intermediate -> marts). Parsed once per process while the files are unchanged (a run
    asks for the marts' models about a hundred times while publishing)."""
    files = tuple((layer, path, _version(path)) for layer in layers for path in sorted((sql_dir / layer).glob("*.sql")))
    return dict(_parse_models(sql_dir, files, _version(rules.seed_path(sql_dir))))


def _version(path: Path) -> tuple[int, int] | None:
    """What tells a changed file: its modification time (ns) and size."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=32)
def _parse_models(sql_dir: Path, files: tuple[tuple[str, Path, tuple | None], ...],
                  rule_seed: tuple | None) -> dict[str, Model]:
    """load_models' work on the files (layer, path, version); the versions of the files and of the
    rule seed key the cache."""
    found: dict[str, tuple[str, Path, str]] = {}
    for layer, path, _ in files:
        if path.stem in found:
            raise ModelError(f"two models are named {path.stem}: {found[path.stem][1]} and {path}")
        # quarantine rule placeholders are expanded first, so the rules' own references count
        found[path.stem] = (layer, path, rules.render(path.stem, path.read_text(), sql_dir=sql_dir))
    models = {}
    for name, (layer, path, sql) in found.items():
        refs = frozenset(sql_identifiers(sql) & set(found) - {name})
        for ref in refs:
            if LAYER_ORDER.index(found[ref][0]) > LAYER_ORDER.index(layer):
                raise ModelError(f"{layer} model {name} reads {found[ref][0]} model {ref}: a model reads only "
                                 f"its own layer or an earlier one ({' -> '.join(LAYER_ORDER)})")
        models[name] = Model(name, layer, path, sql, refs, _unique_key(sql))
    return models


def model_order(models: dict[str, Model], select: list[str] | None = None, upstream: bool = False) -> list[str]:
    """Build order: each model after the models it reads. `select` limits it to those models (and,
    with `upstream`, everything they read, directly or not)."""
    chosen = set(models) if select is None else set(select)
    unknown = sorted(chosen - set(models))
    if unknown:
        raise ModelError(f"no model named {', '.join(unknown)}")
    todo = list(chosen) if upstream else []
    while todo:
        for ref in models[todo.pop()].refs - chosen:
            chosen.add(ref)
            todo.append(ref)
    graph = {name: set(models[name].refs & chosen) for name in chosen}
    return list(TopologicalSorter(graph).static_order())


def check_unique_key(con: duckdb.DuckDBPyConnection, model: Model, rows: int | None = None) -> None:
    """`rows`: the model's row count when known; an empty model has nothing to check."""
    if not model.unique_key or rows == 0:
        return
    key = ", ".join(model.unique_key)
    duplicated = con.execute(f"select count(*) from (select {key} from {model.name} group by all "
                             "having count(*) > 1)").fetchone()[0]
    if duplicated:
        raise ModelError(f"model {model.name}: its unique_key ({key}) has {duplicated} value(s) on more than one row")


def data_tests(sql_dir: Path = SQL_DIR) -> dict[str, str]:
    """sql/tests/*.sql: each a query returning the rows that break a rule (none = pass)."""
    return {p.stem: p.read_text() for p in sorted((sql_dir / "tests").glob("*.sql"))}


def run_data_tests(con: duckdb.DuckDBPyConnection, built: set[str], sql_dir: Path = SQL_DIR) -> list[str]:
    """Run every data test whose models were all built here; raises on the first one that returns rows."""
    ran = []
    all_models = set(load_models(sql_dir=sql_dir))
    for name, sql in data_tests(sql_dir).items():
        needs = sql_identifiers(sql) & all_models
        if not needs or not needs <= built:
            continue
        rows = con.execute(f"select * from ({sql}) limit 3").fetchall()
        if rows:
            total = con.execute(f"select count(*) from ({sql})").fetchone()[0]
            raise ModelError(f"data test {name} (sql/tests/{name}.sql) failed: {total} row(s) break it, e.g. {rows}")
        ran.append(name)
    return ran


# Functions registered from Python (scipy, esda) through create_python_function: models calling them
# run on one DuckDB thread (see run_models).
PYTHON_FUNCTIONS: set[str] = set()


def create_python_function(con: duckdb.DuckDBPyConnection, name: str, fn, args: list[str], result: str,
                           kind: str = "arrow", null_handling: str = "default") -> None:
    """Register (or replace) a Python function the SQL models call, and note its name. With
    null_handling "special" the function sees nulls and may return them."""
    if con.execute("select count(*) from duckdb_functions() where function_name = ?", [name]).fetchone()[0]:
        con.remove_function(name)
    con.create_function(name, fn, args, result, type=kind, null_handling=null_handling, side_effects=False)
    PYTHON_FUNCTIONS.add(name)


def python_function_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The Python functions and every macro that calls one, directly or through another macro."""
    macros = dict(con.execute("select function_name, coalesce(macro_definition, '') from duckdb_functions() "
                              "where function_type in ('macro', 'table_macro') and not internal").fetchall())
    names = set(PYTHON_FUNCTIONS)
    while True:
        more = {m for m, body in macros.items() if m not in names
                and names & sql_identifiers(body)}
        if not more:
            return names
        names |= more


def without_input(con: duckdb.DuckDBPyConnection, models: dict[str, Model], order: list[str], absent: set[str]) -> set[str]:
    """The models in `order` with no rows when the staging models in `absent` have none: those staging
    models, and each model that reads only such models (any other table it reads: reference data,
    seeds, raw tables, may give it rows). tests/unit/transform/test_model_runner.py runs the
    skipped models in full on real builds and checks that they are empty."""
    tables = {row[0] for row in con.execute("select table_name from duckdb_tables() union all "
                                             "select view_name from duckdb_views()").fetchall()}
    skipped: set[str] = set()
    for name in order:
        model = models[name]
        if model.layer == "staging":
            if name in absent:
                skipped.add(name)
        elif model.refs and model.refs <= skipped and not sql_identifiers(model.sql) & (tables - skipped):
            skipped.add(name)
    return skipped


def run_models(con: duckdb.DuckDBPyConnection, select: list[str] | None = None, upstream: bool = False,
               layers: tuple[str, ...] = LAYERS, sql_dir: Path = SQL_DIR, absent: set[str] = frozenset()) -> list[str]:
    """Build models as tables (all of them, or `select` with `upstream` ancestors), check each model's
    unique key, then run the data tests the built models allow. Returns the names in build order.

    `absent`: staging models of input kinds the run has no files of. The models that read only those
    are created with their columns and no rows, without running their query (the data.police.uk chain
    of a run with no data.police.uk files costs nothing).

    A model that calls a Python function runs on one DuckDB thread, the calling one: Python code is
    then never run on DuckDB's worker threads (a suspect in the rare native crashes of the build,
    issue 7 item 13), at little cost, since the GIL serialises those calls anyway.
    """
    models = load_models(layers, sql_dir)
    order = model_order(models, select, upstream)
    python_names = python_function_names(con)
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    skipped = without_input(con, models, order, absent) if absent else set()
    for name in order:
        sql = models[name].sql
        if name in skipped:  # the same columns; DuckDB plans `where false` as an empty result, reading nothing
            sql = f"select * from (\n{sql}\n) where false"
        single = bool(python_names & sql_identifiers(sql))
        if TRACE_MODELS:  # after a native crash, the file's last line names the model that was running
            with open(TRACE_MODELS, "a") as trace:
                trace.write(f"{os.getpid()} {name}\n")
        try:
            if single:
                con.execute("set threads = 1")
            rows = con.execute(f"create or replace table {sql_identifier(name)} as {sql}").fetchone()[0]
        except duckdb.Error as exc:
            raise ModelError(f"SQL model {name} failed: {exc}") from exc
        finally:
            if single:
                con.execute("set threads = ?", [threads])
        check_unique_key(con, models[name], rows)
    run_data_tests(con, set(order), sql_dir)
    return order
