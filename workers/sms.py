"""Sending one SMS through Africa's Talking; retried with backoff by RQ, never twice once sent."""

from __future__ import annotations

import logging
from datetime import timedelta

from hotline import delivery_reports, outbound
from hotline.models import OutboundSms
from hotline.privacy import decrypt_contact
from hotline.sms_gateway import GatewayError
from workers.context import extensions

log = logging.getLogger(__name__)


RETRY_AFTER = timedelta(seconds=10)


class SendLater(Exception):
    """AT could not take it now; RQ retries the job with backoff."""


def send_sms(outbound_id: int) -> str:
    """Send SMS `outbound_id` if it is still pending; returns its state."""
    ext = extensions()
    with ext.session_scope() as session:
        row = session.get(OutboundSms, outbound_id)
        if row is None or row.state != "pending":
            return row.state if row else "missing"
        row.attempts += 1
        recipient = row.focal_point.phone if row.focal_point else None
        if recipient is None and row.to_token:
            recipient = decrypt_contact(row.to_token, ext.config.contact_key)
        message = row.message
    if recipient is None:
        _settle(outbound_id, state="failed", reason="NoRecipient")
        return "failed"
    try:
        [result] = ext.gateway.send(message, [recipient])
    except GatewayError as exc:
        log.warning("sms %s: %s", outbound_id, exc)
        raise SendLater(str(exc)) from None
    with ext.session_scope() as session:
        row = session.get(OutboundSms, outbound_id)
        outbound.record_result(row, result)
        state = row.state
        if row.at_message_id:
            # A delivery report can beat us to recording the messageId: it was kept as unmatched.
            delivery_reports.claim_unmatched(session, [row.at_message_id])
    if result.retry_later:
        raise SendLater(f"AT status {result.status_code} {result.status}")
    return state


def send_now(outbound_ids) -> list[str]:
    """Send these SMS from the running job (no queue latency); what fails goes to a retried job."""
    ext = extensions()
    states = []
    for outbound_id in outbound_ids:
        try:
            states.append(send_sms(outbound_id))
        except SendLater:
            outbound.queue_send(ext.queues, [outbound_id], delay=RETRY_AFTER)
            states.append("pending")
    return states


def _settle(outbound_id: int, state: str, reason: str) -> None:
    with extensions().session_scope() as session:
        row = session.get(OutboundSms, outbound_id)
        row.state, row.failure_reason = state, reason
