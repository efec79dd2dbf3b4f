"""The sections of a run config, each parsed into typed settings; other modules read the fields.

pipeline.settings.config assembles them into a RunConfig (load_config). Every key a run config may hold is listed
here (check_run_config_keys); the keys of an `inputs:` entry come from its input kind
(pipeline.sources.registry).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.settings.periods import Period
from pipeline.sources import registry


@dataclass(frozen=True)
class InputSpec:
    kind: str
    paths: dict[str, list[Path]]  # role (offences/victims/suspects/counts) -> files, each once
    profile: Path | None = None
    times_listed: dict[tuple[str, Path], int] = field(default_factory=dict)  # (role, file) matched by several patterns
    extract_period: dict[str, date] = field(default_factory=dict)  # record_extract: {start, end} the extract states


# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class PrivacySettings:
    """`privacy:`. key_file is resolved against the config's folder (its existence is checked when the
    key is read, pipeline.sources.privacy); None: $SVNA_PSEUDONYMISATION_KEY, or no key."""

    key_file: Path | None = None


@dataclass(frozen=True)
class GeographySettings:
    """`geography:` (pipeline.reference.reference_tables, pipeline.transform.hotspots)."""

    grid_cell_m: float | None = None     # None: the rule in grid_cell_size()
    snap_tolerance_m: float = 25.0
    kde_bandwidth_m: float | None = None  # None: 2 x the Gi* cell
    kde_cell_m: float | None = None       # None: the Gi* cell / 2 (at least 25 m)
    gi_permutations: int = 0           # >0: also a permutation pseudo p-value (p_sim); FDR uses the analytical z
    gi_min_crimes: int = 20
    fdr_alpha: float = 0.05
    seed: int = 20240131


@dataclass(frozen=True)
class TemporalSettings:
    """`temporal:` (pipeline.reference.analysis_reference): the longest committed from/to window spread over hours."""

    max_window_hours: float = 72.0


MONTHLY_KEYS = {"warehouse", "baseline_months", "min_baseline_months", "seasonal_themes", "fdr_alpha",
                "publication_lag_months"}


@dataclass(frozen=True)
class MonthlySettings:
    """The run config's `monthly:` section (pipeline.runs.monthly)."""

    warehouse: Path
    baseline_months: int = 24
    min_baseline_months: int = 12
    seasonal_themes: tuple[str, ...] = ()
    fdr_alpha: float = 0.05
    publication_lag_months: int = 1


TIERS = ("restricted", "public")


@dataclass(frozen=True)
class DisclosureSettings:
    """`disclosure:` (pipeline.publish.disclosure): the public tier's thresholds and rounding."""

    min_count: int = 5
    sensitive_min_count: int = 10
    round_to: int | None = None


AREA_MODES = ("focus", "list", "all", "neighbours")


@dataclass(frozen=True)
class AreaSelection:
    """`areas:` (pipeline.reference.areas): mode is one of AREA_MODES; names are the areas listed (mode `list`).
    Without `areas:` the run is about the focus area alone."""

    mode: str = "focus"
    names: tuple[str, ...] = ()


FAN_OUT_UNITS = ("force", "year")
RUNNERS = ("default", "dask")


@dataclass(frozen=True)
class FanOutSettings:
    """`fan_out:` (pipeline.runs.multi_area, svna multi-area): units of by force, or by calendar year (each
    year against the one before; the run's period is then the last year)."""

    by: str
    years: tuple[int, ...] = ()


@dataclass(frozen=True)
class EngineSettings:
    """`engine:` (flows/multi_area.py): where the units run: Prefect's default task runner (threads in
    this process), or Dask: a LocalCluster of `n_workers` processes, or the scheduler at `address`
    (workers must see the same filesystem: units are read and written by path)."""

    runner: str = "default"
    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1


# ---------------------------------------------------------------- inputs

