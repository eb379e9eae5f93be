"""Outbound SMS as rows: decided in a transaction, sent by a job, settled by delivery reports.

Every SMS has a `dedupe_key`: deciding to send the same thing twice finds the first row, and
the send job sends a row only while it is `pending`, so running a job twice sends nothing twice.
"""

from __future__ import annotations

import logging

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import OutboundSms, utcnow
from hotline.queues import DEFAULT_RETRY, enqueue
from hotline.sms_gateway import RecipientResult

log = logging.getLogger(__name__)

def prepare(session: Session, dedupe_key: str, purpose: str, message: str, **target) -> OutboundSms:
    """The row for this SMS, made now unless it was decided before."""
    row = session.scalar(select(OutboundSms).where(OutboundSms.dedupe_key == dedupe_key))
    if row is None:
        row = OutboundSms(dedupe_key=dedupe_key, purpose=purpose, message=message, **target)
        session.add(row)
        session.flush()
    return row


def send_job_id(outbound_id: int) -> str:
    """One RQ job id per SMS, so queueing it again is harmless."""
    return f"send-sms-{outbound_id}"


def queue_send(queues, outbound_ids, delay=None) -> int:
    """Queue the send jobs; returns how many were queued (0 when Redis is down: the sweeper retries)."""
    queued = 0
    for outbound_id in outbound_ids:
        try:
            if delay:
                queues["tips"].enqueue_in(
                    delay,
                    "workers.sms.send_sms",
                    outbound_id,
                    job_id=send_job_id(outbound_id),
                    retry=DEFAULT_RETRY,
                )
            else:
                enqueue(queues, "tips", "workers.sms.send_sms", outbound_id, job_id=send_job_id(outbound_id))
            queued += 1
        except redis.RedisError as exc:
            log.warning("sms %s not queued (%s); the sweeper will", outbound_id, type(exc).__name__)
            break
    return queued


def record_result(row: OutboundSms, result: RecipientResult) -> None:
    """What AT said about this SMS."""
    row.at_status_code, row.at_status, row.cost = result.status_code, result.status, result.cost
    if result.accepted:
        row.state, row.at_message_id, row.sent_at = "sent", result.message_id, utcnow()
    elif result.undeliverable:
        row.state, row.failure_reason = "failed", result.status
