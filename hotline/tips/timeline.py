"""A tip's timeline: everything that happened to it, oldest first, read in one query per table.

Sources: the tip itself (received; an acknowledgement by SMS), its SMS to focal points with their
delivery status (`OutboundSms`: notification, escalation, acknowledgement notices, updates), the
reporter's additions (`TipUpdate`), the console's `CaseEvent`s, referrals, and the messages between
the case team and the reporter (`CaseMessage`). A focal point is shown by name; a reporter's number
never is (an SMS to the reporter says only that it went to the reporter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from hotline.core.counties import name_of
from hotline.core.models import CaseEvent, CaseMessage, OutboundSms, Referral, Tip, TipUpdate, User
from hotline.core.time import as_utc
from hotline.tips.casework import CASE_STATUSES, CLOSURE_REASONS, REFERRAL_REASONS
from hotline.tips.reference import display

SMS_TITLES = {
    "tip": "SMS notification",
    "escalation": "SMS escalation",
    "ack": "SMS: acknowledged, no action needed",
    "update": "SMS: the reporter's update forwarded",
    "answer": "SMS: the reporter answered",
    "message_waiting": "SMS: a message waits (no content)",
}
UPDATE_AUTHORS = {"reporter": "The reporter added", "caller": "Another phone added", "focal_point": "Added"}


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: when, a CSS kind, a title, who, free text (shown escaped), a state."""

    at: datetime
    kind: str
    title: str
    who: str | None = None
    text: str | None = None
    state: str | None = None
    links: tuple[str, ...] = field(default_factory=tuple)  # references of linked tips


def _sms(session: Session, tip: Tip) -> list[Entry]:
    rows = session.scalars(
        select(OutboundSms).options(joinedload(OutboundSms.focal_point)).where(OutboundSms.tip_id == tip.id)
    )
    entries = []
    for row in rows:
        if row.focal_point is not None:
            organisation = row.focal_point.organisation
            who = row.focal_point.name + (f" ({organisation})" if organisation else "")
        else:
            who = "the reporter"  # never their number
        state = row.delivery_status or row.state
        if row.failure_reason:
            state += f" ({row.failure_reason})"
        title = SMS_TITLES.get(row.purpose, "SMS")
        entries.append(
            Entry(
                as_utc(row.created_at),
                "escalation" if row.purpose == "escalation" else "sms",
                f"{title} to {who}",
                state=state,
            )
        )
    return entries


def _event(event: CaseEvent) -> Entry:
    who = event.user.email if event.user is not None else None
    if event.focal_point is not None:
        who = event.focal_point.name + (f" ({who})" if who else "")
    detail = event.detail or {}
    at = as_utc(event.at)
    kind = event.kind
    if kind == "acknowledged":
        return Entry(at, "status", "Acknowledged in the console", who)
    if kind == "assigned":
        return Entry(at, "status", f"Assigned to {detail.get('name', '-')}", who)
    if kind == "moved":
        before = name_of(detail.get("from_county")) or "no county"
        return Entry(at, "status", f"Moved from {before} to {name_of(detail.get('to_county'))}", who)
    if kind == "note":
        return Entry(at, "note", "Note", who, event.text)
    if kind == "status":
        title = f"Status: {CASE_STATUSES.get(detail.get('after'), detail.get('after'))}"
        if detail.get("reason"):
            reason = CLOSURE_REASONS.get(detail["reason"], str(detail["reason"]).replace("_", " "))
            title += f", reason: {reason.lower()}"
        return Entry(at, "status", title, who)
    if kind == "duplicate":
        if detail.get("of"):
            return Entry(
                at, "status", f"Marked a duplicate of {display(detail['of'])}", who, links=(detail["of"],)
            )
        other = detail.get("duplicate", "")
        return Entry(
            at, "status", f"Report {display(other)} marked a duplicate of this one", who, links=(other,)
        )
    if kind == "agency_flag":
        return Entry(at, "status", "Agency flagged for NEA", who)
    if kind == "reveal":
        return Entry(at, "reveal", "Call-back number revealed", who, event.text)
    return Entry(at, kind, kind.replace("_", " ").capitalize(), who, event.text)


def timeline(session: Session, tip: Tip) -> list[Entry]:
    """Everything that happened to the tip, oldest first (one query per source, no N+1)."""
    entries = [Entry(as_utc(tip.created_at), "received", f"Received by {tip.channel.upper()}")]
    events = list(
        session.scalars(
            select(CaseEvent)
            .options(joinedload(CaseEvent.user), joinedload(CaseEvent.focal_point))
            .where(CaseEvent.tip_id == tip.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        )
    )
    if tip.acknowledged_at is not None and not any(e.kind == "acknowledged" for e in events):
        who = tip.acknowledged_by.name if tip.acknowledged_by is not None else None
        entries.append(Entry(as_utc(tip.acknowledged_at), "status", "Acknowledged by SMS (ACK)", who))
    entries += _sms(session, tip)
    for update in session.scalars(select(TipUpdate).where(TipUpdate.tip_id == tip.id)):
        title = UPDATE_AUTHORS.get(update.author, "Added")
        state = None if update.state == "forwarded" else update.state
        entries.append(Entry(as_utc(update.created_at), "update", title, text=update.text, state=state))
    entries += [_event(event) for event in events if event.kind != "referral"]
    referrals = session.execute(
        select(Referral, User.email)
        .options(joinedload(Referral.organisation))
        .outerjoin(User, User.id == Referral.user_id)
        .where(Referral.tip_id == tip.id)
    )
    for referral, email in referrals:
        title = f"Referred to {referral.organisation.name} on {referral.referred_on.isoformat()}"
        entries.append(
            Entry(
                as_utc(referral.created_at),
                "referral",
                title,
                email,
                referral.details,
                state=REFERRAL_REASONS.get(referral.reason, referral.reason),
            )
        )
    messages = session.scalars(
        select(CaseMessage).options(joinedload(CaseMessage.user)).where(CaseMessage.tip_id == tip.id)
    )
    for message in messages:
        if message.direction == "out":
            who = message.user.email if message.user is not None else None
            state = "read by the reporter" if message.read_at else "not read yet"
            entries.append(
                Entry(
                    as_utc(message.created_at), "message", "Message to the reporter", who, message.text, state
                )
            )
        else:
            entries.append(
                Entry(as_utc(message.created_at), "message", "The reporter answered", None, message.text)
            )
    return sorted(entries, key=lambda entry: entry.at)
