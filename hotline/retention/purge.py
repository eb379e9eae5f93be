"""`purge`: remove what each kind of data's retention period says is too old, never anything open.

Set-based: one DELETE or UPDATE per kind, found by an index, except where the rows must pass through
Python (a closed tip's children by tip id, a contact's number to its suppression key): those go CHUNK
rows at a time, by primary key after the last chunk's (keyset), so no chunk reads again the rows an
earlier chunk changed (`WHERE id IN (SELECT ... LIMIT n)` loops did: within one transaction the
changed rows stay in the index, and the scans grow with every chunk). Every step's condition
excludes what an earlier run removed, so a second run finds nothing: the purge is idempotent, and a
dry run counts with the very same conditions. What is "open" is never touched: a tip not
Closed/ClosedReferred (a reopened one is Active again), a service SMS not `sent` or `failed`, a
contact still subscribed. README.md (Retention) has the table.

The caller commits. The audit log's rows are deleted last, inside `audit.lifted` (on PostgreSQL its
ALTER TABLE locks the table until the commit: the caller commits at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from hotline.contacts.erasure import erase
from hotline.core import audit
from hotline.core.config import Config
from hotline.core.engagement import day_of
from hotline.core.models import (
    AuditEvent,
    CaseEvent,
    CaseMessage,
    Contact,
    Engagement,
    InboundSms,
    OutboundSms,
    Referral,
    Tip,
    TipUpdate,
    UnmatchedDeliveryReport,
    UssdSessionEnd,
)
from hotline.core.time import as_utc
from hotline.tips.casework import CLOSED_STATUSES

CHUNK = 5000
# A closed tip past retention keeps this in place of its reporter key: follow-up by reference still
# answers (a status needs only the reference), and nothing links the tip to a number any more.
PURGED_REPORTER_KEY = "purged"
FINAL_SMS = ("sent", "failed")  # hotline.messaging.outbound: nothing more is ever done with these
REMOVED = ""  # what a required (NOT NULL) free-text column holds once its text is removed

Progress = Callable[[str, int], None]


@dataclass
class Kind:
    """One line of the report: what, its retention in days, and how many rows it touched."""

    name: str
    what: str
    days: int
    count: int = 0


@dataclass
class Report:
    """What a purge removed (or, dry, would remove), per kind."""

    now: datetime
    dry_run: bool
    kinds: list[Kind] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows touched, all kinds together."""
        return sum(kind.count for kind in self.kinds)

    def detail(self) -> dict:
        """The audit log's detail: {kind: {"days": d, "count": n}}."""
        return {kind.name: {"days": kind.days, "count": kind.count} for kind in self.kinds}


def _cutoff(config: Config, now: datetime, name: str) -> tuple[int, datetime]:
    days = config.retain_days(name)
    return days, now - timedelta(days=days)


def _count(session: Session, column, where) -> int:
    return session.scalar(select(func.count(column)).where(where)) or 0


def _delete(session: Session, key, where, progress: Progress, name: str) -> int:
    """Delete the rows `where` selects, in one statement (see the module's docstring)."""
    removed = session.execute(
        delete(key.class_).where(where).execution_options(synchronize_session=False)
    ).rowcount
    progress(name, removed)
    return removed


def _update(session: Session, key, where, values: dict, progress: Progress, name: str) -> int:
    """Update the rows `where` selects, in one statement (their condition stops matching once updated)."""
    changed = session.execute(
        update(key.class_).where(where).values(**values).execution_options(synchronize_session=False)
    ).rowcount
    progress(name, changed)
    return changed


