"""Aggregated partner tables (CSV or XLSX) -> raw_partner: counts by area or ward, period and measure.

A&E assault attendances (ISTV, aggregated), hospital admissions for assault with a sharp object (HES
X99, under 25), youth-justice first-time entrants, school suspensions and exclusions: each partner
sends a table in its own layout, and a partner profile (YAML, like a record extract's source profile)
maps its columns onto CANONICAL and its values onto svna's measures (sql/seeds/partner_measures.csv).
Only the mapped columns are read. Rows are checked in int_partner_checked (sql/seeds/quarantine_rules.csv);
the public tier controls their small counts as it does police counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from pipeline.errors import InputError
from pipeline.settings.config_sections import check_keys
from pipeline.settings.config_types import load_yaml
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import (
    WHITESPACE,
    InputFile,
    Table,
    describe_header,
    header_key,
    inputs_to_load,
    is_header_row,
    no_header_row,
    trimmed_sql,
)
from pipeline.sources.registry import SourceKind
from pipeline.sources.xlsx_reader import read_xlsx

KIND = "partner_table"
ROLE = "partner"
CANONICAL = ("area", "ward", "period", "measure", "count", "age_band", "sex", "weapon")
PROFILE_KEYS = ("name", "description", "provider", "measure", "year_starts", "encoding", "delimiter", "xlsx",
                "columns", "values")
VALUE_SECTIONS = ("measure", "sex", "age_band", "weapon")
# the month a 'YYYY/YY' period starts in: a calendar, financial or academic year
YEAR_STARTS = {"january": 1, "april": 4, "september": 9}


@dataclass
class PartnerProfile:
    name: str
    path: Path
    provider: str
    columns: dict[str, str]                     # canonical -> source column
    measure: str | None = None                  # every row's measure when the table has no measure column
    year_start_month: int = 4
    encoding: str = "auto"
    delimiter: str = ","
    xlsx: dict = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)   # section -> source value (upper) -> value


def _read_yaml(path: Path) -> dict:
    try:
        spec = load_yaml(path.read_text(encoding="utf-8-sig"), path, "a partner profile")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "the file"
        raise InputError(str(path), "-", "a partner profile must be valid YAML", f"a syntax error at {where}") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "-", "a partner profile must be UTF-8 text", "undecodable bytes") from None
    if not isinstance(spec, dict):
        raise InputError(str(path), "-", "a partner profile must be a YAML mapping (name:, columns:, ...)",
                         type(spec).__name__)
    return spec


def load_partner_profile(path: Path) -> PartnerProfile:
    if not path.exists():
        raise InputError(str(path), "-", "the run config names a partner profile that must exist", "no such profile")
    spec = _read_yaml(path)
    check_keys(path, "", spec, PROFILE_KEYS)
    check_keys(path, "xlsx", spec.get("xlsx"), ("sheet", "header_row"))
    check_keys(path, "values", spec.get("values"), VALUE_SECTIONS)
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise InputError(str(path), "columns", "expected a mapping of canonical names to the table's columns",
                         type(columns).__name__)
    unknown = sorted(set(columns) - set(CANONICAL))
    if unknown:
        raise InputError(str(path), "columns", f"canonical names are {', '.join(CANONICAL)}",
                         ", ".join(map(str, unknown)))
    required = ["period", "count"] + ([] if spec.get("measure") else ["measure"])
    missing = [c for c in required if c not in columns]
    if missing or not ({"area", "ward"} & set(columns)):
        raise InputError(str(path), "columns", "a partner profile maps period, count, area or ward, and measure "
                         "(or names one measure: for every row)",
                         "no mapping for " + ", ".join(missing or ["area or ward"]))
    year_starts = str(spec.get("year_starts", "april")).lower()
    if year_starts not in YEAR_STARTS:
        raise InputError(str(path), "year_starts", f"expected one of {', '.join(YEAR_STARTS)}", year_starts)
    delimiter = str(spec.get("delimiter", ","))
    delimiter = "\t" if delimiter in ("\\t", "tab") else delimiter
    if len(delimiter) != 1:
        raise InputError(str(path), "delimiter", "expected one character, e.g. ',' ';' or tab", repr(delimiter))
    values = {section: {str(k).strip().upper(): str(v) for k, v in (mapping or {}).items()}
              for section, mapping in (spec.get("values") or {}).items()}
    return PartnerProfile(
        name=str(spec.get("name") or path.stem), path=path, provider=str(spec.get("provider") or ""),
        columns={k: str(v) for k, v in columns.items()}, measure=spec.get("measure"),
        year_start_month=YEAR_STARTS[year_starts], encoding=str(spec.get("encoding", "auto")), delimiter=delimiter,
        xlsx=dict(spec.get("xlsx") or {}), values=values)


def create_raw_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{c} varchar" for c in CANONICAL)
    con.execute(f"create table if not exists raw_partner (source_file varchar, source_row integer, profile varchar, "
                f"provider varchar, year_start_month integer, {columns})")


def _read(source: InputFile, profile: PartnerProfile, con: duckdb.DuckDBPyConnection) -> Table:
    keep = list(profile.columns.values())
    hint = profile.columns["count"]
    if source.path.suffix.lower() in (".xlsx", ".xlsm"):
        header_row = profile.xlsx.get("header_row")
        return read_xlsx(source, profile.xlsx.get("sheet"), int(header_row) if header_row else None, hint, con, keep)
    return read_csv_text(source, profile.encoding, hint, profile.delimiter, con, keep)


def _select_sql(source: InputFile, table: Table, profile: PartnerProfile) -> tuple[str, dict]:
    """The `select` mapping one table's rows onto raw_partner, values mapped by bound parameters."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(table.header):
        positions.setdefault(header_key(name), []).append(i)
    params: dict = {"ws": WHITESPACE, "source_file": str(source.path), "profile": profile.name,
                    "provider": profile.provider, "year_start_month": profile.year_start_month}
    selected = []
    for canon in CANONICAL:
        column = profile.columns.get(canon)
        if column is None:
            if canon == "measure":
                params["fixed_measure"] = str(profile.measure)
                selected.append("$fixed_measure::varchar as measure")
            else:
                selected.append(f"null::varchar as {canon}")
            continue
        where = positions.get(header_key(column), [])
        if len(where) != 1:
            if not is_header_row(table, list(profile.columns.values())):
                raise InputError(str(source.path), column,
                                 f"the partner profile '{profile.name}' requires this column in "
                                 f"a header row: {no_header_row(table)}", "")
            rule = "requires this column" if not where else "requires this column once in the header"
            raise InputError(str(source.path), column, f"the partner profile '{profile.name}' {rule}",
                             describe_header(table) if not where else f"it {len(where)} times")
        value = trimmed_sql(f"src.{table.column(where[0])}")
        mapping = profile.values.get(canon, {})
        if mapping:
            whens = []
            for n, (raw, mapped) in enumerate(mapping.items()):
                params[f"{canon}_from_{n}"], params[f"{canon}_to_{n}"] = raw, mapped
                whens.append(f"when ${canon}_from_{n} then ${canon}_to_{n}::varchar")
            value = f"case upper({value}) {' '.join(whens)} else {value} end"
        selected.append(f"{value} as {canon}")
    sql = (f"select $source_file::varchar as source_file, src.source_row::integer as source_row, "
           f"$profile::varchar as profile, $provider::varchar as provider, "
           f"$year_start_month::integer as year_start_month, {', '.join(selected)} from {table.relation} as src")
    return sql, params


