"""The validation gate: Great Expectations suites over the staged tables, run before publishing.

One suite per canonical table and input kind (`offences`, `victims`, `suspects`, `mps_counts`)
plus `reconciliation` (per input file), built in code (pipeline.checks.validation_suites, each input kind
naming its own) and versioned by SUITE_VERSION. They
validate the staged DuckDB tables with their row-level verdicts (the `*_checked` models) after the
models are built and before anything is published.

Row-level rules are declared once, in sql/seeds/quarantine_rules.csv (pipeline/transform/rules.py): the
checked models list every rule a row fails (`failed_rules`) and each rule of a suite's model becomes
one generated expectation on its flag, so a new rule is validated without code here. The suites
also check what no rule states (columns, types, rows present, the area, reconciliation), and each
expectation has a gate:

- ``batch``: the table as a whole (columns, types, rows present, reconciliation). Any failure
  stops the run.
- ``row``: one SQL quarantine rule of the ``row`` stage. It passes while the share of rows failing it stays
  within the quarantine threshold (``mostly``); and every row it finds must have been quarantined
  by SQL (a row that fails the suite is never published), else the run stops.
- ``published``: holds for every row that passed the row rules (``row_condition``
  quarantine_rule is null): a ``copy`` rule (one row per crime reference per extract version, ...)
  finds no later copy among the published rows.
- ``area``: coordinates inside the area's bounding box (the configured wards widened by the
  geography snap tolerance, else Great Britain). The exact test is the geography step's
  (points outside every ward are quarantined as `outside_area`; points outside Great Britain are
  treated as unlocated), so this gate only bounds the share: above the quarantine threshold it
  means a wrong CRS or the wrong area, and the run stops.

A failure raises InputError naming the file, the column, the rule, expected versus found and at
most five examples: the crime reference and the failing value only, never a whole record.
Great Expectations' HTML Data Docs are written to ``<out_dir>/validation/``.

Importing Great Expectations costs ~2.3 s, so it is imported inside `validate` only.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.checks.validation_suites import (
    GATES,
    NOT_SHOWN,
    PERSON_COLUMNS,
    Spec,
    Suite,
    build_suites,
    suite_fingerprint,
)
from pipeline.errors import InputError
from pipeline.settings.config import RunConfig

SUITE_VERSION = "2.0.0"  # bump when an expectation is added, removed or changed
DOCS_DIR = "validation"
log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ running

def _run_name(con: duckdb.DuckDBPyConnection) -> str:
    """The svna run id: the build's variable, else the one the marts carry (a new connection)."""
    for sql in ("select getvariable('run_id')", "select max(run_id) from quarantine_summary"):
        try:
            value = con.execute(sql).fetchone()
            if value and value[0]:
                return str(value[0])
        except duckdb.Error:
            continue
    return "svna"


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The batch as pandas with numpy dtypes (nullable extension types become float/object)."""
    # one DuckDB thread: a rare hang at 100% CPU inside this fetch was seen on the default threads
    # (docs/performance.md, "Native crashes"); the batches are small, so one thread costs little
    con.execute("set threads = 1")
    df = con.execute(sql).df()
    for column in df.columns:
        dtype = str(df[column].dtype)
        if dtype in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float64", "Float32"):
            if column not in ("row_id", "source_row"):
                df[column] = df[column].astype("float64")
        elif dtype == "boolean":
            df[column] = df[column].astype(object).where(df[column].notna(), None)
    for column in ("age",):
        if column in df and str(df[column].dtype).startswith("int"):
            df[column] = df[column].astype("float64")
    return df


def docs_safe(df: pd.DataFrame) -> pd.DataFrame:
    """The batch as Great Expectations sees it: every text cell HTML-escaped, because the Data Docs
    print failing values into HTML unescaped. Escaping is one-to-one and value sets are escaped
    alike (_expectation), so every expectation's verdict is the same as on the raw values."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            # escape only the cells that need it: one vectorised test per column, not a Python call per cell
            try:
                special = out[column].str.contains(_HTML_SPECIAL, regex=True, na=False)
            except AttributeError:  # an object column holding no text at all
                continue
            if special.any():
                out.loc[special, column] = out.loc[special, column].map(html.escape)
    return out


_HTML_SPECIAL = r"[&<>\"']"  # the characters html.escape changes


def _condition(where: list[tuple]):
    from great_expectations.expectations.row_conditions import Column

    condition = None
    for column, op, value in where:
        part = _comparison(Column(column), op, value)
        condition = part if condition is None else condition & part
    return condition


