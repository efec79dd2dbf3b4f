"""The input kinds, each described once: a module of pipeline/sources that defines `SOURCE`, a SourceKind.

The run config's `inputs:` section, ingest, the coverage gate and the validation suites read these
records instead of naming kinds, so a new kind is its module (with its SOURCE), its SQL and its seeds.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb


@dataclass(frozen=True)
class Coverage:
    """How the coverage gate finds the months a kind's rows hold for the run's area."""

    months_sql: str   # distinct months as 'YYYY-MM'; may bind $area (the area's name)
    column: str       # the input column an error names
    comparator_only: bool = False        # no rows for the area: the files serve the comparator only
    volume_sql: str | None = None        # rows of a small input that may have quiet months (QUIET_BELOW)
    # a further check after every kind's months: (con, cfg, needed months, the span in words) -> None
    extra: Callable[..., None] | None = None
    # (con, cfg) -> what an error says was found when no kind has rows for the area, or None
    found_without_area: Callable[..., str | None] | None = None


QUIET_BELOW = 500  # an input with fewer rows need only cover the first and last month of the span


@dataclass(frozen=True)
class SourceKind:
    """One input kind: how the run config names its files, how they are read, and what checks them."""

    name: str            # `kind:` in the run config, audit_inputs.kind, the marts' `source`
    display_name: str    # in maps' captions and messages
    rank: int            # the order kinds are checked and listed (and preferred by the marts)
    config_keys: tuple[str, ...]          # the keys its `inputs:` entry may hold, in the order messages list them
    file_keys: dict[str, str]             # config key -> role of the files its patterns name
    main_role: str                        # the role whose pattern must match at least one file
    create_raw_tables: Callable[[duckdb.DuckDBPyConnection], None]
    # (con, InputSpec, RunConfig, seen) -> [InputFile]: read one `inputs:` entry's files into the raw
    # tables; `seen` ((role, sha256) -> first input) is shared by every entry of the run
    ingest: Callable[..., list]
    raw_tables: tuple[str, ...]
    staging_models: tuple[str, ...]
    checked_models: tuple[str, ...]       # the models its quarantine rules (seeds/quarantine_rules.csv) are on
    coverage: Coverage | None = None
    nested_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)   # config key -> the keys it may hold
    # the entry's other settings as InputSpec fields (config path, entry index, entry, config folder)
    parse_options: Callable[[Path, int, dict, Path], dict[str, Any]] | None = None
    monthly_files: str = ""   # "MPS count files": files of whole months, so the periods must be month-aligned
    suites: Callable[..., list] | None = None   # (con, cfg) -> its Great Expectations suites (validation_suites)
    limited: bool = False     # limited mode: broad crime types, no people, no flags
    people: bool = False      # record-level victims and suspects: the marts' people measures exist
    located: bool = False     # rows placed on the map (points, LSOA codes): the build reads boundaries


_KINDS: dict[str, SourceKind] = {}


def kinds() -> dict[str, SourceKind]:
    """Every input kind by name, in rank order: the SOURCE of each module of pipeline/sources (read on
    first use, so that pipeline.settings.config can import this module) and any registered by `register`."""
    if not _KINDS:
        package = importlib.import_module("pipeline.sources")
        for module in pkgutil.iter_modules(package.__path__):
            source = getattr(importlib.import_module(f"pipeline.sources.{module.name}"), "SOURCE", None)
            if isinstance(source, SourceKind):
                _KINDS[source.name] = source
        _sort()
    return _KINDS


def kind_of(row: dict) -> SourceKind | None:
    """The kind a mart row's counts come from (its `source` column); None for a row with none."""
    return kinds().get(str(row.get("source") or ""))


def register(kind: SourceKind) -> None:
    """Add a kind defined outside pipeline/sources (a test's kind)."""
    kinds()[kind.name] = kind
    _sort()


def unregister(name: str) -> None:
    kinds().pop(name, None)


def _sort() -> None:
    ordered = sorted(_KINDS.values(), key=lambda k: (k.rank, k.name))
    _KINDS.clear()
    _KINDS.update({k.name: k for k in ordered})


def kind(name: str) -> SourceKind:
    return kinds()[name]


def in_run(cfg: Any) -> list[SourceKind]:
    """The kinds of a RunConfig's inputs, in rank order."""
    named = {spec.kind for spec in cfg.inputs}
    return [k for k in kinds().values() if k.name in named]


def rule_models() -> dict[str, str]:
    """Checked model -> the kind whose quarantine rules it applies."""
    return {model: k.name for k in kinds().values() for model in k.checked_models}
