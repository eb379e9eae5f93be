"""The audit log as the auditor reads it: newest first, filtered, a page at a time.

Pages follow the entry ids (`before`: the oldest id shown so far), not an offset: the hundredth page
of a log of millions costs what the first does, and an entry written meanwhile does not shift what
the next page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.models import AuditEvent, Tip
from hotline.core.time import kenya_midnight
from hotline.tips import reference as references

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What the auditor asked for; every field optional. Dates are Kenyan calendar days, inclusive."""

    actor: str = ""
    action: str = ""
    reference: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Entry:
    """One row of the page: the entry and its tip's reference, when it is about a tip."""

    event: AuditEvent
    reference: str | None


@dataclass(frozen=True)
class Page:
    """One page of entries, and the `before` of the next (older) page, if there is one."""

    entries: list[Entry]
    older: int | None
    unknown_reference: bool = False


def page(session: Session, filters: Filters, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The newest `size` entries matching `filters`, older than entry `before` when given."""
    query = select(AuditEvent, Tip.reference).outerjoin(Tip, Tip.id == AuditEvent.tip_id)
    if filters.actor:
        typed = filters.actor.strip().lower()
        query = query.where(func.lower(AuditEvent.actor).contains(typed, autoescape=True))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.reference:
        code = references.normalise(filters.reference)
        tip_id = session.scalar(select(Tip.id).where(Tip.reference == code)) if code else None
        if tip_id is None:
            return Page([], None, unknown_reference=True)
        query = query.where(AuditEvent.tip_id == tip_id)
    if filters.since:
        query = query.where(AuditEvent.at >= kenya_midnight(filters.since))
    if filters.until:
        query = query.where(AuditEvent.at < kenya_midnight(filters.until + timedelta(days=1)))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = session.execute(query.order_by(AuditEvent.id.desc()).limit(size + 1)).all()
    entries = [Entry(event, references.display(code) if code else None) for event, code in rows[:size]]
    return Page(entries, entries[-1].event.id if len(rows) > size else None)


def actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter's list."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