def _comparison(column, op: str, value: Any):
    if op == "is_null":
        return column.is_null()
    if op == "is_not_null":
        return column.is_not_null()
    if op == "eq":
        return column == value
    if op == "ne":
        return column != value
    raise ValueError(f"unknown row condition {op!r}")


def _expectation(gx, spec: Spec, index: int, mostly: float):
    kwargs = dict(spec.kwargs)
    if "value_set" in kwargs:  # compared with the escaped batch (docs_safe), so escaped the same way
        kwargs["value_set"] = [html.escape(v) if isinstance(v, str) else v for v in kwargs["value_set"]]
    if spec.gate in ("row", "area") and spec.expectation not in ("ExpectColumnToExist", "ExpectTableRowCountToBeBetween"):
        kwargs["mostly"] = mostly
    if spec.where:
        kwargs["row_condition"] = _condition(spec.where)
    # the rule text can name an input file (area bounds): escaped before it reaches the Data Docs' HTML
    meta = {"gate": spec.gate, "rule": html.escape(spec.expected), "spec_index": index}
    if spec.quarantine_rule:
        meta["quarantine_rule"] = spec.quarantine_rule
    notes = html.escape(f"{spec.gate} gate: {spec.expected}") + (f" (SQL quarantine rule `{spec.quarantine_rule}`)"
                                                                  if spec.quarantine_rule else "")
    return getattr(gx.expectations, spec.expectation)(**kwargs, meta=meta, notes=notes)