def ingest_partner_tables(con: duckdb.DuckDBPyConnection, paths: list[Path], profile: PartnerProfile,
                          seen: dict[tuple[str, str], InputFile] | None = None) -> list[InputFile]:
    """Load partner tables into raw_partner; a byte-identical copy of a file already read is listed, not loaded."""
    create_raw_table(con)
    files = []
    for source in inputs_to_load(paths, KIND, ROLE, {} if seen is None else seen, files):
        table = _read(source, profile, con)
        try:
            sql, params = _select_sql(source, table, profile)
            con.execute(f"insert into raw_partner by name {sql}", params)
        finally:
            table.close()
        files.append(source)
    return files


def ingest_input(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    """One `inputs:` entry of kind partner_table (pipeline.sources.registry): its profile says how to read it."""
    return ingest_partner_tables(con, spec.paths[ROLE], load_partner_profile(spec.profile), seen=seen)


def parse_options(path: Path, index: int, item: dict, base: Path) -> dict:
    if not item.get("profile"):
        raise InputError(str(path), f"inputs[{index}].profile", "a partner_table needs a partner profile", "missing")
    return {"profile": (base / item["profile"]).resolve()}


SOURCE = SourceKind(
    name=KIND,
    display_name="partner tables (aggregated health, youth justice and education counts)",
    rank=11,
    config_keys=("kind", "profile", "paths"),
    file_keys={"paths": ROLE},
    main_role=ROLE,
    create_raw_tables=create_raw_table,
    ingest=ingest_input,
    raw_tables=("raw_partner",),
    staging_models=("stg_partner",),
    checked_models=("int_partner_checked",),
    parse_options=parse_options,
)
