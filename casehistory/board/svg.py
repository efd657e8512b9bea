"""Small inline-SVG charts for the board report and the timelines: no JavaScript library, no CDN,
so a report opens from disk anywhere. Every drawn value is a `.mark` with a <title> (the browser's
tooltip); a suppressed value is drawn as a hatched `.suppressed` stub, never as a number.

Python works out the geometry (scales, bar positions, which axis labels fit); the markup is
templates/bar_chart.svg, horizontal_bars.svg and legend.html, whose text (category, series and
axis labels) is escaped by the templates' autoescaping like every other value on a page."""

from __future__ import annotations

import math

from markupsafe import Markup

from casehistory.board import pages

PALETTE = ["#1b6ca8", "#e07b39", "#3a9d5d", "#b8474f", "#7b5ea7", "#8c6d46", "#d17fb5", "#6f6f6f",
           "#b5a534", "#2bb5b8"]


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _nice_max(value: float) -> float:
    """The axis maximum: four gridline steps of 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 4
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    return step * 4


def month_ticks(months: list[str]) -> dict[int, str]:
    """Axis labels for a continuous run of months ("2024-01"...): each January as its year, and the
    first month when it is far enough from the first January for the two not to collide."""
    ticks = {i: m[:4] for i, m in enumerate(months) if m.endswith("-01")}
    if months and (not ticks or min(ticks) >= 7):
        y, m = months[0].split("-")
        ticks[0] = f"{('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')[int(m) - 1]} {y}"
    return ticks


def _bar(x: float, y: float, w: float, h: float, j: int, category: str, name: str, value) -> dict:
    """A bar (value None: a hatched stub, withheld) and what its tooltip says."""
    return {"x": x, "y": y, "w": w, "h": h, "fill": colour(j), "category": category, "name": name, "value": value}


def bar_chart(categories: list[str], series: dict[str, list[float | None]], *, stacked: bool = False,
              horizontal: bool = False, unit: str = "", width: int = 760, label_every: int = 1,
              ticks: dict[int, str] | None = None) -> Markup:
    """Grouped or stacked bars, with their legend. `series` maps a series name to one value per
    category (None = suppressed). `ticks` (category index -> label, e.g. month_ticks) labels a time
    axis horizontally at those categories only; without it every `label_every`th category is
    labelled, slanted."""
    names = list(series)
    if horizontal:
        return _horizontal_stacked(categories, series, width=width, unit=unit)
    height, left, bottom, top = 260, 48, 56, 12
    totals = [sum(v or 0 for v in (series[n][i] for n in names)) if stacked else
              max([series[n][i] or 0 for n in names] or [0]) for i in range(len(categories))]
    top_value = _nice_max(max(totals or [0]))
    plot_w, plot_h = width - left - 10, height - top - bottom
    slot = plot_w / max(1, len(categories))
    bar_w = slot * 0.8 / (1 if stacked else max(1, len(names)))
    gridlines = [{"y": top + plot_h - plot_h * k / 4, "value": top_value * k / 4} for k in range(5)]
    columns = []  # per category: its bars, then its axis label (a tick, a slanted label, or none)
    for i, category in enumerate(categories):
        x0 = left + slot * i + slot * 0.1
        base = top + plot_h
        bars = []
        for j, name in enumerate(names):
            value = series[name][i]
            x = x0 if stacked else x0 + bar_w * j
            if value is None:
                bars.append(_bar(x, base - 6, bar_w, 6, j, category, name, None))
                if stacked:
                    base -= 6
                continue
            h = plot_h * value / top_value
            y = base - h if stacked else top + plot_h - h
            bars.append(_bar(x, y, bar_w, h, j, category, name, value))
            if stacked:
                base -= h
        column = {"bars": bars, "tick": None, "label": None}
        if ticks is not None:
            if i in ticks:
                column["tick"] = {"x": left + slot * i, "text": ticks[i]}
        elif i % label_every == 0:
            column["label"] = {"x": x0 + slot * 0.4, "text": category}
        columns.append(column)
    chart = pages.fragment("bar_chart.svg", width=width, height=height, left=left, axis_y=top + plot_h,
                           gridlines=gridlines, columns=columns, unit=unit)
    return chart + legend(names)


def _horizontal_stacked(categories: list[str], series: dict[str, list[float | None]], *, width: int,
                        unit: str) -> Markup:
    names = list(series)
    # room for the longest category name at 11px (about 6.5px a character), so no label runs into a bar
    row_h, top = 22, 6
    left = max(120, int(6.5 * max((len(c) for c in categories), default=0)) + 12)
    height = top + row_h * len(categories) + 24
    totals = [sum(series[n][i] or 0 for n in names) for i in range(len(categories))]
    top_value = _nice_max(max(totals or [0]))
    plot_w = width - left - 20
    rows = []
    for i, category in enumerate(categories):
        y = top + row_h * i
        x = left
        bars = []
        for j, name in enumerate(names):
            value = series[name][i]
            if value is None:
                bars.append(_bar(x, y + 3, 8, row_h - 6, j, category, name, None))
                x += 8
                continue
            if value == 0:
                continue
            w = plot_w * value / top_value
            bars.append(_bar(x, y + 3, w, row_h - 6, j, category, name, value))
            x += w
        rows.append({"category": category, "label_y": y + row_h * 0.65, "bars": bars})
    axis = [{"x": left + plot_w * k / 4, "value": top_value * k / 4} for k in range(5)]
    chart = pages.fragment("horizontal_bars.svg", width=width, height=height, left=left, rows=rows, axis=axis,
                           axis_y=top + row_h * len(categories) + 14, unit=unit)
    return chart + legend(names)


def legend(names: list[str], colours: list[str] | None = None, suppressed: bool = True) -> Markup:
    colours = colours or PALETTE
    keys = [{"name": str(n), "colour": colours[i % len(colours)]} for i, n in enumerate(names)]
    return pages.fragment("legend.html", keys=keys, suppressed=suppressed)