def _context(gx, docs_dir: Path):
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except Exception as exc:  # noqa: BLE001 - progress bars are cosmetic
        log.debug("progress bars left on: %s", exc)
    for name in list(context.list_data_docs_sites()):  # the default site writes to a temporary folder: never
        context.delete_data_docs_site(name)
    context.add_data_docs_site("svna", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    return context


def _example(value: Any) -> str:
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "blank"
    return str(value)


@dataclass
class Failure:
    suite: Suite
    spec: Spec
    found: str
    rows: pd.DataFrame  # the failing rows of the batch (row_id, source_file, crime_ref, spec columns)
    order: int = 0

    def error(self) -> InputError:
        files = sorted(set(self.rows["source_file"].dropna())) if len(self.rows) else []
        file = files[0] if len(files) == 1 else (f"{files[0]} (and {len(files) - 1} other file(s))" if files
                                                  else f"the {self.suite.name} inputs")
        examples = []
        for _, row in self.rows.head(5).iterrows():
            shown = [c for c in self.spec.shown_columns if c in row and c != "crime_ref" and c not in PERSON_COLUMNS]
            if self.spec.value_column:  # a rule that shows no value (e.g. a blank reference) quotes none
                shown = [c for c in shown if not _blank(row[c]) and row[c] != NOT_SHOWN]
            value = ", ".join(_example(row[c]) for c in shown)
            ref = row.get("crime_ref")
            ref = "no crime reference" if ref is None or (isinstance(ref, float) and pd.isna(ref)) else str(ref)
            examples.append(f"{ref}: {value}" if value else ref)
        column = self.spec.label or ", ".join(self.spec.columns) or "-"
        if self.spec.label_column and self.spec.label_column in self.rows:
            column = ", ".join(dict.fromkeys(str(c) for c in self.rows[self.spec.label_column].head(5).dropna())) or "-"
        rule = (f"{self.spec.expected} [Great Expectations suite '{self.suite.name}' v{SUITE_VERSION}: "
                f"{_snake(self.spec.expectation)}]")
        return InputError(file, column, rule, self.found, examples=examples)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _failing_rows(result, df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    index = (result.result or {}).get("unexpected_index_list") or []
    ids = [item["row_id"] for item in index if isinstance(item, dict) and "row_id" in item]
    keep = (["row_id", "source_file", "crime_ref", "quarantine_rule"] + spec.columns + spec.shown_columns
            + [spec.label_column])
    keep = [c for c in keep if c in df]
    rows = df.loc[df["row_id"].isin(ids), list(dict.fromkeys(c for c in keep if c in df))]
    return rows.sort_values("row_id")


def _judge(suite: Suite, spec: Spec, result, df: pd.DataFrame, known_rules: set[str], threshold: float) -> Failure | None:
    rows = _failing_rows(result, df, spec)
    res = result.result or {}
    if result.exception_info and result.exception_info.get("raised_exception"):
        message = str(result.exception_info.get("exception_message") or "an error")[:200]
        message = re.sub(r"(['\"]).*?\1", "'...'", message)  # quoted text may be a cell value: never echo it
        return Failure(suite, spec, f"the check could not run: {message}", rows.head(0))
    counted = res.get("element_count") or len(df)
    bad = res.get("unexpected_count") or len(rows)
    if spec.gate == "row" and spec.quarantine_rule in known_rules:
        leaked = rows[rows["quarantine_rule"].isna()] if "quarantine_rule" in rows else rows.head(0)
        if len(leaked):
            return Failure(suite, spec, f"{len(leaked)} row(s) fail it but were not quarantined by rule "
                           f"'{spec.quarantine_rule}', so they would be published", leaked)
    if result.success:
        return None
    if spec.gate in ("row", "area"):
        pct = 100.0 * bad / counted if counted else 0.0
        return Failure(suite, spec, f"{bad:,} of {counted:,} rows ({pct:.1f}%) fail, above the {threshold:g}% "
                       "quarantine threshold (quarantine_threshold_pct in the config)", rows)
    if spec.expectation == "ExpectTableRowCountToBeBetween":
        return Failure(suite, spec, f"{res.get('observed_value', 0)} rows", rows)
    if spec.expectation == "ExpectColumnToExist":
        return Failure(suite, spec, "no such column", rows)
    if spec.expectation == "ExpectColumnValuesToBeInTypeList":
        return Failure(suite, spec, f"type {res.get('observed_value')}", rows)
    return Failure(suite, spec, f"{bad:,} of {counted:,} rows fail it", rows)


def validate(con: duckdb.DuckDBPyConnection, cfg: RunConfig, out_dir: Path) -> dict:
    """Run every suite on the built tables; write Data Docs to out_dir/validation; stop on failure.

    Returns a summary per suite (aggregates only): success, rows, evaluated expectations, failed
    expectations, suite version and fingerprint. Raises InputError for the first failure in gate
    order (batch, published, row, area) after the Data Docs are written.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    docs_dir = Path(out_dir) / DOCS_DIR
    docs_dir.mkdir(parents=True, exist_ok=True)
    context = _context(gx, docs_dir)
    source = context.data_sources.add_pandas("svna")
    threshold = float(cfg.quarantine_threshold_pct)
    mostly = max(0.0, min(1.0, 1.0 - threshold / 100.0))
    known_rules = {r[0] for r in con.execute("select rule from seed_quarantine_rules").fetchall()}
    gx_run = RunIdentifier(run_name=_run_name(con), run_time=datetime.now(UTC))
    # where the Data Docs will be once the run's outputs are swapped into place
    summary: dict[str, Any] = {"suite_version": SUITE_VERSION, "data_docs": str(Path(cfg.output) / DOCS_DIR / "index.html"),
                               "quarantine_threshold_pct": threshold, "suites": {}}
    failures: list[Failure] = []
    for suite in build_suites(con, cfg):
        df = _frame(con, suite.sql)
        gx_suite = context.suites.add(gx.ExpectationSuite(
            name=suite.name,
            expectations=[_expectation(gx, spec, index, mostly) for index, spec in enumerate(suite.specs)],
            meta={"svna_suite_version": SUITE_VERSION, "validates": suite.table, "description": suite.description,
                  "fingerprint": suite_fingerprint(suite)},
        ))
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("staged")
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))
        result = definition.run(batch_parameters={"dataframe": docs_safe(df)}, run_id=gx_run, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": ["line", "row_id"], "partial_unexpected_count": 5})
        failed = []
        by_index = {int(res.expectation_config.meta["spec_index"]): res for res in result.results}
        for index, spec in enumerate(suite.specs):
            res = by_index[index]
            failure = _judge(suite, spec, res, df, known_rules, threshold)
            if failure is not None:
                failure.order = GATES.index(spec.gate)
                failures.append(failure)
                failed.append(f"{_snake(spec.expectation)}({', '.join(spec.columns)})")
        summary["suites"][suite.name] = {
            "success": not failed, "rows": len(df), "evaluated": len(suite.specs), "failed": failed,
            "suite_version": SUITE_VERSION, "fingerprint": suite_fingerprint(suite),
        }
    context.build_data_docs(site_names=["svna"])
    summary["success"] = not failures
    (docs_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    if failures:
        first = min(failures, key=lambda f: f.order)
        raise first.error()
    return summary