def resolve_paths(base: Path, patterns: str | list[str] | None) -> tuple[list[Path], dict[Path, int]]:
    """The files the patterns match, each once in first-match order, and how often each was matched
    (a file named by two patterns, e.g. `mps/*.csv` and `mps/MPS_2022.csv`, is read once)."""
    if patterns is None:
        return [], {}
    if isinstance(patterns, str):
        patterns = [patterns]
    matched: dict[Path, int] = {}
    for pattern in patterns:
        path = (base / pattern)
        matches = sorted(path.parent.glob(path.name)) if any(c in path.name for c in "*?[") else [path]
        for p in matches:
            p = p.resolve()
            matched[p] = matched.get(p, 0) + 1
    return list(matched), matched


# The reference files a run config may name (read by pipeline.reference.reference_files).
def parse_inputs(path: Path, raw: dict) -> list[InputSpec]:
    """`inputs:`: each entry's kind (pipeline.sources.registry), its files (patterns resolved against the
    config's folder; each must exist, and the kind's main pattern must match one) and its settings."""
    base = path.parent
    kinds = registry.kinds()
    inputs = []
    for i, item in enumerate(raw.get("inputs") or []):
        kind = kinds.get(item.get("kind"))
        if kind is None:
            raise InputError(str(path), f"inputs[{i}].kind", f"expected one of {', '.join(kinds)}", str(item.get("kind")))
        resolved = {role: resolve_paths(base, item.get(key)) for key, role in kind.file_keys.items()}
        options = kind.parse_options(path, i, item, base) if kind.parse_options else {}
        roles = {role: files for role, (files, _) in resolved.items()}
        times_listed = {(role, f): n for role, (_, counts) in resolved.items() for f, n in counts.items() if n > 1}
        main_key = next(key for key, role in kind.file_keys.items() if role == kind.main_role)
        for role, files in roles.items():
            if role == kind.main_role and not files:
                raise InputError(str(path), f"inputs[{i}].{main_key}", "the pattern must match at least one file",
                                 str(item.get(main_key)))
            for f in files:
                if not f.exists():
                    raise InputError(str(f), "-", "input file must exist", "file not found")
        inputs.append(InputSpec(kind=kind.name, paths=roles, times_listed=times_listed, **options))
    if not inputs:
        raise InputError(str(path), "inputs", "at least one input is needed", "none")
    return inputs


def check_monthly_periods(path: Path, inputs: list[InputSpec], current: Period, previous: Period) -> None:
    """Files of whole months (MPS counts, data.police.uk) cannot be cut to a period that is not."""
    monthly = [k for k in registry.kinds().values() if k.monthly_files]
    if {i.kind for i in inputs} & {k.name for k in monthly} and not (current.month_aligned and previous.month_aligned):
        raise InputError(str(path), "period", " and ".join(k.monthly_files for k in monthly) + " are monthly: periods "
                         "must start and end on month boundaries", f"{current.start} .. {current.end}")


REFERENCE_KEYS = ("wards", "lsoas", "lsoa_to_ward", "population", "sub_areas", "previous_wards", "severity_weights",
                  # read by pipeline.reference.analysis_reference
                  "term_dates", "imd", "lsoa11_to_lsoa21", "population_projection",
                  # read by pipeline.reference.areas
                  "areas", "area_population")

# ---------------------------------------------------------------- allowed keys
# Every key a run config may hold, by section: a key no code reads (a typo, or `xlsx:` in the wrong
# place) stops the run rather than being silently ignored. `duckdb:` takes any DuckDB setting name.
RUN_CONFIG_KEYS = ("area", "comparator", "period", "date_basis", "inputs", "reference", "geography", "significance",
                   "quarantine_threshold_pct", "privacy", "output", "reports", "duckdb", "monthly", "temporal",
                   "fan_out", "engine",   # pipeline.runs.multi_area
                   "areas",   # pipeline.reference.areas
                   "disclosure", "tiers")   # pipeline.publish.disclosure
