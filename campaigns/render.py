"""A campaign report as plain text (terminal), tidy CSV (spreadsheets) or one self-contained HTML page.

The HTML has no external assets and no JavaScript: inline SVG charts (`campaigns.charts`), every
value escaped. Every breakdown table ends with its total row, which equals the report's totals: the
held-out group is one row of every table ("held out (no message)", see `campaigns.report`). An
effect reads as its difference in percentage points with Newcombe's 95% interval, and a verdict in
words ("too few held out to say", "no measurable effect", "rise of 2.1 percentage points [0.4,
3.8]"); the attribution window says whether it has closed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from html import escape

from campaigns import charts
from campaigns.effect import Effect, points
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
EFFECT_FIELDS = [*(f.name for f in fields(Effect)), "verdict"]


def _when(moment) -> str:
    return moment.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M EAT") if moment else "-"


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def interval(effect: Effect) -> str:
    """The difference and its 95% interval in percentage points, or '-' when nothing is measured."""
    if not effect.measurable:
        return "-"
    size, low, high = points(effect.difference, effect.ci_low, effect.ci_high)
    return f"{'+' if effect.difference > 0 else ''}{size} [{low}, {high}] points"


def window_text(window) -> str:
    """The attribution window in words, and whether it has closed."""
    if window.first_day is None:
        return f"{window.days} days, not started"
    days = f"{window.days} days, {window.first_day} to {window.last_day} (whole days, Nairobi)"
    if window.closed:
        return f"{days}: closed, figures final"
    return f"{days}: open until {_when(window.end)}, figures may still change"


def _summary(report: CampaignReport) -> list[tuple[str, str]]:
    window = report.window
    return [
        ("campaign", f"{report.name} (id {report.campaign_id})"),
        ("state", report.state),
        ("measurement", report.status),
        ("started", _when(report.started_at)),
        ("finished", _when(report.finished_at)),
        ("attribution window", window_text(window)),
        ("holdout share", f"{report.holdout_share:.0%}"),
        ("generated", _when(report.generated_at)),
    ]


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def header_fields() -> tuple[str, ...]:
    """The funnel counts the breakdown tables show, in order."""
    return ("audience", "held_out", "treated", "sent", "delivered", "failed")


def slice_cells(slices: list[Slice], totals: Funnel) -> list[list[str]]:
    """A breakdown's rows as cells (key, `header_fields`, cost), then its total row: the report's totals."""
    return [
        [key, *(str(getattr(funnel, name)) for name in header_fields()), f"{funnel.cost:.2f}"]
        for key, funnel in [*((s.key, s.funnel) for s in slices), ("total", totals)]
    ]


def _slice_rows(title: str, slices: list[Slice], totals: Funnel) -> list[str]:
    if not slices:
        return [title, "  (none)", ""]
    header = [title, *(name.replace("_", " ") for name in header_fields()), "cost KES"]
    return _grid([header, *slice_cells(slices, totals)]) + [""]


def effect_cells(label: str, e: Effect) -> list[str]:
    """One effect as table cells: outcome, treated, held out, difference [95% CI], verdict."""
    return [
        label,
        f"{e.treated_x}/{e.treated_n} {_pct(e.treated_rate)}",
        f"{e.held_out_x}/{e.held_out_n} {_pct(e.held_out_rate)}",
        interval(e),
        e.verdict,
    ]


EFFECT_HEADER = ["outcome", "treated", "held out", "difference [95% CI]", "verdict"]


def _effects(report: CampaignReport) -> list[tuple[str, Effect]]:
    return [*((SIGNAL_LABELS[s], report.effects[s]) for s in SIGNALS), ("opted out", report.opt_outs)]


def _variant_effects(report: CampaignReport) -> list[tuple[str, Effect]]:
    return [(f"variant {v}", effects["any"]) for v, effects in report.effects_by_variant.items()]


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
    for title, slices in (
        ("network", report.by_network),
        ("county", report.by_county),
        ("variant", report.by_variant),
        ("day (EAT)", report.by_day),
    ):
        lines += _slice_rows(title, slices, totals)
    lines += [
        f"Effect: treated vs held out, attribution window {window_text(report.window)}",
        "  (Newcombe's hybrid score interval; too few to say below 30 people or 5 events in a group)",
    ]
    table_rows = [["  " + EFFECT_HEADER[0], *EFFECT_HEADER[1:]]]
    table_rows += [["  " + label, *effect_cells(label, e)[1:]] for label, e in _effects(report)]
    lines += _grid(table_rows) + [""]
    if report.effects_by_variant:
        lines.append("Any engagement by variant, each against the holdout")
        table_rows = [["  variant", *EFFECT_HEADER[1:]]]
        table_rows += [["  " + label, *effect_cells(label, e)[1:]] for label, e in _variant_effects(report)]
        lines += _grid(table_rows)
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
    out.append(("window", "", "closed", str(report.window.closed)))
    return out


def csv_text(report: CampaignReport) -> str:
    """The report as one tidy CSV: section,key,metric,value (pivot it in a spreadsheet)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "metric", "value"))
    writer.writerows(rows(report))
    return buffer.getvalue()


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
text-align:left}.scroll{overflow-x:auto}svg.chart{width:100%;max-width:48rem;height:auto}
"""


def funnel_bars(totals: Funnel) -> list[tuple[str, float, str]]:
    """The delivery funnel as `charts.bars` items: (label, count, kind)."""
    return [
        ("treated", totals.treated, "treated"),
        ("sent", totals.sent, "treated"),
        ("delivered", totals.delivered, "delivered"),
        ("failed", totals.failed, "failed"),
        ("awaiting report", totals.awaiting_report, "other"),
        ("not sent yet", totals.not_sent_yet, "other"),
        ("suppressed", totals.suppressed, "other"),
        ("cancelled", totals.cancelled, "other"),
        ("uncertain", totals.uncertain, "other"),
        ("skipped", totals.skipped, "other"),
        ("held out (no message)", totals.held_out, "held-out"),
    ]


def html(report: CampaignReport) -> str:
    """The report as one self-contained HTML page (inline SVG charts, no scripts), readable on a phone."""
    t = report.totals
    slice_header = ["", *(name.replace("_", " ") for name in header_fields()), "cost KES"]

    def slice_table(slices: list[Slice]) -> str:
        return _html_table(slice_header, slice_cells(slices, t)) if slices else "<p>none yet</p>"

    keyed = [s for s in report.by_county if not s.is_holdout]
    body = [
        f"<h1>Campaign report: {escape(report.name)}</h1>",
        _html_table(["", ""], [[k, v] for k, v in _summary(report)]),
        "<h2>Delivery</h2>",
        f"<p>Unique reach: <strong>{report.reach:,}</strong> numbers with a Success delivery report; "
        f"cost KES {t.cost:,.2f}. In every table below the held-out group is one row, "
        "&ldquo;held out (no message)&rdquo;, and the rows add up to the total row.</p>",
        charts.bars("Delivery funnel", funnel_bars(t)),
        _html_table(["failed by reason", "count"], [[k, str(n)] for k, n in report.failed_by_reason.items()]),
        _html_table(
            ["failed by network", "count"], [[k, str(n)] for k, n in report.failed_by_network.items()]
        ),
        "<h2>By network</h2>",
        slice_table(report.by_network),
        "<h2>By county</h2>",
        charts.bars("Delivered by county", [(s.key, s.funnel.delivered, "delivered") for s in keyed]),
        slice_table(report.by_county),
        "<h2>By variant</h2>",
        slice_table(report.by_variant),
        "<h2>By day (East Africa Time)</h2>",
        charts.bars(
            "Sent by day", [(s.key, s.funnel.sent, "treated") for s in report.by_day if s.funnel.sent]
        ),
        slice_table(report.by_day),
        "<h2>Effect</h2>",
        f"<p>Treated (everyone assigned a variant, delivered or not) against the held-out group, "
        f"attribution window {escape(window_text(report.window))}. Difference in percentage points "
        "with its 95% interval (Newcombe's hybrid score interval); a rise or fall only when the "
        "interval excludes 0, and &ldquo;too few to say&rdquo; when a group has fewer than 30 people "
        "or fewer than 5 who engaged.</p>",
        charts.forest_plot(_effects(report), "Difference, treated minus held out, with 95% intervals"),
        _html_table(EFFECT_HEADER, [effect_cells(label, e) for label, e in _effects(report)]),
        "<h3>Any engagement by variant, each against the holdout</h3>",
        charts.forest_plot(_variant_effects(report), "Any engagement by variant, with 95% intervals"),
        _html_table(
            ["variant", *EFFECT_HEADER[1:]],
            [effect_cells(label, e) for label, e in _variant_effects(report)],
        ),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(f'Campaign report: {report.name}')}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
