"""The Great Expectations suites of a run, described in code without importing Great Expectations.

Each input kind names its suites (pipeline.sources.registry: `suites`); every run adds the
reconciliation suite. pipeline.checks.validation runs them (the gate) and explains a failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline.settings.config import RunConfig
from pipeline.sources import registry
from pipeline.transform import db, rules

GATES = ("batch", "published", "row", "area")
# Great Britain in EPSG:27700 and EPSG:4326 (the CRS's area of use): used when no ward boundaries are configured
GB_BOUNDS = {"easting": (0.0, 700000.0), "northing": (0.0, 1300000.0),
             "longitude": (-9.01, 2.01), "latitude": (49.75, 61.01)}
# person identifiers: a uniqueness rule may check them, but no message ever quotes them (pseudonymised or not)
PERSON_COLUMNS = rules.PERSON_COLUMNS
NOT_SHOWN = "(value not shown)"  # a failing row of a rule that shows no value (e.g. a blank reference)
log = logging.getLogger(__name__)


@dataclass
class Spec:
    """One expectation of a suite, described without importing Great Expectations."""

    expectation: str  # class name in great_expectations.expectations
    kwargs: dict[str, Any]
    gate: str
    expected: str  # the rule in words, as an error message shows it
    quarantine_rule: str | None = None  # the SQL rule a `row` expectation mirrors
    where: list[tuple] = field(default_factory=list)  # row condition: (column, is_null|is_not_null|eq|ne, value)
    # a generated rule spec checks a flag column but reports the rule's failing column and value:
    label: str = ""             # the failing column's name, as messages show it
    label_column: str = ""      # else a batch column holding it per row (e.g. the month cell)
    value_column: str = ""      # the batch column holding the failing value

    @property
    def shown_columns(self) -> list[str]:
        """The batch columns whose values an example quotes."""
        return [self.value_column] if self.value_column else self.columns

    @property
    def columns(self) -> list[str]:
        kw = self.kwargs
        if "column" in kw:
            return [kw["column"]]
        if "column_A" in kw:
            return [kw["column_A"], kw["column_B"]]
        return list(kw.get("column_list", []))


@dataclass
class Suite:
    name: str
    table: str  # what it validates, for the Data Docs and error messages
    sql: str  # the batch: staged rows with row_id, source_file, crime_ref and quarantine_rule
    specs: list[Spec]
    description: str = ""


# ------------------------------------------------------------------------------------------ suites

def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(f"select count(*) from ({sql})").fetchone()[0])


def area_bounds(cfg: RunConfig, margin_m: float = 0.0) -> tuple[dict[str, tuple[float, float]], str]:
    """Bounding box of the configured wards in EPSG:27700 and EPSG:4326, widened by `margin_m`
    metres, else Great Britain's."""
    wards = cfg.reference.get("wards")
    if wards and Path(wards).exists():
        try:
            import pyogrio
            from pyproj import CRS, Transformer

            info = pyogrio.read_info(wards, force_total_bounds=True)
            bounds = tuple(float(b) for b in info["total_bounds"])
            source = CRS.from_user_input(info["crs"] or "EPSG:27700")
            out = {}
            for crs, (x, y) in (("EPSG:27700", ("easting", "northing")), ("EPSG:4326", ("longitude", "latitude"))):
                x0, y0, x1, y1 = Transformer.from_crs(source, crs, always_xy=True).transform_bounds(*bounds)
                pad = margin_m if crs == "EPSG:27700" else margin_m / 111_000 * 2  # degrees, generously
                out[x], out[y] = (x0 - pad, x1 + pad), (y0 - pad, y1 + pad)
            widened = f" widened by {margin_m:g} m" if margin_m else ""
            return out, f"the bounding box of {Path(wards).name}{widened},"
        except Exception as exc:  # noqa: BLE001 - an unreadable boundary file is the geography step's error to report
            log.warning("could not read ward bounds from %s (%s); using Great Britain's", wards, type(exc).__name__)
    return dict(GB_BOUNDS), "Great Britain (the British National Grid's extent),"


def _snap_tolerance(con: duckdb.DuckDBPyConnection) -> float:
    """The geography step's snap tolerance (metres): its variable, else its log table (a new connection)."""
    for sql in ("select getvariable('snap_tolerance_m')",
                "select value from ref_geography_log where item = 'snap_tolerance_m'"):
        try:
            value = con.execute(sql).fetchone()
            if value and value[0] is not None:
                return float(value[0])
        except (duckdb.Error, TypeError, ValueError):
            continue
    return 0.0


def _rule_columns(rule: rules.Rule) -> str:
    """The batch columns of one rule: its failing value (null when the row passes; NOT_SHOWN when the
    rule shows none), so the Data Docs list the failing values, and, when computed, its column."""
    flag = f"list_contains(failed_rules, {db.sql_literal(rule.rule)})"
    out = [f"case when {flag} then coalesce({rule.value_sql}, {db.sql_literal(NOT_SHOWN)}) end "
           f"as {db.sql_identifier('value_' + rule.rule)}"]
    if not rule.column_is_name:
        out.append(f"case when {flag} then cast({rule.column_sql} as varchar) end "
                   f"as {db.sql_identifier('column_' + rule.rule)}")
    return ",\n               ".join(out)


