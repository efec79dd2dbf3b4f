"""Static maps for the report: PNG (screens, Word) and SVG (print, web).

* ``ward_<theme>``    choropleth of the rate per 1,000 residents (the count when no population is
                      configured) on the current wards, in five classes, with ward labels
* ``gi_star_<theme>`` Getis-Ord Gi* hot and cold grid cells (FDR-adjusted) over the ward outlines

Every map has a legend and a source line. There are no point maps at all, so none of domestic abuse
or sexual offences (DESIGN §8): only ward aggregates and grid statistics are drawn.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from pipeline.config import RunConfig
from pipeline.privacy import MARKING

FORMATS = ("png", "svg")
CLASS_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
HOT, COLD = "#d7301f", "#2c7bb6"


SOURCE_NAMES = {"record_extract": "police recorded crime, record-level extract",
                "mps_counts": "MPS recorded crime by ward (London Datastore)"}


def source_line(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> str:
    """The part of every map's source line after the data source (which each map names itself)."""
    run = con.execute("select any_value(run_id) from ward_hotspots").fetchone()[0] if _has(con, "ward_hotspots") else None
    parts = []
    if "population" in cfg.reference:
        parts.append("residents: Census 2021 (ONS)")
    parts.append("boundaries: contains OS data © Crown copyright and database right")
    if run:
        parts.append(f"svna run {run}")
    return "; ".join(parts) + "."


def _source(data, tail: str) -> str:
    kinds = sorted({k for k in data["source"] if isinstance(k, str)}) if "source" in data else []
    return "Source: " + ("; ".join(SOURCE_NAMES.get(k, k) for k in kinds) or "police recorded crime") + "; " + tail


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = ?", [table]).fetchone()[0])