# Tip-side rows with text left, per table: (name, what, primary key, tip column, condition, cleared).
_TIP_ROWS = (
    (
        "tip_notes",
        "closed tips' notes and reveal reasons",
        CaseEvent.id,
        CaseEvent.tip_id,
        CaseEvent.text.is_not(None),
        {"text": None},
    ),
    (
        "tip_messages",
        "closed tips' messages with the reporter",
        CaseMessage.id,
        CaseMessage.tip_id,
        or_(CaseMessage.text != REMOVED, CaseMessage.source_id.is_not(None)),
        {"text": REMOVED, "source_id": None},
    ),
    (
        "tip_updates",
        "closed tips' added information",
        TipUpdate.id,
        TipUpdate.tip_id,
        or_(TipUpdate.text != REMOVED, TipUpdate.source_id.is_not(None)),
        {"text": REMOVED, "source_id": None},
    ),
    (
        "tip_referral_details",
        "closed tips' referral details (organisation, date, reason stay)",
        Referral.id,
        Referral.tip_id,
        Referral.details.is_not(None),
        {"details": None},
    ),
    (
        "tip_sms",
        "closed tips' SMS texts and reporter numbers (sent or failed)",
        OutboundSms.id,
        OutboundSms.tip_id,
        and_(
            OutboundSms.state.in_(FINAL_SMS),
            or_(OutboundSms.message != REMOVED, OutboundSms.to_token.is_not(None)),
        ),
        {"message": REMOVED, "to_token": None},
    ),
)


# The columns a closed tip past retention loses (its reporter key becomes PURGED_REPORTER_KEY).
_PURGED_TIP = {
    "place": None,
    "description": None,
    "callback_contact": None,
    "safety_seal": None,
    "source_id": None,
    "reporter_key": PURGED_REPORTER_KEY,
}


def _expired_tips(cutoff: datetime):
    return and_(
        Tip.case_status.in_(CLOSED_STATUSES), Tip.closed_at < cutoff, Tip.reporter_key != PURGED_REPORTER_KEY
    )


def _closed_tips(
    session: Session, config: Config, now: datetime, dry_run: bool, progress: Progress
) -> list[Kind]:
    """A closed tip's free text, call-back number, safety seal, AT's ids and reporter key, and the
    text of what hangs off it; the de-identified row (kind, county, dates, status, reason) stays."""
    days, cutoff = _cutoff(config, now, "RETAIN_CLOSED_TIP_TEXT_DAYS")
    tips = Kind("closed_tips", "closed tips: text, call-back number, reporter key", days)
    rows = [Kind(name, what, days) for name, what, *_ in _TIP_ROWS]
    expired = _expired_tips(cutoff)
    if dry_run:
        tips.count = _count(session, Tip.id, expired)
        chosen = select(Tip.id).where(expired)
        for kind, (_, _, key, tip_id, left, _) in zip(rows, _TIP_ROWS, strict=True):
            kind.count = _count(session, key, and_(tip_id.in_(chosen), left))
        return [tips, *rows]
    last = 0
    while True:
        # The chunk is a range of ids: its statements name two bounds and select the tips again by
        # the index, instead of carrying 5,000 ids each (binding and planning those took a fifth of
        # the purge at a million tips). The children go first: the tips' own update ends `expired`.
        bounds = select(Tip.id).where(expired, Tip.id > last).order_by(Tip.id).limit(CHUNK).subquery()
        low, high = session.execute(select(func.min(bounds.c.id), func.max(bounds.c.id))).one()
        if low is None:
            break
        last = high
        chunk = and_(expired, Tip.id.between(low, high))
        chosen = select(Tip.id).where(chunk)
        for kind, (_, _, key, tip_id, left, cleared) in zip(rows, _TIP_ROWS, strict=True):
            where = and_(tip_id.between(low, high), tip_id.in_(chosen), left)
            kind.count += _update(session, key, where, cleared, progress, tips.name)
        tips.count += _update(session, Tip.id, chunk, _PURGED_TIP, progress, tips.name)
    return [tips, *rows]


def _opted_out_contacts(session, config, now, dry_run, progress) -> Kind:
    days, cutoff = _cutoff(config, now, "RETAIN_OPTED_OUT_NUMBER_DAYS")
    kind = Kind("opted_out_contacts", "opted-out contacts' numbers (a keyed hash stays)", days)
    expired = and_(Contact.opted_out_at < cutoff, Contact.erased_at.is_(None), Contact.phone.is_not(None))
    if dry_run:
        kind.count = _count(session, Contact.id, expired)
        return kind
    last = 0
    while True:
        chosen = select(Contact.id, Contact.phone).where(expired, Contact.id > last).order_by(Contact.id)
        rows = session.execute(chosen.limit(CHUNK)).all()
        if not rows:
            return kind
        last = rows[-1][0]
        kind.count += erase(session, rows, config.phone_hash_key, now)
        progress(kind.name, len(rows))


