"""Service SMS as rows: decided in a transaction, sent by a job, settled by AT's answer or its reports.

Every SMS has a `dedupe_key`: deciding to send the same thing twice finds the first row. The row, not
the job, says what is left to do, so however long AT is down the SMS is tried again:

- `pending`: to send at `next_attempt_at` (backoff 10 s, 30 s, 1 min, 2 min, then every 5 min);
- `sending`: an attempt started at `attempt_started_at` (one job claims it with a conditional
  UPDATE, so two jobs never send one SMS); a worker that dies here leaves it for the sweeper, which
  makes it `uncertain` after `SENDING_STALE`;
- `uncertain`: the request may have reached AT but no answer came back (read timeout, dead worker).
  It is settled from AT's delivery reports like a campaign batch (`campaigns.dispatch.reconcile`): a
  report kept in `unmatched_delivery_report` for the recipient's number since the attempt means AT
  took it; with none after the reconcile window (2 minutes for an urgent tip, else
  CAMPAIGN_RECONCILE_SECONDS) it goes back to `pending` and is sent again;
- `sent` (AT accepted it) and `failed` (it can never be delivered) are final.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from rq.job import JobStatus
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.africastalking.gateway import RecipientResult, ReplyTo
from hotline.core.config import Config
from hotline.core.models import OutboundSms, UnmatchedDeliveryReport, utcnow
from hotline.core.privacy import decrypt_contact
from hotline.core.queues import enqueue, job_status
from hotline.core.time import as_utc
from hotline.messaging import delivery_reports

log = logging.getLogger(__name__)

BACKOFF = (10, 30, 60, 120, 300)  # seconds before attempt 2, 3, ...; the last one repeats for ever
SENDING_STALE = timedelta(seconds=60)  # far beyond the SDK's (3.05 s, 9.05 s) timeouts
RECHECK = timedelta(seconds=30)  # how often an uncertain SMS looks for its delivery report
SCHEDULER_LATE = timedelta(seconds=30)  # RQ's scheduler queues due jobs every second
UNSENT = ("pending", "sending", "uncertain")


def prepare(session: Session, dedupe_key: str, purpose: str, message: str, **target) -> OutboundSms:
    """The row for this SMS, made now (due at once) unless it was decided before."""
    row = session.scalar(select(OutboundSms).where(OutboundSms.dedupe_key == dedupe_key))
    if row is None:
        now = utcnow()
        row = OutboundSms(
            dedupe_key=dedupe_key,
            purpose=purpose,
            message=message,
            created_at=now,
            next_attempt_at=now,
            **target,
        )
        session.add(row)
        session.flush()
    return row


def backoff(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts: capped at 5 minutes, for ever."""
    return timedelta(seconds=BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1])


@dataclass
class Attempt:
    """What `begin_attempt` decided: send `message` to `recipient` now, or nothing (then `state`)."""

    state: str
    number: int = 0  # the attempt's number (its fencing token): set when there is something to send
    message: str = ""
    recipient: str = ""
    next_at: datetime | None = None  # when to look again, if a new job is needed for it
    attempts: int = 0  # attempts made so far, with next_at: names the job for it
    reply_to: ReplyTo | None = None  # a premium reply: what AT needs passed back