def class_breaks(values: np.ndarray, k: int = 5) -> list[float]:
    """Up to k equal-count (quantile) classes on the distinct values; returns the upper bounds."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return []
    uniq = np.unique(values)
    if len(uniq) <= k:
        return list(uniq)
    qs = np.unique(np.quantile(values, np.linspace(0, 1, k + 1)[1:], method="higher"))
    return list(qs)


def _fmt(v: float, rate: bool) -> str:
    return f"{v:.1f}" if rate else f"{v:,.0f}"


def _base(ax, wards, area, title: str, subtitle: str, source: str):
    ax.set_axis_off()
    ax.set_aspect("equal")
    wards.boundary.plot(ax=ax, color="#555555", linewidth=0.5, zorder=3)
    if area is not None and len(area):
        area.boundary.plot(ax=ax, color="#222222", linewidth=1.0, zorder=4)
    ax.annotate(MARKING, (0, 1.12), xycoords="axes fraction", fontsize=7, fontweight="bold", color="#b00020",
                va="bottom", ha="left")
    ax.annotate(title, (0, 1.06), xycoords="axes fraction", fontsize=11, fontweight="bold", va="bottom", ha="left")
    ax.annotate(subtitle, (0, 1.02), xycoords="axes fraction", fontsize=8, color="#444444", va="bottom", ha="left")
    ax.annotate(source, (0, -0.02), xycoords="axes fraction", fontsize=6, color="#444444", va="top", ha="left",
                wrap=True)
    _scale_bar(ax, wards.total_bounds)


def _scale_bar(ax, bounds) -> None:
    xmin, ymin, xmax, ymax = bounds
    width = xmax - xmin
    length = 10 ** np.floor(np.log10(width / 4))
    length = length * 2 if width / 4 > length * 2 else length
    x0, y0 = xmin + width * 0.02, ymin + (ymax - ymin) * 0.02
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=2, zorder=5)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + (ymax - ymin) * 0.012, label, ha="center", va="bottom", fontsize=7, zorder=5)


def _labels(ax, wards) -> None:
    import matplotlib.patheffects as pe

    points = wards.geometry.representative_point()
    for name, point in zip(wards.ward_name, points):
        ax.text(point.x, point.y, "\n".join(_wrap(str(name))), fontsize=5, ha="center", va="center", zorder=6,
                path_effects=[pe.withStroke(linewidth=1.5, foreground="white")])


def _wrap(text: str, width: int = 14) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def _figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 7))
    fig.subplots_adjust(left=0.02, right=0.74, bottom=0.07, top=0.84)  # room for titles and the legend
    # geopandas redraws the whole figure after every layer it plots; one draw, at save, is enough
    fig.canvas.draw_idle = lambda *args, **kwargs: None
    return fig, ax


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = []
    for fmt in FORMATS:
        path = out_dir / f"{stem}.{fmt}"
        fig.savefig(path, dpi=200 if fmt == "png" else None, metadata=None if fmt == "png" else {"Date": None})
        paths.append(path)
    plt.close(fig)
    return paths


def ward_choropleth(layers: dict, theme: str, out_dir: Path, source: str) -> list[Path]:
    from matplotlib.patches import Patch

    data = layers["ward_hotspots"]
    data = data[data.theme == theme]
    if data.empty or data["count"].isna().all():
        return []
    rate = data.rate_per_1000.notna().any()
    column = "rate_per_1000" if rate else "count"
    values = data[column].astype(float).to_numpy()
    breaks = class_breaks(values)
    classes = np.searchsorted(breaks, values, side="left")
    fig, ax = _figure()
    for i, colour in enumerate(CLASS_COLOURS[-len(breaks):] if len(breaks) < 5 else CLASS_COLOURS):
        part = data[classes == i]
        if len(part):
            part.plot(ax=ax, color=colour, linewidth=0, zorder=2)
    missing = data[np.isnan(values)]
    if len(missing):
        missing.plot(ax=ax, color="#dddddd", hatch="///", linewidth=0, zorder=2)
    label = layers["themes"].get(theme, theme)
    period = data.period_label.iloc[0]
    _base(ax, layers["wards"], layers.get("area"), f"{label}: {'rate per 1,000 residents' if rate else 'crimes'}, {period}",
          "Current ward boundaries; classes hold about equal numbers of wards", _source(data, source))
    _labels(ax, data)
    colours = CLASS_COLOURS[-len(breaks):] if len(breaks) < 5 else CLASS_COLOURS
    lows = [np.nanmin(values)] + breaks[:-1]
    handles = [Patch(facecolor=c, edgecolor="#555555", linewidth=0.5,
                     label=f"{_fmt(lo, rate)} to {_fmt(hi, rate)}" if i == 0 else f"over {_fmt(lo, rate)} to {_fmt(hi, rate)}")
               for i, (c, lo, hi) in enumerate(zip(colours, lows, breaks))]
    if len(missing):
        handles.append(Patch(facecolor="#dddddd", hatch="///", label="not available"))
    ax.legend(handles=handles, title="rate per 1,000" if rate else "crimes", loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=7, title_fontsize=7, frameon=False)
    return _save(fig, out_dir, f"ward_{theme}")


def gi_star_map(layers: dict, theme: str, out_dir: Path, source: str) -> list[Path]:
    from matplotlib.patches import Patch

    grid = layers.get("grid_hotspots")
    if grid is None or grid.empty:
        return []
    cells = grid[(grid.theme == theme) & (grid.period_role == "current")]
    if cells.empty or (cells.hotspot_class == "not_computed").all():
        return []
    fig, ax = _figure()
    layers["wards"].plot(ax=ax, color="#f7f7f7", linewidth=0, zorder=1)
    for cls, colour in (("hot", HOT), ("cold", COLD)):
        part = cells[cells.hotspot_class == cls]
        if len(part):
            part.plot(ax=ax, color=colour, linewidth=0, alpha=0.85, zorder=2)
    label = layers["themes"].get(theme, theme)
    cell_m = layers.get("cell_m")
    _base(ax, layers["wards"], layers.get("area"), f"{label}: Gi* hot and cold spots, {cells.period_label.iloc[0]}",
          f"{cell_m:g} m grid cells; Getis-Ord Gi* (PySAL esda), Benjamini-Hochberg FDR q <= {layers['fdr_alpha']:g}",
          _source({"source": ["record_extract"]}, source))
    _labels(ax, layers["wards"])
    handles = [Patch(facecolor=HOT, label=f"hot spot ({(cells.hotspot_class == 'hot').sum()} cells)"),
               Patch(facecolor=COLD, label=f"cold spot ({(cells.hotspot_class == 'cold').sum()} cells)"),
               Patch(facecolor="#f7f7f7", edgecolor="#555555", linewidth=0.5, label="not significant")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return _save(fig, out_dir, f"gi_star_{theme}")


def write_maps(layers: dict, out_dir: Path, source_line: str) -> list[Path]:
    """Every map of the run; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    plt.rcParams["svg.hashsalt"] = "svna"  # stable SVG ids: same inputs, same files
    plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: editable in reports, and faster to write
    written: list[Path] = []
    hotspots = layers.get("ward_hotspots")
    themes = [t for t in layers["themes"] if hotspots is not None and t in set(hotspots.theme)]
    for theme in themes:
        written += ward_choropleth(layers, theme, out_dir, source_line)
        written += gi_star_map(layers, theme, out_dir, source_line)
    return written