def _simple(name: str, what: str, setting: str, key, moment, *, day: bool = False):
    """A kind whose rows older than the setting's days are deleted (`day`: `moment` is a date)."""

    def run(session, config, now, dry_run, progress) -> Kind:
        days, cutoff = _cutoff(config, now, setting)
        where = moment < (day_of(cutoff) if day else cutoff)
        kind = Kind(name, what, days)
        if dry_run:
            kind.count = _count(session, key, where)
        else:
            kind.count = _delete(session, key, where, progress, name)
        return kind

    return run


def _reporter_sms(session, config, now, dry_run, progress) -> Kind:
    """A reporter's encrypted number on a service SMS, once the SMS is sent or failed for good."""
    kind = Kind("reporter_sms_numbers", "reporters' numbers on SMS sent or failed", 0)
    where = and_(OutboundSms.state.in_(FINAL_SMS), OutboundSms.to_token.is_not(None))
    if dry_run:
        kind.count = _count(session, OutboundSms.id, where)
    else:
        kind.count = _update(session, OutboundSms.id, where, {"to_token": None}, progress, kind.name)
    return kind


_KINDS = (
    _simple(
        "ussd_sessions",
        "USSD session ends",
        "RETAIN_USSD_SESSIONS_DAYS",
        UssdSessionEnd.session_id,
        UssdSessionEnd.received_at,
    ),
    _simple(
        "inbound_sms",
        "inbound SMS records",
        "RETAIN_INBOUND_SMS_DAYS",
        InboundSms.at_id,
        InboundSms.received_at,
    ),
    _reporter_sms,
    _opted_out_contacts,
    _simple(
        "delivery_reports",
        "delivery reports kept for unknown ids",
        "RETAIN_DELIVERY_REPORTS_DAYS",
        UnmatchedDeliveryReport.id,
        UnmatchedDeliveryReport.received_at,
    ),
    _simple(
        "engagement", "engagement signals", "RETAIN_ENGAGEMENT_DAYS", Engagement.id, Engagement.day, day=True
    ),
)


def purge(
    session: Session, config: Config, now: datetime, dry_run: bool = False, progress: Progress | None = None
) -> Report:
    """Remove (or with `dry_run` count) what is past retention, per kind; written to the audit log
    as `purge` (or `purge_dry_run`). `progress(kind, rows)` is told as chunks go. The caller commits."""
    report = _run(session, config, as_utc(now), dry_run, progress or (lambda _kind, _rows: None))
    audit.record(
        session,
        None,
        "purge_dry_run" if dry_run else "purge",
        actor="retention",
        detail=report.detail(),
        at=report.now,
    )
    session.flush()
    return report


def expected(session: Session, config: Config, now: datetime) -> Report:
    """What a purge at `now` would remove, counted and not audited (the CLI's progress bar's length)."""
    return _run(session, config, as_utc(now), True, lambda _kind, _rows: None)


def _run(session: Session, config: Config, now: datetime, dry_run: bool, progress: Progress) -> Report:
    report = Report(now=now, dry_run=dry_run)
    report.kinds.extend(_closed_tips(session, config, now, dry_run, progress))
    for step in _KINDS:
        report.kinds.append(step(session, config, now, dry_run, progress))
    report.kinds.append(_audit_log(session, config, now, dry_run, progress))
    return report


def _audit_log(session, config, now, dry_run, progress) -> Kind:
    days, cutoff = _cutoff(config, now, "RETAIN_AUDIT_DAYS")
    kind = Kind("audit_log", "audit log entries", days)
    where = AuditEvent.at < cutoff
    if dry_run:
        kind.count = _count(session, AuditEvent.id, where)
        return kind
    if not session.scalar(select(AuditEvent.id).where(where).limit(1)):
        return kind  # nothing to delete: the triggers stay, and nothing is locked
    session.flush()
    with audit.lifted(session.connection()):
        kind.count = _delete(session, AuditEvent.id, where, progress, kind.name)
    return kind