RUN_CONFIG_SECTIONS = {
    "area": ("name", "code"),
    "comparator": ("name",),
    "period": ("calendar_year", "financial_year", "rolling_12m_to", "start", "end"),
    "significance": ("alpha", "min_total"),
    "privacy": ("key_file",),
    "temporal": ("max_window_hours",),   # pipeline.reference.analysis_reference
    "fan_out": ("by", "years"),          # pipeline.runs.multi_area (svna multi-area)
    "engine": ("runner", "address", "n_workers", "threads_per_worker"),   # pipeline.runs.multi_area
    "disclosure": ("min_count", "sensitive_min_count", "round_to"),   # pipeline.publish.disclosure
}
BOUNDARY_OPTIONS = ("layer", "crs", "code_column", "name_column")
REFERENCE_OPTIONS = {  # options of a reference entry written {path: ..., <option>: ...} (pipeline.reference.reference_files)
    "wards": BOUNDARY_OPTIONS,
    "lsoas": BOUNDARY_OPTIONS,
    "lsoa_to_ward": ("lsoa_column", "ward_column", "name_column"),
    "population": ("lsoa_column", "age_column", "count_column"),
    "sub_areas": ("code_column", "ward_column", "name_column", "sub_area_column"),
    "previous_wards": BOUNDARY_OPTIONS + ("lsoa_column", "ward_column"),
    "severity_weights": ("code_column", "weight_column"),
    "term_dates": ("start_column", "end_column"),
    "imd": ("lsoa_column", "decile_column", "rank_column"),
    "lsoa11_to_lsoa21": BOUNDARY_OPTIONS + ("lsoa11_column", "lsoa21_column"),
    "population_projection": ("age_column", "year_column", "count_column"),
    "areas": BOUNDARY_OPTIONS,
    "area_population": ("lsoa_column", "age_column", "count_column", "name_column"),
}


def check_keys(file: str | Path, section: str, mapping: Any, allowed: tuple[str, ...] | list[str]) -> dict:
    """`mapping` (a config or profile section; None = absent) must be a mapping whose keys are all in
    `allowed`; returns it. The error names the key, as `section.key`, and the keys allowed there."""
    if mapping is None:
        return {}
    where = section or "-"
    if not isinstance(mapping, dict):
        raise InputError(str(file), where, f"expected a mapping with keys {', '.join(allowed)}", type(mapping).__name__)
    unknown = [key for key in mapping if key not in allowed]
    if unknown:
        key = f"{section}.{unknown[0]}" if section else str(unknown[0])
        raise InputError(str(file), key, f"expected one of {', '.join(allowed)}", f"unknown key {str(unknown[0])!r}")
    return mapping


def check_run_config_keys(path: Path, raw: dict) -> None:
    check_keys(path, "", raw, RUN_CONFIG_KEYS)
    for section, allowed in RUN_CONFIG_SECTIONS.items():
        check_keys(path, section, raw.get(section), allowed)
    if raw.get("inputs") is not None and not isinstance(raw["inputs"], list):
        raise InputError(str(path), "inputs", "expected a list of inputs (- kind: ...)", type(raw["inputs"]).__name__)
    for i, item in enumerate(raw.get("inputs") or []):
        if not isinstance(item, dict):
            raise InputError(str(path), f"inputs[{i}]", "expected a mapping (kind: and its files)", type(item).__name__)
        kind = registry.kinds().get(item.get("kind"))
        if kind:  # an unknown kind is refused by parse_inputs, naming the kinds
            check_keys(path, f"inputs[{i}]", item, kind.config_keys)
            for key, allowed in kind.nested_keys.items():
                check_keys(path, f"inputs[{i}].{key}", item.get(key), allowed)
    references = check_keys(path, "reference", raw.get("reference"), REFERENCE_KEYS)
    for key, value in references.items():
        if isinstance(value, dict):
            check_keys(path, f"reference.{key}", value, ("path",) + REFERENCE_OPTIONS[key])
    check_keys(path, "geography", raw.get("geography"), tuple(sorted(GeographySettings.__dataclass_fields__)))


