"""How the desk's pages say things: times in Kenya, ages, the acknowledgement countdown, a tip's row
and its facts. Plain values for the templates, which only loop and print them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hotline.agencies.register import verdict
from hotline.core.counties import name_of
from hotline.core.models import Agency, Tip
from hotline.core.time import as_utc, duration, kenya_time
from hotline.desk.forms import kind_label
from hotline.tips import casework
from hotline.tips.reference import display

ANSWERS = {"yes": "Yes", "no": "No", "unsure": "Not sure"}
ROUTING = {
    "received": "Received",
    "routed": "Sent to the focal points",
    "acknowledged": "Acknowledged",
    "closed": "Closed",
}
VERDICTS = {
    "licensed": "Licensed",
    "expired": "Licence expired",
    "suspended": "Suspended",
    "revoked": "Revoked",
    "deregistered": "Deregistered",
    "pending": "Licence pending",
}




@dataclass(frozen=True)
class Deadline:
    """The acknowledgement deadline as a countdown: its words and whether it passed."""

    words: str
    overdue: bool


def deadline(tip: Tip, now: datetime) -> Deadline | None:
    """Time left to acknowledge before the tip escalates (None once acknowledged or never due)."""
    if tip.escalate_at is None or tip.acknowledged_at is not None or tip.folder == "closed":
        return None
    left = (as_utc(tip.escalate_at) - now).total_seconds()
    if left < 0:
        return Deadline(f"overdue {duration(left)}", True)
    return Deadline(f"in {duration(left)}", False)


@dataclass(frozen=True)
class Row:
    """One inbox row."""

    reference: str
    shown: str
    kind: str
    county: str
    age: str
    received: str
    deadline: Deadline | None
    danger: bool
    children: bool
    channel: str
    status: str


def row(tip: Tip, now: datetime) -> Row:
    """What the inbox shows of a tip."""
    return Row(
        reference=tip.reference,
        shown=display(tip.reference),
        kind=kind_label(tip.kind),
        county=name_of(tip.county_code) or "No county",
        age=duration((now - as_utc(tip.created_at)).total_seconds()),
        received=kenya_time(tip.created_at),
        deadline=deadline(tip, now),
        danger=tip.danger == "yes",
        children=tip.children == "yes",
        channel=tip.channel.upper(),
        status=acknowledgement(tip),
    )


def acknowledgement(tip: Tip) -> str:
    """Where the tip stands on acknowledgement, when no countdown runs."""
    if tip.folder == "closed":
        return "Closed"
    return "Acknowledged" if tip.acknowledged_at is not None else "Not acknowledged"


def facts(tip: Tip, now: datetime) -> list[tuple[str, str]]:
    """Every field of the tip worth reading, as (label, value), in the case page's order."""
    closure = casework.CLOSURE_REASONS.get(tip.closure_reason or "", "-")
    acknowledged = "-"
    if tip.acknowledged_at is not None:
        by = tip.acknowledged_by.name if tip.acknowledged_by is not None else "the case team"
        acknowledged = f"{kenya_time(tip.acknowledged_at)} by {by}"
    left = deadline(tip, now)
    return [
        ("Reference", display(tip.reference)),
        ("Received", f"{kenya_time(tip.created_at)} by {tip.channel.upper()}"),
        ("Kind", kind_label(tip.kind)),
        ("County", name_of(tip.county_code) or "Not given"),
        ("Place", tip.place or "-"),
        ("Description", tip.description or "-"),
        ("In danger now", ANSWERS.get(tip.danger, tip.danger)),
        ("Children involved", ANSWERS.get(tip.children, tip.children)),
        ("Urgent", "Yes" if tip.urgent else "No"),
        ("Reporter's language", "Kiswahili" if tip.language == "sw" else "English"),
        ("Case status", casework.CASE_STATUSES.get(tip.case_status, tip.case_status)),
        ("Closure reason", closure),
        ("Closed", kenya_time(tip.closed_at)),
        ("Routing", ROUTING.get(tip.status, tip.status)),
        ("Escalation level", str(tip.escalation_level)),
        ("Acknowledge", left.words if left else "-"),
        ("Acknowledged", acknowledged),
        ("Assigned to", tip.assigned_focal_point.name if tip.assigned_focal_point is not None else "-"),
        ("Call-back number", "Given (reveal it below)" if tip.callback_contact else "Not given"),
    ]


def agency_facts(agency: Agency | None, tip: Tip, today: date) -> list[tuple[str, str]]:
    """The linked agency and its licence status from NEA's register (empty when none is linked)."""
    if agency is None:
        return []
    found = verdict(agency, today)
    status = VERDICTS.get(found.kind, found.kind)
    if found.until:
        status += f" until {found.until.isoformat()}"
    elif found.since:
        status += f" since {found.since.isoformat()}"
    if found.kind == "licensed":
        status += ", jobs abroad too" if found.abroad else ", local jobs only"
    return [
        ("Agency", agency.name),
        ("Registration", agency.registration_number),
        ("Licence", status),
        ("Flagged for NEA", kenya_time(tip.agency_flagged_at) if tip.agency_flagged_at else "No"),
    ]
