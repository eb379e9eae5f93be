"""Africa's Talking SMS callbacks: `/sms/inbound`, `/sms/delivery` and `/sms/opt-out`.

Incoming SMS (FACTS.md): `from`, `to`, `text`, `date`, `id`, `linkId`, `networkCode`; AT retries
every minute until it gets a 200, so handling is idempotent by `id`. Delivery report: `id` (the
messageId), `status`, `phoneNumber`, `networkCode`, `failureReason`, `retryCount`; reports arrive
out of order and sometimes twice, and can beat the send job to recording the messageId: the
handler only checks and buffers them (`hotline.delivery_reports`).
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, request

from hotline.africastalking.forms import form_of
from hotline.africastalking.webhooks import plain, token_ok
from hotline.contacts import service as contacts
from hotline.core.errors import BadRequest, InvalidPhoneNumber
from hotline.core.extensions import current
from hotline.core.privacy import normalise_phone
from hotline.messaging import delivery_reports
from hotline.sms.intake import IncomingSms, handle

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__)



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
    handle(current(), IncomingSms(at_id, phone, form.get("to", "")[:20], text))
    return plain("ok", 200)


@bp.post("/sms/opt-out")
def opt_out():
    """AT's bulk opt-out: the number leaves awareness SMS (idempotent; no SMS is sent)."""
    if not token_ok():
        return plain("forbidden", 403)
    number = form_of(request).get("phoneNumber", "").strip()
    if not number:
        return plain("bad request: missing field phoneNumber", 400)
    try:
        phone = normalise_phone(number)
    except InvalidPhoneNumber:
        return plain("bad request: phoneNumber is not a phone number", 400)
    ext = current()
    with ext.session_scope() as session:
        # senderId is not checked: whichever of our sender IDs they left, they asked for no more.
        contacts.opt_out(session, phone, source="at_opt_out", phone_hash_key=ext.config.phone_hash_key)
    return plain("ok", 200)


@bp.post("/sms/delivery")
def delivery_report():
    """A delivery report: checked and buffered for the applying job (written through if Redis is down)."""
    if not token_ok():
        return plain("forbidden", 403)
    ext = current()
    try:
        report = delivery_reports.parse(form_of(request), ext.config.phone_hash_key)
    except BadRequest as exc:
        return plain(f"bad request: {exc}", 400)
    try:
        delivery_reports.buffer(ext.redis, ext.queues, report)
    except redis.RedisError as exc:
        log.warning("delivery report written through: Redis unavailable (%s)", type(exc).__name__)
        with ext.session_scope() as session:
            delivery_reports.apply(session, [report])
    return plain("ok", 200)
