"""Editing a parsed run config by dotted path (e.g. `inputs.0.profile`) to make one bad value."""

from __future__ import annotations


def set_dotted(data: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[int(part)] if part.isdigit() else data.setdefault(part, {})
    data[last] = value

