"""AT's SMS API, `POST /version1/messaging`, answered the way AT answers it.

Request (as AT documents it): form fields `username`, `to` (comma-separated E.164), `message`, optional
`from`, `bulkSMSMode`, `enqueue`; header `apiKey`. A premium reply (the SDK's `send_premium`, on
AT's `content.` host, which this one plays too) has `from` = the short code, `bulkSMSMode=0` and the
`linkId` of the SMS it answers, kept with the message (`/api/messages` shows it as `linkId`). A
wrong key is HTTP 401 text/plain "The supplied authentication is invalid". Success is HTTP 201 with
Content-Type exactly `application/json` (the official SDK parses nothing else) and
`{"SMSMessageData": {"Message": "Sent to N/M Total Cost: KES X", "Recipients": [{"statusCode",
"number", "status", "cost", "messageId", "messageParts"}]}}`: 101 Success, 102 Queued with
`enqueue=1`, 403 InvalidPhoneNumber for a number AT cannot read, and the configured per-recipient
failures (`simulator.failures`) with cost "0" and messageId "None".
Every call first waits SIM_SEND_LATENCY seconds (none by default), as a call to AT takes a network
round trip and AT's own processing; calls in parallel wait in parallel.
Each accepted message gets its delivery reports later (`simulator.delivery`). Queued faults
(`simulator.faults`) come before everything else, the key check included.

A campaign posts a thousand recipients per call, a thousand calls in a row, so the per-recipient
work is kept small: the store adds one call's messages at once (`MessageStore.add_sent`) and the
answer is written as text, byte for byte what `jsonify` would give (compact, keys sorted).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, Response, request

from flows.gsm import segments
from simulator.errors import BadRequest
from simulator.extensions import current
from simulator.failures import Failure
from simulator.store import Send

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
    link_id: str | None = None


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
        link_id=form.get("linkId", "").strip() or None,
    )


def _kes(amount: Decimal) -> str:
    return f"KES {amount:.4f}"


def _recipients_json(recipients: list[tuple[str, Outcome, str, str, int]]) -> list[str]:
    """Each recipient as jsonify writes it (compact, keys sorted), from (number, outcome, cost,
    messageId, parts); one template per kind of outcome, as a thousand recipients share a few."""
    templates: dict = {}
    encoded = []
    for number, outcome, cost, message_id, parts in recipients:
        key = (outcome, cost, parts)
        template = templates.get(key)
        if template is None:
            template = templates[key] = (
                f'{{"cost":{json.dumps(cost)},"messageId":',
                f',"messageParts":{parts},"number":',
                f',"status":{json.dumps(outcome.status)},"statusCode":{outcome.status_code}}}',
            )
        # Ids and accepted numbers are plain ASCII: only a refused number may need escaping.
        number = f'"{number}"' if outcome.accepted else json.dumps(number)
        encoded.append(f'{template[0]}"{message_id}"{template[1]}{number}{template[2]}')
    return encoded


@bp.post("/version1/messaging")
def send_sms():
    """Accept a bulk SMS: keep one message per valid recipient and answer with AT's JSON."""
    simulator = current()
    if simulator.config.send_latency:
        time.sleep(simulator.config.send_latency)
    response = _send_sms(simulator)
    simulator.messages.count_request(response.status_code)
    return response


def _send_sms(simulator) -> Response:
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
    each = _kes(cost)
    failures = simulator.failures.snapshot()
    outcomes = []  # (number, outcome, failure) in the request's order
    accepted: list[str] = []
    refused: dict[int, int] = {}
    for number in sms.numbers:
        failure = failures.get(number)
        outcome = outcome_for(number, sms.enqueue, failure)
        outcomes.append((number, outcome, failure))
        if outcome.accepted:
            accepted.append(number)
        else:
            refused[outcome.status_code] = refused.get(outcome.status_code, 0) + 1
    sent = QUEUED if sms.enqueue else SENT
    send = Send(
        sms.sender, sms.message, datetime.now(UTC), sent.status, sent.status_code, each, parts, sms.link_id
    )
    ids = iter(simulator.messages.add_sent(send, accepted, refused))
    recipients = []
    reports = simulator.delivery.enabled
    for number, outcome, failure in outcomes:
        if outcome.accepted:
            message_id = next(ids)
            recipients.append((number, outcome, each, message_id, parts))
            if reports:
                simulator.delivery.schedule(message_id, number, failure)
        else:
            # AT's shape for a refused recipient: no message id, nothing charged.
            recipients.append((number, outcome, "0", "None", 0))
    log.info("SMS accepted for %d of %d recipients", len(accepted), len(recipients))
    # AT writes a bare 0 when nothing was charged.
    total = _kes(cost * len(accepted)) if accepted else "0"
    summary = json.dumps(f"Sent to {len(accepted)}/{len(recipients)} Total Cost: {total}")
    body = (f'{{"SMSMessageData":{{"Message":{summary},"Recipients":['
            + ",".join(_recipients_json(recipients)) + "]}}\n")
    return Response(body, status=201, mimetype="application/json")
