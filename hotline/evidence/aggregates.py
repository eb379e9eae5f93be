"""The aggregate tables, suppressed before they leave (`suppression`): tips by county, month and
kind; and the CTiP Advisory Committee's annual figures.

County x month x kind: one two-way table per Nairobi month, a row per county that had tips that
month (and "unknown" for tips with no county), a column per kind, row and column totals and the
month's total; each month suppressed on its own (no figure across months is published, so no line
ties one month to another).

The annual figures: tips received, and how many were acknowledged within their deadline, late, or
not at all (a line summing to tips received); tips referred; tips closed, by reason (a line summing
to the number closed); agency checks, by verdict (a line summing to all checks); tips that reported
an agency and how many agencies; and per campaign started in the year, its reach (unique numbers
delivered), treated and held-out groups and, once its attribution window is over, its effect on
any engagement, treated against held out, with Newcombe's interval (`campaigns.effect`), which says
"too few to say" rather than give rates of fewer than five people.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from campaigns import report as campaign_report
from flows.menu import TIP_KINDS
from hotline.core.config import Config
from hotline.core.counties import name_of
from hotline.core.models import AgencyLookup, Campaign, Referral, Tip
from hotline.core.time import NAIROBI, as_utc, kenya_midnight, utcnow
from hotline.evidence import formats
from hotline.evidence.dataset import YIELD_PER, Deadlines, period
from hotline.evidence.fields import ours
from hotline.evidence.suppression import TOTAL, Line, grid, grid_lines, shown, suppress
from hotline.tips.casework import CLOSED_STATUSES, CLOSURE_REASONS

UNKNOWN = "unknown"
SUPPRESSION_NOTE = 'Counts from 1 to 4 are shown as "<5"; "x" is a count hidden so none can be worked out.'
COUNT_TYPE = 'Number, "<5" or "x"'
CAMPAIGN_STATES = ("sending", "paused", "done", "cancelled")  # started at some point
CAMPAIGN_LABELS = {
    "reach": "Reach (unique numbers delivered)",
    "treated": "Sent a message (treated)",
    "held_out": "Held out (no message)",
}


def year_bounds(year: int) -> tuple[date, date]:
    """The first and last day of a year (Kenyan days)."""
    return date(year, 1, 1), date(year, 12, 31)


def _month(moment) -> str:
    return as_utc(moment).astimezone(NAIROBI).strftime("%Y-%m")


def county_month_kind(session: Session, since: date | None, until: date | None, now=None) -> formats.Table:
    """Tips per county, Nairobi month and kind, suppressed month by month."""
    counts: dict[str, Counter] = defaultdict(Counter)
    stmt = (
        select(Tip.created_at, Tip.county_code, Tip.kind)
        .where(*period(since, until))
        .execution_options(stream_results=True, yield_per=YIELD_PER)
    )
    for created, county, kind in session.execute(stmt):
        counts[_month(created)][(UNKNOWN if county is None else county, kind)] += 1
    columns = [ours("month", "Month", "Text", "Nairobi month received (2026-11)."),
               ours("county_code", "County code", "Text", 'Constitutional code 1-47, "unknown", or '
                    '"total" for the month\'s total row.'),
               ours("county_name", "County", "Text", "The county's official name.")]
    columns += [ours(kind, kind.replace("_", " ").capitalize(), COUNT_TYPE, f"Tips of kind {kind}. "
                     + SUPPRESSION_NOTE) for kind in TIP_KINDS]
    columns.append(ours(TOTAL, "Total", COUNT_TYPE, "Tips of every kind. " + SUPPRESSION_NOTE))
    return formats.Table(
        name="county-month",
        title="Tips by county, month and kind (small cells suppressed)",
        fields=columns,
        rows=[row for month in sorted(counts) for row in _month_rows(month, counts[month])],
        generated_at=as_utc(now) or utcnow(),
        filters={"since": since, "until": until},
    )


def _month_rows(month: str, cells: Counter) -> list[list]:
    counties = sorted({county for county, _ in cells}, key=lambda c: (c == UNKNOWN, c if c != UNKNOWN else 0))
    values = grid(cells, counties, list(TIP_KINDS))
    hidden = suppress(values, grid_lines(counties, TIP_KINDS))
    found = []
    for county in [*counties, TOTAL]:
        name = {UNKNOWN: "Unknown", TOTAL: "All counties"}.get(county) or name_of(county)
        figures = [shown(values[county, c], (county, c), hidden) for c in (*TIP_KINDS, TOTAL)]
        found.append([month, str(county), name, *figures])
    return found


def annual_figures(session: Session, config: Config, year: int, now=None) -> dict[str, int]:
    """The Advisory Committee's counts for a year, before suppression."""
    now = as_utc(now) or utcnow()
    since, until = year_bounds(year)
    figures: Counter = Counter()
    referred = exists().where(Referral.tip_id == Tip.id)
    stmt = (
        select(Tip.kind, Tip.urgent, Tip.created_at, Tip.acknowledged_at, Tip.case_status,
               Tip.closure_reason, Tip.agency_id, referred)
        .where(*period(since, until))
        .execution_options(stream_results=True, yield_per=YIELD_PER)
    )
    agencies, deadlines = set(), Deadlines(config)
    for kind, urgent, created, acknowledged, status, reason, agency, was_referred in session.execute(stmt):
        figures["tips_received"] += 1
        if acknowledged is None:
            figures["not_acknowledged"] += 1
        else:
            on_time = deadlines.verdict(kind, urgent, created, acknowledged, now) == "yes"
            figures["acknowledged_within_deadline" if on_time else "acknowledged_late"] += 1
        figures["referred"] += bool(was_referred)
        if status in CLOSED_STATUSES:
            figures["closed"] += 1
            figures[f"closed_{reason or 'no_reason'}"] += 1
        if agency is not None:
            figures["agency_reported"] += 1
            agencies.add(agency)
    figures["agencies_reported"] = len(agencies)
    lookups = select(AgencyLookup.verdict, func.count()).where(
        AgencyLookup.day >= since, AgencyLookup.day <= until
    ).group_by(AgencyLookup.verdict)
    for verdict, n in session.execute(lookups):
        group = {"licensed": "licensed", "not_found": "not_found"}.get(verdict, "unlicensed")
        figures[f"lookups_{group}"] += n
        figures["lookups_all"] += n
    return figures


