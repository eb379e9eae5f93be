"""What the studio shows of campaigns while they run: each campaign's figures for the list, and one
campaign's live progress (sent, delivered, failed by reason, the last minutes).

Both are single GROUP BY queries over the recipients, so the pages stay cheap to poll; the full
report (`campaigns.report`) is for the report page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.africastalking.statuses import ACCEPTED, DELIVERED, FAILED, STATUS_NAMES
from hotline.core.models import CampaignRecipient
from hotline.core.time import as_utc

MINUTES = 10  # the progress table's last minutes
NOT_YET = ("queued", "retry", "sending")


@dataclass(frozen=True)
class Figures:
    """One campaign's counts for the list: recipients sent (accepted by AT) and delivered."""

    sent: int = 0
    delivered: int = 0


def figures(session: Session, campaign_ids: list[int]) -> dict[int, Figures]:
    """Sent and delivered (unique numbers with a Success report: reach) per campaign, in one query."""
    if not campaign_ids:
        return {}
    r = CampaignRecipient
    rows = session.execute(
        select(
            r.campaign_id,
            func.count().filter(r.state == "sent"),
            func.count().filter(r.delivery_status == DELIVERED),
        )
        .where(r.campaign_id.in_(campaign_ids), r.held_out.is_(False))
        .group_by(r.campaign_id)
    ).all()
    return {campaign_id: Figures(sent, delivered) for campaign_id, sent, delivered in rows}


@dataclass
class Minute:
    """One minute of sending (Nairobi time) and what happened in it."""

    at: datetime
    sent: int = 0
    delivered: int = 0


@dataclass
class Live:
    """A running campaign's progress."""

    to_send: int = 0
    sent: int = 0  # accepted by AT
    delivered: int = 0
    failed: int = 0
    awaiting_report: int = 0
    not_sent_yet: int = 0
    uncertain: int = 0
    other: Counter = field(default_factory=Counter)  # suppressed, cancelled, skipped
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    minutes: list[Minute] = field(default_factory=list)

    @property
    def done_share(self) -> float:
        """The share of the recipients meant to get it that the dispatcher is finished with."""
        if not self.to_send:
            return 1.0
        return 1 - (self.not_sent_yet + self.uncertain) / self.to_send


def _minute(session: Session, column):
    """SQL for a timestamp cut to its minute, as text `YYYY-MM-DD HH:MM` (UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", column)


def progress(session: Session, campaign_id: int, now: datetime, minutes: int = MINUTES) -> Live:
    """Where the campaign's sending stands, and how many were sent and delivered per minute lately."""
    r = CampaignRecipient
    rows = session.execute(
        select(r.state, r.at_status_code, r.delivery_status, r.failure_reason, func.count())
        .where(r.campaign_id == campaign_id, r.held_out.is_(False))
        .group_by(r.state, r.at_status_code, r.delivery_status, r.failure_reason)
    ).all()
    live, reasons = Live(), Counter()
    for state, code, delivery, reason, n in rows:
        live.to_send += n
        accepted = state == "sent" or code in ACCEPTED or delivery is not None
        if accepted:
            live.sent += n
            if delivery == DELIVERED:
                live.delivered += n
            elif delivery in FAILED:
                live.failed += n
                reasons[reason or delivery] += n
            else:
                live.awaiting_report += n
        elif state in NOT_YET:
            live.not_sent_yet += n
        elif state == "uncertain":
            live.uncertain += n
        elif state == "failed":
            live.failed += n
            name = reason or STATUS_NAMES.get(code, "not accepted")
            reasons[f"{code} {name}" if code is not None else name] += n
        else:
            live.other[state] += n
    live.failed_by_reason = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    live.minutes = _last_minutes(session, campaign_id, now, minutes)
    return live


def _last_minutes(session: Session, campaign_id: int, now: datetime, minutes: int) -> list[Minute]:
    r = CampaignRecipient
    since = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    table = {since + timedelta(minutes=i): Minute(since + timedelta(minutes=i)) for i in range(minutes)}
    for column, name in ((r.sent_at, "sent"), (r.delivered_at, "delivered")):
        minute = _minute(session, column).label("minute")
        counted = session.execute(
            select(minute, func.count())
            .where(r.campaign_id == campaign_id, column >= since)
            .group_by(minute)
        ).all()
        for text, n in counted:
            at = as_utc(datetime.strptime(text, "%Y-%m-%d %H:%M"))
            if at in table:
                setattr(table[at], name, getattr(table[at], name) + n)
    return sorted(table.values(), key=lambda m: m.at, reverse=True)