def parse_period(path: Path | str, spec: Any) -> dict[str, Any]:
    """An extract's stated period, `{start: YYYY-MM-DD, end: YYYY-MM-DD}`, both inclusive."""
    if not spec:
        return {}
    try:
        start, end = (date.fromisoformat(str(spec[k])) for k in ("start", "end"))
    except (KeyError, TypeError, ValueError):
        raise InputError(str(path), "extract_period", "expected {start: YYYY-MM-DD, end: YYYY-MM-DD}", str(spec)) from None
    if end < start:
        raise InputError(str(path), "extract_period", "the end must not be before the start", f"{start} .. {end}")
    return {"start": start, "end": end}


def parse_privacy(path: Path, raw: dict) -> PrivacySettings:
    key_file = (raw.get("privacy") or {}).get("key_file")
    return PrivacySettings((path.parent / Path(str(key_file)).expanduser()).resolve() if key_file else None)


def parse_geography(path: Path, raw: dict) -> GeographySettings:
    settings = dict(raw.get("geography") or {})  # keys checked by check_run_config_keys
    try:
        return GeographySettings(**{k: (None if v is None else type(getattr(GeographySettings, k) or 0.0)(v))
                                    for k, v in settings.items()})
    except (TypeError, ValueError) as exc:
        raise InputError(str(path), "geography", "settings must be numbers", str(exc)) from None


def parse_temporal(path: Path, raw: dict) -> TemporalSettings:
    values = {}
    for key, value in (raw.get("temporal") or {}).items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            raise InputError(str(path), f"temporal.{key}", "must be a number of hours", repr(value)) from None
    settings = TemporalSettings(**values)
    if settings.max_window_hours < 1:
        raise InputError(str(path), "temporal.max_window_hours", "must be at least 1 hour", f"{settings.max_window_hours:g}")
    return settings


def default_warehouse(output: Path) -> Path:
    """Beside the output folder, not inside it: an annual run that replaces the folder keeps the history."""
    if not output.name:  # the filesystem root: refused as an output later (output_folders), never used
        return output / "monthly_warehouse.duckdb"
    return output.with_name(output.name + "_monthly_warehouse.duckdb")


def parse_monthly(path: Path, raw: dict, output: Path) -> MonthlySettings:
    section = raw.get("monthly") or {}
    where = str(path)
    if not isinstance(section, dict):
        raise InputError(where, "monthly", "the monthly section must be a mapping (warehouse:, baseline_months: ...)",
                         type(section).__name__)
    unknown = sorted(set(section) - MONTHLY_KEYS)
    if unknown:
        raise InputError(where, f"monthly.{unknown[0]}", f"expected one of {', '.join(sorted(MONTHLY_KEYS))}",
                         f"unknown key {unknown[0]!r}")

    def number(key: str, default, kind, low, high):
        value = section.get(key, default)
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise InputError(where, f"monthly.{key}", f"expected a number from {low} to {high}", str(value)) from None
        if not low <= value <= high:
            raise InputError(where, f"monthly.{key}", f"expected a number from {low} to {high}", str(value))
        return value

    baseline = number("baseline_months", 24, int, 24, 36)
    seasonal = section.get("seasonal_themes") or []
    if seasonal is True:
        seasonal = ["*"]
    if isinstance(seasonal, str):
        seasonal = [seasonal]
    warehouse = section.get("warehouse")
    warehouse_path = default_warehouse(output) if not warehouse else Path(os.path.expanduser(str(warehouse)))
    if warehouse and not warehouse_path.is_absolute():
        warehouse_path = (path.parent / warehouse_path).resolve()
    return MonthlySettings(
        warehouse=warehouse_path,
        baseline_months=baseline,
        min_baseline_months=number("min_baseline_months", 12, int, 6, baseline),
        seasonal_themes=tuple(str(t) for t in seasonal),
        fdr_alpha=number("fdr_alpha", 0.05, float, 0.0001, 0.5),
        publication_lag_months=number("publication_lag_months", 1, int, 0, 12),
    )


