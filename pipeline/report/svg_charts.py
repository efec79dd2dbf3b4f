"""report.html's charts and maps as inline SVG (no script, no network): grouped bars, the day x hour
heatmap, the ward map and the monthly control chart. A suppressed value ([c]) is marked, never drawn.
Okabe-Ito (colour-blind safe) for series; cividis (light to dark) for maps and the heatmap.
"""

from __future__ import annotations

import math

import duckdb
from markupsafe import Markup, escape

from pipeline.report.report_tables import SUPPRESSED, as_number, fmt_number
from pipeline.transform import db

SERIES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
CIVIDIS = ("#fde838", "#c3b369", "#8a8779", "#575c6d", "#00204d")
EMPTY_FILL = "#ffffff"
SUPPRESSED_FILL = "#d9d9d9"
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
                  f'class="chart"><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
                  + "".join(body) + "</svg>")


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list]], y_label: str) -> Markup:
    """Grouped bars, one group per label; a missing or suppressed value gets no bar and a '[c]'/'–' mark."""
    width, height, left, bottom, top = 720, 260, 56, 40, 28
    values = [v for _, vs in series for v in map(as_number, vs) if v is not None]
    peak = _ticks(max(values, default=0) or 1)[-1]
    plot_w, plot_h = width - left - 10, height - top - bottom
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    body = [f'<text x="{left}" y="14" class="axis">{escape(y_label)}</text>']
    for tick in _ticks(peak):
        y = top + plot_h - tick / peak * plot_h
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                    f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{fmt_number(tick)}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + group_w * 0.1
        for s, (name, vs) in enumerate(series):
            raw = vs[i] if i < len(vs) else None
            v = as_number(raw)
            x = x0 + s * bar_w
            if v is None:
                mark = "[c]" if raw is SUPPRESSED else "–"
                body.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4}" class="axis" '
                            f'text-anchor="middle">{mark}</text>')
                continue
            h = v / peak * plot_h
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.95:.1f}" height="{h:.1f}" '
                        f'fill="{SERIES[s % len(SERIES)]}"><title>{escape(name)}, {escape(label)}: '
                        f'{fmt_number(v, 1 if v % 1 else 0)}</title></rect>')
        body.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 16}" class="axis" '
                    f'text-anchor="middle">{escape(label)}</text>')
    for s, (name, _) in enumerate(series):  # legend
        x = left + s * 160
        body.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{SERIES[s % len(SERIES)]}"/>'
                    f'<text x="{x + 14}" y="{height - 5}" class="axis">{escape(name)}</text>')
    desc = "; ".join(f"{name}: " + ", ".join(f"{lab} {fmt_number(v if v is SUPPRESSED else as_number(v))}"
                                             for lab, v in zip(labels, vs)) for name, vs in series)
    return _svg(width, height, title, desc, body)


def _ticks(peak: float) -> list[float]:
    step = 10 ** math.floor(math.log10(peak)) if peak >= 1 else 1
    while peak / step > 5:
        step *= 2
    return [step * i for i in range(math.ceil(peak / step) + 1)]  # the last tick is at or above the peak


def _classes(values: list[float], most: int = 5) -> list[tuple[float, float]]:
    """Up to `most` classes over the non-zero values (zero is a class of its own, unshaded); on small counts
    there are fewer classes, each a range of whole counts, so a legend never reads '0.0 to 0.0'."""
    distinct = sorted({v for v in values if v > 0})
    if not distinct:
        return []
    n = min(most, len(distinct))
    bounds, start = [], 0
    for k in range(1, n + 1):
        end = max(start, round(k * len(distinct) / n) - 1)
        bounds.append((distinct[start], distinct[end]))
        start = end + 1
    return bounds


