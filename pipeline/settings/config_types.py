"""The type of every run-config value, checked before any value is used; YAML without anchors or aliases.

A value of the wrong type (a list where a name is expected) stops the run with an InputError naming
the config file, the key and the type found. YAML anchors and aliases (&name, *name) are refused: a
few hundred bytes of nested aliases expand to gigabytes once a value is used (a YAML "alias bomb").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from pipeline.errors import InputError


class AliasError(yaml.YAMLError):
    def __init__(self, mark):
        super().__init__(f"an anchor or alias at line {mark.line + 1}, column {mark.column + 1}")


class NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader refusing anchors and aliases as it meets them, before anything is expanded."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise AliasError(event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str, file: str | Path, what: str) -> Any:
    """`text` parsed as YAML (other YAML errors are left to the caller, which names the line)."""
    try:
        return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except AliasError as exc:
        raise InputError(str(file), "-", f"{what} must not use YAML anchors or aliases (&name, *name): write "
                         "each value out in full", str(exc)) from None


@dataclass(frozen=True)
class Kind:
    expected: str
    accepts: Callable[[Any], bool]


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text_or_list(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(item, str) for item in v))


TEXT = Kind("text", lambda v: isinstance(v, str))
TEXTS = Kind("text or a list of text", _text_or_list)
WHOLE = Kind("a whole number", _whole)
NUMBER = Kind("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
YEAR = Kind("a year, e.g. 2023", lambda v: _whole(v) or (isinstance(v, str) and v.strip().isdigit()))
DATE = Kind("a date, YYYY-MM-DD", lambda v: isinstance(v, (str, date)))
MONTH = Kind("a month, YYYY-MM", lambda v: isinstance(v, (str, date)))
MAPPING = Kind("a mapping (key: value)", lambda v: isinstance(v, dict))
LIST = Kind("a list (- item)", lambda v: isinstance(v, list))

# Every value of a run config: `[]` is each item of a list, `*` each key of a mapping. None (a key
# written without a value) always passes: it means "not set", and the section's parser decides.
RUN_CONFIG_TYPES: list[tuple[str, Kind]] = [
    ("area", MAPPING), ("area.name", TEXT), ("area.code", TEXT),
    ("comparator", MAPPING), ("comparator.name", TEXT),
    ("period", MAPPING), ("period.calendar_year", YEAR), ("period.financial_year", YEAR),
    ("period.rolling_12m_to", MONTH), ("period.start", DATE), ("period.end", DATE),
    ("date_basis", TEXT),
    ("inputs", LIST), ("inputs[]", MAPPING), ("inputs[].kind", TEXT), ("inputs[].profile", TEXT),
    ("inputs[].paths", TEXTS), ("inputs[].offences", TEXTS), ("inputs[].victims", TEXTS), ("inputs[].suspects", TEXTS),
    ("inputs[].extract_period", MAPPING), ("inputs[].extract_period.start", DATE), ("inputs[].extract_period.end", DATE),
    ("reference", MAPPING),
    ("reference.*", Kind("a file path, or a mapping with path: and column options", lambda v: isinstance(v, (str, dict)))),
    ("reference.*.crs", Kind("a CRS, e.g. EPSG:27700 or 27700", lambda v: isinstance(v, str) or _whole(v))),
    ("reference.*.layer", Kind("a layer name or number", lambda v: isinstance(v, str) or _whole(v))),
    ("reference.*.*", TEXT),    # path: and the column options (crs: above)
    ("geography", MAPPING), ("geography.*", NUMBER),
    ("significance", MAPPING), ("significance.alpha", NUMBER), ("significance.min_total", WHOLE),
    ("quarantine_threshold_pct", NUMBER),
    ("privacy", MAPPING), ("privacy.key_file", TEXT),
    ("output", TEXT), ("reports", TEXT),
    ("duckdb", MAPPING), ("duckdb.*", Kind("text, a number or true/false", lambda v: isinstance(v, (str, int, float)))),
    ("monthly", MAPPING), ("monthly.warehouse", TEXT), ("monthly.baseline_months", WHOLE),
    ("monthly.min_baseline_months", WHOLE), ("monthly.fdr_alpha", NUMBER), ("monthly.publication_lag_months", WHOLE),
    ("monthly.seasonal_themes", Kind("true/false, a theme or a list of themes",
                                     lambda v: isinstance(v, bool) or _text_or_list(v))),
    ("temporal", MAPPING), ("temporal.max_window_hours", Kind("a number of hours", NUMBER.accepts)),
    ("fan_out", MAPPING), ("fan_out.by", TEXT), ("fan_out.years", LIST), ("fan_out.years[]", YEAR),
    ("engine", MAPPING), ("engine.runner", TEXT), ("engine.address", TEXT), ("engine.n_workers", WHOLE),
    ("engine.threads_per_worker", WHOLE),
    ("areas", TEXTS),
    ("disclosure", MAPPING), ("disclosure.min_count", WHOLE), ("disclosure.sensitive_min_count", WHOLE),
    ("disclosure.round_to", WHOLE),
    ("tiers", TEXTS),
]


def type_name(value: Any) -> str:
    """The type of a YAML value in the words a config uses."""
    if isinstance(value, bool):
        return "true/false"
    for kind, name in ((dict, "a mapping"), (list, "a list"), (str, "text"), (int, "a whole number"),
                       (float, "a number"), (date, "a date")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _values(data: Any, parts: list[str], where: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for each value the pattern's parts reach in `data`."""
    if not parts:
        yield where, data
        return
    part, rest = parts[0], parts[1:]
    name, each = part.removesuffix("[]"), part.endswith("[]")
    if not isinstance(data, dict):
        return
    chosen = list(data) if name == "*" else ([name] if name in data else [])
    for key in chosen:
        value, at = data[key], f"{where}.{key}" if where else str(key)
        if value is None:
            continue
        if each:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is not None:
                        yield from _values(item, rest, f"{at}[{i}]")
        else:
            yield from _values(value, rest, at)


def check_run_config_types(path: Path, raw: dict) -> None:
    """Each value of the run config must have its key's type (the most specific pattern decides)."""
    kinds = dict(RUN_CONFIG_TYPES)
    for pattern, kind in RUN_CONFIG_TYPES:
        for key, value in _values(raw, pattern.split("."), ""):
            if _most_specific(key, kinds) == pattern and not kind.accepts(value):
                raise InputError(str(path), key, f"expected {kind.expected}", type_name(value))


def _most_specific(key: str, kinds: dict[str, Kind]) -> str:
    """The first pattern of RUN_CONFIG_TYPES that names `key` (exact names before `*`)."""
    general = re.sub(r"\[[0-9]+\]", "[]", key).split(".")
    for pattern in kinds:
        parts = pattern.split(".")
        if len(parts) == len(general) and all(p in (g, "*") for p, g in zip(parts, general)):
            return pattern
    return ""
