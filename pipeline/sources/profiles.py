"""Source profiles: YAML that maps one extract format onto the canonical schema (DESIGN §5.2-5.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError
from pipeline.settings.config_sections import check_keys, parse_period
from pipeline.settings.config_types import load_yaml

OFFENCE_COLUMNS = (
    "crime_ref", "recorded_date", "committed_from", "committed_to", "ho_code", "offence_description",
    "borough", "ward_code", "ward_name", "lsoa_code", "easting", "northing", "latitude", "longitude",
    "domestic_abuse", "knife", "status",
)
PERSON_COLUMNS = ("crime_ref", "person_ref", "age", "sex", "ethnicity")
REQUIRED = {"offences": ("crime_ref", "recorded_date", "ho_code"), "victims": ("crime_ref",), "suspects": ("crime_ref",)}
CANONICAL = {"offences": OFFENCE_COLUMNS, "victims": PERSON_COLUMNS, "suspects": PERSON_COLUMNS}
# profile `values` sections and the canonical columns they apply to
VALUE_MAPS = {"flag": ("domestic_abuse", "knife"), "status": ("status",), "sex": ("sex",),
              "age": ("age",), "ethnicity": ("ethnicity",), "ho_code": ("ho_code",)}
# Every key a profile may hold, by section (an unknown one stops the run: see config.check_keys)
PROFILE_KEYS = ("name", "description", "layout", "encoding", "delimiter", "xlsx", "extract_date", "extract_period",
                "offences", "victims", "suspects", "values")
TABLE_KEYS = ("columns", "drop", "xlsx")
XLSX_KEYS = ("sheet", "header_row")
EXTRACT_DATE_KEYS = ("column", "from_filename")


@dataclass
class Profile:
    name: str
    path: Path
    layout: str
    encoding: str
    tables: dict[str, dict[str, str]]  # role -> canonical column -> source column
    drop: dict[str, list[str]]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    xlsx: dict[str, Any] = field(default_factory=dict)  # profile-level {sheet, header_row}
    table_xlsx: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> its own {sheet, header_row}
    extract_date: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    extract_period: dict[str, Any] = field(default_factory=dict)  # {start, end}: the period the extract states

    def xlsx_for(self, role: str) -> dict[str, Any]:
        """The sheet and header row of a role's workbook: the role's own `xlsx:`, else the profile's."""
        return {**self.xlsx, **self.table_xlsx.get(role, {})}

    def value_map(self, column: str) -> dict[str, str | None]:
        """Case-insensitive source value -> canonical value for one canonical column."""
        for section, columns in VALUE_MAPS.items():
            if column in columns and section in self.values:
                return {str(k).strip().upper(): (None if v is None else str(v).lower() if section == "flag" else str(v))
                        for k, v in self.values[section].items()}
        return {}


def _read_yaml(path: Path) -> dict:
    try:
        spec = load_yaml(path.read_text(encoding="utf-8-sig"), path, "a source profile")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        raise InputError(str(path), "-", "a source profile must be valid YAML",
                         f"{getattr(exc, 'problem', None) or 'a syntax error'} at {where}") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "-", "a source profile must be UTF-8 text", "undecodable bytes") from None
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise InputError(str(path), "-", "a source profile must be a YAML mapping (name:, offences:, ...)",
                         type(spec).__name__)
    return spec


def _xlsx(path: Path, section: str, spec: dict | None) -> dict[str, Any]:
    xlsx = dict(spec or {})
    if xlsx.get("header_row") is not None and (not str(xlsx["header_row"]).isdigit() or int(xlsx["header_row"]) < 1):
        raise InputError(str(path), f"{section}.header_row", "expected a row number from 1", str(xlsx["header_row"]))
    return xlsx


def load_profile(path: Path) -> Profile:
    if not path.exists():
        raise InputError(str(path), "-", "the run config names a source profile that must exist", "no such profile")
    spec = _read_yaml(path)
    check_keys(path, "", spec, PROFILE_KEYS)
    check_keys(path, "xlsx", spec.get("xlsx"), XLSX_KEYS)
    check_keys(path, "extract_date", spec.get("extract_date"), EXTRACT_DATE_KEYS)
    check_keys(path, "extract_period", spec.get("extract_period"), ("start", "end"))
    check_keys(path, "values", spec.get("values"), tuple(VALUE_MAPS))
    for role in ("offences", "victims", "suspects"):
        check_keys(path, role, spec.get(role), TABLE_KEYS)
        check_keys(path, f"{role}.xlsx", (spec.get(role) or {}).get("xlsx"), XLSX_KEYS)
    layout = spec.get("layout", "linked")
    if layout not in ("linked", "single"):
        raise InputError(str(path), "layout", "expected 'linked' or 'single'", str(layout))
    tables, drop = {}, {}
    for role in ("offences", "victims", "suspects"):
        section = spec.get(role) or {}
        if not isinstance(section, dict):
            raise InputError(str(path), role, "expected a mapping with columns: and drop:", type(section).__name__)
        columns = section.get("columns") or {}
        unknown = sorted(set(columns) - set(CANONICAL[role]))
        if unknown:
            raise InputError(str(path), f"{role}.columns", f"canonical names are {', '.join(CANONICAL[role])}",
                             ", ".join(unknown))
        if columns:
            missing = [c for c in REQUIRED[role] if c not in columns]
            if missing:
                raise InputError(str(path), f"{role}.columns", "the profile must map the required columns",
                                 "no mapping for " + ", ".join(missing))
            tables[role] = {k: str(v) for k, v in columns.items()}
        drop[role] = [str(c) for c in section.get("drop") or []]
        clash = sorted(set(drop[role]) & set(tables.get(role, {}).values()))
        if clash:
            raise InputError(str(path), f"{role}.drop", "a column declared as free text, a name or an address "
                             "(drop:) must never be mapped to a canonical column", ", ".join(clash))
    if "offences" not in tables:
        raise InputError(str(path), "offences.columns", "the profile must map the offence columns", "none")
    delimiter = str(spec.get("delimiter", ","))
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if len(delimiter) != 1:
        raise InputError(str(path), "delimiter", "expected one character, e.g. ',' ';' or tab", repr(delimiter))
    xlsx = _xlsx(path, "xlsx", spec.get("xlsx"))
    table_xlsx = {role: _xlsx(path, f"{role}.xlsx", (spec.get(role) or {}).get("xlsx"))
                  for role in ("offences", "victims", "suspects") if (spec.get(role) or {}).get("xlsx")}
    return Profile(
        name=str(spec.get("name") or path.stem), path=path, layout=layout,
        encoding=str(spec.get("encoding", "auto")), tables=tables, drop=drop,
        values=spec.get("values") or {}, xlsx=xlsx, table_xlsx=table_xlsx,
        extract_date=spec.get("extract_date") or {}, delimiter=delimiter,
        extract_period=parse_period(path, spec.get("extract_period")),
    )
