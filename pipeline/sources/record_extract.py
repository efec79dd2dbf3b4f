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
from pipeline.sources.files import InputFile, Table, open_input, read_csv_text, read_xlsx
from pipeline.sources.profiles import CANONICAL, Profile

LINEAGE = ("source_file", "source_row", "extract_date")
RAW_TABLES = {"offences": "raw_offences", "victims": "raw_victims", "suspects": "raw_suspects"}


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty raw tables (all text) so every SQL model runs whichever inputs a run has."""
    for role, table in RAW_TABLES.items():
        columns = ", ".join(f"{c} varchar" for c in CANONICAL[role] + ("source_file", "extract_date"))
        con.execute(f"create table if not exists {table} ({columns}, source_row integer)")


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256) of person references: stable within a key, irreversible without it."""
    def one(v: str) -> str | None:
        v = (v or "").strip()
        return hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:20] if v else None
    return values.map(one)


def read_table(source: InputFile, profile: Profile) -> Table:
    if source.path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(source, profile.xlsx.get("sheet"), int(profile.xlsx.get("header_row", 1)))
    return read_csv_text(source, profile.encoding)


def _extract_date(source: InputFile, frame: pd.DataFrame, table: Table, profile: Profile, role: str) -> pd.Series:
    rule = profile.extract_date
    if rule.get("column"):
        if rule["column"] not in table.header and role != "offences":
            # victim and suspect files often omit it: their people then belong to every version
            return pd.Series(None, index=frame.index, dtype="object")
        if rule["column"] not in table.header:
            raise InputError(str(source.path), rule["column"], "the profile's extract_date column must be present",
                             "columns " + ", ".join(table.header[:12]))
        return frame[rule["column"]]
    if rule.get("from_filename"):
        match = re.search(rule["from_filename"], source.path.name)
        if not match:
            raise InputError(str(source.path), "-", f"file name must match extract_date pattern {rule['from_filename']}",
                             source.path.name)
        return pd.Series(match.group(1), index=frame.index)
    return pd.Series(None, index=frame.index, dtype="object")


def to_canonical(source: InputFile, table: Table, profile: Profile, role: str, key: bytes) -> pd.DataFrame:
    """Map one file's rows onto the canonical columns of `role`, with lineage."""
    mapping = profile.tables[role]
    missing = [src for canon, src in mapping.items() if src not in table.header]
    if missing:
        raise InputError(str(source.path), missing[0], f"the profile '{profile.name}' requires this column",
                         "columns " + ", ".join(table.header[:12]), examples=missing[1:])
    frame = pd.DataFrame(table.rows, columns=table.header, dtype="object")
    out = pd.DataFrame(index=frame.index)
    for canon in CANONICAL[role]:
        if canon not in mapping:
            out[canon] = None
            continue
        values = frame[mapping[canon]].astype("object").map(lambda v: v.strip() if isinstance(v, str) else v)
        values = values.where(values != "", None)
        value_map = profile.value_map(canon)
        if value_map:
            upper = values.map(lambda v: v.upper() if isinstance(v, str) else v)
            mapped = upper.map(lambda v: value_map.get(v, "\x00") if v is not None else None)
            values = mapped.where(mapped != "\x00", values)
        out[canon] = values
    if "person_ref" in out and mapping.get("person_ref"):
        out["person_ref"] = pseudonymise(out["person_ref"].fillna(""), key)
    if role != "offences":
        # a single-file layout has person columns on every offence row: keep rows that name a person
        person = [c for c in ("person_ref", "age", "sex", "ethnicity") if mapping.get(c)]
        if profile.layout == "single" and person:
            keep = out[person].notna().any(axis=1)
            out, frame = out[keep], frame[keep]
            table = Table(table.header, [], [line for line, k in zip(table.lines, keep) if k])
    out["source_file"] = str(source.path)
    out["source_row"] = table.lines
    out["extract_date"] = _extract_date(source, frame, table, profile, role).values
    return out


def ingest_record_extract(con: duckdb.DuckDBPyConnection, paths: dict[str, list[Path]], profile: Profile,
                          key: bytes) -> list[InputFile]:
    """Load every file of one extract into the raw tables; returns lineage per file."""
    create_raw_tables(con)
    files: list[InputFile] = []
    if profile.layout == "single":
        roles = [(role, path) for path in paths["offences"] for role in ("offences", "victims", "suspects")
                 if role in profile.tables]
    else:
        roles = [(role, path) for role in ("offences", "victims", "suspects") for path in paths.get(role, [])]
        for role in ("victims", "suspects"):
            if paths.get(role) and role not in profile.tables:
                raise InputError(str(profile.path), f"{role}.columns", f"the config lists {role} files, so the profile must map them", "no mapping")
    tables: dict[Path, tuple[InputFile, Table]] = {}
    for role, path in roles:
        if path not in tables:
            source = open_input(path, "record_extract", "offences" if profile.layout == "single" else role)
            tables[path] = (source, read_table(source, profile))
            files.append(source)
        source, table = tables[path]
        frame = to_canonical(source, table, profile, role, key)
        con.register("incoming", frame)
        con.execute(f"insert into {RAW_TABLES[role]} by name select * from incoming")
        con.unregister("incoming")
    return files
