"""The case desk's actions on a tip: acknowledge, assign, move to a county, note, status, refer,
mark as a duplicate, flag the agency, reveal the call-back number.

Each action checks what it is given, changes the tip, writes a `CaseEvent` (the timeline's who and
when) and an entry in the audit log, and returns the ids of any SMS it decided (the caller queues
them after the commit). A refusal is a `CaseError` whose message the page shows as it is;
`NotAllowed` is one the viewer's role can never do (a 403). `Tip.folder`, `case_status`, `status`
and `closed_at` move together here, and only here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core import audit, privacy
from hotline.core.config import Config
from hotline.core.counties import by_code, name_of
from hotline.core.models import CaseEvent, FocalPoint, Referral, ReferralOrganisation, Tip, User
from hotline.core.time import NAIROBI
from hotline.core.viewer import ROLE_LABELS, Viewer
from hotline.tips import inbox, referrals, routing
from hotline.tips.reference import display

NOTE_MAX = 2000
DETAILS_MAX = 1000
REASON_MAX = 200
CASE_STATUSES = {  # HTCDS cas_Status, and how the console says it
    "Active": "Active",
    "FollowUp": "Follow-up",
    "Closed": "Closed",
    "ClosedReferred": "Closed (referred)",
}
CLOSED_STATUSES = ("Closed", "ClosedReferred")
CLOSURE_REASONS = {
    "resolved": "Resolved",
    "referred": "Referred",
    "not_trafficking": "Not trafficking",
    "duplicate": "Duplicate",
    "insufficient_information": "Insufficient information",
}
REFERRAL_REASONS = {
    "AdditionalServicesRequired": "Additional services required",
    "MigrationOrChangeOfLocation": "Migration or change of location",
    "Other": "Other",
}


class CaseError(Exception):
    """An action refused, with a message the case page shows as it is."""


class NotAllowed(CaseError):
    """An action the viewer's role or assignment never allows (the page answers 403)."""


def _event(session: Session, viewer: Viewer, tip: Tip, kind: str, now: datetime, text=None, **detail):
    user = session.get(User, viewer.user_id)
    session.add(
        CaseEvent(
            tip_id=tip.id,
            at=now,
            kind=kind,
            user_id=viewer.user_id,
            focal_point_id=viewer.focal_point_id,
            text=text,
            detail=detail or None,
        )
    )
    audit.record(session, user, kind, tip_id=tip.id, target=tip.reference, detail=detail or None, at=now)


