"""The dashboard's charts as inline SVG drawn on the server: horizontal bars (one or more series per
row) and weekly columns stacked by series.

No script, no `style` attribute (the console's Content-Security-Policy forbids inline style) and no
colour in the markup: every mark has classes (`series-1`, `series-2`, ...) that console.css colours,
so the charts follow the console's palette. Every label is escaped. Each chart has a <title>; its
table beneath it says the same in figures, so the chart needs no axis labels of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

# Narrow enough that a phone's 390 px shows the text at about 9 px: labels longer than LABEL_CHARS
# are cut (the table beneath has them whole).
LABEL_W = 130  # left column: the county or category
LABEL_CHARS = 19
BAR_W = 200  # longest bar
VALUE_W = 170  # right of the bar: the value as text
ROW_H = 22
BAR_GAP = 4
COLUMN_H = 130  # tallest weekly column
COLUMNS_W = 640  # the weekly chart's width, however many weeks
AXIS_H = 20  # below the columns: the first and last weeks' dates


@dataclass(frozen=True)
class Series:
    """One series of a chart: its name (the legend) and class (its colour in console.css)."""

    name: str
    css: str


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, one value per series, and what is written after it."""

    label: str
    values: tuple[float, ...]
    text: str


def _text(x: float, y: float, content: str, css: str, anchor: str = "start") -> str:
    return f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" class="{css}">{escape(content)}</text>'


def legend(series: Sequence[Series]) -> Markup:
    """The series' names with their swatches, as HTML beneath a chart (nothing for one series)."""
    if len(series) < 2:
        return Markup("")
    items = "".join(f'<li><span class="swatch {s.css}"></span>{escape(s.name)}</li>' for s in series)
    return Markup(f'<ul class="legend">{items}</ul>')


def bars(title: str, rows: Sequence[Bar], series: Sequence[Series], peak: float | None = None) -> Markup:
    """Horizontal bars, one group per row and one bar per series in it, scaled to `peak` (default:
    the largest value); a zero value draws no bar. No rows, no chart."""
    if not rows:
        return Markup("")
    per_row = len(series)
    bar_h = (ROW_H - BAR_GAP) / per_row
    group_h = ROW_H + (per_row - 1) * bar_h
    height = round(group_h * max(len(rows), 1) + BAR_GAP)
    top = peak or max((v for row in rows for v in row.values), default=0) or 1
    width = LABEL_W + BAR_W + VALUE_W
    parts = [f'<svg class="chart dash-bars" role="img" viewBox="0 0 {width} {height}">',
             f"<title>{escape(title)}</title>"]
    for i, row in enumerate(rows):
        y = i * group_h + BAR_GAP
        middle = y + (group_h - BAR_GAP) / 2
        label = row.label if len(row.label) <= LABEL_CHARS else row.label[:LABEL_CHARS - 1].rstrip() + "…"
        parts.append(_text(LABEL_W - 8, round(middle + 4, 1), label, "label", "end"))
        longest = 0
        for n, (value, kind) in enumerate(zip(row.values, series, strict=True)):
            length = round(BAR_W * value / top, 1) if value > 0 else 0
            longest = max(longest, length)
            if length:
                length = max(length, 1)
                parts.append(f'<rect class="bar {kind.css}" x="{LABEL_W}" y="{round(y + n * bar_h, 1)}" '
                             f'width="{length}" height="{round(bar_h - 1, 1)}"/>')
        parts.append(_text(LABEL_W + longest + 6, round(middle + 4, 1), row.text, "value"))
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(title: str, weeks: Sequence[date], stacks: Sequence[tuple[Series, Sequence[int]]]) -> Markup:
    """Weekly columns, each stacked by series (bottom first), with the first and last week dated
    beneath and the tallest week's total at the left."""
    count = max(len(weeks), 1)
    left = 60
    step = (COLUMNS_W - left - 10) / count
    width = COLUMNS_W
    totals = [sum(values[i] for _, values in stacks) for i in range(len(weeks))]
    peak = max(totals, default=0) or 1
    height = COLUMN_H + AXIS_H + 6
    parts = [f'<svg class="chart dash-columns" role="img" viewBox="0 0 {width} {height}">',
             f"<title>{escape(title)}</title>",
             f'<line class="axis-line" x1="{left}" y1="{COLUMN_H + 4}" x2="{width - 4}" '
             f'y2="{COLUMN_H + 4}"/>',
             _text(left - 6, 14, f"{peak:,}", "axis", "end"),
             _text(left - 6, COLUMN_H + 4, "0", "axis", "end")]
    for i, week in enumerate(weeks):
        x = round(left + i * step + 1, 1)
        base = COLUMN_H + 4
        for kind, values in stacks:
            value = values[i]
            if value <= 0:
                continue
            h = round(COLUMN_H * value / peak, 1)
            base = round(base - h, 1)
            parts.append(f'<rect class="bar {kind.css}" x="{x}" y="{base}" width="{round(step * 0.8, 1)}" '
                         f'height="{h}"><title>{escape(f"Week of {week:%d %b %Y}, {kind.name}: {value:,}")}'
                         "</title></rect>")
    if weeks:
        parts.append(_text(left, height - 4, f"{weeks[0]:%d %b %Y}", "axis"))
        parts.append(_text(width - 4, height - 4, f"{weeks[-1]:%d %b %Y}", "axis", "end"))
    parts.append("</svg>")
    return Markup("".join(parts))
