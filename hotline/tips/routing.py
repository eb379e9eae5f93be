"""Routing tips through the National Referral Mechanism: notify, acknowledge, escalate, update.

Stages of a tip: the county's focal points by priority (all of them at once when urgent), then
the national CTiP secretariat (county 0), which is also where tips with no county or no county
focal points go. Each stage has a deadline (`Config.escalation_after`); without an
acknowledgement the tip moves to the next stage. Messages to focal points carry the reference,
kind, county, place, urgency, children, whether a call-back number exists and the case's console
address: never the reporter's number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.gsm import fit, septets, to_gsm7
from flows.texts import text
from hotline.core.config import Config
from hotline.core.counties import NATIONAL, name_of
from hotline.core.models import FocalPoint, OutboundSms, Tip, TipUpdate
from hotline.messaging import outbound
from hotline.tips.reference import display


def focal_points(session: Session, county_code: int) -> list[FocalPoint]:
    """Active focal points of a county (0: the national secretariat), by priority."""
    query = (
        select(FocalPoint)
        .where(FocalPoint.county_code == county_code, FocalPoint.active.is_(True))
        .order_by(FocalPoint.priority, FocalPoint.id)
    )
    return list(session.scalars(query))


def stages(session: Session, tip: Tip) -> list[list[FocalPoint]]:
    """Who is notified at each escalation level, first to last."""
    county = focal_points(session, tip.county_code) if tip.county_code else []
    if tip.urgent:
        found = [county]
    else:
        found = [list(group) for _, group in groupby(county, key=lambda fp: fp.priority)]
    found.append(focal_points(session, NATIONAL))
    return [stage for stage in found if stage]


NOTICE_LIMIT = 306  # two SMS parts of GSM-7


def notice(
    tip: Tip, console_url: str, escalated_after: int | None = None, unreached: int | None = None
) -> str:
    """The SMS a focal point gets about a tip (GSM-7, at most two parts), ending with the case's
    console address so that one tap opens it.

    The danger line, how to acknowledge and the address are never cut; the place gets what room they
    leave (at most 60 characters), the description what is left after it (at most 110).
    """
    county = name_of(tip.county_code) or "county not given"
    head = [f"{'URGENT ' if tip.urgent else ''}Hotline report {display(tip.reference)}"]
    if unreached:
        head.insert(0, f"ESCALATED: the county team could not be reached by SMS in {unreached} min.")
    elif escalated_after:
        head.insert(0, f"ESCALATED: not acknowledged in {escalated_after} min.")
    what = to_gsm7(f"{text('en', 'kind.' + tip.kind)}, {county}: ")
    danger = (
        f"Danger now: {tip.danger}. Children: {tip.children}. "
        f"Call-back number: {'available' if tip.callback_contact else 'no'}."
    )
    tail = to_gsm7("\n".join([danger, f"Reply ACK {tip.reference}", case_address(console_url, tip)]))
    room = NOTICE_LIMIT - septets(to_gsm7("\n".join([*head, what, tail])))
    place = fit(to_gsm7(tip.place or "-"), max(1, min(60, room)))
    lines = [*head, what + place]
    room -= septets(place) + 1  # what a description may take, with its line break
    if tip.description and room > 0:
        lines.append(fit(to_gsm7(tip.description), min(110, room)))
    return fit(to_gsm7("\n".join(lines)), NOTICE_LIMIT - septets(tail) - 1) + "\n" + tail


def case_address(console_url: str, tip: Tip) -> str:
    """The case page's address in the console, short enough for an SMS."""
    return f"{console_url}/t/{tip.reference}"


def notify_stage(
    session: Session, config: Config, tip: Tip, level: int, now: datetime, unreached: int | None = None
) -> list[int]:
    """Decide the SMS of escalation stage `level`, set the next deadline; returns SMS ids to send.

    `unreached` (minutes) escalates because the first notification was not accepted by AT in time:
    the national secretariat is told at once as well.
    """
    all_stages = stages(session, tip)
    if level >= len(all_stages):
        tip.escalate_at = None
        return []
    minutes = config.escalation_after(tip.kind, tip.urgent)
    message = notice(tip, config.console_url, escalated_after=minutes if level else None, unreached=unreached)
    purpose = "tip" if level == 0 else "escalation"
    recipients = list(all_stages[level])
    if unreached:
        recipients += [fp for fp in focal_points(session, NATIONAL) if fp not in recipients]
    # One notification per focal point and tip, whatever the stage: a repeat finds the first.
    ids = tell(session, tip, recipients, "tip:{tip}:notify:{fp}", purpose, message)
    tip.escalation_level = level
    tip.status = "routed" if tip.status == "received" else tip.status
    more = level + 1 < len(all_stages)
    tip.escalate_at = now + timedelta(minutes=minutes) if more else None
    return ids


