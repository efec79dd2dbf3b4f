"""Static maps for the report: PNG (screens, Word) and SVG (print, web).

* ``ward_<theme>``    choropleth of the rate per 1,000 residents (the count when no population is
                      configured) on the current wards, in five classes, with ward labels
* ``gi_star_<theme>`` Getis-Ord Gi* hot and cold grid cells (FDR-adjusted) over the ward outlines
* ``hotspot_change_<theme>`` new, persistent and former Gi* hot spots (grid_hotspots.hotspot_change),
                      drawn only when there is one

A theme with no offences in the period gets a figure saying "no offences recorded" instead of a
shaded map; when no ward has more than SMALL_COUNT_MAX crimes the map shows counts (not rates) in
whole-number classes, with fewer classes when there are few distinct counts.

Every map has a legend and a source line. There are no point maps at all, so none of domestic abuse
or sexual offences (DESIGN §8): only ward aggregates and grid statistics are drawn.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np

from pipeline.publish.catalog import MARKING
from pipeline.settings.config import RunConfig
from pipeline.sources import registry
from pipeline.transform import db

FORMATS = ("png", "svg")
CLASS_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
HOT, COLD = "#d7301f", "#2c7bb6"
# hotspot change: Okabe-Ito colours (distinct under the common colour-vision deficiencies), each with
# its own hatching too, so no class is told apart by colour alone
CHANGE_STYLES = {"persistent_hot": ("#D55E00", None, "persistent hot spot (hot in both periods)"),
                 "new_hot": ("#E69F00", "////", "new hot spot (hot now, not before)"),
                 "former_hot": ("#56B4E9", "....", "former hot spot (hot before, not now)")}
# a ward rate on a handful of crimes is noise: below this ward maximum the map shows counts
SMALL_COUNT_MAX = 20


def source_line(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> str:
    """The part of every map's source line after the data source (which each map names itself)."""
    run = con.execute("select any_value(run_id) from ward_hotspots").fetchone()[0] if db.has_table(con, "ward_hotspots") else None
    parts = []
    if "population" in cfg.reference:
        parts.append("residents: Census 2021 (ONS)")
    parts.append("boundaries: contains OS data © Crown copyright and database right")
    if run:
        parts.append(f"svna run {run}")
    return "; ".join(parts) + "."


def _source(data, tail: str) -> str:
    kinds = sorted({k for k in data["source"] if isinstance(k, str)}) if "source" in data else []
    names = registry.kinds()
    return "Source: " + ("; ".join(names[k].display_name if k in names else k for k in kinds)
                         or "police recorded crime") + "; " + tail


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


def count_classes(counts: np.ndarray, k: int = 4) -> list[tuple[int, int]]:
    """Whole-number classes (low, high) for small counts: 0 on its own when some ward has none, the
    positive counts in up to k - 1 equal-count classes (one class per distinct count when few)."""
    counts = np.asarray(counts, dtype=float)
    counts = np.rint(counts[np.isfinite(counts)]).astype(int)
    classes = [(0, 0)] if (counts == 0).any() else []
    positive = counts[counts > 0]
    if not len(positive):
        return classes
    highs = [int(h) for h in class_breaks(positive, k - len(classes))]
    lows = [int(positive.min())] + [h + 1 for h in highs[:-1]]
    return classes + list(zip(lows, highs))


def _count_label(low: int, high: int) -> str:
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def _palette(n: int, zero: bool) -> list[str]:
    """n colours from light to dark, spread over the whole ramp (a lone class is never the darkest)."""
    if zero:  # "none" is the lightest class, the positive classes spread over the rest of the ramp
        return [CLASS_COLOURS[0]] + _spread(CLASS_COLOURS[1:], n - 1)
    return _spread(CLASS_COLOURS, n)


