"""Run configuration and project paths: the one place that knows where things live.

A run is described by one YAML file (DESIGN §5.4); paths in it are relative to that file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError
from pipeline.settings.config_sections import (
    AreaSelection,
    DisclosureSettings,
    EngineSettings,
    FanOutSettings,
    GeographySettings,
    InputSpec,
    MonthlySettings,
    PrivacySettings,
    TemporalSettings,
    check_monthly_periods,
    check_run_config_keys,
    parse_areas,
    parse_disclosure,
    parse_engine,
    parse_fan_out,
    parse_geography,
    parse_inputs,
    parse_monthly,
    parse_privacy,
    parse_temporal,
    parse_tiers,
)
from pipeline.settings.config_types import check_run_config_types, load_yaml
from pipeline.settings.periods import Period, add_months, month_end

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # pipeline/
PROJECT_ROOT = PACKAGE_DIR.parent
# In a checkout sql/ and config/ sit beside pipeline/; an installed wheel carries them as package data
# (pipeline/_sql, pipeline/_config: see pyproject.toml), and the demo then works in SVNA_DEMO_HOME.
IN_CHECKOUT = (PROJECT_ROOT / "sql" / "macros.sql").is_file() and (PROJECT_ROOT / "pyproject.toml").is_file()
SQL_DIR = PROJECT_ROOT / "sql" if IN_CHECKOUT else PACKAGE_DIR / "_sql"
SEEDS_DIR = SQL_DIR / "seeds"
CONFIG_DIR = PROJECT_ROOT / "config" if IN_CHECKOUT else PACKAGE_DIR / "_config"
DEMO_HOME = PROJECT_ROOT if IN_CHECKOUT else Path(os.environ.get("SVNA_DEMO_HOME", "~/.svna/demo")).expanduser()
DEMO_CONFIG = DEMO_HOME / "config" / "demo.yaml"
DEMO_RAW_DIR = DEMO_HOME / "data" / "raw" / "demo"

DATE_BASES = ("recorded", "committed")



@dataclass
class RunConfig:
    config_path: Path
    area_name: str
    area_code: str
    comparator_name: str | None
    current: Period
    previous: Period
    inputs: list[InputSpec]
    reference: dict[str, Path]
    output: Path
    reports: Path | None = None
    date_basis: str = "recorded"
    significance_alpha: float = 0.01   # exact-test p (or ward q) at or below which a change is flagged
    significance_min_total: int = 10   # never flag a change on fewer crimes than this in both periods together
    quarantine_threshold_pct: float = 5.0
    demo: bool = False
    duckdb: dict[str, Any] = field(default_factory=dict)  # DuckDB settings, e.g. memory_limit, threads
    raw: dict[str, Any] = field(default_factory=dict)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    geography: GeographySettings = field(default_factory=GeographySettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    monthly: MonthlySettings | None = None  # set by load_config (its default warehouse depends on output)
    # a reference entry's options besides its path: {path: ..., code_column: ...} -> {"code_column": ...}
    reference_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    areas: AreaSelection = field(default_factory=AreaSelection)
    disclosure: DisclosureSettings = field(default_factory=DisclosureSettings)
    tiers: tuple[str, ...] = ("restricted",)   # which tiers a run writes (`tiers:` or --tier)
    fan_out: FanOutSettings | None = None
    engine: EngineSettings = field(default_factory=EngineSettings)

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------- periods

def resolve_periods(spec: dict[str, Any]) -> tuple[Period, Period]:
    """Turn a period spec into (current, previous); the previous period has the same length."""
    if not isinstance(spec, dict) or not spec:
        raise InputError("config", "period", "expected one of calendar_year, financial_year, rolling_12m_to, or start/end", str(spec))
    if "calendar_year" in spec:
        year = int(spec["calendar_year"])
        return (Period(str(year), date(year, 1, 1), date(year, 12, 31)),
                Period(str(year - 1), date(year - 1, 1, 1), date(year - 1, 12, 31)))
    if "financial_year" in spec:
        year = int(spec["financial_year"])

        def fy(y: int) -> Period:
            return Period(f"{y}/{str(y + 1)[-2:]}", date(y, 4, 1), date(y + 1, 3, 31))

        return fy(year), fy(year - 1)
    if "rolling_12m_to" in spec:
        text = str(spec["rolling_12m_to"])
        try:
            year, month = (int(part) for part in text.split("-")[:2])
        except ValueError:
            raise InputError("config", "period.rolling_12m_to", "expected YYYY-MM", text) from None
        end = month_end(date(year, month, 1))
        start = add_months(date(year, month, 1), -11)
        prev_end = start - timedelta(days=1)
        prev_start = add_months(start, -12)
        label = lambda d: f"12 months to {d:%b %Y}"
        return Period(label(end), start, end), Period(label(prev_end), prev_start, prev_end)
    if "start" in spec and "end" in spec:
        start, end = date.fromisoformat(str(spec["start"])), date.fromisoformat(str(spec["end"]))
        if end < start:
            raise InputError("config", "period.end", "end must not be before start", f"{start} .. {end}")
        current = Period(f"{start:%d %b %Y} to {end:%d %b %Y}", start, end)
        if current.month_aligned:  # e.g. Oct-Sep: shift by whole months so both periods are month-aligned
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            prev_start = add_months(start, -months)
        else:
            prev_start = start - (end - start) - timedelta(days=1)
        prev_end = start - timedelta(days=1)
        return current, Period(f"{prev_start:%d %b %Y} to {prev_end:%d %b %Y}", prev_start, prev_end)
    raise InputError("config", "period", "expected one of calendar_year, financial_year, rolling_12m_to, or start/end", str(spec))


def load_config(path: str | Path, overrides: dict[str, Any] | None = None, demo: bool = False) -> RunConfig:
    """Read a run config; `overrides` replaces `period` and/or `output` (CLI flags). `demo` is set by
    `svna demo` alone: the fixed demo key then applies if the extract is svna's own synthetic data."""
    path = Path(path).resolve()
    if not path.exists():
        raise InputError(str(path), "-", "config file must exist", "file not found")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"), path, "the run config") or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise InputError(str(path), "-", "the run config must be valid YAML", f"a syntax error at {where}") from None
    if not isinstance(raw, dict):
        raise InputError(str(path), "-", "the run config must be a YAML mapping (area:, period:, inputs: ...)", type(raw).__name__)
    if isinstance(raw.get("privacy"), dict) and "demo" in raw["privacy"]:
        raise InputError(str(path), "privacy.demo", "expected key_file only: the fixed demo key is used only by "
                         "`svna demo` on its own synthetic data, never by a config setting", "unknown key 'demo'")
    check_run_config_keys(path, raw)
    check_run_config_types(path, raw)
    overrides = overrides or {}
    if overrides.get("period"):
        raw["period"] = overrides["period"]
    if overrides.get("tiers"):  # --tier on the command line
        raw["tiers"] = list(overrides["tiers"])
    fan_out = parse_fan_out(path, raw)
    if fan_out and fan_out.by == "year":  # the run's period is the last year, compared with the one before
        if raw.get("period") is not None:
            raise InputError(str(path), "period", "with fan_out by year the periods are fan_out.years "
                             "(each calendar year against the one before): leave period out", str(raw["period"]))
        raw["period"] = {"calendar_year": fan_out.years[-1]}
    base = path.parent

    area = raw.get("area") or {}
    if not area.get("name"):
        raise InputError(str(path), "area.name", "the area the assessment is about must be named", str(area))
    current, previous = resolve_periods(raw.get("period"))

    inputs = parse_inputs(path, raw)

    date_basis = raw.get("date_basis", "recorded")
    if date_basis not in DATE_BASES:
        raise InputError(str(path), "date_basis", f"expected one of {', '.join(DATE_BASES)}", str(date_basis))
    check_monthly_periods(path, inputs, current, previous)

    output = overrides.get("output") or raw.get("output") or f"../data/processed/{area['name'].lower()}-{current.label}"
    significance = raw.get("significance") or {}
    alpha, min_total = float(significance.get("alpha", 0.01)), int(significance.get("min_total", 10))
    if not 0 < alpha < 1 or min_total < 1:
        raise InputError(str(path), "significance", "alpha must lie between 0 and 1 and min_total be at least 1",
                         f"alpha {alpha:g}, min_total {min_total}")
    output_path = (base / output).resolve() if not Path(output).is_absolute() else Path(output)
    return RunConfig(
        config_path=path,
        area_name=str(area["name"]),
        area_code=str(area.get("code") or ""),
        comparator_name=(raw.get("comparator") or {}).get("name"),
        current=current,
        previous=previous,
        inputs=inputs,
        # a reference entry is a path, or {path: ..., <column options>} (read by pipeline.reference.reference_files)
        reference={k: (base / (v["path"] if isinstance(v, dict) else v)).resolve()
                   for k, v in (raw.get("reference") or {}).items() if v and (not isinstance(v, dict) or v.get("path"))},
        output=output_path,
        reports=(base / raw["reports"]).resolve() if raw.get("reports") and not overrides.get("output") else None,
        date_basis=date_basis,
        significance_alpha=alpha,
        significance_min_total=min_total,
        quarantine_threshold_pct=float(raw.get("quarantine_threshold_pct", 5.0)),
        demo=demo,
        duckdb=dict(raw.get("duckdb") or {}),
        raw=raw,
        privacy=parse_privacy(path, raw),
        geography=parse_geography(path, raw),
        temporal=parse_temporal(path, raw),
        monthly=parse_monthly(path, raw, output_path),
        areas=parse_areas(path, raw),
        disclosure=parse_disclosure(path, raw),
        tiers=parse_tiers(path, raw),
        fan_out=fan_out,
        engine=parse_engine(path, raw),
        reference_options={k: {o: v for o, v in value.items() if o != "path"}
                           for k, value in (raw.get("reference") or {}).items() if isinstance(value, dict)},
    )


def configure_runtime() -> None:
    """Environment for Prefect and Great Expectations: offline, no telemetry, state inside the project."""
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".prefect"))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    # Prefect's default (20 s) is often missed on a busy 2-core machine (issue 7 item 10)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
