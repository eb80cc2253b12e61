"""Inline SVG pictures for the HTML reports, as view models.

Each function here turns plain data (a ``results.Heatmap``, a list of scores)
into a dict of numbers and short strings: positions, sizes, colours and the text
of every label. The templates (``templates/_svg.html.j2``) only loop over them,
so no markup is built in Python and everything is escaped by Jinja2.

Colour is never the only signal: every heatmap cell carries its value as text,
masked cells are hatched and marked with a cross, and bars carry their counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from grader import results

# Colour scales as (position in [0, 1], (r, g, b)) stops.
SEQUENTIAL = ((0.0, (247, 251, 255)), (0.5, (107, 174, 214)), (1.0, (8, 48, 107)))      # white -> blue
DIVERGING = ((0.0, (33, 102, 172)), (0.5, (247, 247, 247)), (1.0, (178, 24, 43)))       # blue -> white -> red
NAN_FILL = "#9e9e9e"
LEGEND_STEPS = 24

CELL = 34           # px per heatmap cell (up to 12 x 12)
CELL_SMALL = 44     # px per cell when the grid is at most SMALL_GRID cells across and down
SMALL_GRID = 6
LEFT, TOP = 56, 46  # room for the row (query) and column (key) labels
LEGEND_WIDTH = 180


@dataclass(frozen=True)
class Scale:
    """A linear colour scale from ``low`` to ``high``; diverging scales are centred on 0."""

    low: float
    high: float
    diverging: bool

    def position(self, value: float) -> float:
        if self.high <= self.low:
            return 0.5 if self.diverging else 0.0
        return min(1.0, max(0.0, (value - self.low) / (self.high - self.low)))

    def colour(self, value: float) -> str:
        if not math.isfinite(value):
            return NAN_FILL
        return _interpolate(DIVERGING if self.diverging else SEQUENTIAL, self.position(value))


def _interpolate(stops, t: float) -> str:
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            return _hex(tuple(round(a + (b - a) * f) for a, b in zip(c0, c1)))
    return _hex(stops[-1][1])


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (WCAG relative luminance)."""
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#111111" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def format_value(value: float, *, signed: bool = False) -> str:
    """A cell's value in at most five characters."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "\u2212inf"
    if value == 0:
        return "0" if signed else "0.00"
    if abs(value) < 0.005:  # two decimals would read 0 (or -0.00) for a difference that is not 0
        mantissa, exponent = f"{value:.0e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
        return ("+" + text if signed and value > 0 else text).replace("-", "\u2212")
    if abs(value) >= 100:
        text = f"{value:.2g}"
    else:
        text = f"{value:+.2f}" if signed else f"{value:.2f}"
    return "0.00" if text == "-0.00" else text.replace("-", "\u2212")


# -- heatmaps ----------------------------------------------------------------------

def _finite(heatmap: results.Heatmap) -> list[float]:
    return [v for row in heatmap.rows for v in row if isinstance(v, (int, float)) and math.isfinite(v)]


def is_difference(heatmap: results.Heatmap) -> bool:
    values = _finite(heatmap)
    return "difference" in heatmap.title.lower() or (bool(values) and min(values) < 0)


def scales(heatmaps: Sequence[results.Heatmap]) -> list[Scale]:
    """One scale per heatmap: differences get a diverging scale centred on 0; the others
    share one scale from 0 to at least 1, so yours and the expected weights compare by eye."""
    shared_high = max([1.0] + [v for h in heatmaps if not is_difference(h) for v in _finite(h)])
    out = []
    for heatmap in heatmaps:
        if is_difference(heatmap):
            reach = max([abs(v) for v in _finite(heatmap)] + [1e-12])
            out.append(Scale(-reach, reach, diverging=True))
        else:
            out.append(Scale(0.0, shared_high, diverging=False))
    return out


def heatmap_view(heatmap: results.Heatmap, scale: Scale, *, uid: str) -> dict[str, Any]:
    """Everything the template needs to draw ``heatmap`` as one <svg>."""
    rows = [list(r) for r in heatmap.rows]
    n_rows, n_cols = len(rows), max((len(r) for r in rows), default=0)
    masked = heatmap.masked or ()
    cell = CELL_SMALL if max(n_rows, n_cols) <= SMALL_GRID else CELL
    font_size = 12 if cell == CELL_SMALL else 10
    cells, any_masked, any_nan = [], False, False
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            value = float(value)
            is_masked = bool(i < len(masked) and j < len(masked[i]) and masked[i][j])
            is_nan = not math.isfinite(value)
            any_masked |= is_masked
            any_nan |= is_nan
            fill = scale.colour(value)
            text = format_value(value, signed=scale.diverging)
            cells.append({
                "x": LEFT + j * cell, "y": TOP + i * cell, "cx": LEFT + j * cell + cell / 2,
                "cy": TOP + i * cell + cell / 2, "fill": fill, "text": text, "text_fill": text_colour(fill),
                "masked": is_masked, "nan": is_nan,
                # Masked cells are hatched; the value sits on a plain band across the middle, to stay legible.
                "plate": {"x": LEFT + j * cell + 2, "y": TOP + i * cell + (cell - font_size - 6) / 2,
                          "width": cell - 4, "height": font_size + 6},
                "label": f"query {i}, key {j}: {text}" + (" (masked)" if is_masked else ""),
            })
    grid_w, grid_h = n_cols * cell, n_rows * cell
    legend_y = TOP + grid_h + 18
    legend = _legend(scale, y=legend_y)
    extras, extra_y = [], legend_y + 40
    if any_masked:
        extras.append({"y": extra_y, "text": "masked: may not attend", "kind": "masked"})
        extra_y += 20
    if any_nan:
        extras.append({"y": extra_y, "text": "NaN or inf", "kind": "nan", "fill": NAN_FILL})
        extra_y += 20
    return {
        "uid": uid,
        "title": heatmap.title,
        "width": LEFT + max(grid_w, LEGEND_WIDTH + 10) + 12,
        "height": extra_y + 4,
        "cell": cell,
        "font_size": font_size,
        "cells": cells,
        "grid": {"x": LEFT, "y": TOP, "width": grid_w, "height": grid_h},
        "row_ticks": [{"x": LEFT - 6, "y": TOP + i * cell + cell / 2, "text": str(i)} for i in range(n_rows)],
        "col_ticks": [{"x": LEFT + j * cell + cell / 2, "y": TOP - 6, "text": str(j)} for j in range(n_cols)],
        "col_label": {"x": LEFT + grid_w / 2, "y": 16, "text": heatmap.col_label},
        "row_label": {"x": 16, "y": TOP + grid_h / 2, "text": heatmap.row_label},
        "legend": legend,
        "extras": extras,
        "description": (f"{heatmap.title}: {n_rows} by {n_cols} grid, {heatmap.row_label}s down, "
                        f"{heatmap.col_label}s across; colour scale from {legend['ticks'][0]['text']} "
                        f"to {legend['ticks'][-1]['text']}; every cell is labelled with its value."),
    }


def _legend(scale: Scale, *, y: float) -> dict[str, Any]:
    step = LEGEND_WIDTH / LEGEND_STEPS
    swatches = []
    for k in range(LEGEND_STEPS):
        value = scale.low + (scale.high - scale.low) * (k + 0.5) / LEGEND_STEPS
        swatches.append({"x": LEFT + k * step, "width": step + 0.5, "fill": scale.colour(value)})
    ticks = []
    for t in (0.0, 0.5, 1.0):
        value = scale.low + (scale.high - scale.low) * t
        ticks.append({"x": LEFT + LEGEND_WIDTH * t, "text": format_value(value, signed=scale.diverging),
                      "anchor": ("start", "middle", "end")[int(t * 2)]})
    return {"y": y, "height": 10, "x": LEFT, "width": LEGEND_WIDTH, "swatches": swatches, "ticks": ticks,
            "tick_y": y + 24}


def figures_view(heatmaps: Sequence[results.Heatmap], *, uid: str) -> list[dict[str, Any]]:
    return [heatmap_view(h, s, uid=f"{uid}-{n}") for n, (h, s) in enumerate(zip(heatmaps, scales(heatmaps)))]


# -- bars --------------------------------------------------------------------------

def meter_view(fraction: float, *, width: int = 320, height: int = 16) -> dict[str, Any]:
    """A horizontal bar filled to ``fraction`` (0 to 1), e.g. a score."""
    fraction = min(1.0, max(0.0, fraction))
    return {"width": width, "height": height, "filled": round(width * fraction, 2)}


def histogram_view(scores: Sequence[float], max_score: float) -> dict[str, Any]:
    """A bar chart of how many students got each score.

    One bar per whole point when the maximum is at most 20 points, otherwise ten
    bars of 10% each. Each bar is labelled with its count.
    """
    width, height, left, bottom, top, right = 600, 240, 48, 46, 18, 12
    if 0 < max_score <= 20 and float(max_score).is_integer():
        edges = [(float(k), float(k)) for k in range(int(max_score) + 1)]
        labels = [str(k) for k in range(int(max_score) + 1)]
        counts = [0] * len(edges)
        for score in scores:
            counts[min(int(math.floor(score + 1e-9)), len(counts) - 1)] += 1
        x_title = "score (points)"
    else:
        tenth = (max_score or 1.0) / 10
        labels = [f"{10 * k}\u2013{10 * k + 10}%" if k < 9 else "90\u2013100%" for k in range(10)]
        counts = [0] * 10
        for score in scores:
            counts[min(int(score / tenth + 1e-9), 9)] += 1
        x_title = "score (percent of the maximum)"
    peak = max(counts + [1])
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(counts)
    bars = []
    for k, (count, label) in enumerate(zip(counts, labels)):
        h = plot_h * count / peak
        bars.append({"x": left + k * slot + slot * 0.12, "y": top + plot_h - h, "width": slot * 0.76,
                     "height": h, "count": count, "count_y": top + plot_h - h - 4, "cx": left + (k + 0.5) * slot,
                     "label": label, "title": f"{label}: {count} student{'s' if count != 1 else ''}"})
    step = max(1, math.ceil(peak / 5))
    y_ticks = [{"y": top + plot_h - plot_h * c / peak, "text": str(c)} for c in range(0, peak + 1, step)]
    return {
        "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w, "plot_h": plot_h,
        "baseline": top + plot_h, "label_y": top + plot_h + 16, "bars": bars, "y_ticks": y_ticks,
        "x_title": {"x": left + plot_w / 2, "y": height - 6, "text": x_title},
        "y_title": {"x": 14, "y": top + plot_h / 2, "text": "students"},
        "small_labels": len(bars) > 12,
        "description": "Score distribution: " + "; ".join(b["title"] for b in bars) + ".",
    }


# -- lines -------------------------------------------------------------------------

def curve_view(curve: results.Curve, *, uid: str) -> dict[str, Any]:
    """A line chart of ``curve.values`` against their index, with labelled axes.

    The y axis starts at 0 (a loss falling towards 0 reads as learning); non-finite
    values end the line where they start, and the description says so.
    """
    width, height, left, bottom, top, right = 480, 240, 56, 46, 16, 16
    values = [float(v) for v in curve.values]
    finite = [v for v in values if math.isfinite(v)]
    upper = max(finite + [1e-12]) * 1.05
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(values) - 1, 1)
    points = []
    for k, v in enumerate(values):
        if not math.isfinite(v):
            break
        points.append(f"{left + plot_w * k / count:.1f},{top + plot_h * (1 - v / upper):.1f}")
    y_ticks = [{"y": round(top + plot_h * (1 - f), 1), "text": format_value(upper * f)} for f in (0, 0.5, 1)]
    x_ticks = [{"x": round(left + plot_w * k / count, 1), "text": str(k + 1)}
               for k in sorted({0, count // 2, count})]
    described = ", ".join(f"{format_value(v)} at {curve.x_label} {k + 1}"
                          for k, v in ((0, values[0]), (len(values) - 1, values[-1]))) if values else "no values"
    stopped = "" if len(points) == len(values) else f"; not finite from {curve.x_label} {len(points) + 1} on"
    return {
        "uid": uid, "title": curve.title, "width": width, "height": height, "left": left, "top": top,
        "plot_w": plot_w, "plot_h": plot_h, "baseline": top + plot_h, "points": " ".join(points),
        "y_ticks": y_ticks, "x_ticks": x_ticks, "tick_y": top + plot_h + 16,
        "x_title": {"x": left + plot_w / 2, "y": height - 6, "text": curve.x_label},
        "y_title": {"x": 14, "y": top + plot_h / 2, "text": curve.y_label},
        "description": f"{curve.title}: {curve.y_label} {described}{stopped}.",
    }
