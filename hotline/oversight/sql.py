"""The few SQL expressions the dashboard needs that SQLite and PostgreSQL spell differently: the
Africa/Nairobi week of a timestamp, the seconds between two timestamps, and an exact median per group.

Kenya keeps UTC+3 all year, so a fixed offset does: cheaper per row than a named zone on PostgreSQL,
and SQLite (which keeps UTC as text) has no zones anyway. Everything else is plain SQLAlchemy.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, func, or_, select, text, tuple_
from sqlalchemy.orm import Session

from hotline.core.time import NAIROBI


def postgresql(session: Session) -> bool:
    """True when the session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


def nairobi_week(session: Session, column):
    """SQL for the week (Monday to Sunday, Africa/Nairobi) a timestamp column falls in: on
    PostgreSQL the instant its Monday starts, on SQLite that Monday's date (`monday` reads both)."""
    if postgresql(session):
        # date_bin from a Nairobi Monday midnight (2000-01-03 00:00+03): a third less time over
        # 450,000 tips than date_trunc of the Nairobi wall time, and the same weeks.
        return func.date_bin(text("interval '7 days'"), column, text("timestamptz '2000-01-02 21:00+00'"))
    # 'weekday 0' moves forward to the next Sunday (a Sunday stays): six days back is its Monday.
    return func.date(column, "+3 hours", "weekday 0", "-6 days")


def monday(value) -> date:
    """The Monday of a week as `nairobi_week` gave it (a timestamp on PostgreSQL, ISO text on SQLite)."""
    if isinstance(value, datetime):
        return value.astimezone(NAIROBI).date()
    return date.fromisoformat(value) if isinstance(value, str) else value


def seconds_between(session: Session, start, end):
    """SQL for the seconds from `start` to `end` (timestamp columns or typed binds), to the millisecond."""
    if postgresql(session):
        # date_part's double precision, not EXTRACT's numeric: half the time over 400,000 tips.
        return func.date_part("epoch", end - start)
    # julianday keeps the fraction of a day in a double: rounded, 900 s stays 900 s, not 899.9999.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


def medians(session: Session, value, group, where) -> tuple[dict, float | None]:
    """({group: exact median of `value`}, the median of all rows together) over the rows matching
    `where`; a group with an even count takes the mean of its two middle values.

    PostgreSQL: percentile_cont over GROUPING SETS (each group, and all rows), one scan and one sort.
    SQLite: window functions, row_number() and count() per group and overall marking the middle one
    or two rows, which alone are summed. Both exact, and equal on the same rows."""
    if postgresql(session):
        query = (
            select(group, func.grouping(group), func.percentile_cont(0.5).within_group(value))
            .where(*where)
            .group_by(func.grouping_sets(group, tuple_()))
        )
        by_group, overall = {}, None
        for grp, is_total, median in session.execute(query):
            if is_total:
                overall = median
            elif median is not None:
                by_group[grp] = float(median)
        return by_group, overall
    ranked = select(
        group.label("grp"),
        value.label("v"),
        func.row_number().over(partition_by=group, order_by=value).label("rn"),
        func.count().over(partition_by=group).label("n"),
        func.row_number().over(order_by=value).label("all_rn"),
        func.count().over().label("all_n"),
    ).where(*where).subquery()
    in_group = ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    overall = ranked.c.all_rn.in_([(ranked.c.all_n + 1) // 2, (ranked.c.all_n + 2) // 2])
    query = (
        select(
            ranked.c.grp,
            func.avg(case((in_group, ranked.c.v))),
            func.sum(case((overall, ranked.c.v))),
            func.count(case((overall, 1))),
        )
        .where(or_(in_group, overall))
        .group_by(ranked.c.grp)
    )
    by_group, total, middles = {}, 0.0, 0
    for grp, median, middle_sum, middle_count in session.execute(query):
        if median is not None:
            by_group[grp] = float(median)
        total += float(middle_sum or 0)
        middles += middle_count
    return by_group, (total / middles if middles else None)


def tune(session: Session) -> None:
    """On PostgreSQL, memory enough for the median's sorts and no JIT (it costs more than it saves
    on these sub-second queries), for the rest of this transaction only; nothing on SQLite."""
    if postgresql(session):
        session.execute(select(func.set_config("work_mem", "64MB", True),
                               func.set_config("jit", "off", True)))
