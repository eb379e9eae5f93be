"""Sending one service SMS through Africa's Talking: the row says what to do, the job does one step.

A step settles an uncertain SMS from delivery reports or claims a due pending one, sends it outside
any transaction, and records the outcome; when something is left to do later (AT down, an answer
lost) it queues a job for that time under a fresh id. The sweeper queues any due SMS that has no
job waiting, so a lost or failed job never strands one.
"""

from __future__ import annotations

import logging

from hotline.africastalking.gateway import GatewayError
from hotline.core.models import utcnow
from hotline.messaging import outbound
from workers.context import extensions, gateway

log = logging.getLogger(__name__)


def send_sms(outbound_id: int) -> str:
    """Take SMS `outbound_id` one step towards sent (safe to run twice); returns its state."""
    ext = extensions()
    with ext.session_scope() as session:
        attempt = outbound.begin_attempt(session, ext.config, outbound_id, utcnow())
    if not attempt.number:
        if attempt.next_at:
            outbound.queue_attempt(ext.queues, outbound_id, attempt.attempts, attempt.next_at)
        return attempt.state
    result, error, maybe_sent = None, None, False
    try:
        [result] = gateway(ext).send(attempt.message, [attempt.recipient], reply_to=attempt.reply_to)
    except GatewayError as exc:
        log.warning("sms %s, attempt %s: %s", outbound_id, attempt.number, exc)
        error, maybe_sent = str(exc), exc.maybe_sent
    with ext.session_scope() as session:
        done = outbound.finish_attempt(
            session, outbound_id, attempt.number, utcnow(), result=result, error=error, maybe_sent=maybe_sent
        )
    if done.next_at:
        outbound.queue_attempt(ext.queues, outbound_id, done.attempts, done.next_at)
    return done.state


def send_now(outbound_ids) -> list[str]:
    """Send these SMS from the running job (no queue latency); what is left queues its own job."""
    return [send_sms(outbound_id) for outbound_id in outbound_ids]