def begin_attempt(session: Session, config: Config, outbound_id: int, now: datetime) -> Attempt:
    """Settle an uncertain SMS if it is due, then claim a due pending one for sending."""
    row = session.get(OutboundSms, outbound_id)
    if row is None:
        return Attempt("missing")
    due = row.next_attempt_at is None or as_utc(row.next_attempt_at) <= now
    if row.state == "uncertain" and due:
        settle(session, config, row, now)
        if row.state == "uncertain":
            return Attempt("uncertain", next_at=as_utc(row.next_attempt_at), attempts=row.attempts)
    if row.state != "pending" or not (row.next_attempt_at is None or as_utc(row.next_attempt_at) <= now):
        return Attempt(row.state)
    recipient = recipient_of(row, config)
    if recipient is None:
        row.state, row.failure_reason, row.next_attempt_at = "failed", "NoRecipient", None
        return Attempt("failed")
    claimed = session.execute(
        update(OutboundSms)
        .where(
            OutboundSms.id == row.id, OutboundSms.state == "pending", OutboundSms.attempts == row.attempts
        )
        .values(state="sending", attempts=row.attempts + 1, attempt_started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return Attempt("sending")  # another job took it first
    reply_to = reply_to_of(row) if config.at_premium_replies else None
    return Attempt("sending", row.attempts + 1, row.message, recipient, reply_to=reply_to)


def reply_to_of(row: OutboundSms) -> ReplyTo | None:
    """What a premium reply passes back to AT, or None for any other SMS.

    Two-way short codes send a `linkId` with every SMS too; only a premium (on-demand) short code
    needs it back, and AT's premium send refuses any other, so the caller asks only when
    AT_PREMIUM_REPLIES says the short code is premium.
    """
    if row.at_link_id and row.at_short_code:
        return ReplyTo(short_code=row.at_short_code, link_id=row.at_link_id)
    return None


def recipient_of(row: OutboundSms, config: Config) -> str | None:
    """The E.164 number the SMS goes to: the focal point's, or the reporter's (decrypted)."""
    if row.focal_point is not None:
        return row.focal_point.phone
    if row.to_token:
        return decrypt_contact(row.to_token, config.contact_key)
    return None


def finish_attempt(
    session: Session,
    outbound_id: int,
    number: int,
    now: datetime,
    result: RecipientResult | None = None,
    error: str | None = None,
    maybe_sent: bool = False,
) -> Attempt:
    """Record attempt `number`'s outcome: AT's verdict, or no answer (`error`, `maybe_sent`)."""
    row = session.get(OutboundSms, outbound_id)
    if row is None or row.attempts != number or row.state not in ("sending", "uncertain"):
        return Attempt(row.state if row else "missing")  # a later attempt owns the row
    if result is not None:
        record_result(row, result, now)
        if row.at_message_id:
            # A delivery report can beat us to recording the message id: it was kept as unmatched.
            session.flush()
            delivery_reports.claim_unmatched(session, [row.at_message_id])
    elif maybe_sent:
        row.state, row.last_error = "uncertain", (error or "no answer")[:120]
        row.next_attempt_at = now + RECHECK
    else:
        _later(row, error or "not sent", now)
    next_at = as_utc(row.next_attempt_at) if row.state in UNSENT else None
    return Attempt(row.state, next_at=next_at, attempts=row.attempts)


def record_result(row: OutboundSms, result: RecipientResult, now: datetime | None = None) -> None:
    """What AT said about this SMS."""
    now = now or utcnow()
    row.at_status_code, row.at_status, row.cost = result.status_code, result.status, result.cost
    if result.accepted:
        row.state, row.at_message_id, row.sent_at = "sent", result.message_id, now
        row.next_attempt_at, row.at_link_id = None, None  # the link id served its one reply
    elif result.undeliverable:
        row.state, row.failure_reason, row.next_attempt_at = "failed", result.status, None
        row.at_link_id = None
    else:
        _later(row, f"AT status {result.status_code} {result.status}", now)


def _later(row: OutboundSms, error: str, now: datetime) -> None:
    row.state, row.last_error = "pending", error[:120]
    row.next_attempt_at = now + backoff(row.attempts)


def reconcile_window(row: OutboundSms, config: Config) -> timedelta:
    """How long an uncertain SMS waits for a delivery report before it is sent again."""
    urgent = row.tip is not None and row.tip.urgent
    return timedelta(seconds=config.urgent_reconcile_seconds if urgent else config.campaign_reconcile_seconds)


def settle(session: Session, config: Config, row: OutboundSms, now: datetime) -> None:
    """An uncertain SMS: sent if AT reported a message to its number since the attempt; after the
    window without one, pending again (due now); else it looks again a little later."""
    started = as_utc(row.attempt_started_at) or as_utc(row.created_at)
    recipient = recipient_of(row, config)
    if recipient is not None:
        key = delivery_reports.phone_key(recipient, config.phone_hash_key)
        kept = UnmatchedDeliveryReport
        message_id = session.scalar(
            select(kept.message_id)
            .where(kept.phone_key == key, kept.received_at >= started)
            .order_by(kept.received_at, kept.id)
            .limit(1)
        )
        if message_id is not None:
            row.state, row.at_message_id, row.sent_at = "sent", message_id, started
            row.next_attempt_at, row.last_error, row.at_link_id = None, None, None
            session.flush()
            delivery_reports.claim_unmatched(session, [message_id])
            log.info("sms %s settled as sent from a delivery report", row.id)
            return
    deadline = started + reconcile_window(row, config)
    if now >= deadline:
        row.state, row.next_attempt_at = "pending", now
        row.last_error = "no delivery report after the request whose answer was lost"
        log.warning("sms %s: no delivery report since its lost answer; sending it again", row.id)
    else:
        row.next_attempt_at = min(now + RECHECK, deadline)


def mark_stale(session: Session, now: datetime) -> int:
    """SMS left `sending` by a worker that died: the request may have reached AT."""
    return session.execute(
        update(OutboundSms)
        .where(OutboundSms.state == "sending", OutboundSms.attempt_started_at <= now - SENDING_STALE)
        .values(state="uncertain", next_attempt_at=now, last_error="the worker stopped during the attempt")
        .execution_options(synchronize_session=False)
    ).rowcount


def due(session: Session, now: datetime, limit: int = 5000) -> list[tuple[int, int, datetime]]:
    """(id, attempts, next_attempt_at) of pending and uncertain SMS due by `now`."""
    rows = session.execute(
        select(OutboundSms.id, OutboundSms.attempts, OutboundSms.next_attempt_at)
        .where(OutboundSms.state.in_(("pending", "uncertain")), OutboundSms.next_attempt_at <= now)
        .order_by(OutboundSms.next_attempt_at)
        .limit(limit)
    ).all()
    return [(row_id, attempts, as_utc(at)) for row_id, attempts, at in rows]


def overdue(session: Session, now: datetime, age: timedelta) -> int:
    """How many service SMS are still unsent `age` after they were decided."""
    return session.scalar(
        select(func.count())
        .select_from(OutboundSms)
        .where(OutboundSms.state.in_(UNSENT), OutboundSms.created_at <= now - age)
    )


def raise_alarms(session: Session, now: datetime, age: timedelta) -> list[OutboundSms]:
    """Mark and return the unsent SMS that just became overdue (each one once)."""
    rows = session.scalars(
        select(OutboundSms)
        .where(
            OutboundSms.state.in_(UNSENT),
            OutboundSms.created_at <= now - age,
            OutboundSms.alarmed_at.is_(None),
        )
        .order_by(OutboundSms.id)
        .limit(1000)
    ).all()
    for row in rows:
        row.alarmed_at = now
    return list(rows)


def send_job_id(outbound_id: int) -> str:
    """The id of an SMS's first send job."""
    return f"send-sms-{outbound_id}"


def attempt_job_id(outbound_id: int, attempts: int, at: datetime) -> str:
    """A fresh id per later attempt or check, so an old failed job never stands in for a new one."""
    return f"send-sms-{outbound_id}-{attempts}-{int(at.timestamp())}"


def queue_send(queues, outbound_ids) -> int:
    """Queue the first send jobs; returns how many were queued (0 when Redis is down: the sweeper sends)."""
    queued = 0
    for outbound_id in outbound_ids:
        try:
            job_id = send_job_id(outbound_id)
            enqueue(queues, "tips", "workers.sms.send_sms", outbound_id, job_id=job_id, retry=None)
            queued += 1
        except redis.RedisError as exc:
            log.warning("sms %s not queued (%s); the sweeper will", outbound_id, type(exc).__name__)
            break
    return queued


def queue_attempt(queues, outbound_id: int, attempts: int, at: datetime) -> bool:
    """Queue the job for the SMS's next attempt or check at `at`; False when Redis refused."""
    job_id = attempt_job_id(outbound_id, attempts, at)
    try:
        if at > utcnow():
            queues["tips"].enqueue_at(at, "workers.sms.send_sms", outbound_id, job_id=job_id)
        else:
            queues["tips"].scheduled_job_registry.remove(job_id)  # one the scheduler never queued
            enqueue(queues, "tips", "workers.sms.send_sms", outbound_id, job_id=job_id, retry=None)
        return True
    except redis.RedisError as exc:
        log.warning("sms %s: next attempt not queued (%s); the sweeper will", outbound_id, type(exc).__name__)
        return False


def has_live_job(queue, outbound_id: int, attempts: int, at: datetime, now: datetime) -> bool:
    """True when a job that will handle the SMS's next step waits in Redis or runs.

    A job still scheduled well after its time does not count: no scheduler is running to queue it;
    nor does one a dead worker popped (`queues.job_status`).
    """
    job_ids = [attempt_job_id(outbound_id, attempts, at)]
    if attempts == 0:
        job_ids.append(send_job_id(outbound_id))
    for job_id in job_ids:
        status = job_status(queue, job_id)
        if status is not None and not (status == JobStatus.SCHEDULED and at <= now - SCHEDULER_LATE):
            return True
    return False
