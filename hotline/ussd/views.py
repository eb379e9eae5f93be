"""Africa's Talking callbacks: `/ussd` and `/ussd/events`.

Every callback must carry `?token=<WEBHOOK_TOKEN>` when a token is configured (403 otherwise).
A malformed callback gets a 400 with a short plain reason; `/ussd` never answers without
`CON `/`END ` and never with a 500: a failure ends the session politely.

The token check, the methods and body limits every callback shares are in
`hotline.africastalking.webhooks`.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request
from sqlalchemy.dialects import postgresql, sqlite

from hotline.africastalking.forms import form_of, parse_session_ended, parse_ussd, ussd_response
from hotline.africastalking.webhooks import plain, require_token
from hotline.core import engagement
from hotline.core.extensions import current
from hotline.core.models import UssdSessionEnd
from hotline.core.privacy import engagement_key, reporter_key
from hotline.ussd import service as ussd
from hotline.ussd.sessions import SessionStore

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)
require_token(bp)


@bp.post("/ussd")
def ussd_screen():
    """One USSD screen: `CON …` or `END …`."""
    inbound = parse_ussd(form_of(request))
    try:
        reply = ussd.answer(current(), inbound)
    except Exception:  # never a 500 to AT: end the session politely, answers kept in the draft
        log.exception("ussd request failed (session %s)", inbound.session_id)
        reply = ussd.error_reply()
    return ussd_response(reply.text, reply.end)


@bp.post("/ussd/events")
def ussd_session_ended():
    """AT's end-of-session notification, kept for the drop-off funnel (idempotent); the dial counts
    for campaign effect apart (`hotline.engagement`), so the row keeps nothing of the caller."""
    event = parse_session_ended(form_of(request))
    ext = current()
    screen = language = key = None
    if event.phone:
        key = reporter_key(event.phone, ext.config.phone_hash_key)
        stored = SessionStore(ext.ussd_redis, 0).load(key)
        if stored and stored.session_id == event.session_id:
            screen, language = stored.state.screen, stored.state.lang
    values = {
        "session_id": event.session_id,
        "status": event.status,
        "last_screen": screen,
        "language": language,
        "network_code": event.network_code,
        "duration_ms": event.duration_ms,
        "hops": event.hops,
        "error_message": event.error_message,
    }
    with ext.session_scope() as session:
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(UssdSessionEnd).values(**values).on_conflict_do_nothing()
        if session.execute(statement).rowcount and event.phone:  # AT's retries count once
            engagement.record(session, engagement_key(event.phone, ext.config.phone_hash_key), "dialled")
    return plain("ok", 200)
