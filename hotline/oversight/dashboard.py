"""The dashboard assembled: for a scope and a window, each chart's table and drawing, computed from
the queries of `stats` and `signals` (at most eight for the whole page; a CSV download runs only
its own chart's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup
from sqlalchemy.orm import Session

from hotline.core.config import Config
from hotline.core.counties import by_code
from hotline.oversight import signals, stats
from hotline.oversight.charts import Bar, Series, bars, columns, legend
from hotline.oversight.scope import Scope, Window, kind_label
from hotline.oversight.sql import tune
from hotline.oversight.tables import Column, Row, Table, by_weight, counted, county_row, minutes
from hotline.tips.casework import CASE_STATUSES, CLOSURE_REASONS
from hotline.tips.referrals import kind_label as organisation_label

CHARTS = {
    "counties": "Tips by county",
    "weeks": "Tips per week",
    "acknowledgement": "Time to acknowledgement",
    "escalations": "Escalations",
    "outcomes": "Case outcomes",
    "referrals": "Referrals by organisation type",
    "agencies": "Agency signals",
    "reach": "Campaign reach",
}
# The charts that read the per-county tip counts (one query serves them all).
FROM_TIP_FIGURES = ("counties", "acknowledgement", "escalations", "outcomes", "agencies")
CHART_ROWS = 15  # bars drawn at most; the table beneath has every row
CHANNEL_SERIES = (Series("USSD", "series-1"), Series("SMS", "series-2"))


@dataclass
class Section:
    """One chart of the page: its table, its drawing and legend, and a line saying what it counts."""

    name: str
    title: str
    table: Table
    chart: Markup = Markup("")
    legend: Markup = Markup("")
    note: str = ""


@dataclass
class Dashboard:
    """What the page (or one CSV) shows."""

    scope: Scope
    window: Window
    sections: dict[str, Section] = field(default_factory=dict)
    map_values: dict[int, int] = field(default_factory=dict)
    as_of: datetime | None = None  # when the figures were computed


def build(session: Session, config: Config, scope: Scope, window: Window, now: datetime,
          only: str | None = None) -> Dashboard:
    """The dashboard's sections (all, or `only` one chart's) for a scope and window."""
    wanted = [only] if only else list(CHARTS)
    tune(session)
    board = Dashboard(scope, window, as_of=now)
    figures = None
    if any(name in FROM_TIP_FIGURES for name in wanted):
        figures = stats.tip_figures(session, config, scope, window, now,
                                    medians_too="acknowledgement" in wanted)
    for name in wanted:
        board.sections[name] = SECTIONS[name](session, scope, window, figures)
    if "counties" in wanted:
        # Every county the scope covers has a figure, 0 included; counties outside it have none.
        covered = [scope.county] if scope.county is not None else ([] if scope.nothing else list(by_code()))
        board.map_values = {code: 0 for code in covered}
        board.map_values.update({code: f.tips for code, f in figures.counties.items() if code is not None})
    return board


def _cut(rows: list[Row]) -> list[Row]:
    return rows[:CHART_ROWS]


def _more(rows: list[Row], what: str = "counties") -> str:
    return f"The chart shows the {CHART_ROWS} {what} with the most; the table has all {len(rows)}." \
        if len(rows) > CHART_ROWS else ""


def _counties(session, scope, window, figures: stats.TipFigures) -> Section:
    order = by_weight({code: f.tips for code, f in figures.counties.items()})
    table = Table("counties", CHARTS["counties"], (Column("County", "text"), Column("Tips")),
                  [county_row(code, figures.counties[code].tips) for code in order],
                  ("Total", figures.total.tips) if order else None)
    return Section("counties", table.title, table)


def _weeks(session, scope, window, figures) -> Section:
    weeks = stats.weeks(session, scope, window)
    kinds = list(weeks.by_kind)
    table = Table(
        "weeks", CHARTS["weeks"],
        (Column("Week (Monday)", "text"), Column("Tips"), Column("USSD"), Column("SMS"),
         *(Column(kind_label(kind)) for kind in kinds)),
    )
    for monday in weeks.mondays:
        table.rows.append(Row((monday.isoformat(), weeks.total[monday],
                               *(weeks.by_channel[c][monday] for c in stats.CHANNELS),
                               *(weeks.by_kind[k][monday] for k in kinds))))
    if weeks.total:
        table.total = ("Total", sum(weeks.total.values()),
                       *(sum(weeks.by_channel[c].values()) for c in stats.CHANNELS),
                       *(sum(weeks.by_kind[k].values()) for k in kinds))
    stacks = [(s, [weeks.by_channel[c][m] for m in weeks.mondays])
              for s, c in zip(CHANNEL_SERIES, stats.CHANNELS, strict=True)]
    chart = columns("Tips per week by channel", weeks.mondays, stacks) + legend(CHANNEL_SERIES)
    by_kind = sorted(((kind_label(k), sum(weeks.by_kind[k].values())) for k in kinds), key=lambda i: -i[1])
    chart += bars("Tips by kind", [Bar(label, (n,), f"{n:,}") for label, n in by_kind],
                  [Series("Tips", "series-1")])
    note = "Weeks run Monday to Sunday, Nairobi time; the first and last may be partial."
    return Section("weeks", table.title, table, chart, note=note)


def _acknowledgement(session, scope, window, figures: stats.TipFigures) -> Section:
    order = by_weight({code: f.tips for code, f in figures.counties.items()})
    columns_ = (Column("County", "text"), Column("Tips"), Column("Acknowledged"),
                Column("Median time to acknowledge", "minutes", "Median minutes to acknowledge"),
                Column("Due"), Column("Within the deadline"),
                Column("Share within the deadline", "share"), Column("Unacknowledged, open"))

    def values(f: stats.CountyFigures) -> tuple:
        return (f.tips, f.acknowledged, minutes(f.median_seconds), f.due, f.within_deadline,
                f.share_within, f.waiting)

    table = Table("acknowledgement", CHARTS["acknowledgement"], columns_,
                  [county_row(code, *values(figures.counties[code])) for code in order],
                  ("Total", *values(figures.total)) if order else None)
    drawn = [Bar(r.values[0], (r.values[6] or 0,), _ack_text(r.values[6], r.values[3]))
             for r in _cut([r for r in table.rows if r.values[4]])]
    chart = bars("Share acknowledged within the deadline", drawn, [Series("Within the deadline", "series-1")],
                 peak=1)
    note = ("A tip is due once acknowledged or past its deadline (the escalation deadline of its kind "
            "and urgency); the share is of the tips due. " + _more(table.rows)).strip()
    return Section("acknowledgement", table.title, table, chart, note=note)


def _ack_text(share: float | None, median: float | None) -> str:
    shown = "none due" if share is None else Column("", "share").show(share)
    return shown + (f", median {Column('', 'minutes').show(median)}" if median is not None else "")


def _escalations(session, scope, window, figures: stats.TipFigures) -> Section:
    order = by_weight({code: f.tips for code, f in figures.counties.items()})
    columns_ = (Column("County", "text"), Column("Tips"), Column("Escalated"),
                Column("Share escalated", "share"))
    rows = [county_row(code, f.tips, f.escalated, f.share_escalated)
            for code in order for f in [figures.counties[code]]]
    total = figures.total
    table = Table("escalations", CHARTS["escalations"], columns_, rows,
                  ("Total", total.tips, total.escalated, total.share_escalated) if order else None)
    escalated = sorted((r for r in rows if r.values[2]), key=lambda r: -r.values[2])
    drawn = [Bar(r.values[0], (r.values[2],), f"{r.values[2]:,} ({Column('', 'share').show(r.values[3])})")
             for r in _cut(escalated)]
    chart = bars("Tips escalated", drawn, [Series("Escalated", "series-3")])
    note = ("Escalated: not acknowledged in time, so sent on to the next focal point or the "
            "secretariat at least once. " + _more(escalated)).strip()
    return Section("escalations", table.title, table, chart, note=note)


def _outcomes(session, scope, window, figures: stats.TipFigures) -> Section:
    statuses = [(label, figures.statuses[status]) for status, label in CASE_STATUSES.items()]
    closures = [(label, figures.closures[reason]) for reason, label in CLOSURE_REASONS.items()]
    rows = counted((f"Case status: {label}", n) for label, n in statuses)
    rows += counted((f"Closed as: {label}", n) for label, n in closures)
    table = Table("outcomes", CHARTS["outcomes"], (Column("Outcome", "text"), Column("Tips")), rows,
                  ("Total tips", figures.total.tips) if rows else None)

    def drawn(pairs: list[tuple[str, int]]) -> list[Bar]:
        return [Bar(label, (n,), f"{n:,}") for label, n in pairs if n]

    chart = bars("Tips by case status", drawn(statuses), [Series("Tips", "series-1")])
    chart += bars("Closed tips by closure reason", drawn(closures), [Series("Closed", "series-2")])
    note = "What became of the window's tips: their case status today, and why the closed ones were closed."
    return Section("outcomes", table.title, table, chart, note=note)


def _referrals(session, scope, window, figures) -> Section:
    found = signals.referrals(session, scope, window)
    rows = [Row((organisation_label(kind), n, found.tips[kind])) for kind, n in found.referrals.items()]
    table = Table("referrals", CHARTS["referrals"],
                  (Column("Organisation type", "text"), Column("Referrals"), Column("Tips referred")), rows,
                  ("Total", sum(found.referrals.values()), found.tips_total) if rows else None)
    chart = bars("Referrals by organisation type", [Bar(r.values[0], (r.values[1],), f"{r.values[1]:,}")
                                                    for r in rows], [Series("Referrals", "series-2")])
    note = ("Referrals made in the window, of tips received at any time; a tip referred twice is one "
            "tip referred.")
    return Section("referrals", table.title, table, chart, note=note)


def _agencies(session, scope, window, figures: stats.TipFigures) -> Section:
    checks = signals.unlicensed_checks(session, scope, window)
    reports = {code: f.agency_reports for code, f in figures.counties.items()}
    keys = set(checks) | set(reports)
    order = by_weight({k: checks.get(k, 0) + reports.get(k, 0) for k in keys})
    rows = [county_row(code, checks.get(code, 0), reports.get(code, 0)) for code in order]
    table = Table("agencies", CHARTS["agencies"],
                  (Column("County", "text"), Column("Checks of unlicensed agencies"),
                   Column("Tips reporting an agency")), rows,
                  ("Total", sum(checks.values()), figures.total.agency_reports) if rows else None)
    series = (Series("Checks of unlicensed agencies", "series-3"),
              Series("Tips reporting an agency", "series-1"))
    drawn = [Bar(r.values[0], (r.values[1], r.values[2]), f"{r.values[1]:,} · {r.values[2]:,}")
             for r in _cut(rows)]
    chart = bars("Agency signals by county", drawn, series)
    note = ("Checks whose verdict was not licensed (not in NEA's register included), by the county the "
            "caller gave, on any kind of tip; tips made about an agency. " + _more(rows)).strip()
    return Section("agencies", table.title, table, chart, legend(series), note)


def _reach(session, scope, window, figures) -> Section:
    found = signals.reach(session, scope, window)
    order = by_weight(dict(found.counties))
    rows = [county_row(code, found.counties[code]) for code in order]
    table = Table("reach", CHARTS["reach"], (Column("County", "text"), Column("Contacts reached")), rows,
                  ("Total (each contact once)", found.total) if rows else None)
    chart = bars("Contacts reached by county", [Bar(r.values[0], (r.values[1],), f"{r.values[1]:,}")
                                                for r in _cut(rows)], [Series("Reached", "series-2")])
    note = ("Contacts with a delivered campaign SMS in the window, each once, by the county they had in "
            "the campaign; every kind of tip. " + _more(rows)).strip()
    return Section("reach", table.title, table, chart, note=note)


SECTIONS = {
    "counties": _counties,
    "weeks": _weeks,
    "acknowledgement": _acknowledgement,
    "escalations": _escalations,
    "outcomes": _outcomes,
    "referrals": _referrals,
    "agencies": _agencies,
    "reach": _reach,
}
