"""Small inline-SVG charts for the board report and the timelines: no JavaScript library, no CDN,
so a report opens from disk anywhere. Every drawn value is a `.mark` with a <title> (the browser's
tooltip); a suppressed value is drawn as a hatched `.suppressed` stub, never as a number."""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#1b6ca8", "#e07b39", "#3a9d5d", "#b8474f", "#7b5ea7", "#8c6d46", "#d17fb5", "#6f6f6f",
           "#b5a534", "#2bb5b8"]
HATCH = """<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>"""


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


def bar_chart(categories: list[str], series: dict[str, list[float | None]], *, stacked: bool = False,
              horizontal: bool = False, unit: str = "", width: int = 760, label_every: int = 1,
              ticks: dict[int, str] | None = None) -> str:
    """Grouped or stacked bars. `series` maps a series name to one value per category (None =
    suppressed). `ticks` (category index -> label, e.g. month_ticks) labels a time axis
    horizontally at those categories only; without it every `label_every`th category is labelled,
    slanted."""
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
    parts = [f'<svg class="chart-svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" xmlns="http://www.w3.org/2000/svg">', HATCH]
    for k in range(5):  # gridlines
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{value:g}</text>')
    for i, category in enumerate(categories):
        x0 = left + slot * i + slot * 0.1
        base = top + plot_h
        for j, name in enumerate(names):
            value = series[name][i]
            x = x0 if stacked else x0 + bar_w * j
            label = f"{escape(category)}: {escape(name)} "
            if value is None:
                parts.append(f'<rect class="mark suppressed" x="{x:.1f}" y="{base - 6:.1f}" width="{bar_w:.1f}" '
                             f'height="6" fill="url(#hatch)"><title>{label}suppressed (small number)</title></rect>')
                if stacked:
                    base -= 6
                continue
            h = plot_h * value / top_value
            y = base - h if stacked else top + plot_h - h
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colour(j)}"><title>{label}{value:g}{unit}</title></rect>')
            if stacked:
                base -= h
        if ticks is not None:
            if i in ticks:
                x_tick = left + slot * i
                parts.append(f'<line x1="{x_tick:.1f}" x2="{x_tick:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 5}" '
                             f'stroke="#666"/><text x="{x_tick:.1f}" y="{top + plot_h + 17}" font-size="10" '
                             f'text-anchor="start">{escape(ticks[i])}</text>')
        elif i % label_every == 0:
            parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{top + plot_h + 14}" font-size="10" '
                         f'text-anchor="end" transform="rotate(-45 {x0 + slot * 0.4:.1f} {top + plot_h + 14})">'
                         f'{escape(category)}</text>')
    parts.append("</svg>")
    return "".join(parts) + legend(names)


def _horizontal_stacked(categories: list[str], series: dict[str, list[float | None]], *, width: int,
                        unit: str) -> str:
    names = list(series)
    # room for the longest category name at 11px (about 6.5px a character), so no label runs into a bar
    row_h, top = 22, 6
    left = max(120, int(6.5 * max((len(c) for c in categories), default=0)) + 12)
    height = top + row_h * len(categories) + 24
    totals = [sum(series[n][i] or 0 for n in names) for i in range(len(categories))]
    top_value = _nice_max(max(totals or [0]))
    plot_w = width - left - 20
    parts = [f'<svg class="chart-svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" xmlns="http://www.w3.org/2000/svg">', HATCH]
    for i, category in enumerate(categories):
        y = top + row_h * i
        x = left
        parts.append(f'<text x="{left - 6}" y="{y + row_h * 0.65:.1f}" text-anchor="end" font-size="11">'
                     f'{escape(category)}</text>')
        for j, name in enumerate(names):
            value = series[name][i]
            label = f"{escape(category)}: {escape(name)} "
            if value is None:
                parts.append(f'<rect class="mark suppressed" x="{x:.1f}" y="{y + 3}" width="8" height="{row_h - 6}" '
                             f'fill="url(#hatch)"><title>{label}suppressed (small number)</title></rect>')
                x += 8
                continue
            if value == 0:
                continue
            w = plot_w * value / top_value
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                         f'fill="{colour(j)}"><title>{label}{value:g}{unit}</title></rect>')
            x += w
    axis_y = top + row_h * len(categories) + 14
    for k in range(5):
        value = top_value * k / 4
        parts.append(f'<text x="{left + plot_w * k / 4:.1f}" y="{axis_y}" font-size="10" text-anchor="middle">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts) + legend(names)


def legend(names: list[str], colours: list[str] | None = None, suppressed: bool = True) -> str:
    items = "".join(f'<span class="key"><i style="background:{(colours or PALETTE)[i % len(colours or PALETTE)]}">'
                    f'</i>{escape(str(n))}</span>' for i, n in enumerate(names))
    hatched = '<span class="key"><i class="hatched"></i>withheld (a small number)</span>' if suppressed else ""
    return f'<div class="legend">{items}{hatched}</div>'
