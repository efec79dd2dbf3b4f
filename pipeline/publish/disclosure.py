"""The public tier in the run's database: the DuckDB schema `public` beside the restricted marts.

For every mart the catalog publishes (pipeline/publish/catalog.py: a mart with a disclosure rule) `public.<table>`
has the same rows and columns as the mart, with suppressed cells null (pipeline/publish/disclosure_suppression.py
says how they are chosen), and `public.disclosure_log` holds one row per suppressed cell: table_name,
row_key (the table's `-- unique_key:` values joined with " | ") and column_name; `main.disclosure_log`
adds the rule (restricted).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import duckdb
import pandas as pd

from pipeline.publish import catalog, disclosure_audit
from pipeline.publish.disclosure_rules import TableRule
from pipeline.publish.disclosure_suppression import suppress_frames
from pipeline.settings.config_sections import DisclosureSettings as Settings
from pipeline.transform import db

SCHEMA = "public"
LOG_TABLE = "disclosure_log"


def public_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts the public tier publishes (every mart with a rule, in the models' order)."""
    rules = catalog.disclosure_rules()
    present = {n for n, in con.execute("select table_name from information_schema.tables where table_schema = 'main'")
               .fetchall()}
    return [n for n in catalog.mart_names() if n in rules and n in present]


class PublicTierError(Exception):
    """The public tier could not be built: names the table and column. The restricted tier is kept."""

    def __init__(self, table: str, column: str, cause: str):
        super().__init__(table, column, cause)
        self.table, self.column, self.cause = table, column, cause
        self.outputs: list = []   # the restricted tier's files, written and kept (set by publish)

    def __str__(self) -> str:
        return f"the public tier failed in table {self.table}, column {self.column}: {self.cause}"


def _numeric_frame(name: str, frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Every column a rule names as a number, as plain float (DuckDB gives nullable Int64 columns whose
    blanks, e.g. the "needs a record extract" rows, are pd.NA, which numpy arithmetic cannot hold);
    a column that is not numeric stops the public tier, naming it."""
    rule = catalog.MARTS[name].disclosure
    named = {*rule.counts, *(c for c, _ in rule.groups)}   # the counts the rules compare and add up
    frame = frame.copy()
    for column in frame.columns:
        if column in key:
            continue
        dtype = frame[column].dtype
        if column in named and not pd.api.types.is_numeric_dtype(dtype) and frame[column].notna().any():
            raise PublicTierError(name, column, f"a count column holds {dtype} values, not numbers")
        if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_numeric_dtype(dtype) \
                and not pd.api.types.is_bool_dtype(dtype):
            frame[column] = frame[column].astype("float64")
    return frame


def _fails(frames: dict, keys: dict, settings: Settings, name: str, rule: TableRule) -> bool:
    try:
        suppress_frames({name: frames[name]}, {name: keys[name]}, settings, rules={name: rule}, mirrors=())
    except Exception:  # noqa: BLE001  (looking for the culprit of the error being reported)
        return True
    return False


def _failing_table(frames: dict, keys: dict, settings: Settings) -> tuple[str, str]:
    """After suppress_frames failed: the table, then the count column, that fail on their own."""
    for name, rule in ((n, catalog.MARTS[n].disclosure) for n in frames):
        if not _fails(frames, keys, settings, name, rule):
            continue
        for column in rule.counts:
            only = dataclasses.replace(rule, counts=(column,), groups=tuple(g for g in rule.groups if g[0] == column),
                                       derived={k: v for k, v in rule.derived.items() if k == column})
            if _fails(frames, keys, settings, name, only):
                return name, column
        return name, "(several)"
    return "(several tables)", "(several)"


def _casts(con: duckdb.DuckDBPyConnection, column: str, dtype: str) -> bool:
    try:
        con.execute(f'select cast("{column}" as {dtype}) from _public_frame').fetchall()
        return True
    except duckdb.Error:
        return False


def build_public_schema(con: duckdb.DuckDBPyConnection, cfg_settings: Settings) -> dict[str, int]:
    """Write `public.<table>` for every public table, `public.disclosure_log` (which cells are suppressed,
    not why) and `main.disclosure_log` (with the rule: restricted); returns suppressed cells per rule.
    The public tables keep the marts' column types (values nulled, never retyped). Any failure is a
    PublicTierError naming the table and column."""
    models = db.load_models(("marts",))
    names = public_tables(con)
    frames, keys = {}, {}
    for name in names:
        rule = catalog.MARTS[name].disclosure
        sql = rule.prepare or f"select * from {db.sql_identifier(name)}"
        try:
            frame = con.execute(sql).df()
        except duckdb.Error as exc:
            raise PublicTierError(name, "(all)", f"reading the table failed: {exc}") from exc
        keys[name] = tuple(models[name].unique_key)
        frames[name] = _numeric_frame(name, frame, keys[name])
    try:
        public, log = suppress_frames(frames, keys, cfg_settings)
    except Exception as exc:
        table, column = _failing_table(frames, keys, cfg_settings)
        raise PublicTierError(table, column, f"{type(exc).__name__}: {exc}") from exc
    con.execute(f"create schema if not exists {SCHEMA}")
    all_types: dict[str, dict[str, str]] = {}
    for table, column, dtype in con.execute("select table_name, column_name, data_type from information_schema.columns "
                                            "where table_schema = 'main'").fetchall():
        all_types.setdefault(table, {})[column] = dtype
    for name in names:
        frame = public[name]
        # a number column with suppressed cells back to numbers (None -> NaN, which DuckDB reads as null): scanning
        # Python objects is the slow part of writing the table
        frame = frame.assign(**{c: frame[c].astype("float64") for c in frame.columns
                                if frame[c].dtype == object and pd.api.types.is_float_dtype(frames[name][c])})
        types = all_types[name]
        con.register("_public_frame", frame)
        select = ", ".join(f'cast("{c}" as {types[c]}) as "{c}"' for c in frame.columns)
        try:
            con.execute(f"create or replace table {SCHEMA}.{db.sql_identifier(name)} as select {select} from _public_frame")
        except duckdb.Error as exc:
            column = next((c for c in frame.columns if not _casts(con, c, types[c])), "(all)")
            raise PublicTierError(name, column, f"its values do not fit the mart's column type: {exc}") from exc
        finally:
            con.unregister("_public_frame")
    con.register("_log_frame", log)
    con.execute(f"create or replace table main.{LOG_TABLE} as select cast(table_name as varchar) as table_name, "
                "cast(row_key as varchar) as row_key, cast(column_name as varchar) as column_name, "
                "cast(rule as varchar) as rule from _log_frame order by all")
    con.unregister("_log_frame")
    # the public log says which cells are blank, never why (a rule would say "this one is 1 to 4");
    # rounding applies to whole columns and is stated in the pack, not listed cell by cell
    con.execute(f"create or replace table {SCHEMA}.{LOG_TABLE} as select table_name, row_key, column_name "
                f"from main.{LOG_TABLE} where rule <> 'rounded' order by all")
    # the audit's ranges are restricted: they sit in the main schema, never in `public`
    con.register("_audit_frame", log.attrs.get("audit") if log.attrs.get("audit") is not None
                 else pd.DataFrame(columns=disclosure_audit.COLUMNS))
    con.execute(f"create or replace table main.{disclosure_audit.TABLE} as select * from _audit_frame")
    con.unregister("_audit_frame")
    return dict(log["rule"].value_counts()) if len(log) else {}


def summary(counts: dict[str, Any]) -> str:
    return ", ".join(f"{n:,} {rule}" for rule, n in sorted(counts.items())) or "nothing suppressed"
