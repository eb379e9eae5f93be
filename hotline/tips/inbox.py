"""The case desk's inbox: the tips a viewer may see, by folder, filtered, one page at a time.

Scope is part of every query, never left to a template: a focal point sees the tips of their
county and those they were sent by SMS (a notification or an escalation), the secretariat every
tip, any other role none. A folder is one range of the `ix_tip_inbox` index (folder, county,
priority, created_at, id), read in that order (urgent and child cases first, then oldest) and
paged by keyset: a page starts after the last row of the one before, so page 400 costs what page
1 does at 200,000 tips. Counts are per folder; a duplicate counts with the tip it duplicates, so
it is not counted in its own right (it is listed in the closed folder).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import false, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from hotline.core.counties import NATIONAL, by_code
from hotline.core.models import CaseEvent, FocalPoint, OutboundSms, Tip
from hotline.core.time import as_utc, kenya_midnight
from hotline.core.viewer import Viewer
from hotline.tips import reference

FOLDERS = ("new", "active", "followup", "closed")
TRIAGE = "triage"  # the secretariat's queue: no county, not closed
FOLDER_LABELS = {
    "new": "New",
    "active": "Active",
    "followup": "Follow-up",
    "closed": "Closed",
    TRIAGE: "Needs triage",
}
PAGE_SIZE = 25
SEARCH_MAX = 100  # characters of a text search
COUNT_CAP = 1_000  # a folder count beyond this shows as "1,000+"
NOTIFIED_PURPOSES = ("tip", "escalation")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def folders_for(viewer: Viewer) -> tuple[str, ...]:
    """The folders a viewer has: the four, and triage for the secretariat."""
    return (*FOLDERS, TRIAGE) if viewer.national else FOLDERS


def notified_elsewhere(session: Session, viewer: Viewer) -> list[int]:
    """Ids of tips outside the viewer's county that were sent to their directory entry by SMS."""
    if viewer.focal_point_id is None:
        return []
    sent = select(OutboundSms.tip_id).where(
        OutboundSms.focal_point_id == viewer.focal_point_id, OutboundSms.purpose.in_(NOTIFIED_PURPOSES)
    )
    entry_county = session.scalar(
        select(FocalPoint.county_code).where(FocalPoint.id == viewer.focal_point_id)
    )
    if entry_county == viewer.county_code and entry_county != NATIONAL:
        # Routing sends a tip to its own county's focal points and the national secretariat only, so
        # a county's focal point holds a tip of another county only if it moved after they got it:
        # the few moved tips are looked at, not the thousands they were sent.
        moved = select(CaseEvent.tip_id).where(CaseEvent.kind == "moved")
        sent = sent.where(OutboundSms.tip_id.in_(moved))
    query = select(Tip.id).where(
        Tip.id.in_(sent), or_(Tip.county_code.is_(None), Tip.county_code != viewer.county_code)
    )
    return list(session.scalars(query))


def scope(session: Session, viewer: Viewer):
    """The SQL condition of the tips `viewer` may see."""
    if viewer.role == "secretariat":
        return true()
    if viewer.role != "focal_point":
        return false()
    # The few tips sent to them from elsewhere are fetched first, so the county's condition stays
    # an index range rather than a join on the SMS table.
    elsewhere = notified_elsewhere(session, viewer)
    own = Tip.county_code == viewer.county_code if viewer.county_code is not None else false()
    return or_(own, Tip.id.in_(elsewhere)) if elsewhere else own


@dataclass(frozen=True)
class Filters:
    """What the inbox's filter form asks for; every field optional."""

    county: int | None = None
    kind: str | None = None
    channel: str | None = None
    danger: str | None = None
    children: str | None = None
    agency: int | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None

    def conditions(self) -> list:
        """The SQL conditions of the filters that are set."""
        found = []
        for name in ("kind", "channel", "danger", "children"):
            if getattr(self, name):
                found.append(getattr(Tip, name) == getattr(self, name))
        if self.county is not None:
            found.append(Tip.county_code == self.county)
        if self.agency is not None:
            found.append(Tip.agency_id == self.agency)
        if self.since:
            found.append(Tip.created_at >= kenya_midnight(self.since))
        if self.until:
            found.append(Tip.created_at < kenya_midnight(self.until + timedelta(days=1)))
        if self.text:
            # ILIKE on PostgreSQL, which the trigram indexes of migration 0012 serve.
            pattern = "%" + escape_like(self.text.strip()[:SEARCH_MAX]) + "%"
            found.append(
                or_(Tip.place.ilike(pattern, escape="\\"), Tip.description.ilike(pattern, escape="\\"))
            )
        return found

    def as_query(self) -> dict[str, str]:
        """The filters as URL query arguments (for links that keep them)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.as_query())


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


OPEN_FOLDERS = ("new", "active", "followup")


def folder_condition(folder: str):
    """The SQL condition of a folder (triage: no county and not closed)."""
    if folder == TRIAGE:
        # The open folders by name, not `!= 'closed'`: three short ranges of the inbox index.
        return (Tip.folder.in_(OPEN_FOLDERS), Tip.county_code.is_(None))
    return (Tip.folder == folder,)


# -- keyset pagination -----------------------------------------------------------------------


def cursor_of(tip: Tip) -> str:
    """A row's place in the inbox order, as a short URL-safe string."""
    micros = (as_utc(tip.created_at) - _EPOCH) // timedelta(microseconds=1)
    return f"{tip.priority}.{micros}.{tip.id}"


