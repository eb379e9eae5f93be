"""A campaign report as plain text (terminal), tidy CSV (spreadsheets) or one self-contained HTML page.

The HTML has no external assets and no JavaScript: inline SVG bar charts, every value escaped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from html import escape

from campaigns.effect import Effect
from campaigns.report import SIGNAL_LABELS, SIGNALS, CampaignReport, Funnel, Slice
from hotline.core.time import NAIROBI

FUNNEL = [f.name for f in fields(Funnel)]
FUNNEL_LABELS = {
    "audience": "audience",
    "held_out": "held out (no message)",
    "treated": "treated (assigned a variant)",
    "sent": "sent (accepted by AT)",
    "delivered": "delivered (unique numbers reached)",
    "failed": "failed",
    "awaiting_report": "awaiting delivery report",
    "not_sent_yet": "not sent yet",
    "suppressed": "suppressed",
    "cancelled": "cancelled",
    "uncertain": "uncertain (answer lost, no report): resend or skip",
    "skipped": "skipped (uncertain, not sent again)",
    "cost": "cost (KES)",
}
EFFECT_FIELDS = [f.name for f in fields(Effect)]


def _when(moment) -> str:
    return moment.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M EAT") if moment else "-"


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def _effect_text(effect: Effect) -> str:
    if not effect.measurable:
        return f"not measurable ({effect.note})"
    text = f"{_pct(effect.difference, True)} [{_pct(effect.ci_low, True)}, {_pct(effect.ci_high, True)}]"
    text += " significant" if effect.significant else " not significant"
    return text + (" (few events: approximate)" if effect.small_sample else "")


def _window(window) -> str:
    if window.first_day is None:
        return f"{window.days} days, not started"
    return f"{window.days} days, {window.first_day} to {window.last_day} (whole days, Nairobi)"


def _summary(report: CampaignReport) -> list[tuple[str, str]]:
    window = report.window
    return [
        ("campaign", f"{report.name} (id {report.campaign_id})"),
        ("state", report.state),
        ("measurement", report.status),
        ("started", _when(report.started_at)),
        ("finished", _when(report.finished_at)),
        ("attribution window", _window(window)),
        ("holdout share", f"{report.holdout_share:.0%}"),
        ("generated", _when(report.generated_at)),
    ]


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _slice_rows(title: str, slices: list[Slice]) -> list[str]:
    if not slices:
        return [title, "  (none)", ""]
    header = [title, "audience", "held out", "treated", "sent", "delivered", "failed", "cost KES"]
    rows = [header] + [
        [s.key, *(str(getattr(s.funnel, name)) for name in header_fields()), f"{s.funnel.cost:.2f}"]
        for s in slices
    ]
    return _grid(rows) + [""]


def header_fields() -> tuple[str, ...]:
    """The funnel counts the breakdown tables show, in order."""
    return ("audience", "held_out", "treated", "sent", "delivered", "failed")


def table(report: CampaignReport) -> str:
    """The report as plain text for a terminal."""
    lines = _grid([[k, v] for k, v in _summary(report)]) + [""]
    totals = report.totals
    lines += (
        ["Delivery"]
        + _grid(
            [
                [
                    f"  {FUNNEL_LABELS[name]}",
                    f"{getattr(totals, name):.2f}" if name == "cost" else str(getattr(totals, name)),
                ]
                for name in FUNNEL
            ]
        )
        + [f"  unique reach: {report.reach}", ""]
    )
    for title, counts in (
        ("Failed by reason", report.failed_by_reason),
        ("Failed by network", report.failed_by_network),
    ):
        lines += [title] + ([f"  {key}: {n}" for key, n in counts.items()] or ["  (none)"]) + [""]
    lines += _slice_rows("network", report.by_network)
    lines += _slice_rows("county", report.by_county)
    lines += _slice_rows("variant", report.by_variant)
    lines += _slice_rows("day (EAT)", report.by_day)
    lines += [f"Effect: treated vs held out, within the attribution window ({report.status})"]
    rows = [["  outcome", "treated", "held out", "difference [95% CI]"]]
    for signal in SIGNALS:
        e = report.effects[signal]
        rows.append(
            [
                f"  {SIGNAL_LABELS[signal]}",
                f"{e.treated_x}/{e.treated_n} {_pct(e.treated_rate)}",
                f"{e.held_out_x}/{e.held_out_n} {_pct(e.held_out_rate)}",
                _effect_text(e),
            ]
        )
    e = report.opt_outs
    rows.append(
        [
            "  opted out",
            f"{e.treated_x}/{e.treated_n} {_pct(e.treated_rate)}",
            f"{e.held_out_x}/{e.held_out_n} {_pct(e.held_out_rate)}",
            _effect_text(e),
        ]
    )
    lines += _grid(rows) + [""]
    for variant, effects in report.effects_by_variant.items():
        e = effects["any"]
        lines.append(
            f"  variant {variant}, any engagement: {e.treated_x}/{e.treated_n} vs "
            f"{e.held_out_x}/{e.held_out_n}: {_effect_text(e)}"
        )
    return "\n".join(lines).rstrip() + "\n"


def rows(report: CampaignReport) -> list[tuple[str, str, str, str]]:
    """The report as tidy (section, key, metric, value) rows."""
    out = [("summary", "", name, value) for name, value in _summary(report)]
    out += [("totals", "", name, str(getattr(report.totals, name))) for name in FUNNEL]
    out.append(("totals", "", "reach", str(report.reach)))
    out += [("failed_by_reason", key, "failed", str(n)) for key, n in report.failed_by_reason.items()]
    out += [("failed_by_network", key, "failed", str(n)) for key, n in report.failed_by_network.items()]
    for section, slices in (
        ("network", report.by_network),
        ("county", report.by_county),
        ("variant", report.by_variant),
        ("day", report.by_day),
    ):
        out += [(section, s.key, name, str(getattr(s.funnel, name))) for s in slices for name in FUNNEL]
    effects = [("effect", signal, e) for signal, e in report.effects.items()]
    effects.append(("effect", "opted_out", report.opt_outs))
    effects += [
        (f"effect_variant_{variant}", signal, e)
        for variant, by_signal in report.effects_by_variant.items()
        for signal, e in by_signal.items()
    ]
    for section, key, e in effects:
        out += [
            (section, key, name, "" if getattr(e, name) is None else str(getattr(e, name)))
            for name in EFFECT_FIELDS
        ]
    return out


def csv_text(report: CampaignReport) -> str:
    """The report as one tidy CSV: section,key,metric,value (pivot it in a spreadsheet)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "metric", "value"))
    writer.writerows(rows(report))
    return buffer.getvalue()


