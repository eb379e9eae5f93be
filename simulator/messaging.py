"""AT's SMS API, `POST /version1/messaging`, answered the way AT answers it.

Request (FACTS.md): form fields `username`, `to` (comma-separated E.164), `message`, optional
`from`, `bulkSMSMode`, `enqueue`; header `apiKey`. A wrong key is HTTP 401 text/plain "The supplied
authentication is invalid". Success is HTTP 201 with Content-Type exactly `application/json` (the
official SDK parses nothing else) and `{"SMSMessageData": {"Message": "Sent to N/M Total Cost: KES X",
"Recipients": [{"statusCode", "number", "status", "cost", "messageId", "messageParts"}]}}`: 101
Success, 102 Queued with `enqueue=1`, 403 InvalidPhoneNumber for a number AT cannot read, and the
configured per-recipient failures (`simulator.failures`) with cost "0" and messageId "None".
Each accepted message gets its delivery reports later (`simulator.delivery`). Queued faults
(`simulator.faults`) come before everything else, the key check included.
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, Response, jsonify, request

from flows.gsm import segments
from simulator.errors import BadRequest
from simulator.extensions import current
from simulator.failures import Failure
from simulator.store import SmsMessage

log = logging.getLogger(__name__)
bp = Blueprint("messaging", __name__)

# The check the official SDK applies before sending; AT rejects the same numbers per recipient.
PHONE_NUMBER = re.compile(r"\+\d{1,3}\d{3,}")
PRICE_PER_PART = Decimal("0.8000")  # KES, Safaricom's bulk rate as the sandbox reports it
REQUIRED_FIELDS = ("username", "to", "message")


@dataclass(frozen=True)
class Outcome:
    """What AT says about one recipient: the per-recipient status code and name."""

    status_code: int
    status: str

    @property
    def accepted(self) -> bool:
        """True when AT took the message (1xx codes) rather than refused it."""
        return self.status_code < 200


SENT = Outcome(101, "Success")
QUEUED = Outcome(102, "Queued")
INVALID_PHONE_NUMBER = Outcome(403, "InvalidPhoneNumber")


def plain(message: str, status: int) -> Response:
    """A plain-text answer, as AT gives for errors."""
    return Response(message, status=status, mimetype="text/plain")


def api_key_ok() -> bool:
    """True when no key is configured or the request's `apiKey` header matches it."""
    expected = current().config.at_api_key
    if not expected:
        return True
    given = request.headers.get("apiKey", "")
    return hmac.compare_digest(given.encode(), expected.encode())


def outcome_for(number: str, enqueue: bool, failure: Failure | None = None) -> Outcome:
    """AT's verdict for one recipient: unreadable, refused as configured, queued or sent."""
    if not PHONE_NUMBER.fullmatch(number):
        return INVALID_PHONE_NUMBER
    if failure is not None and failure.at_send:
        return Outcome(failure.status_code, failure.status)
    return QUEUED if enqueue else SENT


@dataclass(frozen=True)
class SmsRequest:
    """One call of the SMS API, as read from its form."""

    username: str
    numbers: tuple[str, ...]
    message: str
    sender: str | None
    enqueue: bool


def parse_sms_request(form) -> SmsRequest:
    """An SmsRequest from AT's form fields, or BadRequest with AT's reason."""
    for name in REQUIRED_FIELDS:
        if not form.get(name, "").strip():
            raise BadRequest(f"Request is missing required form field '{name}'")
    numbers = tuple(number.strip() for number in form["to"].split(",") if number.strip())
    if not numbers:
        raise BadRequest("Request is missing required form field 'to'")
    return SmsRequest(
        username=form["username"].strip(),
        numbers=numbers,
        message=form["message"],
        sender=form.get("from", "").strip() or None,
        enqueue=form.get("enqueue", "").strip().lower() in ("1", "true"),
    )


def _kes(amount: Decimal) -> str:
    return f"KES {amount:.4f}"


def _recipient(number: str, outcome: Outcome, cost: str, message_id: str, parts: int) -> dict:
    return {"statusCode": outcome.status_code, "number": number, "status": outcome.status, "cost": cost,
            "messageId": message_id, "messageParts": parts}


@bp.post("/version1/messaging")
def send_sms():
    """Accept a bulk SMS: keep one message per valid recipient and answer with AT's JSON."""
    simulator = current()
    fault = simulator.faults.take()
    if fault is not None:
        simulator.faults.stall(fault)
        if fault.status is not None:
            return plain(fault.body, fault.status)
    if not api_key_ok():
        return plain("The supplied authentication is invalid", 401)
    try:
        sms = parse_sms_request(request.form)
    except BadRequest as exc:
        return plain(str(exc), 400)
    parts = segments(sms.message)
    cost = PRICE_PER_PART * parts
    recipients = []
    sent = 0
    for number in sms.numbers:
        failure = simulator.failures.get(number)
        outcome = outcome_for(number, sms.enqueue, failure)
        if not outcome.accepted:
            # AT's shape for a refused recipient: no message id, nothing charged.
            recipients.append(_recipient(number, outcome, "0", "None", 0))
            continue
        message = SmsMessage(
            id=f"ATXid_{uuid.uuid4().hex}",
            to=number,
            sender=sms.sender,
            message=sms.message,
            received_at=datetime.now(UTC),
            status=outcome.status,
            status_code=outcome.status_code,
            cost=_kes(cost),
            parts=parts,
        )
        simulator.messages.add(message)
        simulator.delivery.schedule(message, failure)
        sent += 1
        recipients.append(_recipient(number, outcome, message.cost, message.id, parts))
    log.info("SMS accepted for %d of %d recipients", sent, len(recipients))
    # AT writes a bare 0 when nothing was charged.
    total = _kes(cost * sent) if sent else "0"
    summary = f"Sent to {sent}/{len(recipients)} Total Cost: {total}"
    response = jsonify({"SMSMessageData": {"Message": summary, "Recipients": recipients}})
    response.status_code = 201
    return response