def parse_disclosure(path: Path, raw: dict) -> DisclosureSettings:
    """`disclosure:` with defaults; checked."""
    values = {**DisclosureSettings().__dict__, **(raw.get("disclosure") or {})}
    for key in ("min_count", "sensitive_min_count", "round_to"):
        value = values.get(key)
        if value is None and key == "round_to":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(str(path), f"disclosure.{key}", "expected a whole number of at least 1", repr(value))
    if values["sensitive_min_count"] < values["min_count"]:
        raise InputError(str(path), "disclosure.sensitive_min_count",
                         "the sensitive threshold must be at least min_count", str(values["sensitive_min_count"]))
    return DisclosureSettings(**values)


def parse_tiers(path: Path, raw: dict) -> tuple[str, ...]:
    """`tiers:` (or --tier): restricted only by default."""
    chosen = raw.get("tiers") or ["restricted"]
    chosen = [chosen] if isinstance(chosen, str) else chosen
    if not isinstance(chosen, list) or [t for t in chosen if t not in TIERS]:
        raise InputError(str(path), "tiers", f"expected a list of {', '.join(TIERS)}", str(chosen))
    return tuple(t for t in TIERS if t in chosen)


def parse_areas(path: Path, raw: dict) -> AreaSelection:
    """`areas:`: a list of area names, `all` (every area in the inputs) or `neighbours`."""
    value = raw.get("areas")
    expected = "expected a list of area names, `all` (every area in the inputs) or `neighbours`"
    if value is None:
        return AreaSelection()
    if isinstance(value, str) and value.strip().lower() in ("all", "neighbours", "neighbors"):
        mode = "all" if value.strip().lower() == "all" else "neighbours"
        if mode == "neighbours" and not (raw.get("reference") or {}).get("areas"):
            raise InputError(str(path), "areas", "`areas: neighbours` needs the area boundary file in reference.areas "
                             "(e.g. London_Borough_Excluding_MHW.shp) to find which areas touch the focus area",
                             "reference.areas missing")
        return AreaSelection(mode)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return AreaSelection("list", tuple(dict.fromkeys(v.strip() for v in value)))
    raise InputError(str(path), "areas", expected, repr(value))


def parse_fan_out(path: Path, raw: dict) -> FanOutSettings | None:
    spec = raw.get("fan_out")
    if spec is None:
        return None
    by = spec.get("by") if isinstance(spec, dict) else None
    if by not in FAN_OUT_UNITS:
        raise InputError(str(path), "fan_out.by", f"a multi-area run fans out by one of {', '.join(FAN_OUT_UNITS)} "
                         "(coarse units; areas within a force are one query: `areas:`)", str(by))
    if by == "force":
        return FanOutSettings(by)
    years = spec.get("years")
    if not isinstance(years, list) or not years or not all(isinstance(y, int) and 1900 < y < 2200 for y in years):
        raise InputError(str(path), "fan_out.years", "with fan_out by year, list the calendar years, e.g. "
                         "[2022, 2023] (each is compared with the year before)", str(years))
    return FanOutSettings(by, tuple(sorted(set(years))))


def parse_engine(path: Path, raw: dict) -> EngineSettings:
    spec = raw.get("engine") or {}
    runner = spec.get("runner", "default")
    if runner not in RUNNERS:
        raise InputError(str(path), "engine.runner", f"expected one of {', '.join(RUNNERS)}", str(runner))
    address = spec.get("address")
    if address and runner != "dask":
        raise InputError(str(path), "engine.address", "a scheduler address needs runner: dask", str(runner))
    if address is not None and not re.fullmatch(r"(tcp|tls|ws|wss|inproc)://\S+", str(address)):
        raise InputError(str(path), "engine.address", "a Dask scheduler address, e.g. tcp://10.0.0.5:8786", str(address))
    counts = {}
    for key in ("n_workers", "threads_per_worker"):
        value = spec.get(key, getattr(EngineSettings, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(str(path), f"engine.{key}", "a whole number, at least 1", str(value))
        counts[key] = value
    return EngineSettings(runner=runner, address=address, **counts)
