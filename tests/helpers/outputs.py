"""Checks on a run's published files: every table written in its stated key order."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipeline.settings.config import SQL_DIR


def declared_key(mart: str) -> list[str]:
    header = re.search(r"^-- unique_key:(.*)$", (SQL_DIR / "marts" / f"{mart}.sql").read_text(), re.MULTILINE)
    assert header, f"sql/marts/{mart}.sql declares no '-- unique_key:' header"
    return [c.strip() for c in header.group(1).split(",")]


def assert_written_in_stated_order(output: Path) -> None:
    """Each table is sorted by the unique key its SQL header declares (themes in their seed order),
    and that key is unique: the order is stated, not whatever the query engine produced."""
    theme_order = {t: int(n) for t, n in pd.read_csv(SQL_DIR / "seeds" / "themes.csv", dtype=str)
                   [["theme", "sort_order"]].itertuples(index=False)}
    marts = sorted(p.stem for p in (SQL_DIR / "marts").glob("*.sql"))
    assert marts == sorted(p.stem for p in (output / "tables").glob("*.parquet"))
    for mart in marts:
        key = declared_key(mart)
        frame = pd.read_parquet(output / "tables" / f"{mart}.parquet")
        assert set(key) <= set(frame.columns), mart
        assert not frame.duplicated(key).any(), f"{mart}: {key} is not unique"
        sort_by = frame[key].copy()
        if "theme" in key:
            sort_by.insert(key.index("theme"), "theme_order", frame.theme.map(theme_order))
        expected = sort_by.sort_values(list(sort_by.columns), kind="stable", na_position="last").index
        assert list(frame.index) == list(expected), f"{mart} is not in {key} order"

