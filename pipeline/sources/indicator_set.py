"""The delivery plan's indicator set: a CSV the analyst edits -> raw_indicator_set.

One row per indicator (COLUMNS): what it measures (`source_measure`, SOURCE_TYPES), its baseline and
target (a quarter's value), the value at which it turns red (`red_at`; amber between target and red_at),
whether lower or higher is better, and who owns it. The set is a definition, not data: a row that
breaks a rule stops the run naming the line, the column and the rule (a row quietly dropped would
change "N of M met their target"). int_indicator_values and indicator_status evaluate it quarter by quarter.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from pipeline import seeds
from pipeline.errors import InputError
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import InputFile, describe_header, header_key, inputs_to_load
from pipeline.sources.registry import SourceKind

KIND = "indicator_set"
ROLE = "indicators"
COLUMNS = ("id", "name", "plan_theme", "source_measure", "baseline", "target", "red_at", "direction", "owner")
REQUIRED = ("id", "name", "source_measure", "target", "red_at", "direction")
DIRECTIONS = ("lower", "higher")
# source_measure is "<type>:<key>": police counts of a theme, victims under 25 of a theme (record
# extracts), a partner measure (sql/seeds/partner_measures.csv) or a Fingertips indicator id
SOURCE_TYPES = ("police", "police_victims_u25", "partner", "fingertips")
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def create_raw_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table if not exists raw_indicator_set (source_file varchar, source_row integer, id varchar, "
                "indicator varchar, plan_theme varchar, source_type varchar, source_key varchar, baseline double, "
                "target double, red_at double, direction varchar, owner varchar, sort_order integer)")


def _keys() -> dict[str, set[str] | None]:
    """The keys each source type accepts (None: any whole number, a Fingertips indicator id)."""
    return {"police": {r["theme"] for r in seeds.themes()}, "police_victims_u25": {r["theme"] for r in seeds.themes()},
            "partner": {r["measure"] for r in seeds.read_seed("partner_measures")}, "fingertips": None}


def _number(path: Path, line: int, column: str, text: str, required: bool) -> float | None:
    if not text:
        if required:
            raise InputError(str(path), column, f"every indicator needs a {column} (line {line})", "a blank cell")
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        raise InputError(str(path), column, f"the {column} must be a number (line {line})", repr(text)) from None


def parse_row(path: Path, line: int, row: dict[str, str], keys: dict[str, set[str] | None]) -> tuple:
    """One indicator checked and typed (the raw table's columns after source_file, source_row)."""
    for column in REQUIRED:
        if not row.get(column):
            raise InputError(str(path), column, f"every indicator needs a {column} (line {line})", "a blank cell")
    if not ID.fullmatch(row["id"]):
        raise InputError(str(path), "id", f"an indicator id is letters, digits, '.', '_' or '-' (line {line})",
                         repr(row["id"]))
    source_type, _, key = row["source_measure"].partition(":")
    if source_type not in keys or not key:
        raise InputError(str(path), "source_measure", f"a source measure is TYPE:KEY with TYPE one of "
                         f"{', '.join(SOURCE_TYPES)} (line {line})", repr(row["source_measure"]))
    allowed = keys[source_type]
    if (allowed is None and not key.isdigit()) or (allowed is not None and key not in allowed):
        where = {"police": "a theme of sql/seeds/themes.csv", "police_victims_u25": "a theme of sql/seeds/themes.csv",
                 "partner": "a measure of sql/seeds/partner_measures.csv",
                 "fingertips": "a Fingertips indicator id (a whole number)"}[source_type]
        raise InputError(str(path), "source_measure", f"after {source_type}: comes {where} (line {line})", repr(key))
    direction = row["direction"].lower()
    if direction not in DIRECTIONS:
        raise InputError(str(path), "direction", f"the direction is lower or higher: which is better (line {line})",
                         repr(row["direction"]))
    baseline = _number(path, line, "baseline", row.get("baseline", ""), False)
    target = _number(path, line, "target", row["target"], True)
    red_at = _number(path, line, "red_at", row["red_at"], True)
    if (direction == "lower" and red_at < target) or (direction == "higher" and red_at > target):
        raise InputError(str(path), "red_at",
                         f"red_at lies beyond the target on the worse side ({direction} is better: "
                         f"red_at {'>=' if direction == 'lower' else '<='} target) (line {line})",
                         f"target {target:g}, red_at {red_at:g}")
    return (row["id"], row["name"], row.get("plan_theme") or None, source_type, key, baseline, target, red_at,
            direction, row.get("owner") or None)


def ingest_indicator_set(con: duckdb.DuckDBPyConnection, paths: list[Path],
                         seen: dict[tuple[str, str], InputFile] | None = None) -> list[InputFile]:
    create_raw_table(con)
    files, ids, keys = [], {}, _keys()
    for source in inputs_to_load(paths, KIND, ROLE, {} if seen is None else seen, files):
        table = read_csv_text(source, header_hint="source_measure", con=con)
        try:
            positions = {header_key(name): i for i, name in enumerate(table.header)}
            missing = [c for c in COLUMNS if c not in positions]
            if missing:
                raise InputError(str(source.path), missing[0], "an indicator set has the columns " + ", ".join(COLUMNS),
                                 describe_header(table), examples=[f"also missing: {m}" for m in missing[1:]])
            if source.malformed:
                line, rule, detail = source.malformed[0]
                raise InputError(str(source.path), "-",
                                 f"every line of an indicator set must be a whole row (line {line}: {rule})",
                                 detail)
            order = [positions[c] for c in COLUMNS]
            for line, cells in zip(table.lines, table.rows, strict=True):
                kept = sorted(table.kept)
                row = {c: (cells[kept.index(i)] or "").strip() for c, i in zip(COLUMNS, order, strict=True)}
                if not any(row.values()):
                    continue
                parsed = parse_row(source.path, line, row, keys)
                if parsed[0] in ids:
                    raise InputError(str(source.path), "id",
                                     f"each indicator id appears once (line {line}; first on {ids[parsed[0]]})",
                                     repr(parsed[0]))
                ids[parsed[0]] = f"line {line}"
                con.execute("insert into raw_indicator_set values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [str(source.path), line, *parsed, len(ids)])
        finally:
            table.close()
        files.append(source)
    return files


def ingest_input(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    """One `inputs:` entry of kind indicator_set (pipeline.sources.registry)."""
    return ingest_indicator_set(con, spec.paths[ROLE], seen=seen)


SOURCE = SourceKind(
    name=KIND,
    display_name="delivery plan indicator set",
    rank=12,
    config_keys=("kind", "paths"),
    file_keys={"paths": ROLE},
    main_role=ROLE,
    create_raw_tables=create_raw_table,
    ingest=ingest_input,
    raw_tables=("raw_indicator_set",),
    staging_models=("stg_indicator_set",),
    checked_models=(),
)
