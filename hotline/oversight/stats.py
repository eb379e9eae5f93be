"""The dashboard's figures from the tips themselves: tips per county, per week by kind and channel,
time to acknowledgement against the deadline, escalations, case outcomes and agencies reported.

Three queries, each one range of `ix_tip_dashboard` (created_at first, then every column they
read), so PostgreSQL answers them from the index alone however wide the tip rows are:
one GROUP BY county, case status and closure reason for the counts (rolled up here), one GROUP BY
week, kind and channel, and the exact medians. A tip's deadline is the app's own
`Config.escalation_after(kind, urgent)` minutes after it was received, written into the SQL as a
CASE. A tip counts as due once it was acknowledged or its deadline passed: the share within the
deadline is of those, so a tip received a minute ago does not count against its county yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, and_, case, false, func, literal, not_, or_, select
from sqlalchemy.orm import Session

from flows.menu import TIP_KINDS
from hotline.core.config import Config
from hotline.core.models import Tip
from hotline.oversight.scope import Scope, Window
from hotline.oversight.sql import medians, monday, nairobi_week, seconds_between
from hotline.tips.casework import CLOSED_STATUSES

CHANNELS = ("ussd", "sms")


def tip_conditions(scope: Scope, window: Window, received: bool = True) -> list:
    """The SQL conditions of the tips a scope and window cover (without `received`: whenever they
    were received)."""
    found = [Tip.created_at >= window.start] if received else []
    if window.kind:
        found.append(Tip.kind == window.kind)
    if scope.nothing:
        found.append(false())
    elif scope.county is not None:
        found.append(Tip.county_code == scope.county)
    return found


def deadline_seconds(config: Config):
    """SQL for a tip's acknowledgement deadline in seconds after it was received."""
    default = config.escalation_after("", False)
    kinds = sorted(set(TIP_KINDS) | set(config.escalation_minutes) - {"urgent", "default"})
    special = [(Tip.kind == kind, minutes * 60) for kind in kinds
               if (minutes := config.escalation_after(kind, False)) != default]
    return case((Tip.urgent.is_(True), config.escalation_after("", True) * 60), *special,
                else_=default * 60)


@dataclass
class CountyFigures:
    """One county's tips in the window (or all of the scope's, as the total)."""

    tips: int = 0
    acknowledged: int = 0
    due: int = 0  # acknowledged, or past the deadline unacknowledged
    within_deadline: int = 0
    waiting: int = 0  # not acknowledged and not closed
    escalated: int = 0
    agency_reports: int = 0
    median_seconds: float | None = None

    def add(self, other: CountyFigures) -> None:
        """Add another county's counts (not its median) to these."""
        for name in ("tips", "acknowledged", "due", "within_deadline", "waiting", "escalated",
                     "agency_reports"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def share_within(self) -> float | None:
        """Acknowledged within the deadline, of the tips due (None when none is due)."""
        return self.within_deadline / self.due if self.due else None

    @property
    def share_escalated(self) -> float | None:
        """Escalated at least once, of all tips (None without tips)."""
        return self.escalated / self.tips if self.tips else None


@dataclass
class TipFigures:
    """Per county (None: no county) and in total, and the outcomes of the window's tips."""

    counties: dict[int | None, CountyFigures] = field(default_factory=dict)
    total: CountyFigures = field(default_factory=CountyFigures)
    statuses: Counter = field(default_factory=Counter)  # case_status -> tips
    closures: Counter = field(default_factory=Counter)  # closure_reason -> closed tips


def tip_figures(session: Session, config: Config, scope: Scope, window: Window, now: datetime,
                medians_too: bool = True) -> TipFigures:
    """Counts per county, outcomes and (with `medians_too`) median times to acknowledge."""
    where = tip_conditions(scope, window)
    deadline = deadline_seconds(config)
    acked = Tip.acknowledged_at.is_not(None)
    delay = seconds_between(session, Tip.created_at, Tip.acknowledged_at)
    waited = seconds_between(session, Tip.created_at, literal(now, DateTime(timezone=True)))
    is_open = not_(Tip.case_status.in_(CLOSED_STATUSES))

    def tally(condition):
        return func.sum(case((condition, 1), else_=0))

    query = (
        select(
            Tip.county_code,
            Tip.case_status,
            Tip.closure_reason,
            func.count(),
            func.count(Tip.acknowledged_at),
            tally(or_(acked, waited >= deadline)),
            tally(and_(acked, delay <= deadline)),
            tally(and_(Tip.acknowledged_at.is_(None), is_open)),
            tally(Tip.escalation_level > 0),
            func.count(Tip.agency_id),
        )
        .where(*where)
        .group_by(Tip.county_code, Tip.case_status, Tip.closure_reason)
    )
    figures = TipFigures()
    for county, status, reason, *counts in session.execute(query):
        part = CountyFigures(*(int(n or 0) for n in counts))
        figures.counties.setdefault(county, CountyFigures()).add(part)
        figures.total.add(part)
        figures.statuses[status] += part.tips
        if reason is not None:
            figures.closures[reason] += part.tips
    if medians_too and figures.total.acknowledged:
        by_county, overall = medians(session, delay, Tip.county_code, [*where, acked])
        for county, median in by_county.items():
            figures.counties[county].median_seconds = median
        figures.total.median_seconds = overall
    return figures


@dataclass
class Weeks:
    """Tips per Nairobi week (its Monday): in all, by channel and by kind."""

    mondays: list[date]
    total: Counter  # monday -> tips
    by_channel: dict[str, Counter]  # channel -> monday -> tips
    by_kind: dict[str, Counter]  # kind -> monday -> tips (only kinds with tips)


def mondays(window: Window) -> list[date]:
    """The Mondays of every week the window touches, oldest first."""
    first = window.first_day - timedelta(days=window.first_day.weekday())
    return [first + timedelta(weeks=n) for n in range((window.today - first).days // 7 + 1)]


def weeks(session: Session, scope: Scope, window: Window) -> Weeks:
    """Tips per week, by kind and by channel (weeks at the window's ends are partial)."""
    week = nairobi_week(session, Tip.created_at)
    query = (
        select(week, Tip.kind, Tip.channel, func.count())
        .where(*tip_conditions(scope, window))
        .group_by(week, Tip.kind, Tip.channel)
    )
    total, by_channel, by_kind = Counter(), {c: Counter() for c in CHANNELS}, {}
    for started, kind, channel, n in session.execute(query):
        first = monday(started)
        total[first] += n
        by_channel.setdefault(channel, Counter())[first] += n
        by_kind.setdefault(kind, Counter())[first] += n
    order = {kind: i for i, kind in enumerate(TIP_KINDS)}
    by_kind = dict(sorted(by_kind.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
    return Weeks(mondays(window), total, by_channel, by_kind)