def _text(value: str | None, limit: int, what: str, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value and required:
        raise CaseError(f"Write the {what}.")
    if len(value) > limit:
        raise CaseError(f"The {what} is {len(value)} characters long; at most {limit} are kept.")
    return value or None


def _open(tip: Tip) -> None:
    if tip.folder == "closed":
        raise CaseError("This case is closed: reopen it first.")


def acknowledge(session: Session, viewer: Viewer, tip: Tip, now: datetime) -> list[int]:
    """Acknowledge the tip as `ACK` by SMS does: the others notified are told; returns SMS ids."""
    if tip.acknowledged_at is not None:
        who = tip.acknowledged_by.name if tip.acknowledged_by else "the case team"
        raise CaseError(f"Already acknowledged by {who}.")
    _open(tip)
    entry = session.get(FocalPoint, viewer.focal_point_id) if viewer.focal_point_id else None
    if entry is not None and not entry.active:
        entry = None  # a retired directory entry: recorded by user
    ids = routing.acknowledge(session, tip, entry, now, by_name=ROLE_LABELS.get(viewer.role))
    _event(session, viewer, tip, "acknowledged", now, by_sms=len(ids))
    return ids


def assignable(session: Session, tip: Tip) -> list[FocalPoint]:
    """The active focal points of the tip's county, in the directory's order."""
    return routing.focal_points(session, tip.county_code) if tip.county_code else []


def assign(session: Session, viewer: Viewer, tip: Tip, focal_point_id: int, now: datetime) -> None:
    """Assign the tip to an active focal point of its county."""
    _open(tip)
    chosen = next((fp for fp in assignable(session, tip) if fp.id == focal_point_id), None)
    if chosen is None:
        raise CaseError("Choose an active focal point of the tip's county.")
    if tip.assigned_focal_point_id == chosen.id:
        raise CaseError(f"Already assigned to {chosen.name}.")
    tip.assigned_focal_point_id = chosen.id
    _event(session, viewer, tip, "assigned", now, focal_point_id=chosen.id, name=chosen.name)


def move(
    session: Session, config: Config, viewer: Viewer, tip: Tip, county_code: int, now: datetime
) -> list[int]:
    """Move the tip to another county (secretariat): routed there as if it had arrived; SMS ids."""
    if not viewer.national:
        raise NotAllowed("Only the secretariat moves a tip to another county.")
    _open(tip)
    if county_code not in by_code():
        raise CaseError("Choose a county.")
    if county_code == tip.county_code:
        raise CaseError(f"The tip is already in {name_of(county_code)}.")
    before = tip.county_code
    tip.county_code, tip.assigned_focal_point_id = county_code, None
    tip.status, tip.acknowledged_at, tip.acknowledged_by_id = "received", None, None
    tip.folder, tip.case_status, tip.escalation_level = "new", "Active", 0
    ids = routing.notify_stage(session, config, tip, 0, now)
    _event(session, viewer, tip, "moved", now, from_county=before, to_county=county_code)
    return ids


def add_note(session: Session, viewer: Viewer, tip: Tip, text: str, now: datetime) -> None:
    """Add an internal note to the tip's timeline (never sent anywhere)."""
    _event(session, viewer, tip, "note", now, text=_text(text, NOTE_MAX, "note"))


def _routing_status(tip: Tip) -> str:
    if tip.acknowledged_at is not None:
        return "acknowledged"
    return "routed" if tip.routing_started_at is not None else "received"


def _close(tip: Tip, status: str, reason: str, now: datetime) -> None:
    tip.case_status, tip.closure_reason, tip.closed_at = status, reason, now
    tip.folder, tip.status, tip.escalate_at = "closed", "closed", None


def set_status(
    session: Session, viewer: Viewer, tip: Tip, status: str, now: datetime, reason: str | None = None
) -> None:
    """Change the case status (HTCDS cas_Status); closing needs a reason, reopening clears it."""
    if status not in CASE_STATUSES:
        raise CaseError("Choose a status.")
    if status == tip.case_status:
        raise CaseError(f"The case is already {CASE_STATUSES[status].lower()}.")
    before = tip.case_status
    if status in CLOSED_STATUSES:
        if reason not in CLOSURE_REASONS:
            raise CaseError("Closing a case needs a reason.")
        _close(tip, status, reason, now)
    else:
        if tip.duplicate_of_id is not None:
            raise CaseError("This tip is a duplicate: it stays closed with the tip it duplicates.")
        tip.case_status, tip.closure_reason, tip.closed_at = status, None, None
        tip.status = _routing_status(tip)
        if status == "FollowUp":
            tip.folder = "followup"
        else:
            tip.folder = "active" if tip.acknowledged_at is not None else "new"
    _event(session, viewer, tip, "status", now, before=before, after=status, reason=reason)


def organisations(session: Session, tip: Tip) -> list[ReferralOrganisation]:
    """The organisations the tip can be referred to: its county's active ones, then national ones."""
    return referrals.organisations_for(session, tip.county_code)


def refer(
    session: Session,
    viewer: Viewer,
    tip: Tip,
    organisation_id: int,
    referred_on: date,
    reason: str,
    details: str | None,
    now: datetime,
) -> Referral:
    """Refer the case to an organisation of its county or a national one (HTCDS referral fields)."""
    organisation = next((o for o in organisations(session, tip) if o.id == organisation_id), None)
    if organisation is None:
        raise CaseError("Choose an organisation of the tip's county or a national one.")
    if reason not in REFERRAL_REASONS:
        raise CaseError("Choose the reason for the referral.")
    if referred_on > now.astimezone(NAIROBI).date():
        raise CaseError("The referral date cannot be in the future.")
    referral = Referral(
        tip_id=tip.id,
        organisation_id=organisation.id,
        referred_on=referred_on,
        reason=reason,
        details=_text(details, DETAILS_MAX, "details", required=False),
        user_id=viewer.user_id,
        created_at=now,
    )
    session.add(referral)
    session.flush()
    _event(session, viewer, tip, "referral", now, referral_id=referral.id, organisation=organisation.name)
    return referral


def mark_duplicate(session: Session, viewer: Viewer, tip: Tip, typed: str, now: datetime) -> Tip:
    """Mark the tip a duplicate of another (by reference, within the viewer's scope): it closes."""
    original = inbox.find(session, viewer, typed)
    if original is None:
        raise CaseError("No tip you can see has that reference.")
    if original.id == tip.id:
        raise CaseError("A tip cannot duplicate itself.")
    if tip.duplicate_of_id is not None:
        raise CaseError("This tip is already marked as a duplicate.")
    if original.duplicate_of_id is not None:
        ref = display(original.reference)
        raise CaseError(f"Report {ref} is itself a duplicate: use the tip it duplicates.")
    tip.duplicate_of_id = original.id
    _close(tip, "Closed", "duplicate", now)
    _event(session, viewer, tip, "duplicate", now, of=original.reference)
    _event(session, viewer, original, "duplicate", now, duplicate=tip.reference)
    return original


def flag_agency(session: Session, viewer: Viewer, tip: Tip, now: datetime) -> None:
    """Flag the tip's recruitment agency for NEA (`flask agencies stats` lists flagged reports)."""
    if tip.agency_id is None:
        raise CaseError("This tip names no recruitment agency.")
    if tip.agency_flagged_at is not None:
        raise CaseError("The agency is already flagged for this tip.")
    tip.agency_flagged_at = now
    _event(session, viewer, tip, "agency_flag", now, agency_id=tip.agency_id)


def may_reveal(viewer: Viewer, tip: Tip) -> bool:
    """The secretariat, the assigned focal point, or the county's focal point who acknowledged it."""
    if viewer.national:
        return True
    if viewer.role != "focal_point" or viewer.focal_point_id is None:
        return False
    acknowledged = tip.acknowledged_by_id == viewer.focal_point_id and tip.county_code == viewer.county_code
    return tip.assigned_focal_point_id == viewer.focal_point_id or acknowledged


def reveal(
    session: Session, config: Config, viewer: Viewer, tip: Tip, reason: str, fresh_code: bool, now: datetime
) -> str:
    """The call-back number, for an allowed viewer who just gave a fresh two-factor code and a reason.

    The access is written to the audit log (who, when, the tip, the reason); the number never is.
    """
    if tip.callback_contact is None:
        raise CaseError("The reporter gave no call-back number.")
    if not may_reveal(viewer, tip):
        raise NotAllowed("Only the assigned focal point, the one who acknowledged it, or the secretariat.")
    reason = _text(reason, REASON_MAX, "reason")
    if not fresh_code:
        audit.record(
            session,
            session.get(User, viewer.user_id),
            "reveal_refused",
            tip_id=tip.id,
            target=tip.reference,
            detail={"reason": reason, "why": "two-factor code wrong or used"},
            at=now,
        )
        raise CaseError("That code is wrong or was used already: wait for a new code.")
    number = privacy.decrypt_contact(tip.callback_contact, config.contact_key)
    _event(session, viewer, tip, "reveal", now, text=reason, reason=reason)
    return number


def viewed(session: Session, viewer: Viewer, tip: Tip, now: datetime) -> None:
    """Write the opening of a case page to the audit log: the tip's content is personal data."""
    user = session.get(User, viewer.user_id)
    audit.record(session, user, "tip_viewed", tip_id=tip.id, target=tip.reference, at=now)


def duplicates(session: Session, tip: Tip) -> list[str]:
    """References of the tips marked duplicates of this one."""
    query = select(Tip.reference).where(Tip.duplicate_of_id == tip.id).order_by(Tip.id)
    return list(session.scalars(query))