BAR_COLOURS = {
    "delivered": "#2e7d32",
    "failed": "#c62828",
    "other": "#9e9e9e",
    "treated": "#1565c0",
    "held_out": "#757575",
}


def _bars(title: str, items: list[tuple[str, float, str]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: (label, value, colour) per bar."""
    if not items:
        return f"<h3>{escape(title)}</h3><p>none yet</p>"
    peak = max(value for _, value, _ in items) or 1
    height, label_w, bar_w = 22, 150, 300
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {label_w + bar_w + 90} '
        f'{height * len(items) + 4}" width="100%">'
    ]
    for i, (label, value, colour) in enumerate(items):
        y = i * height + 2
        width = max(1, round(bar_w * value / peak)) if value else 0
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:24])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{height - 6}" '
            f'fill="{colour}"/><text x="{label_w + width + 4}" y="{y + 15}">'
            f"{escape(f'{value:,.0f}{unit}')}</text>"
        )
    parts.append("</svg>")
    return f"<h3>{escape(title)}</h3>" + "".join(parts)


def _effect_chart(title: str, effects: list[tuple[str, Effect]]) -> str:
    """Differences in percentage points with their 95% CI as error bars around a zero line."""
    shown = [(label, e) for label, e in effects if e.measurable]
    if not shown:
        return f"<h3>{escape(title)}</h3><p>not measurable yet</p>"
    span = max(max(abs(e.ci_low), abs(e.ci_high)) for _, e in shown) or 0.01
    label_w, half, height = 170, 140, 26
    zero = label_w + half

    def x(value: float) -> float:
        return zero + half * value / span

    parts = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {label_w + 2 * half + 120} '
        f'{height * len(shown) + 24}" width="100%">',
        f'<line x1="{zero}" y1="0" x2="{zero}" y2="{height * len(shown)}" stroke="#000"/>',
        f'<text x="{zero}" y="{height * len(shown) + 16}" text-anchor="middle">0</text>',
    ]
    for i, (label, e) in enumerate(shown):
        y = i * height + height / 2
        colour = (
            "#2e7d32" if e.significant and e.difference > 0 else "#c62828" if e.significant else "#757575"
        )
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 5}" text-anchor="end">{escape(label)}</text>'
            f'<line x1="{x(e.ci_low):.1f}" y1="{y}" x2="{x(e.ci_high):.1f}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"/><line x1="{x(e.ci_low):.1f}" y1="{y - 6}" x2="{x(e.ci_low):.1f}" '
            f'y2="{y + 6}" stroke="{colour}"/><line x1="{x(e.ci_high):.1f}" y1="{y - 6}" '
            f'x2="{x(e.ci_high):.1f}" y2="{y + 6}" stroke="{colour}"/>'
            f'<circle cx="{x(e.difference):.1f}" cy="{y}" r="4" fill="{colour}"/>'
            f'<text x="{label_w + 2 * half + 6}" y="{y + 5}">{escape(_pct(e.difference, True))}</text>'
        )
    parts.append("</svg>")
    return f"<h3>{escape(title)}</h3>" + "".join(parts)


def _html_table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    rows_html = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in body
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{rows_html}</table></div>'


STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:52rem;padding:1rem;color:#222;line-height:1.4}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.2rem .5rem;border-bottom:1px solid #eee;
text-align:left}.scroll{overflow-x:auto}svg{font-size:12px;max-width:40rem}
"""


def html(report: CampaignReport) -> str:
    """The report as one self-contained HTML page (inline SVG charts, no scripts), readable on a phone."""
    t = report.totals
    funnel = [
        ("treated", t.treated, BAR_COLOURS["treated"]),
        ("sent", t.sent, BAR_COLOURS["treated"]),
        ("delivered", t.delivered, BAR_COLOURS["delivered"]),
        ("failed", t.failed, BAR_COLOURS["failed"]),
        ("awaiting report", t.awaiting_report, BAR_COLOURS["other"]),
        ("not sent yet", t.not_sent_yet, BAR_COLOURS["other"]),
        ("suppressed", t.suppressed, BAR_COLOURS["other"]),
        ("cancelled", t.cancelled, BAR_COLOURS["other"]),
        ("uncertain", t.uncertain, BAR_COLOURS["other"]),
        ("skipped", t.skipped, BAR_COLOURS["other"]),
        ("held out", t.held_out, BAR_COLOURS["held_out"]),
    ]
    slice_header = ["", *header_fields(), "cost KES"]

    def slice_table(slices: list[Slice]) -> str:
        body = [
            [s.key, *(str(getattr(s.funnel, n)) for n in header_fields()), f"{s.funnel.cost:.2f}"]
            for s in slices
        ]
        return _html_table(slice_header, body) if body else "<p>none yet</p>"

    effect_rows = []
    for label, e in [
        *((SIGNAL_LABELS[s], report.effects[s]) for s in SIGNALS),
        ("opted out", report.opt_outs),
    ]:
        effect_rows.append(
            [
                label,
                f"{e.treated_x}/{e.treated_n} ({_pct(e.treated_rate)})",
                f"{e.held_out_x}/{e.held_out_n} ({_pct(e.held_out_rate)})",
                _effect_text(e),
            ]
        )
    variant_rows = [
        [variant, SIGNAL_LABELS[s], _effect_text(e)]
        for variant, effects in report.effects_by_variant.items()
        for s, e in effects.items()
    ]
    body = [
        f"<h1>Campaign report: {escape(report.name)}</h1>",
        _html_table(["", ""], [[k, v] for k, v in _summary(report)]),
        "<h2>Delivery</h2>",
        f"<p>Unique reach: <strong>{report.reach:,}</strong> numbers with a Success delivery report; "
        f"cost KES {t.cost:,.2f}.</p>",
        _bars("Delivery funnel", [(label, v, c) for label, v, c in funnel]),
        _html_table(["failed by reason", "count"], [[k, str(n)] for k, n in report.failed_by_reason.items()]),
        _html_table(
            ["failed by network", "count"], [[k, str(n)] for k, n in report.failed_by_network.items()]
        ),
        "<h2>By network</h2>",
        slice_table(report.by_network),
        "<h2>By county</h2>",
        _bars(
            "Delivered by county",
            [(s.key, s.funnel.delivered, BAR_COLOURS["delivered"]) for s in report.by_county],
        ),
        slice_table(report.by_county),
        "<h2>By variant</h2>",
        slice_table(report.by_variant),
        "<h2>By day (East Africa Time)</h2>",
        _bars("Sent by day", [(s.key, s.funnel.sent, BAR_COLOURS["treated"]) for s in report.by_day]),
        slice_table(report.by_day),
        "<h2>Effect</h2>",
        f"<p>Treated (everyone assigned a variant, delivered or not) against the held-out group, "
        f"within the attribution window ({escape(report.status)}). Difference in percentage points "
        f"with its 95% confidence interval; significant when the interval excludes 0.</p>",
        _effect_chart(
            "Difference, treated minus held out",
            [*((SIGNAL_LABELS[s], report.effects[s]) for s in SIGNALS), ("opted out", report.opt_outs)],
        ),
        _html_table(["outcome", "treated", "held out", "difference [95% CI]"], effect_rows),
        "<h3>By variant (each against the holdout)</h3>",
        _effect_chart(
            "Any engagement, by variant",
            [(f"variant {v}", effects["any"]) for v, effects in report.effects_by_variant.items()],
        ),
        _html_table(["variant", "outcome", "difference [95% CI]"], variant_rows),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(f'Campaign report: {report.name}')}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
