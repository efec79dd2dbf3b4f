"""Source profiles: YAML that maps one extract format onto the canonical schema (DESIGN §5.2-5.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError

OFFENCE_COLUMNS = (
    "crime_ref", "recorded_date", "committed_from", "committed_to", "ho_code", "offence_description",
    "borough", "ward_code", "lsoa_code", "easting", "northing", "latitude", "longitude",
    "domestic_abuse", "knife", "status",
)
PERSON_COLUMNS = ("crime_ref", "person_ref", "age", "sex", "ethnicity")
REQUIRED = {"offences": ("crime_ref", "recorded_date", "ho_code"), "victims": ("crime_ref",), "suspects": ("crime_ref",)}
CANONICAL = {"offences": OFFENCE_COLUMNS, "victims": PERSON_COLUMNS, "suspects": PERSON_COLUMNS}
# profile `values` sections and the canonical columns they apply to
VALUE_MAPS = {"flag": ("domestic_abuse", "knife"), "status": ("status",), "sex": ("sex",),
              "age": ("age",), "ethnicity": ("ethnicity",), "ho_code": ("ho_code",)}


@dataclass
class Profile:
    name: str
    path: Path
    layout: str
    encoding: str
    tables: dict[str, dict[str, str]]  # role -> canonical column -> source column
    drop: dict[str, list[str]]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    xlsx: dict[str, Any] = field(default_factory=dict)
    extract_date: dict[str, str] = field(default_factory=dict)

    def value_map(self, column: str) -> dict[str, str | None]:
        """Case-insensitive source value -> canonical value for one canonical column."""
        for section, columns in VALUE_MAPS.items():
            if column in columns and section in self.values:
                return {str(k).strip().upper(): (None if v is None else str(v).lower() if section == "flag" else str(v))
                        for k, v in self.values[section].items()}
        return {}


def load_profile(path: Path) -> Profile:
    if not path.exists():
        raise InputError(str(path), "-", "the run config names a source profile that must exist", "no such profile")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    layout = spec.get("layout", "linked")
    if layout not in ("linked", "single"):
        raise InputError(str(path), "layout", "expected 'linked' or 'single'", str(layout))
    tables, drop = {}, {}
    for role in ("offences", "victims", "suspects"):
        section = spec.get(role) or {}
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
    if "offences" not in tables:
        raise InputError(str(path), "offences.columns", "the profile must map the offence columns", "none")
    return Profile(
        name=str(spec.get("name") or path.stem), path=path, layout=layout,
        encoding=str(spec.get("encoding", "auto")), tables=tables, drop=drop,
        values=spec.get("values") or {}, xlsx=spec.get("xlsx") or {},
        extract_date=spec.get("extract_date") or {},
    )
