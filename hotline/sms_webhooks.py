"""Africa's Talking SMS callbacks: `/sms/inbound` and `/sms/delivery`.

Incoming SMS (FACTS.md): `from`, `to`, `text`, `date`, `id`, `linkId`, `networkCode`; AT retries
every minute until it gets a 200, so handling is idempotent by `id`. Delivery report: `id` (the
messageId), `status`, `phoneNumber`, `networkCode`, `failureReason`, `retryCount`; reports arrive
out of order and sometimes twice, and can beat the send job to recording the messageId.
"""

from __future__ import annotations

import json
import logging

import redis
from flask import Blueprint, current_app, request

from hotline import outbound
from hotline.channel import form_of
from hotline.errors import InvalidPhoneNumber
from hotline.privacy import normalise_phone
from hotline.sms_intake import IncomingSms, handle
from hotline.webhooks import plain, token_ok

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__)

DELIVERY_STATUSES = {
    "Sent",
    "Submitted",
    "Buffered",
    "Rejected",
    "Success",
    "Failed",
    "AbsentSubscriber",
    "Expired",
}
EARLY_REPORT_TTL = 24 * 3600


@bp.post("/sms/inbound")
def inbound():
    """An SMS to our short code."""
    if not token_ok():
        return plain("forbidden", 403)
    form = form_of(request)
    at_id, sender, text = (form.get(name, "").strip() for name in ("id", "from", "text"))
    if not at_id or len(at_id) > 100:
        return plain("bad request: missing or overlong field id", 400)
    try:
        phone = normalise_phone(sender)
    except InvalidPhoneNumber:
        return plain("bad request: from is not a phone number", 400)
    if len(text) > 2000:
        return plain("bad request: text too long", 400)
    handle(current_app.extensions["hotline"], IncomingSms(at_id, phone, form.get("to", "")[:20], text))
    return plain("ok", 200)


@bp.post("/sms/delivery")
def delivery_report():
    """A delivery report for an SMS we sent (idempotent; a final state is never undone)."""
    if not token_ok():
        return plain("forbidden", 403)
    form = form_of(request)
    message_id, status = form.get("id", "").strip(), form.get("status", "").strip()
    if not message_id or len(message_id) > 80:
        return plain("bad request: missing or overlong field id", 400)
    if status not in DELIVERY_STATUSES:
        return plain("bad request: unknown status", 400)
    reason = form.get("failureReason", "").strip()[:40] or None
    ext = current_app.extensions["hotline"]
    with ext.session_scope() as session:
        known = outbound.apply_delivery_report(session, message_id, status, reason)
    if not known:
        # The send job has not recorded this messageId yet (or it is not ours): park it for the job.
        try:
            key = f"sms:early-report:{message_id}"
            pipe = ext.redis.pipeline(transaction=False)
            pipe.rpush(key, json.dumps({"status": status, "reason": reason}))
            pipe.expire(key, EARLY_REPORT_TTL)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("delivery report for unknown id not parked: %s", type(exc).__name__)
    return plain("ok", 200)
