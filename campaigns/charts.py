"""Inline SVG charts of a campaign report: a forest plot of effects, and horizontal bars.

Drawn on the server, for the console's report page and the standalone HTML export alike: no
script, and no `style` attribute anywhere (the console's Content-Security-Policy forbids inline
style), only SVG presentation attributes (fill, stroke, font-size), which work without any
stylesheet, and class names (`chart`, `ci`, `point`, `zero`, ...) that console.css may restyle.
Every label and value is escaped. A chart has a <title>; the text table that says the same in
words is the caller's.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from campaigns.effect import Effect, points

LABEL_W = 190  # left column: the outcome or variant
HALF_W = 150  # plot area each side of the zero line
TEXT_W = 230  # right column: the difference and its interval, or why there is none
ROW_H = 28
TOP = 8  # room above the first row
AXIS_H = 22  # room below the last row for the axis labels
FONT = 12
COLOURS = {
    "rise": "#1a7f37",
    "fall": "#b42318",
    "none": "#5b6770",
    "ink": "#1d2327",
    "muted": "#5b6770",
    "delivered": "#1a7f37",
    "failed": "#b42318",
    "treated": "#0b5d8c",
    "held-out": "#757575",
    "other": "#9e9e9e",
}


def _span(effects: list[Effect]) -> float:
    """Half the axis, in proportion units: the widest interval end, rounded up to 1, 2 or 5 × 10^k."""
    widest = max((max(abs(e.ci_low), abs(e.ci_high)) for e in effects), default=0.0) or 0.01
    power = 10 ** math.floor(math.log10(widest))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= widest - 1e-12)


def _drawn(effect: Effect) -> bool:
    return effect.measurable and not effect.too_few and effect.ci_low is not None


def _text(x: float, y: float, content: str, anchor: str = "start", css: str = "", fill: str = "ink") -> str:
    cls = f' class="{css}"' if css else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}" '
        f'fill="{COLOURS[fill]}"{cls}>{escape(content)}</text>'
    )


def forest_plot(rows: list[tuple[str, Effect]], title: str = "Effect, treated minus held out") -> Markup:
    """Inline SVG: one row per (label, effect), its difference as a point and its 95% interval as a
    line around a zero line; rows with too few people or events, or nothing to measure, as text only
    (in the right-hand column, where the others give their figures)."""
    drawn = [e for _, e in rows if _drawn(e)]
    span = _span(drawn)
    zero = LABEL_W + HALF_W
    height = TOP + ROW_H * max(len(rows), 1) + AXIS_H
    width = LABEL_W + 2 * HALF_W + TEXT_W

    def x(value: float) -> float:
        return zero + HALF_W * value / span

    parts = [
        f'<svg class="chart forest" role="img" viewBox="0 0 {width} {height}" data-span="{span:g}">',
        f"<title>{escape(title)}</title>",
        f'<line class="zero" x1="{zero}" y1="{TOP - 4}" x2="{zero}" y2="{height - AXIS_H}" '
        f'stroke="{COLOURS["ink"]}" stroke-width="1"/>',
    ]
    for value, anchor in ((-span, "start"), (0.0, "middle"), (span, "end")):
        label = f"{value * 100:+g} pts" if value else "0"
        parts.append(_text(x(value), height - 6, label, anchor, "axis", "muted"))
    for i, (label, e) in enumerate(rows):
        y = TOP + ROW_H * i + ROW_H / 2
        parts.append(_text(LABEL_W - 8, y + 4, label, "end", "label"))
        if not _drawn(e):
            parts.append(_text(zero + HALF_W + 10, y + 4, e.verdict, css="too-few", fill="muted"))
            continue
        kind = "none" if not e.significant else "rise" if e.difference > 0 else "fall"
        colour = COLOURS[kind]
        low, high = x(e.ci_low), x(e.ci_high)
        parts.append(
            f'<g class="effect {kind}">'
            f'<line class="ci" x1="{low:.1f}" y1="{y:.1f}" x2="{high:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<line class="ci-end" x1="{low:.1f}" y1="{y - 5:.1f}" x2="{low:.1f}" y2="{y + 5:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>'
            f'<line class="ci-end" x1="{high:.1f}" y1="{y - 5:.1f}" x2="{high:.1f}" y2="{y + 5:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>'
            f'<circle class="point" cx="{x(e.difference):.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'
            "</g>"
        )
        size, ci_low, ci_high = points(e.difference, e.ci_low, e.ci_high)
        sign = "+" if e.difference > 0 else ""
        parts.append(_text(zero + HALF_W + 10, y + 4, f"{sign}{size} [{ci_low}, {ci_high}] pts", css="value"))
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(title: str, items: list[tuple[str, float, str]], unit: str = "") -> Markup:
    """Inline SVG horizontal bars: (label, value, kind) per bar, `kind` one of delivered, failed,
    treated, held-out, other (its colour and class); the value written after each bar."""
    bar_w, label_w = 300, LABEL_W
    height = ROW_H * max(len(items), 1) + 4
    peak = max((value for _, value, _ in items), default=0) or 1
    parts = [
        f'<svg class="chart bars" role="img" viewBox="0 0 {label_w + bar_w + 110} {height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value, kind) in enumerate(items):
        kind = kind if kind in COLOURS else "other"
        y = ROW_H * i + 2
        width = max(1, round(bar_w * value / peak)) if value else 0
        parts.append(_text(label_w - 8, y + 18, label, "end", "label"))
        parts.append(
            f'<rect class="bar {kind}" x="{label_w}" y="{y + 5}" width="{width}" height="{ROW_H - 10}" '
            f'fill="{COLOURS[kind]}"/>'
        )
        parts.append(_text(label_w + width + 6, y + 18, f"{value:,.0f}{unit}", css="value"))
    parts.append("</svg>")
    return Markup("".join(parts))
