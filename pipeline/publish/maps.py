"""Static maps of a run, one self-contained SVG each (screens, print, Word, and inline in a web page).

* ``ward_<theme>``    choropleth of the rate per 1,000 residents (the count when no population is
                      configured) on the current wards, in five classes, with ward labels
* ``gi_star_<theme>`` Getis-Ord Gi* hot and cold grid cells (FDR-adjusted) over the ward outlines
* ``hotspot_change_<theme>`` new, persistent and former Gi* hot spots (grid_hotspots.hotspot_change),
                      drawn only when there is one
* ``emerging_<theme>`` emerging hot and cold spot classes (emerging_hotspots), drawn only when a cell has one

A theme with no offences in the period gets a figure saying "no offences recorded" instead of a
shaded map; when no ward has more than SMALL_COUNT_MAX crimes the map shows counts (not rates) in
whole-number classes, with fewer classes when there are few distinct counts.

Every map has a legend and a source line. There are no point maps at all, so none of domestic abuse
or sexual offences (DESIGN §8): only ward aggregates and grid statistics are drawn.

The SVG is written here, not by matplotlib: the ward outlines, labels and scale bar (the base layer) are
made once and shared by every map, each class is one path, and the viewer lays out the text (with
matplotlib, text layout and PNG encoding were most of a second a map).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import duckdb
import numpy as np

from pipeline.publish.catalog import MARKING
from pipeline.settings.config import RunConfig
from pipeline.sources import registry
from pipeline.transform import db

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


WIDTH, HEIGHT = 960, 700                 # the page, in SVG pixels
MAP_BOX = (20.0, 100.0, 640.0, 640.0)    # left, top, right, bottom of the map on the page
LEGEND_X, LEGEND_Y = 655, 112
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
LINE = 8.0                               # px between the lines of a ward label


def _text(x: float, y: float, text: str, **attrs) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


class BaseLayer:
    """What every map of a run shares, made once: the projection from British National Grid metres to
    the page, each ward's outline as a path, the ward and area outlines, ward labels and the scale bar."""

    def __init__(self, wards, area) -> None:
        xmin, ymin, xmax, ymax = wards.total_bounds
        if area is not None and len(area):
            axmin, aymin, axmax, aymax = area.total_bounds
            xmin, ymin, xmax, ymax = min(xmin, axmin), min(ymin, aymin), max(xmax, axmax), max(ymax, aymax)
        left, top, right, bottom = MAP_BOX
        self.scale = min((right - left) / max(xmax - xmin, 1.0), (bottom - top) / max(ymax - ymin, 1.0))
        self.x0 = left + ((right - left) - (xmax - xmin) * self.scale) / 2 - xmin * self.scale
        self.y0 = top + ((bottom - top) - (ymax - ymin) * self.scale) / 2 + ymax * self.scale
        self.ward_paths = dict(zip(wards.ward_code, self.paths(wards.geometry)))
        self.all_wards = " ".join(self.ward_paths.values())
        self.outlines = f'<path d="{self.all_wards}" fill="none" stroke="#555555" stroke-width="0.7"/>'
        if area is not None and len(area):
            self.outlines += f'<path d="{" ".join(self.paths(area.geometry))}" fill="none" stroke="#222222" stroke-width="1.4"/>'
        self.outlines += self._scale_bar(wards.total_bounds)
        self.labels = self._labels(wards)

    def page(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack([self.x0 + xy[:, 0] * self.scale, self.y0 - xy[:, 1] * self.scale])

    def paths(self, geometries) -> list[str]:
        """An SVG path (even-odd rings, page coordinates) per (multi)polygon."""
        import shapely

        geometries = np.asarray(geometries, dtype=object)
        parts, part_of = shapely.get_parts(geometries, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        coords, coord_of = shapely.get_coordinates(rings, return_index=True)
        points = [f"{x:.1f},{y:.1f}" for x, y in self.page(coords)]
        starts = np.searchsorted(coord_of, np.arange(len(rings) + 1))
        out = [[] for _ in range(len(geometries))]
        for i, geometry in enumerate(part_of[ring_of]):  # a ring's last point repeats its first: Z closes it
            out[geometry].append("M" + " ".join(points[starts[i]:starts[i + 1] - 1]) + "Z")
        return [" ".join(d) for d in out]

    def _scale_bar(self, bounds) -> str:
        xmin, ymin, xmax, ymax = bounds
        width = xmax - xmin
        length = 10 ** np.floor(np.log10(width / 4))
        length = length * 2 if width / 4 > length * 2 else length
        (x0, y0), (x1, _) = self.page(np.array([[xmin + width * 0.02, ymin + (ymax - ymin) * 0.02],
                                                [xmin + width * 0.02 + length, 0.0]]))
        label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        return (f'<path d="M{x0:.1f},{y0:.1f}H{x1:.1f}" stroke="#000000" stroke-width="2.8"/>'
                + _text((x0 + x1) / 2, y0 - 6, label, font_size=10, text_anchor="middle"))

    def _labels(self, wards) -> str:
        """Ward names at a point inside each ward, on a white halo so they read over any class colour."""
        points = self.page(np.array([(p.x, p.y) for p in wards.geometry.representative_point()]).reshape(-1, 2))
        texts = []
        for name, (x, y) in zip(wards.ward_name, points):
            lines = _wrap(str(name))
            texts += [_text(x, y + (i - (len(lines) - 1) / 2) * LINE + 2.5, line) for i, line in enumerate(lines)]
        return ('<g font-size="7.5" text-anchor="middle" fill="#000000" stroke="#ffffff" stroke-width="1.6" '
                'stroke-linejoin="round" paint-order="stroke">' + "".join(texts) + "</g>")


def _wrap(text: str, width: int = 14) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def _pattern(pid: str, colour: str, hatch: str) -> str:
    """Hatching as an SVG pattern over the class colour: lines for '/', dots for '.'."""
    mark = ('<circle cx="3" cy="3" r="1" fill="#333333"/>' if "." in hatch
            else '<path d="M0,0V6" stroke="#333333" stroke-width="1.2"/>')
    rotate = "" if "." in hatch else ' patternTransform="rotate(45)"'
    return (f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse"{rotate}>'
            f'<rect width="6" height="6" fill="{colour}"/>{mark}</pattern>')


def _fill(d: str, fill: str, opacity: float | None = None) -> str:
    alpha = f' fill-opacity="{opacity:g}"' if opacity is not None else ""
    return f'<path d="{d}" fill="{fill}"{alpha} fill-rule="evenodd" stroke="none"/>' if d else ""


def _legend(entries: list[tuple[str, str]], title: str | None = None) -> str:
    """Legend entries (fill, text) beside the map, each with a swatch outlined like a ward."""
    y, out = LEGEND_Y, ['<g font-size="10">']
    if title:
        out.append(_text(LEGEND_X + 40, y, title, text_anchor="middle"))
        y += 16
    for fill, text in entries:
        out.append(f'<rect x="{LEGEND_X}" y="{y - 9}" width="18" height="10" fill="{fill}" stroke="#555555" '
                   'stroke-width="0.7"/>' + _text(LEGEND_X + 24, y, text))
        y += 17
    return "".join(out) + "</g>"


def _save(out_dir: Path, stem: str, base: BaseLayer, title: str, subtitle: str, source: str, body: str,
          legend: str, defs: str = "", over: str = "", labels: bool = True) -> list[Path]:
    """One map as a self-contained SVG: marking, title, subtitle, the theme's layer under the shared
    base layer, the ward labels, the legend and the source line."""
    source_lines = "".join(_text(20, 668 + 11 * i, line) for i, line in enumerate(_wrap(source, 185)))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="{FONT}">'
           f"<title>{escape(title)}</title>" + (f"<defs>{defs}</defs>" if defs else "")
           + f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
           + _text(20, 30, MARKING, font_size=10, font_weight="bold", fill="#b00020")
           + _text(20, 56, title, font_size=16, font_weight="bold")
           + _text(20, 78, subtitle, font_size=12, fill="#444444")
           + body + base.outlines + over + (base.labels if labels else "") + legend
           + f'<g font-size="8.5" fill="#444444">{source_lines}</g></svg>\n')
    path = out_dir / f"{stem}.svg"
    path.write_text(svg, encoding="utf-8")
    return [path]


def _base(layers: dict, base: BaseLayer | None) -> BaseLayer:
    return base if base is not None else BaseLayer(layers["wards"], layers.get("area"))


def ward_choropleth(layers: dict, theme: str, out_dir: Path, source: str, base: BaseLayer | None = None) -> list[Path]:
    data = layers["ward_hotspots"]
    data = data[data.theme == theme]
    if data.empty or data["count"].isna().all():
        return []
    base = _base(layers, base)
    label = layers["themes"].get(theme, theme)
    period = data.period_label.iloc[0]
    if data["count"].fillna(0).max() == 0:
        return no_offences_figure(layers, data, theme, f"{label}: no offences recorded, {period}", out_dir, source, base)
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
    paths = _ward_paths(base, data)
    missing = np.isnan(values)
    body = "".join(_fill(" ".join(paths[(classes == i) & ~missing]), colour) for i, colour in enumerate(colours))
    entries = list(zip(colours, labels))
    stem, defs = f"ward_{theme}", ""
    if missing.any():
        defs = _pattern(f"{stem}-missing", "#dddddd", "///")
        body += _fill(" ".join(paths[missing]), f"url(#{stem}-missing)")
        entries.append((f"url(#{stem}-missing)", "not available"))
    return _save(out_dir, stem, base, f"{label}: {'rate per 1,000 residents' if rate else 'crimes'}, {period}",
                 subtitle, _source(data, source), body, _legend(entries, "rate per 1,000" if rate else "crimes"), defs)


def _ward_paths(base: BaseLayer, data) -> np.ndarray:
    """The base layer's path of each ward of `data` (drawn from its own geometry when the base has none)."""
    known = data.ward_code.isin(list(base.ward_paths)).to_numpy()
    paths = np.array([base.ward_paths.get(code, "") for code in data.ward_code], dtype=object)
    if not known.all():
        paths[~known] = base.paths(data.geometry[~known])
    return paths


def no_offences_figure(layers: dict, data, theme: str, title: str, out_dir: Path, source: str,
                       base: BaseLayer | None = None) -> list[Path]:
    """The ward outlines, unshaded, saying so: a map of zeros in one colour would read as a hot borough."""
    base = _base(layers, base)
    x, y = (MAP_BOX[0] + MAP_BOX[2]) / 2, (MAP_BOX[1] + MAP_BOX[3]) / 2
    over = (f'<rect x="{x - 115:.1f}" y="{y - 22:.1f}" width="230" height="40" rx="8" fill="#ffffff" '
            'stroke="#555555"/>' + _text(x, y + 6, "No offences recorded", font_size=21, text_anchor="middle",
                                           fill="#333333"))
    return _save(out_dir, f"ward_{theme}", base, title, "Current ward boundaries; no ward is shaded",
                 _source(data, source), _fill(base.all_wards, "#ffffff"), "", over=over, labels=False)


def _current_cells(layers: dict, theme: str):
    grid = layers.get("grid_hotspots")
    if grid is None or grid.empty:
        return None
    return grid[(grid.theme == theme) & (grid.period_role == "current")]


def gi_star_map(layers: dict, theme: str, out_dir: Path, source: str, base: BaseLayer | None = None) -> list[Path]:
    cells = _current_cells(layers, theme)
    if cells is None or cells.empty or (cells.hotspot_class == "not_computed").all():
        return []
    base = _base(layers, base)
    body = _fill(base.all_wards, "#f7f7f7")
    for cls, colour in (("hot", HOT), ("cold", COLD)):
        body += _fill(" ".join(base.paths(cells.geometry[(cells.hotspot_class == cls).to_numpy()])), colour, 0.85)
    entries = [(HOT, f"hot spot ({(cells.hotspot_class == 'hot').sum()} cells)"),
               (COLD, f"cold spot ({(cells.hotspot_class == 'cold').sum()} cells)"),
               ("#f7f7f7", "not significant")]
    return _grid_map(layers, theme, cells, "Gi* hot and cold spots", "Getis-Ord Gi* (PySAL esda), Benjamini-Hochberg FDR",
                     source, body, entries, out_dir, "gi_star", base)


def _grid_map(layers: dict, theme: str, cells, heading: str, method: str, source: str, body: str, entries: list,
              out_dir: Path, name: str, base: BaseLayer, defs: str = "") -> list[Path]:
    """Title, note, legend and file of a map of Gi* grid cells."""
    label = layers["themes"].get(theme, theme)
    return _save(out_dir, f"{name}_{theme}", base, f"{label}: {heading}, {cells.period_label.iloc[0]}",
                 f"{method}; {layers.get('cell_m'):g} m grid cells; q <= {layers['fdr_alpha']:g}",
                 _source({"source": ["record_extract"]}, source), body, _legend(entries), defs)


def hotspot_change_map(layers: dict, theme: str, out_dir: Path, source: str, base: BaseLayer | None = None) -> list[Path]:
    """New, persistent and former Gi* hot spots between the previous and the current period; none
    when Gi* was not computed for both periods or no cell was a hot spot in either."""
    cells = _current_cells(layers, theme)
    if cells is None:
        return []
    shown = cells[cells.hotspot_change.isin(list(CHANGE_STYLES))]
    if shown.empty:
        return []
    base = _base(layers, base)
    stem = f"hotspot_change_{theme}"
    body, defs, entries = _fill(base.all_wards, "#f7f7f7"), "", []
    for change, (colour, hatch, text) in CHANGE_STYLES.items():
        fill = colour
        if hatch:
            fill = f"url(#{stem}-{change})"
            defs += _pattern(f"{stem}-{change}", colour, hatch)
        part = shown[(shown.hotspot_change == change).to_numpy()]
        body += _fill(" ".join(base.paths(part.geometry)), fill)
        entries.append((fill, f"{text}: {len(part)} cells"))
    entries.append(("#f7f7f7", "not a hot spot in either period"))
    return _grid_map(layers, theme, cells, "change in Gi* hot spots", "Compared with the previous period; Getis-Ord Gi*, FDR",
                     source, body, entries, out_dir, "hotspot_change", base, defs)


# emerging hot spot classes (ArcGIS's): reds for hot, blues for cold, hatching or dots on the patterns
# about the past or of short runs, so no two classes differ by colour alone
EMERGING_STYLES = {
    "new_hot_spot": ("#E69F00", "....", "new hot spot: hot in the last month, never before"),
    "consecutive_hot_spot": ("#fc8d59", "////", "consecutive hot spot: hot in the last months only"),
    "intensifying_hot_spot": ("#b30000", None, "intensifying hot spot: hot 90% of months, ever hotter"),
    "persistent_hot_spot": ("#D55E00", None, "persistent hot spot: hot 90% of months, no trend"),
    "diminishing_hot_spot": ("#f4a582", None, "diminishing hot spot: hot 90% of months, cooling"),
    "sporadic_hot_spot": ("#fdd49e", "////", "sporadic hot spot: hot now, on and off before"),
    "oscillating_hot_spot": ("#CC79A7", "....", "oscillating hot spot: hot now, a cold spot before"),
    "historical_hot_spot": ("#bdbdbd", "////", "historical hot spot: hot 90% of months, not now"),
    "new_cold_spot": ("#56B4E9", "....", "new cold spot: cold in the last month, never before"),
    "consecutive_cold_spot": ("#92c5de", "////", "consecutive cold spot: cold in the last months only"),
    "intensifying_cold_spot": ("#08519c", None, "intensifying cold spot: cold 90% of months, ever colder"),
    "persistent_cold_spot": ("#2166ac", None, "persistent cold spot: cold 90% of months, no trend"),
    "diminishing_cold_spot": ("#c6dbef", None, "diminishing cold spot: cold 90% of months, warming"),
    "sporadic_cold_spot": ("#deebf7", "////", "sporadic cold spot: cold now, on and off before"),
    "oscillating_cold_spot": ("#9970ab", "....", "oscillating cold spot: cold now, a hot spot before"),
    "historical_cold_spot": ("#969696", "....", "historical cold spot: cold 90% of months, not now"),
}


def emerging_map(layers: dict, theme: str, out_dir: Path, source: str, base: BaseLayer | None = None) -> list[Path]:
    """Emerging hot and cold spot classes of the grid cells (emerging_hotspots); none when no cell has one.
    The legend names only the classes drawn, with their cell counts."""
    grid = layers.get("emerging_hotspots")
    if grid is None or grid.empty:
        return []
    cells = grid[(grid.theme == theme) & grid.emerging_class.isin(list(EMERGING_STYLES))]
    if cells.empty:
        return []
    base = _base(layers, base)
    stem = f"emerging_{theme}"
    body, defs, entries = _fill(base.all_wards, "#f7f7f7"), "", []
    for name, (colour, hatch, text) in EMERGING_STYLES.items():
        part = cells[(cells.emerging_class == name).to_numpy()]
        if part.empty:
            continue
        fill = colour
        if hatch:
            fill = f"url(#{stem}-{name})"
            defs += _pattern(f"{stem}-{name}", colour, hatch)
        body += _fill(" ".join(base.paths(part.geometry)), fill)
        entries.append((fill, f"{text} ({len(part)} cells)"))
    entries.append(("#f7f7f7", "no pattern"))
    label, first, last = layers["themes"].get(theme, theme), cells.first_month.iloc[0], cells.last_month.iloc[0]
    return _save(out_dir, stem, base, f"{label}: emerging hot spots, {first:%b %Y} to {last:%b %Y}",
                 f"Getis-Ord Gi* each month (FDR q <= {layers['fdr_alpha']:g}) and a Mann-Kendall trend; "
                 f"{layers.get('cell_m'):g} m grid cells; ArcGIS's emerging hot spot classes",
                 _source({"source": ["record_extract"]}, source), body, _legend(entries), defs)


MAP_KINDS = {"ward": ward_choropleth, "gi_star": gi_star_map, "hotspot_change": hotspot_change_map,
             "emerging": emerging_map}


def write_maps(layers: dict, out_dir: Path, source_line: str) -> list[Path]:
    """Every map of the run (each kind for each theme with something to show), on one base layer;
    returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hotspots = layers.get("ward_hotspots")
    if hotspots is None:
        return []
    present = set(hotspots.theme)
    base = BaseLayer(layers["wards"], layers.get("area"))
    return [path for theme in layers["themes"] if theme in present
            for draw in MAP_KINDS.values() for path in draw(layers, theme, out_dir, source_line, base)]
