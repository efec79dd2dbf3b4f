"""Record-level police extracts (CSV or XLSX) -> raw_offences, raw_victims, raw_suspects.

The source profile renames columns and translates coded values; every column the profile does
not map (free text, names, addresses) is never read into the database. Person references are
pseudonymised here, before anything is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.errors import InputError
from pipeline.sources.files import (
    InputFile,
    Table,
    describe_header,
    header_key,
    is_header_row,
    no_header_row,
    open_input,
    read_csv_text,
    read_xlsx,
    repeat_of,
)
from pipeline.sources.profiles import CANONICAL, Profile

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
    """Keyed hash (HMAC-SHA256) of person references: stable within a key, irreversible without it."""
    def one(v: str) -> str | None:
        v = (v or "").strip()
        return hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:20] if v else None
    return pd.Series([one(v) for v in values], index=values.index, dtype="object")


def read_table(source: InputFile, profile: Profile, role: str = "offences") -> Table:
    """Read a CSV or one sheet of an XLSX (the role's `xlsx:` sheet, else the profile's); the header is
    the row naming the profile's crime_ref column."""
    mapping = profile.tables.get(role) or profile.tables["offences"]
    hint = mapping["crime_ref"]
    if source.path.suffix.lower() in (".xlsx", ".xlsm"):
        xlsx = profile.xlsx_for(role)
        header_row = xlsx.get("header_row")
        return read_xlsx(source, xlsx.get("sheet"), int(header_row) if header_row else None, hint)
    return read_csv_text(source, profile.encoding, hint, profile.delimiter)


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


def _extract_date(source: InputFile, rows: list[list[str]], table: Table, profile: Profile,
                  role: str = "offences") -> list[str | None]:
    rule = profile.extract_date
    if rule.get("column") and role != "offences" and header_key(rule["column"]) not in map(header_key, table.header):
        return [None] * len(rows)  # victim/suspect files often omit it: their people belong to every version
    if rule.get("column"):
        position = _columns(source, table, [rule["column"]], profile)[rule["column"]]
        return [(row[position].strip() or None) for row in rows]
    if rule.get("from_filename"):
        match = re.search(rule["from_filename"], source.path.name)
        if not match:
            raise InputError(str(source.path), "extract_date", f"the file name must match the profile's "
                             f"extract_date pattern {rule['from_filename']}", source.path.name)
        return [match.group(1)] * len(rows)
    return [None] * len(rows)


def to_canonical(source: InputFile, table: Table, profile: Profile, role: str, key: bytes) -> pd.DataFrame:
    """Map one file's rows onto the canonical columns of `role`, with lineage. Columns the profile
    does not map (free text, names, addresses, anything else) are never copied."""
    mapping = profile.tables[role]
    positions = _columns(source, table, list(dict.fromkeys(mapping.values())), profile)
    out = pd.DataFrame(index=range(len(table.rows)))
    for canon in CANONICAL[role]:
        if canon not in mapping:
            out[canon] = None
            continue
        i = positions[mapping[canon]]
        values = pd.Series([row[i].strip() for row in table.rows], dtype="object")
        values = values.where(values != "", None)
        value_map = profile.value_map(canon)
        if value_map:
            upper = values.map(lambda v: v.upper() if isinstance(v, str) else v)
            mapped = upper.map(lambda v, m=value_map: m.get(v, "\x00") if v is not None else None)
            values = mapped.where(mapped != "\x00", values)
        out[canon] = values.astype("object")
    if "person_ref" in out and mapping.get("person_ref"):
        out["person_ref"] = pseudonymise(out["person_ref"].fillna(""), key)
    lines = list(table.lines)
    extract_dates = _extract_date(source, table.rows, table, profile, role)
    if role != "offences":
        # a single-file layout has person columns on every offence row: keep rows that name a person
        person = [c for c in ("person_ref", "age", "sex", "ethnicity") if mapping.get(c)]
        if profile.layout == "single" and person:
            keep = out[person].notna().any(axis=1).to_numpy()
            out = out[keep].reset_index(drop=True)
            lines = [line for line, k in zip(lines, keep) if k]
            extract_dates = [d for d, k in zip(extract_dates, keep) if k]
    out["source_file"] = str(source.path)
    out["source_row"] = lines
    out["extract_date"] = pd.Series(extract_dates, dtype="object")
    return out


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
                tables[file_role, path] = (source, read_table(source, profile, role))
                if period:
                    con.execute("insert into extract_periods values (?, ?, ?)", [str(path), period["start"], period["end"]])
                files.append(source)
        source, table = tables[file_role, path]
        if table is None:
            continue  # read already (the same file, or an identical copy): recorded in audit_inputs, never double-counted
        frame = to_canonical(source, table, profile, role, key)
        con.register("incoming", frame)
        con.execute(f"insert into {RAW_TABLES[role]} by name select * from incoming")
        con.unregister("incoming")
    return files