def tell(session: Session, tip: Tip, recipients, key: str, purpose: str, message: str) -> list[int]:
    """Decide one SMS per focal point (dedupe key `key` with {tip} and {fp}); ids still to send."""
    ids = []
    for focal_point in recipients:
        dedupe_key = key.format(tip=tip.id, fp=focal_point.id)
        row = outbound.prepare(
            session, dedupe_key, purpose, message, tip_id=tip.id, focal_point_id=focal_point.id
        )
        if row.state == "pending":
            ids.append(row.id)
    return ids


def notified(session: Session, tip_id: int) -> list[FocalPoint]:
    """The focal points that were sent this tip."""
    query = (
        select(FocalPoint)
        .join(OutboundSms, OutboundSms.focal_point_id == FocalPoint.id)
        .where(OutboundSms.tip_id == tip_id, OutboundSms.purpose.in_(("tip", "escalation")))
        .distinct()
    )
    return list(session.scalars(query))


def acknowledge(
    session: Session, tip: Tip, by: FocalPoint | None, now: datetime, by_name: str | None = None
) -> list[int]:
    """Mark the tip acknowledged by `by` and tell the other notified focal points.

    `by` is None when someone without a directory entry acknowledged it in the console (`by_name`
    then says who, e.g. the CTiP secretariat).
    """
    tip.status, tip.acknowledged_at = "acknowledged", now
    tip.acknowledged_by_id = by.id if by is not None else None
    tip.escalate_at = None
    if tip.folder == "new":
        tip.folder = "active"  # the case desk's inbox: out of "new"
    who = by_name or "the case team"
    if by is not None:
        who = by.name + (f" ({by.organisation})" if by.organisation else "")
    ref = display(tip.reference)
    message = to_gsm7(f"Report {ref} was acknowledged by {who}. No action needed from you.")
    others = [fp for fp in notified(session, tip.id) if by is None or fp.id != by.id]
    return tell(session, tip, others, "tip:{tip}:acked:{fp}", "ack", message)


def may_acknowledge(session: Session, tip: Tip, focal_point: FocalPoint) -> bool:
    """A focal point may acknowledge tips of its county, tips it was sent, or any (national)."""
    if focal_point.county_code in (NATIONAL, tip.county_code):
        return True
    return any(fp.id == focal_point.id for fp in notified(session, tip.id))


def holders(session: Session, tip: Tip) -> list[FocalPoint]:
    """Who holds the tip: the focal point it is assigned to, else the one who acknowledged it, else
    those it was sent to. They hear of the reporter's additions and answers."""
    for holder in (tip.assigned_focal_point, tip.acknowledged_by):
        if holder is not None:
            return [holder]
    return notified(session, tip.id)


def forward_update(session: Session, tip: Tip, update: TipUpdate) -> list[int]:
    """Forward information added to the tip to whoever holds it; returns SMS ids still to send."""
    source = "the reporter" if update.author == "reporter" else "another phone, accepted by the case team"
    message = to_gsm7(f"Update on report {display(tip.reference)} from {source}: {update.text}")[:306]
    return tell(session, tip, holders(session, tip), f"update:{update.id}:{{fp}}", "update", message)


def due_for_escalation(session: Session, now: datetime) -> list[int]:
    """Tips past their deadline with no acknowledgement."""
    query = select(Tip.id).where(Tip.escalate_at.is_not(None), Tip.escalate_at <= now).order_by(Tip.id)
    return list(session.scalars(query.limit(1000)))


def unreached_tips(session: Session, since: datetime, tip_id: int | None = None) -> list[int]:
    """Tips routed before `since` whose first notification AT has accepted for nobody, and that
    have a next stage to escalate to (each tip once: escalating moves it past level 0)."""
    accepted = (
        select(OutboundSms.id)
        .where(OutboundSms.tip_id == Tip.id, OutboundSms.purpose == "tip", OutboundSms.state == "sent")
        .exists()
    )
    query = select(Tip.id).where(
        Tip.escalate_at.is_not(None),
        Tip.escalation_level == 0,
        Tip.acknowledged_at.is_(None),
        Tip.routing_started_at <= since,
        ~accepted,
    )
    if tip_id is not None:
        query = query.where(Tip.id == tip_id)
    return list(session.scalars(query.order_by(Tip.id).limit(1000)))