def _rule_specs(model_rules: list[rules.Rule]) -> list[Spec]:
    """One expectation per quarantine rule (sql/seeds/quarantine_rules.csv): a row fails it when the
    checked model lists the rule in `failed_rules` (its value column is then not null). Row rules are share-bounded (`row` gate); copy rules
    must leave no copy among the published rows (`published` gate)."""
    specs = []
    for rule in model_rules:
        flag = {"column": f"value_{rule.rule}"}
        label = {"value_column": f"value_{rule.rule}"}
        label.update({"label": rule.column} if rule.column_is_name else {"label_column": f"column_{rule.rule}"})
        if rule.stage == "row":
            specs.append(Spec("ExpectColumnValuesToBeNull", flag, "row", rule.reason, rule.rule, **label))
        else:
            specs.append(Spec("ExpectColumnValuesToBeNull", flag, "published", rule.reason, rule.rule,
                              [("quarantine_rule", "is_null", None)], **label))
    return specs


def _suite_rules(con: duckdb.DuckDBPyConnection, model: str) -> list[rules.Rule]:
    return [r for r in rules.model_rules(rules.rules_from_table(con), model) if r.stage in ("row", "copy")]


def _rule_sql(model_rules: list[rules.Rule]) -> str:
    return "".join(",\n               " + _rule_columns(r) for r in model_rules)


def _exist(columns: list[str]) -> list[Spec]:
    return [Spec("ExpectColumnToExist", {"column": c}, "batch", f"the staged table must have column {c}")
            for c in columns]


def _types(types: dict[str, list[str]]) -> list[Spec]:
    return [Spec("ExpectColumnValuesToBeInTypeList", {"column": c, "type_list": t}, "batch",
                 f"column {c} must be typed {' or '.join(t)}") for c, t in types.items()]


DATE_TYPES = ["datetime64[us]", "datetime64[ns]", "datetime64[ms]", "datetime64[s]"]
FLOAT_TYPES = ["float64", "Float64"]


