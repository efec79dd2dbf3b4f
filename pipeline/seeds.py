"""The reference seeds (sql/seeds/*.csv) read in Python: the same files db.load_seeds loads as seed_*
tables, for code that has no warehouse table to read (the monthly report) or decides by theme policy.

Theme policy lives in sql/seeds/themes.csv (README, "Adding a theme"): true/false columns such as
`sensitive` or `in_funnels`, and phrase columns such as `none_phrase`, so no module names a theme id.
"""

from __future__ import annotations

import csv

from pipeline.settings.config import SEEDS_DIR


def read_seed(name: str) -> list[dict[str, str]]:
    """Rows of sql/seeds/<name>.csv, all text (as the seed_<name> table holds them)."""
    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def themes() -> list[dict[str, str]]:
    """The themes in their sort order, with their labels, definitions and policy columns."""
    return sorted(read_seed("themes"), key=lambda r: int(r["sort_order"]))


def themes_where(column: str) -> tuple[str, ...]:
    """Theme ids, in sort order, whose true/false policy column `column` is true."""
    return tuple(r["theme"] for r in themes() if r[column] == "true")


def theme_policy(theme: str) -> dict[str, str]:
    """The theme's row of the seed; {} for a theme not in it (then every flag reads as false)."""
    return next((r for r in themes() if r["theme"] == theme), {})
