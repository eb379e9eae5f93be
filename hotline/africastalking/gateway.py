"""The Africa's Talking SMS gateway: the official `africastalking` SDK, at the edge.

Wire format (FACTS.md): POST `{base}/version1/messaging` with `username`, `to`, `message`,
`from`, `bulkSMSMode=1`; header `apiKey`. Success is a 2xx with
`{"SMSMessageData": {"Message": …, "Recipients": [{"statusCode", "number", "status", "cost",
"messageId"}]}}`; a 2xx can still carry a failure for every recipient. A wrong key is HTTP 401
`text/plain`; the SDK raises `AfricasTalkingException` on any non-2xx and lets `requests`
errors through. The SDK has no host setting: its base URL lives in the service's `_baseUrl`,
so a small subclass points it at `AT_API_URL` (or the local simulator).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from hotline.core.config import Config
from hotline.core.numbers import bounded_int

# Per-recipient status codes (FACTS.md): their names, and what they mean for us.
STATUS_NAMES = {
    100: "Processed",
    101: "Sent",
    102: "Queued",
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    409: "DoNotDisturbRejection",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
ACCEPTED = {100, 101, 102}  # Processed, Sent, Queued
# Worth trying again later: the account, the route or AT itself.
RETRY_LATER = {401, 402, 405, 407, 500, 501, 502}
# Will never reach this number: record and act on it.
UNDELIVERABLE = {403, 404, 406, 409}


class GatewayError(Exception):
    """AT could not take the message now (network, 5xx, 401 key, bad sender id): try again later.

    `maybe_sent` is True when the request may have reached AT though no answer came back (a read
    timeout, a connection dropped mid-answer): sending it again could make it arrive twice.
    """

    def __init__(self, message: str, maybe_sent: bool = False):
        super().__init__(message)
        self.maybe_sent = maybe_sent


def _maybe_sent(exc: requests.RequestException) -> bool:
    """False only when the request certainly never reached AT (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        return not ("NewConnectionError" in text or "Connection refused" in text or "NameResolution" in text)
    return True


@dataclass(frozen=True)
class RecipientResult:
    """AT's verdict on one recipient."""

    number: str
    status_code: int
    status: str
    message_id: str | None
    cost: str | None

    @property
    def accepted(self) -> bool:
        """AT took the message for delivery."""
        return self.status_code in ACCEPTED

    @property
    def retry_later(self) -> bool:
        """A passing failure: send again later."""
        return self.status_code in RETRY_LATER or not (self.accepted or self.undeliverable)

    @property
    def undeliverable(self) -> bool:
        """This number cannot get it (invalid, blacklisted, do-not-disturb)."""
        return self.status_code in UNDELIVERABLE


class _PointedSmsService(SMSService):
    """The SDK's SMS service with its base URL set from our configuration."""

    def __init__(self, username: str, api_key: str, base_url: str):
        self._pointed_at = base_url
        super().__init__(username, api_key)

    def _init_service(self):
        super()._init_service()
        self._baseUrl = self._pointed_at + "/version1"


class SmsGateway:
    """Sends SMS through AT; one instance per process is enough (the SDK keeps no connection)."""

    def __init__(self, config: Config):
        username = config.at_username or "sandbox"
        api_key = config.at_api_key or "simulator"
        self.service = _PointedSmsService(username, api_key, config.at_base_url)
        self.sender_id = config.at_sender_id
        self.timeout = config.at_timeout

    def send(self, message: str, recipients: list[str], enqueue: bool = False) -> list[RecipientResult]:
        """Send one message to E.164 `recipients`; GatewayError when AT did not take the request.

        `enqueue` asks AT to queue a bulk send and answer at once (status 102 Queued).
        """
        try:
            response = self.service.send(
                message, recipients, sender_id=self.sender_id, enqueue=enqueue, timeout=self.timeout
            )
        except AfricasTalkingException as exc:
            raise GatewayError(f"AT refused the request: {str(exc)[:120]}") from None
        except requests.RequestException as exc:
            raise GatewayError(f"AT unreachable: {type(exc).__name__}", maybe_sent=_maybe_sent(exc)) from None
        return parse_response(response)


def parse_response(response) -> list[RecipientResult]:
    """The per-recipient results of AT's JSON answer, or GatewayError when it makes no sense.

    Any shape is read without a crash: a field of the wrong type is as good as missing, and a recipient
    entry that is no object is AT's own failure (status 500), tried again later.
    """
    if not isinstance(response, dict):
        raise GatewayError("AT answered without JSON")
    data = response.get("SMSMessageData") or {}
    if not isinstance(data, dict):
        raise GatewayError("AT answered without SMSMessageData")
    recipients = data.get("Recipients")
    if not recipients:
        raise GatewayError(f"AT sent to nobody: {str(data.get('Message', ''))[:80] or 'no recipients'}")
    if not isinstance(recipients, list):
        raise GatewayError("AT answered without a list of recipients")
    return [_recipient(entry if isinstance(entry, dict) else {}) for entry in recipients]


def _recipient(entry: dict) -> RecipientResult:
    code = bounded_int(_text(entry.get("statusCode")), 100, 599) or 500  # junk is AT's own failure
    message_id = _text(entry.get("messageId"))
    return RecipientResult(
        number=_text(entry.get("number")),
        status_code=code,
        status=_text(entry.get("status"))[:40],
        message_id=message_id if 0 < len(message_id) <= 80 and message_id != "None" else None,
        cost=_text(entry.get("cost"))[:24] or None,
    )


def _text(value) -> str:
    """A JSON scalar as text; None, lists and objects are no value ("")."""
    return "" if value is None or isinstance(value, list | dict) else str(value)