def offence_suite(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> Suite:
    bounds, where = area_bounds(cfg, _snap_tolerance(con))
    rule_list = _suite_rules(con, "int_offences_checked")
    sql = f"""
        select row_number() over (order by source_file, source_row) as row_id,
               regexp_extract(source_file, '[^/\\\\]+$') || ':' || source_row as line, source_file, source_row, crime_ref,
               extract_version, extract_date, recorded_date, ho_code, status,
               easting, northing, latitude, longitude, quarantine_rule{_rule_sql(rule_list)}
        from int_offences_checked
    """
    specs = [
        Spec("ExpectTableRowCountToBeBetween", {"min_value": 1}, "batch", "a record extract must have offence rows"),
        *_exist(["crime_ref", "recorded_date", "ho_code", "extract_date", "status", "source_file", "source_row"]),
        *_types({"recorded_date": DATE_TYPES, "extract_date": DATE_TYPES, "easting": FLOAT_TYPES,
                 "northing": FLOAT_TYPES}),
        *_rule_specs(rule_list),
    ]
    for column, (low, high) in bounds.items():
        specs.append(Spec("ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high},
                          "area", f"{column} must lie inside {where} {low:.6g} to {high:.6g}",
                          where=[(column, "ne", 0)]))  # 0 is the usual "no location" placeholder
    return Suite("offences", "int_offences_checked", sql, specs,
                 "Offence rows of every record extract version, typed, with their row-rule verdict.")


def people_suite(con: duckdb.DuckDBPyConnection, role: str) -> Suite:
    rule_list = _suite_rules(con, "int_people_checked")
    sql = f"""
        select row_number() over (order by source_file, source_row) as row_id,
               regexp_extract(source_file, '[^/\\\\]+$') || ':' || source_row as line, source_file, source_row, crime_ref,
               extract_version, extract_date, person_ref, age, sex, quarantine_rule{_rule_sql(rule_list)}
        from int_people_checked
        where person_role = {db.sql_literal(role[:-1])}
    """
    specs = [
        Spec("ExpectTableRowCountToBeBetween", {"min_value": 1}, "batch", f"the {role} files must have rows"),
        *_exist(["crime_ref", "person_ref", "age", "sex", "source_file", "source_row"]),
        *_types({"age": FLOAT_TYPES}),
        Spec("ExpectColumnValuesToBeInSet", {"column": "sex", "value_set": ["male", "female", "unknown"]}, "batch",
             "sex must be male, female, unknown or blank"),
        *_rule_specs(rule_list),
    ]
    return Suite(role, "int_people_checked", sql, specs,
                 f"{role.capitalize()} rows of every record extract version, typed, with their row-rule verdict.")


def counts_suite(con: duckdb.DuckDBPyConnection) -> Suite:
    rule_list = _suite_rules(con, "int_mps_counts_checked")
    sql = f"""
        select row_number() over (order by source_file, source_row, month_start) as row_id,
               regexp_extract(source_file, '[^/\\\\]+$') || ':' || source_row || ' ' || strftime(month_start, '%Y%m') as line,
               source_file, source_row,
               borough_name || coalesce(' ' || ward_code, '') || ' ' || strftime(month_start, '%Y-%m') as crime_ref,
               area_level, lower(borough_name) as borough_key, major_key, minor_key,
               month_start, count_value, quarantine_rule{_rule_sql(rule_list)}
        from int_mps_counts_checked
    """
    specs = [
        Spec("ExpectTableRowCountToBeBetween", {"min_value": 1}, "batch", "MPS count files must have rows"),
        *_exist(["borough_key", "major_key", "minor_key", "month_start", "count_value", "source_file"]),
        *_types({"month_start": DATE_TYPES, "count_value": FLOAT_TYPES}),
        *_rule_specs(rule_list),
    ]
    return Suite("mps_counts", "int_mps_counts_checked", sql, specs,
                 "MPS Borough/Ward Level Crime cells (area x category x month), typed, with their row-rule verdict.")


def reconciliation_suite(cfg: RunConfig) -> Suite:
    sql = """
        select row_number() over (order by source_file, input_table) as row_id,
               regexp_extract(source_file, '[^/\\\\]+$') || ' ' || input_table as line, source_file, input_table,
               input_table as crime_ref, rows_read, rows_in, rows_loaded, rows_superseded, rows_quarantined,
               rows_in - rows_loaded - rows_superseded - rows_quarantined as rows_unaccounted,
               case when rows_in > 0 then rows_loaded + rows_superseded end as rows_valid,
               coalesce(quarantined_pct, 0) as quarantined_pct, reconciled, cast(null as varchar) as quarantine_rule
        from quarantine_summary
        where note is null
    """
    threshold = float(cfg.quarantine_threshold_pct)
    specs = [
        Spec("ExpectColumnValuesToBeBetween", {"column": "rows_unaccounted", "min_value": 0, "max_value": 0}, "batch",
             "rows in must equal rows loaded + superseded + quarantined"),
        Spec("ExpectColumnPairValuesToBeEqual", {"column_A": "rows_read", "column_B": "rows_in",
                                                 "ignore_row_if": "either_value_is_missing"}, "batch",
             "every row the reader counted must reach the database"),
        Spec("ExpectColumnValuesToBeBetween", {"column": "rows_superseded", "min_value": 0}, "batch",
             "rows loaded must not exceed the rows that passed the checks"),
        Spec("ExpectColumnValuesToBeBetween", {"column": "rows_valid", "min_value": 1}, "batch",
             "a file must have rows that pass the row checks"),
        Spec("ExpectColumnValuesToBeBetween", {"column": "quarantined_pct", "max_value": threshold}, "batch",
             f"at most {threshold:g}% of a file's rows may be quarantined (quarantine_threshold_pct in the config)"),
        Spec("ExpectColumnValuesToBeInSet", {"column": "reconciled", "value_set": [True]}, "batch",
             "every input file must reconcile"),
    ]
    return Suite("reconciliation", "quarantine_summary", sql, specs,
                 "Per input file and table: rows read = loaded + superseded + quarantined.")


def record_extract_suites(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> list[Suite]:
    """Offences, and victims and suspects when the extract has them (pipeline.sources.record_extract)."""
    suites = [offence_suite(con, cfg)]
    for role in ("victims", "suspects"):
        if _rows(con, f"select 1 from int_people_checked where person_role = {db.sql_literal(role[:-1])}"):
            suites.append(people_suite(con, role))
    return suites


def mps_counts_suites(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> list[Suite]:
    """The count cells (pipeline.sources.mps_counts)."""
    return [counts_suite(con)]


def build_suites(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> list[Suite]:
    """The suites of this run's input kinds (pipeline.sources.registry; a kind without suites is
    checked by SQL only), then reconciliation."""
    suites = [suite for kind in registry.in_run(cfg) if kind.suites for suite in kind.suites(con, cfg)]
    suites.append(reconciliation_suite(cfg))
    return suites


def not_mirrored() -> set[str]:
    """The seed's rules no expectation mirrors: the CSV reader's (`read` stage) and those on the checked
    models of kinds without suites (data.police.uk in limited mode); SQL alone checks them."""
    seed = rules.load_rules()
    suite_models = {model for kind in registry.kinds().values() if kind.suites for model in kind.checked_models}
    return {r.rule for r in seed} - {r.rule for r in seed if r.model in suite_models and r.stage != "read"}


def suite_fingerprint(suite: Suite) -> str:
    """A short hash of a suite's expectations (with this run's value sets and bounds)."""
    text = json.dumps([(s.expectation, s.kwargs, s.gate, s.quarantine_rule, s.where, s.expected) for s in suite.specs],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