def heatmap(title: str, cells: dict[tuple[int, int], object]) -> Markup:
    """Day of week x hour: cividis shades; a suppressed cell is grey and marked."""
    width, height, left, top, size = 720, 250, 40, 20, 27
    values = [as_number(v) for v in cells.values() if as_number(v) is not None]
    classes = _classes(values)
    body = []
    for hour in range(0, 24, 3):
        body.append(f'<text x="{left + hour * size + size / 2}" y="{top - 6}" class="axis" '
                    f'text-anchor="middle">{hour:02d}</text>')
    for d in range(7):
        body.append(f'<text x="{left - 6}" y="{top + d * size + 18}" class="axis" text-anchor="end">{DAY_NAMES[d]}</text>')
        for hour in range(24):
            raw = cells.get((d + 1, hour))
            fill, shown = _fill(raw, classes), fmt_number(raw if raw is SUPPRESSED else as_number(raw), 1)
            body.append(f'<rect x="{left + hour * size}" y="{top + d * size}" width="{size - 1}" height="{size - 1}" '
                        f'fill="{fill}" class="cell"><title>{DAY_NAMES[d]} {hour:02d}:00: {shown}</title></rect>')
    body += _legend(classes, left, top + 7 * size + 14, decimals=1)
    desc = f"Crimes by day of week and hour, {len(classes)} shading classes; darker is more."
    return _svg(width, height, title, desc, body)


def _fill(raw, classes: list[tuple[float, float]]) -> str:
    if raw is SUPPRESSED:
        return SUPPRESSED_FILL
    v = as_number(raw)
    if not v:
        return EMPTY_FILL
    for i, (_, high) in enumerate(classes):
        if v <= high:
            return _shade(i, len(classes))
    return _shade(len(classes) - 1, len(classes))


def _shade(i: int, n: int) -> str:
    return CIVIDIS[round(i * (len(CIVIDIS) - 1) / max(n - 1, 1))] if n > 1 else CIVIDIS[2]


def _legend(classes: list[tuple[float, float]], x: int, y: int, decimals: int = 0) -> list[str]:
    items = [(EMPTY_FILL, "none")] + [(_shade(i, len(classes)), _range(low, high, decimals))
                                      for i, (low, high) in enumerate(classes)]
    body = []
    for i, (fill, text) in enumerate(items):
        body.append(f'<rect x="{x + i * 110}" y="{y}" width="12" height="12" fill="{fill}" class="cell"/>'
                    f'<text x="{x + i * 110 + 16}" y="{y + 10}" class="axis">{escape(text)}</text>')
    return body


def _range(low: float, high: float, decimals: int) -> str:
    if low == high:
        return fmt_number(low, decimals if low % 1 else 0)
    return f"{fmt_number(low, decimals)} to {fmt_number(high, decimals)}"


def ward_map(con: duckdb.DuckDBPyConnection, title: str, counts: dict[str, object],
             labels: dict[str, str] | None = None) -> Markup | None:
    """Current wards (ref_wards) shaded by count, as inline SVG paths from DuckDB spatial; None when the
    run has no ward geometry. `labels` (ward code -> short text, e.g. a rank) are printed in a disc
    inside the ward, so a table beside the map can name them."""
    try:
        db.load_spatial(con)
        shapes = con.execute("select ward_code, coalesce(ward_name, ward_code), st_assvg(geom, false, 0), "
                             "st_xmin(geom), st_xmax(geom), st_ymin(geom), st_ymax(geom), "
                             "st_x(st_pointonsurface(geom)), st_y(st_pointonsurface(geom)) from ref_wards "
                             "where geom is not null and not st_isempty(geom) "
                             "order by ward_code").fetchall()
    except duckdb.Error:
        return None
    if not shapes:
        return None
    xmin, xmax = min(s[3] for s in shapes), max(s[4] for s in shapes)
    ymin, ymax = min(s[5] for s in shapes), max(s[6] for s in shapes)
    classes = _classes([v for v in map(as_number, counts.values()) if v is not None])
    pad = (xmax - xmin) * 0.02
    body = []
    for code, name, path, *_ in shapes:
        raw = counts.get(code)
        body.append(f'<path d="{escape(path)}" fill="{_fill(raw, classes)}" class="ward">'
                    f'<title>{escape(name)}: {fmt_number(raw if raw is SUPPRESSED else as_number(raw))}</title></path>')
    size = (xmax - xmin) / 28   # a label disc about 1/28 of the map's width, whatever its projection units
    for code, name, *_, x, y in shapes:
        if labels and code in labels:
            body.append(f'<g class="label"><circle cx="{x:.0f}" cy="{-y:.0f}" r="{size:.0f}" fill="#ffffff" '
                        f'stroke="#1a1a1a" stroke-width="{size / 8:.0f}"/><text x="{x:.0f}" y="{-y + size * 0.4:.0f}" '
                        f'font-size="{size * 1.2:.0f}" text-anchor="middle" font-weight="700">{escape(labels[code])}'
                        f'</text><title>{escape(name)}</title></g>')
    view = f"{xmin - pad:.0f} {-ymax - pad:.0f} {xmax - xmin + 2 * pad:.0f} {ymax - ymin + 2 * pad:.0f}"
    desc = f"Map of the {len(shapes)} current wards shaded by count in {len(classes)} classes; darker is more."
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view}" role="img" class="map">'
                  f'<title>{escape(title)}</title><desc>{escape(desc)}</desc>{"".join(body)}</svg>') + legend_html(classes)


