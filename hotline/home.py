"""`GET /`: a small page naming what this web process serves and how to dial it.

Somebody who opens the service's address in a browser (a newcomer after `make run`, an operator
checking a deployment) learns the callback URLs to give Africa's Talking and where to look next,
without reading the code. It shows no secret and no data: the webhook token is named, never shown.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from hotline.core.extensions import current

bp = Blueprint("home", __name__)

# (path, what AT posts there); the order of the dashboard's settings.
CALLBACKS = (
    ("/ussd", "USSD: one POST per screen, answered with CON … or END …"),
    ("/ussd/events", "USSD end-of-session notifications (the drop-off funnel)"),
    ("/sms/inbound", "incoming SMS to the short code (TIP, STATUS, ACK, AGENCY, START, STOP, …)"),
    ("/sms/opt-out", "bulk SMS opt-outs"),
    ("/sms/delivery", "SMS delivery reports"),
)


@bp.get("/")
def index():
    """The endpoints, and how to dial in this mode."""
    config = current().config
    return render_template(
        "home.html",
        base=request.host_url.rstrip("/"),
        callbacks=CALLBACKS,
        token_required=bool(config.webhook_token),
        service_code=config.ussd_service_code,
        simulator=None if config.at_username else config.at_base_url,
    )
