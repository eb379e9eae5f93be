"""A phone in the browser: `/phone` is the handset, `/phone/ussd` plays AT's USSD towards the hotline.

The page keeps the session id and AT's `text` (every input so far joined with `*`: `""` on dial,
then `"1"`, `"1*4"`, …) and posts them here as JSON; this module forwards them to
`{HOTLINE_URL}/ussd` form-encoded, as AT does, and hands back the raw body. The page also lists the
SMS the number received and sends SMS as the number through `/api/inbound` (`simulator.inbound`).
"""

from __future__ import annotations

import logging

import requests
from flask import Blueprint, jsonify, render_template, request

from simulator import callbacks
from simulator.errors import BadRequest
from simulator.extensions import current

log = logging.getLogger(__name__)
bp = Blueprint("phone", __name__)

DEFAULT_PHONE = "+254700000001"
MAX_FIELD = 4000  # the hotline refuses longer `text`; anything bigger is a bug in the page


def _error(message: str, status: int):
    return jsonify({"error": message}), status


def parse_screen_request(payload) -> dict[str, str]:
    """The page's {sessionId, phoneNumber, text} as strings, or BadRequest naming what is wrong."""
    if not isinstance(payload, dict):
        raise BadRequest("expected a JSON object {sessionId, phoneNumber, text}")
    fields = {}
    for name in ("sessionId", "phoneNumber", "text"):
        value = payload.get(name, "")
        if not isinstance(value, str) or len(value) > MAX_FIELD:
            raise BadRequest(f"{name} must be a string of at most {MAX_FIELD} characters")
        fields[name] = value
    if not fields["sessionId"].strip() or not fields["phoneNumber"].strip():
        raise BadRequest("sessionId and phoneNumber are required")
    return fields


def is_session_over(body: str, status: int) -> bool:
    """True when AT would close the session: an END screen, or anything but a 200 `CON ` answer."""
    return status != 200 or not body.startswith("CON ")


@bp.get("/phone")
def phone_page():
    """The handset page: number, Dial, screen, answer box."""
    config = current().config
    return render_template("phone.html", default_phone=DEFAULT_PHONE, service_code=config.ussd_service_code,
                           hotline_url=config.hotline_url, short_code=config.short_code)


@bp.post("/phone/ussd")
def forward_ussd():
    """Send one screen request to the hotline in AT's format; JSON {body, status, end}."""
    try:
        fields = parse_screen_request(request.get_json(silent=True))
    except BadRequest as exc:
        return _error(str(exc), 400)
    config = current().config
    form = {
        "sessionId": fields["sessionId"],
        "serviceCode": config.ussd_service_code,
        "phoneNumber": fields["phoneNumber"],
        "networkCode": callbacks.NETWORK_CODE,
        "text": fields["text"],
    }
    url = callbacks.url(config, "/ussd")
    try:
        response = callbacks.post(config, "/ussd", form, config.ussd_timeout)
    except requests.Timeout:
        return _error(f"the hotline at {url} did not answer within {config.ussd_timeout:g} s; "
                      "AT would have ended the session", 504)
    except requests.RequestException as exc:
        return _error(f"cannot reach the hotline at {url}: is it running? ({type(exc).__name__})", 502)
    body = response.text
    end = is_session_over(body, response.status_code)
    if end:
        _session_ended(config, form, body, response.status_code)
    return jsonify({"body": body, "status": response.status_code, "end": end})


def _session_ended(config, form: dict[str, str], body: str, status: int) -> None:
    """AT's end-of-session notification to `/ussd/events`, as AT posts it when a session ends."""
    event = {
        "sessionId": form["sessionId"],
        "serviceCode": form["serviceCode"],
        "networkCode": form["networkCode"],
        "phoneNumber": form["phoneNumber"],
        "status": "Success" if status == 200 and body.startswith("END ") else "Failed",
        "input": form["text"],
        "hopsCount": str(form["text"].count("*") + 1 if form["text"] else 1),
        "lastAppResponse": body[:200],
        "errorMessage": "" if status == 200 else f"HTTP {status}",
    }
    try:
        callbacks.post(config, "/ussd/events", event, config.ussd_timeout)
    except requests.RequestException as exc:
        log.warning("end-of-session notification not delivered: %s", type(exc).__name__)