def legend_html(classes: list[tuple[float, float]]) -> Markup:
    """The map's key as an HTML list beside the SVG, so its text keeps its size whatever the map's scale."""
    items = [(EMPTY_FILL, "none")] + [(_shade(i, len(classes)), _range(low, high, 0))
                                      for i, (low, high) in enumerate(classes)]
    return Markup('<ul class="key" aria-label="Key: crimes per ward">' + "".join(
        f'<li><span class="swatch" style="background:{fill}"></span>{escape(text)}</li>' for fill, text in items)
        + "</ul>")


def line_chart(title: str, months: list, counts: list, levels: dict[str, float]) -> Markup:
    """A c-chart: the monthly counts as a line, the centre and control limits as horizontal lines."""
    width, height, left, top, bottom = 720, 240, 56, 20, 44
    peak = _ticks(max([c for c in counts if c is not None] + list(levels.values()) + [1]))[-1]
    plot_w, plot_h = width - left - 10, height - top - bottom
    step = plot_w / max(len(months) - 1, 1)

    def y(v: float) -> float:
        return top + plot_h - v / peak * plot_h

    body = []
    for tick in _ticks(peak):
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>'
                    f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" class="axis" text-anchor="end">{fmt_number(tick)}</text>')
    for i, (name, value) in enumerate(levels.items()):
        dash = "" if name == "centre" else ' stroke-dasharray="6 4"'
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                    f'stroke="{SERIES[1 + i % 3]}" stroke-width="1.5"{dash}><title>{escape(name)}: '
                    f'{fmt_number(value, 1)}</title></line>'
                    f'<text x="{width - 12}" y="{y(value) - 3:.1f}" class="axis" text-anchor="end">{escape(name)}</text>')
    points = [(left + i * step, y(c)) for i, c in enumerate(counts) if c is not None]
    body.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
        SERIES[0], " ".join(f"{px:.1f},{py:.1f}" for px, py in points)))
    for i, (m, c) in enumerate(zip(months, counts)):
        if c is None:
            continue
        body.append(f'<circle cx="{left + i * step:.1f}" cy="{y(c):.1f}" r="3" fill="{SERIES[0]}">'
                    f'<title>{m:%b %Y}: {fmt_number(c)}</title></circle>')
        if i % 3 == 0 or i == len(months) - 1:
            body.append(f'<text x="{left + i * step:.1f}" y="{height - bottom + 16}" class="axis" '
                        f'text-anchor="middle">{m:%b %y}</text>')
    desc = ", ".join(f"{m:%b %Y} {fmt_number(c)}" for m, c in zip(months, counts))
    return _svg(width, height, title, desc, body)
