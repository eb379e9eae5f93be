"""Sending an SMS as a simulated phone: `POST /api/inbound` plays AT's incoming-SMS callback.

Request JSON `{"from": "+2547…", "text": "…", "to"?: short code (SIM_SHORT_CODE, default 21606),
"id"?: reuse an id to resend the same SMS as AT does when it retries, "linkId"?}`. The simulator
posts to `{HOTLINE_URL}/sms/inbound` (plus `?token=` when WEBHOOK_TOKEN is set), form-encoded with
AT's fields: `date` (`YYYY-MM-DD HH:MM:SS`, UTC), `from`, `to`, `text`, `id`, `linkId`,
`networkCode`; and answers `{"status", "body", "id"}` with the hotline's answer, or 502 `{"error"}`
when the hotline cannot be reached.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import requests
from flask import Blueprint, jsonify, request

from simulator import callbacks
from simulator.errors import BadRequest
from simulator.extensions import current

bp = Blueprint("inbound", __name__)

PATH = "/sms/inbound"
MAX_TEXT = 4000
MAX_FIELD = 64


def _string(payload: dict, name: str, limit: int, default: str | None = None) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"{name} must be a string of at most {limit} characters")
    return value.strip() if name != "text" else value


def parse_inbound(payload, short_code: str) -> dict[str, str]:
    """AT's incoming-SMS form from the page's or a test's JSON, or BadRequest naming what is wrong."""
    if not isinstance(payload, dict):
        raise BadRequest('expected a JSON object {"from": "+2547…", "text": "…"}')
    sender = _string(payload, "from", MAX_FIELD, "")
    if not sender:
        raise BadRequest("from (the phone number sending the SMS) is required")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "from": sender,
        "to": _string(payload, "to", MAX_FIELD, "") or short_code,
        "text": _string(payload, "text", MAX_TEXT, ""),
        "id": _string(payload, "id", MAX_FIELD, "") or str(uuid.uuid4()),
        "linkId": _string(payload, "linkId", MAX_FIELD, "") or str(uuid.uuid4()),
        "networkCode": callbacks.NETWORK_CODE,
    }


@bp.post("/api/inbound")
def send_as_phone():
    """Post one SMS from a phone to the hotline as AT does; JSON {status, body, id}."""
    config = current().config
    try:
        form = parse_inbound(request.get_json(silent=True), config.short_code)
    except BadRequest as exc:
        return jsonify({"error": str(exc)}), 400
    try:
        response = callbacks.post(config, PATH, form, config.callback_timeout)
    except requests.RequestException as exc:
        url = callbacks.url(config, PATH)
        return jsonify({"error": f"cannot reach the hotline at {url}: is it running? ({type(exc).__name__})",
                        "id": form["id"]}), 502
    return jsonify({"status": response.status_code, "body": response.text, "id": form["id"]})
