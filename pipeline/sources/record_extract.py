"""Record-level police extracts (CSV or XLSX) -> raw_offences, raw_victims, raw_suspects.

The source profile renames columns and translates coded values; every column the profile does
not map (free text, names, addresses) is never read into the database. Person references are
pseudonymised here, before anything is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.checks import validation_suites
from pipeline.errors import InputError
from pipeline.settings.config_sections import parse_period
from pipeline.sources.csv_reader import read_csv_text
from pipeline.sources.files import (
    WHITESPACE,
    InputFile,
    Table,
    describe_header,
    header_key,
    is_header_row,
    no_header_row,
    open_input,
    repeat_of,
    trimmed_sql,
)
from pipeline.sources.privacy import pseudonymisation_key
from pipeline.sources.profiles import CANONICAL, Profile, load_profile
from pipeline.sources.registry import Coverage, SourceKind
from pipeline.sources.xlsx_reader import read_xlsx

LINEAGE = ("source_file", "source_row", "extract_date")
RAW_TABLES = {"offences": "raw_offences", "victims": "raw_victims", "suspects": "raw_suspects"}


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty raw tables (all text) so every SQL model runs whichever inputs a run has."""
    for role, table in RAW_TABLES.items():
        columns = ", ".join(f"{c} varchar" for c in CANONICAL[role] + ("source_file", "extract_date"))
        con.execute(f"create table if not exists {table} ({columns}, source_row integer)")
    # the period each extract file states it covers (config `extract_period` or the profile's); none = unstated
    con.execute("create table if not exists extract_periods (source_file varchar, period_start date, period_end date)")


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256) of person references: stable within a key, irreversible without it.
    The reference for `pseudonym_sql`, which ingest uses (one vectorised pass in DuckDB)."""
    def one(v: str) -> str | None:
        v = (v or "").strip()
        return hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:20] if v else None
    return pd.Series([one(v) for v in values], index=values.index, dtype="object")


HMAC_BLOCK = 64  # SHA-256 block size in bytes


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(inner, outer) padded keys of HMAC-SHA256 (RFC 2104): HMAC(K, m) = H((K^opad) || H((K^ipad) || m))."""
    if len(key) > HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym_sql(value: str, inner: str = "$hmac_inner", outer: str = "$hmac_outer") -> str:
    """SQL for pseudonymise() of the text expression `value` (already trimmed, null when blank): the
    first 20 hex digits of HMAC-SHA256 under the key whose padded forms are bound as blobs."""
    return (f"case when {value} is null then null else "
            f"left(sha256({outer} || unhex(sha256({inner} || encode({value})))), 20) end")


def read_table(source: InputFile, profile: Profile, role: str = "offences",
               con: duckdb.DuckDBPyConnection | None = None) -> Table:
    """Read a CSV or one sheet of an XLSX (the role's `xlsx:` sheet, else the profile's); the header is
    the row naming the profile's crime_ref column. Only the columns the profile maps (for any role,
    and the extract date) are kept: free text, names and addresses are never stored."""
    mapping = profile.tables.get(role) or profile.tables["offences"]
    hint = mapping["crime_ref"]
    keep = [c for columns in profile.tables.values() for c in columns.values()]
    if profile.extract_date.get("column"):
        keep.append(profile.extract_date["column"])
    if source.path.suffix.lower() in (".xlsx", ".xlsm"):
        xlsx = profile.xlsx_for(role)
        header_row = xlsx.get("header_row")
        return read_xlsx(source, xlsx.get("sheet"), int(header_row) if header_row else None, hint, con, keep)
    return read_csv_text(source, profile.encoding, hint, profile.delimiter, con, keep)