def parse_cursor(text: str | None) -> tuple[int, datetime, int] | None:
    """The (priority, created_at, id) of a cursor, or None when missing or malformed."""
    parts = (text or "").split(".")
    if len(parts) != 3 or not all(part.isascii() and part.lstrip("-").isdigit() for part in parts):
        return None
    priority, micros, tip_id = (int(part) for part in parts)
    if not (0 <= priority <= 9 and 0 <= micros < 10**17 and 0 < tip_id < 2**31):
        return None
    return priority, _EPOCH + timedelta(microseconds=micros), tip_id


@dataclass(frozen=True)
class Page:
    """One page of a folder: its tips, and cursors to the next and previous pages (None at an end)."""

    tips: list[Tip]
    next_cursor: str | None
    previous_cursor: str | None


ORDER = (Tip.priority, Tip.created_at, Tip.id)


def page(
    session: Session,
    viewer: Viewer,
    folder: str,
    filters: Filters | None = None,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
    visible=None,
) -> Page:
    """A page of `folder` for `viewer`: after the cursor `after`, or before `before`, else the first.

    `visible` is the viewer's `scope`, when the caller worked it out already (one request, one scope).
    """
    if folder not in folders_for(viewer) or not viewer.sees_tips:
        return Page([], None, None)
    visible = scope(session, viewer) if visible is None else visible
    query = select(Tip).where(visible, *folder_condition(folder))
    query = query.where(*(filters or Filters()).conditions())
    start_after, end_before = parse_cursor(after), parse_cursor(before)
    if end_before is not None:
        rows = list(
            session.scalars(
                query.where(tuple_(*ORDER) < tuple_(*end_before))
                .order_by(*(column.desc() for column in ORDER))
                .limit(size + 1)
            )
        )
        more_before = len(rows) > size
        tips = list(reversed(rows[:size]))
        return Page(tips, cursor_of(tips[-1]) if tips else None, cursor_of(tips[0]) if more_before else None)
    if start_after is not None:
        query = query.where(tuple_(*ORDER) > tuple_(*start_after))
    rows = list(session.scalars(query.order_by(*ORDER).limit(size + 1)))
    tips = rows[:size]
    next_cursor = cursor_of(tips[-1]) if len(rows) > size else None
    previous_cursor = cursor_of(tips[0]) if start_after is not None and tips else None
    return Page(tips, next_cursor, previous_cursor)


def counts(
    session: Session, viewer: Viewer, filters: Filters | None = None, visible=None, cap: int = COUNT_CAP
) -> dict[str, int]:
    """How many cases each of the viewer's folders holds, exact up to `cap` (cap + 1 means more).
    A duplicate is not counted apart: it counts with the tip it duplicates. One query."""
    found = dict.fromkeys(folders_for(viewer), 0)
    if not viewer.sees_tips:
        return found
    visible = scope(session, viewer) if visible is None else visible
    filters = filters or Filters()
    if filters.text:
        return _counted_once(session, found, [visible, *filters.conditions()])
    columns = []
    for folder in found:
        where = [visible, *folder_condition(folder), *filters.conditions()]
        # Counting stops at the cap: a short range of the inbox index, however many tips there are.
        capped = select(Tip.id).where(*where).limit(cap + 1).subquery()
        columns.append(select(func.count()).select_from(capped).scalar_subquery())
    # Only closed tips are duplicates (reopening one is refused): few, read by their own index.
    closed = [visible, *folder_condition("closed"), *filters.conditions(), Tip.duplicate_of_id.is_not(None)]
    columns.append(select(func.count()).where(*closed).scalar_subquery())
    *numbers, duplicates = session.execute(select(*columns)).one()
    found.update(zip(found, numbers, strict=True))
    if found["closed"] <= cap:
        found["closed"] -= duplicates
    return found


def _counted_once(session: Session, found: dict[str, int], where: list) -> dict[str, int]:
    """Exact counts in one pass over the matching tips: a text search's trigram scan is the cost,
    and counting folder by folder would repeat it for each."""
    loose = Tip.county_code.is_(None)
    query = select(Tip.folder, loose, func.count(), func.count(Tip.duplicate_of_id)).where(*where)
    for folder, without_county, number, duplicates in session.execute(query.group_by(Tip.folder, loose)):
        found[folder] = found.get(folder, 0) + number - duplicates
        if without_county and folder in OPEN_FOLDERS and TRIAGE in found:
            found[TRIAGE] += number - duplicates
    return found


def count_words(number: int, cap: int = COUNT_CAP) -> str:
    """A folder count as the tabs show it: `1,000+` past the cap."""
    return f"{cap:,}+" if number > cap else f"{number:,}"


def find(session: Session, viewer: Viewer, typed: str | None) -> Tip | None:
    """The tip with this reference if the viewer may see it, else None (the page then says 404)."""
    code = reference.normalise(typed)
    if code is None or not viewer.sees_tips:
        return None
    return session.scalar(select(Tip).where(Tip.reference == code, scope(session, viewer)))


def county_choices() -> list[tuple[int, str]]:
    """Counties for a filter or a form, by name."""
    return sorted(((c.code, c.name) for c in by_code().values()), key=lambda pair: pair[1])