ANNUAL = (  # (section, figure, label)
    ("tips", "tips_received", "Tips received"),
    ("tips", "acknowledged_within_deadline", "Acknowledged within the deadline"),
    ("tips", "acknowledged_late", "Acknowledged after the deadline"),
    ("tips", "not_acknowledged", "Not acknowledged"),
    ("tips", "referred", "Referred to an organisation"),
    ("tips", "closed", "Closed"),
    *(("tips", f"closed_{reason}", f"Closed: {label.lower()}") for reason, label in CLOSURE_REASONS.items()),
    ("agencies", "lookups_all", "Agency checks"),
    ("agencies", "lookups_licensed", "Checks of a licensed agency"),
    ("agencies", "lookups_unlicensed", "Checks of an agency not licensed (expired, suspended, revoked, "
                                       "deregistered or pending)"),
    ("agencies", "lookups_not_found", "Checks of an agency not in NEA's register"),
    ("agencies", "agency_reported", "Tips that reported a recruitment agency"),
    ("agencies", "agencies_reported", "Agencies reported"),
)
ANNUAL_LINES = (
    Line("tips_received", ("acknowledged_within_deadline", "acknowledged_late", "not_acknowledged")),
    Line("closed", tuple(f"closed_{reason}" for reason in CLOSURE_REASONS)),
    Line("lookups_all", ("lookups_licensed", "lookups_unlicensed", "lookups_not_found")),
)


def _campaign_rows(session: Session, year: int, now) -> list[list]:
    start, end = kenya_midnight(date(year, 1, 1)), kenya_midnight(date(year + 1, 1, 1))
    found = []
    campaigns = session.execute(
        select(Campaign.id, Campaign.name)
        .where(Campaign.state.in_(CAMPAIGN_STATES), Campaign.started_at >= start, Campaign.started_at < end)
        .order_by(Campaign.started_at, Campaign.id)
    )
    for campaign_id, name in campaigns:
        built = campaign_report.build(session, campaign_id, now=now)
        section = f"campaign: {name}"
        counts = {"reach": built.reach, "treated": built.totals.treated, "held_out": built.totals.held_out}
        hidden = suppress(counts, ())
        found += [[section, key, CAMPAIGN_LABELS[key], shown(value, key, hidden)]
                  for key, value in counts.items()]
        effect = built.effects["any"].verdict if built.window.closed else "attribution window still open"
        found.append([section, "effect", "Effect on any engagement, treated against held out (95% interval)",
                      effect])
    return found


def annual(session: Session, config: Config, year: int, now=None) -> formats.Table:
    """The Advisory Committee's annual figures for `year`, suppressed."""
    now = as_utc(now) or utcnow()
    values = annual_figures(session, config, year, now)
    values = {figure: values.get(figure, 0) for _, figure, _ in ANNUAL}
    hidden = suppress(values, ANNUAL_LINES)
    rows = [[section, name, label, shown(values[name], name, hidden)] for section, name, label in ANNUAL]
    rows += _campaign_rows(session, year, now)
    return formats.Table(
        name="annual",
        title=f"CTiP Advisory Committee: the hotline's figures for {year} (small cells suppressed)",
        fields=[
            ours("section", "Section", "Text", "tips, agencies, or campaign: NAME."),
            ours("figure", "Figure", "Text", "The figure's short name."),
            ours("label", "Label", "Text", "What it counts."),
            ours("value", "Value", COUNT_TYPE, SUPPRESSION_NOTE + " A campaign's effect is a sentence."),
        ],
        rows=rows,
        generated_at=now,
        filters={"year": year},
    )