def _columns(source: InputFile, table: Table, wanted: list[str], profile: Profile) -> dict[str, int]:
    """Source column name -> position in the header, matching case- and space-insensitively."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(table.header):
        positions.setdefault(header_key(name), []).append(i)
    found, missing = {}, []
    for name in wanted:
        where = positions.get(header_key(name), [])
        if not where:
            missing.append(name)
        elif len(where) > 1:
            raise InputError(str(source.path), name, f"a column the profile '{profile.name}' maps must appear once "
                             "in the header", f"it {len(where)} times (columns {', '.join(str(i + 1) for i in where)})")
        else:
            found[name] = where[0]
    if missing:
        if not is_header_row(table, wanted):
            raise InputError(str(source.path), missing[0], f"the profile '{profile.name}' requires this column "
                             f"in a header row: {no_header_row(table)}", "",
                             examples=[f"also missing: {m}" for m in missing[1:]])
        raise InputError(str(source.path), missing[0], f"the profile '{profile.name}' requires this column "
                         f"(header on line {table.header_line})", describe_header(table),
                         examples=[f"also missing: {m}" for m in missing[1:]])
    return found


def _extract_date_sql(source: InputFile, table: Table, profile: Profile, role: str, params: dict) -> str:
    rule = profile.extract_date
    if rule.get("column") and role != "offences" and header_key(rule["column"]) not in map(header_key, table.header):
        return "null"  # victim/suspect files often omit it: their people belong to every version
    if rule.get("column"):
        position = _columns(source, table, [rule["column"]], profile)[rule["column"]]
        return trimmed_sql(f"src.{table.column(position)}")
    if rule.get("from_filename"):
        match = re.search(rule["from_filename"], source.path.name)
        if not match:
            raise InputError(str(source.path), "extract_date", f"the file name must match the profile's "
                             f"extract_date pattern {rule['from_filename']}", source.path.name)
        params["extract_date"] = match.group(1)
        return "$extract_date::varchar"
    return "null"


def canonical_sql(source: InputFile, table: Table, profile: Profile, role: str, key: bytes) -> tuple[str, dict]:
    """One `select` mapping a file's rows onto the canonical columns of `role`, with lineage, and its
    bound parameters: renames, value maps (a `case` over bound source and canonical values: values
    travel as data, never as SQL text), pseudonymised person references. Columns the profile does
    not map (free text, names, addresses) are never read."""
    mapping = profile.tables[role]
    positions = _columns(source, table, list(dict.fromkeys(mapping.values())), profile)
    params: dict = {"ws": WHITESPACE, "source_file": str(source.path)}
    selected = []
    for canon in CANONICAL[role]:
        if canon not in mapping:
            selected.append(f"null::varchar as {canon}")
            continue
        value = trimmed_sql(f"src.{table.column(positions[mapping[canon]])}")
        value_map = profile.value_map(canon)
        if value_map:
            whens = []
            for n, (source_value, canonical) in enumerate(value_map.items()):
                params[f"{canon}_from_{n}"], params[f"{canon}_to_{n}"] = source_value, canonical
                whens.append(f"when ${canon}_from_{n} then ${canon}_to_{n}::varchar")
            value = f"case upper({value}) {' '.join(whens)} else {value} end"
        if canon == "person_ref":
            params["hmac_inner"], params["hmac_outer"] = hmac_pads(key)
            value = pseudonym_sql(value)
        selected.append(f"{value} as {canon}")
    extract_date = _extract_date_sql(source, table, profile, role, params)
    selected += ["$source_file::varchar as source_file", "src.source_row::integer as source_row",
                 f"{extract_date} as extract_date"]
    where = ""
    if role != "offences":
        # a single-file layout has person columns on every offence row: keep rows that name a person
        person = [c for c in ("person_ref", "age", "sex", "ethnicity") if mapping.get(c)]
        if profile.layout == "single" and person:
            where = "where " + " or ".join(f"{c} is not null" for c in person)
    sql = f"select * from (select {', '.join(selected)} from {table.relation} as src) {where}"
    return sql, params


def to_canonical(source: InputFile, table: Table, profile: Profile, role: str, key: bytes) -> duckdb.DuckDBPyRelation:
    """The rows of one file mapped onto the canonical columns of `role` (a DuckDB relation)."""
    sql, params = canonical_sql(source, table, profile, role, key)
    return table.con.sql(sql, params=params)


def ingest_record_extract(con: duckdb.DuckDBPyConnection, paths: dict[str, list[Path]], profile: Profile,
                          key: bytes, extract_period: dict | None = None,
                          seen: dict[tuple[str, str], InputFile] | None = None,
                          times_listed: dict[tuple[str, Path], int] | None = None) -> list[InputFile]:
    """Load every file of one extract into the raw tables; returns lineage per file.

    `extract_period` ({start, end} dates) is the period the extract states it covers (else the
    profile's); `seen` maps (role, sha256) of files already read in this run to their input, so a
    byte-identical copy is recorded (duplicate_of) but never loaded twice, and the same path named
    again only counts in `times_listed` (from the run config: (role, path) -> times matched).
    """
    create_raw_tables(con)
    seen = {} if seen is None else seen
    period = extract_period or profile.extract_period
    files: list[InputFile] = []
    if profile.layout == "single":
        roles = [(role, path) for path in paths["offences"] for role in ("offences", "victims", "suspects")
                 if role in profile.tables]
    else:
        roles = [(role, path) for role in ("offences", "victims", "suspects") for path in paths.get(role, [])]
        for role in ("victims", "suspects"):
            if paths.get(role) and role not in profile.tables:
                raise InputError(str(profile.path), f"{role}.columns", f"the config lists {role} files, so the profile must map them", "no mapping")
    # keyed by (role the file is read as, path): a single-layout file is read once for all roles; a
    # workbook named for offences, victims and suspects is read once per role (a sheet each)
    tables: dict[tuple[str, Path], tuple[InputFile, Table | None]] = {}
    uses = Counter(("offences" if profile.layout == "single" else role, path) for role, path in roles)
    try:
        for role, path in roles:
            file_role = "offences" if profile.layout == "single" else role
            if (file_role, path) not in tables:
                source = open_input(path, "record_extract", file_role)
                source.times_listed = (times_listed or {}).get((file_role, path), 1)
                if repeat_of(seen, source) is not None:
                    tables[file_role, path] = (source, None)
                    if source.duplicate_of:
                        files.append(source)
                else:
                    tables[file_role, path] = (source, read_table(source, profile, role, con))
                    if period:
                        con.execute("insert into extract_periods values (?, ?, ?)", [str(path), period["start"], period["end"]])
                    files.append(source)
            source, table = tables[file_role, path]
            uses[file_role, path] -= 1
            if table is None:
                continue  # read already (the same file, or an identical copy): recorded in audit_inputs, never double-counted
            sql, params = canonical_sql(source, table, profile, role, key)
            con.execute(f"insert into {RAW_TABLES[role]} by name {sql}", params)
            if not uses[file_role, path]:
                table.close()  # the file's text is dropped as soon as its last role is loaded
    finally:
        for _, table in tables.values():
            if table is not None:
                table.close()
    return files


def ingest_input(con: duckdb.DuckDBPyConnection, spec, cfg, seen: dict) -> list[InputFile]:
    """One `inputs:` entry of kind record_extract (pipeline.sources.registry): its profile says how to read it."""
    return ingest_record_extract(con, spec.paths, load_profile(spec.profile), pseudonymisation_key(cfg),
                                 extract_period=spec.extract_period, seen=seen, times_listed=spec.times_listed)


def parse_options(path: Path, index: int, item: dict, base: Path) -> dict:
    """The entry's source profile (required) and the period the extract states it covers (optional)."""
    if not item.get("profile"):
        raise InputError(str(path), f"inputs[{index}].profile", "a record_extract needs a source profile", "missing")
    return {"profile": (base / item["profile"]).resolve(), "extract_period": parse_period(path, item.get("extract_period"))}


SOURCE = SourceKind(
    name="record_extract",
    display_name="police recorded crime, record-level extract",
    people=True,
    located=True,
    rank=0,
    config_keys=("kind", "profile", "offences", "victims", "suspects", "extract_period"),
    file_keys={role: role for role in RAW_TABLES},
    main_role="offences",
    create_raw_tables=create_raw_tables,
    ingest=ingest_input,
    raw_tables=(*RAW_TABLES.values(), "extract_periods"),
    staging_models=("stg_offences", "stg_people"),
    checked_models=("int_offences_checked", "int_people_checked"),
    coverage=Coverage("select distinct strftime(event_date, '%Y-%m') from int_offences_current", "recorded_date",
                      volume_sql="select count(*) from int_offences_current"),
    nested_keys={"extract_period": ("start", "end")},
    parse_options=parse_options,
    suites=validation_suites.record_extract_suites,
)