def _spread(colours: list[str], n: int) -> list[str]:
    if n <= 0:
        return []
    if n == 1:
        return [colours[len(colours) // 2]]
    return [colours[round(i)] for i in np.linspace(0, len(colours) - 1, n)]


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
    label = layers["themes"].get(theme, theme)
    period = data.period_label.iloc[0]
    if data["count"].fillna(0).max() == 0:
        return no_offences_figure(layers, data, theme, f"{label}: no offences recorded, {period}", out_dir, source)
    counts = data["count"].astype(float).to_numpy()
    rate = data.rate_per_1000.notna().any() and np.nanmax(counts) > SMALL_COUNT_MAX
    if rate:
        values = data["rate_per_1000"].astype(float).to_numpy()
        breaks = class_breaks(values)
        lows = [np.nanmin(values)] + breaks[:-1]
        labels = [f"{_fmt(lo, True)} to {_fmt(hi, True)}" if i == 0 else f"over {_fmt(lo, True)} to {_fmt(hi, True)}"
                  for i, (lo, hi) in enumerate(zip(lows, breaks))]
        colours = _palette(len(breaks), zero=False)
        subtitle = "Current ward boundaries; classes hold about equal numbers of wards"
    else:  # small counts: whole numbers, and as few classes as there are distinct counts
        values = counts
        bounds = count_classes(values)
        breaks = [high for _, high in bounds]
        labels = [_count_label(low, high) for low, high in bounds]
        colours = _palette(len(bounds), zero=bool(bounds) and bounds[0] == (0, 0))
        subtitle = (f"Current ward boundaries; crimes, not rates (no ward has more than {SMALL_COUNT_MAX}, "
                    "too few for a stable rate)")
    classes = np.searchsorted(breaks, values, side="left")
    fig, ax = _figure()
    for i, colour in enumerate(colours):
        part = data[classes == i]
        if len(part):
            part.plot(ax=ax, color=colour, linewidth=0, zorder=2)
    missing = data[np.isnan(values)]
    if len(missing):
        missing.plot(ax=ax, color="#dddddd", hatch="///", linewidth=0, zorder=2)
    _base(ax, layers["wards"], layers.get("area"), f"{label}: {'rate per 1,000 residents' if rate else 'crimes'}, {period}",
          subtitle, _source(data, source))
    _labels(ax, data)
    handles = [Patch(facecolor=c, edgecolor="#555555", linewidth=0.5, label=text) for c, text in zip(colours, labels)]
    if len(missing):
        handles.append(Patch(facecolor="#dddddd", hatch="///", label="not available"))
    ax.legend(handles=handles, title="rate per 1,000" if rate else "crimes", loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=7, title_fontsize=7, frameon=False)
    return _save(fig, out_dir, f"ward_{theme}")


def no_offences_figure(layers: dict, data, theme: str, title: str, out_dir: Path, source: str) -> list[Path]:
    """The ward outlines, unshaded, saying so: a map of zeros in one colour would read as a hot borough."""
    fig, ax = _figure()
    layers["wards"].plot(ax=ax, color="#ffffff", linewidth=0, zorder=1)
    _base(ax, layers["wards"], layers.get("area"), title, "Current ward boundaries; no ward is shaded",
          _source(data, source))
    ax.text(0.5, 0.5, "No offences recorded", transform=ax.transAxes, ha="center", va="center", fontsize=16,
            color="#333333", zorder=7, bbox={"facecolor": "white", "edgecolor": "#555555", "boxstyle": "round,pad=0.5"})
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
    handles = [Patch(facecolor=HOT, label=f"hot spot ({(cells.hotspot_class == 'hot').sum()} cells)"),
               Patch(facecolor=COLD, label=f"cold spot ({(cells.hotspot_class == 'cold').sum()} cells)"),
               Patch(facecolor="#f7f7f7", edgecolor="#555555", linewidth=0.5, label="not significant")]
    return _finish_grid_map(fig, ax, layers, theme, cells, "Gi* hot and cold spots",
                            "Getis-Ord Gi* (PySAL esda), Benjamini-Hochberg FDR", source, handles, out_dir, "gi_star")


def _finish_grid_map(fig, ax, layers: dict, theme: str, cells, heading: str, method: str, source: str, handles: list,
                     out_dir: Path, name: str) -> list[Path]:
    """Title, note, ward labels and legend of a map of Gi* grid cells, then the files."""
    label = layers["themes"].get(theme, theme)
    _base(ax, layers["wards"], layers.get("area"), f"{label}: {heading}, {cells.period_label.iloc[0]}",
          f"{method}; {layers.get('cell_m'):g} m grid cells; q <= {layers['fdr_alpha']:g}",
          _source({"source": ["record_extract"]}, source))
    _labels(ax, layers["wards"])
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    return _save(fig, out_dir, f"{name}_{theme}")


def hotspot_change_map(layers: dict, theme: str, out_dir: Path, source: str) -> list[Path]:
    """New, persistent and former Gi* hot spots between the previous and the current period; none
    when Gi* was not computed for both periods or no cell was a hot spot in either."""
    from matplotlib.patches import Patch

    grid = layers.get("grid_hotspots")
    if grid is None or grid.empty:
        return []
    cells = grid[(grid.theme == theme) & (grid.period_role == "current")]
    shown = cells[cells.hotspot_change.isin(list(CHANGE_STYLES))]
    if shown.empty:
        return []
    fig, ax = _figure()
    layers["wards"].plot(ax=ax, color="#f7f7f7", linewidth=0, zorder=1)
    handles = []
    for change, (colour, hatch, text) in CHANGE_STYLES.items():
        part = shown[shown.hotspot_change == change]
        if len(part):
            part.plot(ax=ax, facecolor=colour, hatch=hatch, edgecolor="#333333", linewidth=0, zorder=2)
        handles.append(Patch(facecolor=colour, hatch=hatch, edgecolor="#333333", linewidth=0.5,
                             label=f"{text}: {len(part)} cells"))
    handles.append(Patch(facecolor="#f7f7f7", edgecolor="#555555", linewidth=0.5, label="not a hot spot in either period"))
    return _finish_grid_map(fig, ax, layers, theme, cells, "change in Gi* hot spots",
                            "Compared with the previous period; Getis-Ord Gi*, FDR", source, handles, out_dir,
                            "hotspot_change")


MAP_KINDS = ("ward", "gi_star", "hotspot_change")
# layers a map draws from: only these travel to the worker process
MAP_LAYERS = ("wards", "area", "ward_hotspots", "grid_hotspots", "themes", "cell_m", "fdr_alpha")


def _setup_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "svna"  # stable SVG ids: same inputs, same files
    plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text: editable in reports, and faster to write


def _draw(layers: dict, kind: str, theme: str, out_dir: Path, source_line: str) -> list[Path]:
    draw = {"ward": ward_choropleth, "gi_star": gi_star_map, "hotspot_change": hotspot_change_map}[kind]
    return draw(layers, theme, out_dir, source_line)


_WORKER_LAYERS: dict = {}


def _worker_start(layers: dict) -> None:
    _setup_matplotlib()
    _WORKER_LAYERS.update(layers)


def _worker_draw(kind: str, theme: str, out_dir: Path, source_line: str) -> list[Path]:
    return _draw(_WORKER_LAYERS, kind, theme, out_dir, source_line)


def map_workers() -> int:
    """Processes that draw maps: SVNA_MAP_WORKERS, else 2 where there are two cores (1 = this process only)."""
    configured = os.environ.get("SVNA_MAP_WORKERS")
    return max(1, int(configured)) if configured else min(2, os.cpu_count() or 1)


def write_maps(layers: dict, out_dir: Path, source_line: str, workers: int | None = None) -> list[Path]:
    """Every map of the run; returns the files written, in the same order however many processes drew them.

    Drawing is most of the publish step (about 1 s a figure), so with `workers` > 1 a second process
    draws every other map while this one draws the rest. It is spawned (a fresh interpreter: this
    process runs DuckDB and Prefect threads, which must not be forked) and gets only the layers maps
    draw from. Each map is a pure function of its layers, so the files are the same either way.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _setup_matplotlib()
    hotspots = layers.get("ward_hotspots")
    themes = [t for t in layers["themes"] if hotspots is not None and t in set(hotspots.theme)]
    jobs = [(kind, theme) for theme in themes for kind in MAP_KINDS]
    workers = map_workers() if workers is None else workers
    if workers < 2 or len(jobs) < 4:  # a process start costs more than a few maps
        return [path for kind, theme in jobs for path in _draw(layers, kind, theme, out_dir, source_line)]

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shipped = {name: layers[name] for name in MAP_LAYERS if name in layers}
    grid = shipped.get("grid_hotspots")
    if grid is not None and "period_role" in grid:  # maps draw only the current period's cells
        shipped["grid_hotspots"] = grid[grid.period_role == "current"]
    results: dict[int, list[Path]] = {}
    with ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_start, initargs=(shipped,)) as pool:
        # the worker takes the odd jobs (its start-up overlaps the first maps drawn here)
        futures = {i: pool.submit(_worker_draw, kind, theme, out_dir, source_line)
                   for i, (kind, theme) in enumerate(jobs) if i % workers}
        for i, (kind, theme) in enumerate(jobs):
            if i not in futures:
                results[i] = _draw(layers, kind, theme, out_dir, source_line)
        for i, future in futures.items():
            results[i] = future.result()
    return [path for i in sorted(results) for path in results[i]]
