"""Funnel plots (issue 11): rate per 1,000 residents against population, with 95% and 99.8% limits.

One SVG per unit level (areas, wards) and theme, from the funnel_points mart, only where there are at
least MIN_UNITS units with residents. The limit curves use the mart's own definition
(pipeline.reference.areas.funnel_limit_counts: exact Poisson, Spiegelhalter 2005) around its pooled rate.
The themes charted are those whose in_funnels is true in sql/seeds/themes.csv.
Colours are Okabe-Ito (colour-blind safe) and every group also has its own marker shape.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from pipeline import seeds
from pipeline.publish.catalog import MARKING
from pipeline.reference.areas import funnel_limit_counts
from pipeline.transform import db

MIN_UNITS = 3
FOCUS, NEIGHBOUR, OTHER = "#D55E00", "#0072B2", "#999999"   # Okabe-Ito vermillion, blue, grey
LIMIT_95, LIMIT_998 = "#555555", "#000000"


def funnel_chart(points, level: str, label: str, out_dir: Path) -> Path:
    import matplotlib
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    theme, period = points.theme.iloc[0], points.period_label.iloc[0]
    target = float(points.target_rate_per_1000.iloc[0]) / 1000
    population = np.linspace(max(1.0, points.population.min() * 0.8), points.population.max() * 1.1, 200)
    fig, ax = plt.subplots(figsize=(8.5, 6))
    fig.subplots_adjust(left=0.09, right=0.97, bottom=0.14, top=0.86)
    for p, colour, style, name in ((0.025, LIMIT_95, "--", "95% limits"), (0.001, LIMIT_998, ":", "99.8% limits")):
        lower = 1000 * funnel_limit_counts(target * population, np.full_like(population, p)) / population
        upper = 1000 * funnel_limit_counts(target * population, np.full_like(population, 1 - p)) / population
        ax.plot(population, lower, style, color=colour, linewidth=1, label=name)
        ax.plot(population, upper, style, color=colour, linewidth=1)
    ax.axhline(1000 * target, color="#777777", linewidth=0.8, label=f"pooled rate {1000 * target:.2f}")
    others = f"other {level}s" if points.is_focus.any() or points.is_neighbour.any() else f"{level}s"
    groups = (("other", ~points.is_focus & ~points.is_neighbour, OTHER, "o", others),
              ("neighbour", points.is_neighbour, NEIGHBOUR, "s", "neighbours"),
              ("focus", points.is_focus, FOCUS, "D", "focus area"))
    for _, mask, colour, marker, name in groups:
        part = points[mask]
        if len(part):
            ax.scatter(part.population, part.rate_per_1000, color=colour, marker=marker, s=36, zorder=3,
                       edgecolor="white", linewidth=0.5, label=name)
            if name == others and level == "ward":   # name the wards outside the 99.8% limits
                part = part[part.funnel_position.isin(["above_99.8", "below_99.8"])]
            if name != others or level == "ward":
                offset = (6, -11) if name == "focus area" else (4, 3)   # the focus label below, clear of neighbours
                for _, row in part.iterrows():
                    ax.annotate(str(row.unit_name), (row.population, row.rate_per_1000), fontsize=7,
                                xytext=offset, textcoords="offset points",
                                fontweight="bold" if name == "focus area" else "normal")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlabel("residents (Census 2021)")
    ax.set_ylabel("rate per 1,000 residents")
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    fig.text(0.01, 0.97, MARKING, fontsize=7, fontweight="bold", color="#b00020", va="top")
    fig.text(0.01, 0.93, f"{label}: rate against population, {len(points)} {level}s, {period}", fontsize=11,
             fontweight="bold", va="top")
    fig.text(0.01, 0.02, "Limits: exact Poisson around the pooled rate (Spiegelhalter 2005). Points outside the "
             "99.8% limits differ by more than chance alone would explain. Source: svna funnel_points.",
             fontsize=6, color="#444444")
    path = out_dir / f"funnel_{level}s_{theme}.svg"
    # text stays text (no glyph layout into paths), stable ids and no date: same inputs, same file
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "svna"}):
        fig.savefig(path, metadata={"Date": None})
    plt.close(fig)
    return path


def write_funnel_charts(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Every funnel chart the run has data for; returns the files written (none without funnel points)."""
    if not db.has_table(con, "funnel_points"):
        return []
    frame = con.execute("select * from funnel_points where theme in (select unnest(?))",
                        [list(seeds.themes_where("in_funnels"))]).df()
    if frame.empty:
        return []
    import matplotlib

    matplotlib.use("Agg")
    labels = dict(con.execute("select theme, label from seed_themes").fetchall())
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (level, theme), points in frame.groupby(["unit_level", "theme"], sort=True):
        if len(points) >= MIN_UNITS and points["count"].sum() > 0:
            written.append(funnel_chart(points.reset_index(drop=True), level, labels.get(theme, theme), out_dir))
    return written
