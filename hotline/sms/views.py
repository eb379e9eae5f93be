"""Africa's Talking SMS callbacks: `/sms/inbound`, `/sms/delivery` and `/sms/opt-out`.

Each form is read by the adapter (`hotline.africastalking.sms_forms`); a form it cannot read is a
400 with its reason. AT retries an incoming SMS until it gets a 200, so handling is idempotent by
AT's id. Delivery reports arrive out of order and sometimes twice, and can beat the send job to
recording the message id: the handler only buffers them (`hotline.messaging.delivery_reports`).
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, request

from hotline.africastalking.forms import form_of
from hotline.africastalking.sms_forms import parse_delivery_report, parse_incoming_sms, parse_opt_out
from hotline.africastalking.webhooks import plain, require_token
from hotline.contacts import service as contacts
from hotline.core.extensions import current
from hotline.messaging import delivery_reports
from hotline.sms.intake import handle

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__)
require_token(bp)


@bp.post("/sms/inbound")
def inbound():
    """An SMS to our short code."""
    sms = parse_incoming_sms(form_of(request))
    handle(current(), sms)
    return plain("ok", 200)


@bp.post("/sms/opt-out")
def opt_out():
    """AT's bulk opt-out: the number leaves awareness SMS (idempotent; no SMS is sent)."""
    left = parse_opt_out(form_of(request))
    ext = current()
    with ext.session_scope() as session:
        # The sender ID is not checked: whichever of ours they left, they asked for no more.
        contacts.opt_out(session, left.phone, source="at_opt_out", phone_hash_key=ext.config.phone_hash_key)
    return plain("ok", 200)


@bp.post("/sms/delivery")
def delivery_report():
    """A delivery report: checked and buffered for the applying job (written through if Redis is down)."""
    ext = current()
    report = parse_delivery_report(form_of(request), ext.config.phone_hash_key)
    try:
        delivery_reports.buffer(ext.redis, ext.queues, report)
    except redis.RedisError as exc:
        log.warning("delivery report written through: Redis unavailable (%s)", type(exc).__name__)
        with ext.session_scope() as session:
            delivery_reports.apply(session, [report])
    return plain("ok", 200)
