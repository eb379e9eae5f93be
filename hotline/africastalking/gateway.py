"""The Africa's Talking SMS gateway: the official `africastalking` SDK, at the edge.

Wire format: POST `{base}/version1/messaging` with `username`, `to` (comma-separated E.164),
`message`, `from` (sender ID), `bulkSMSMode=1`, `enqueue=1` (optional); headers `apiKey` and
`Accept: application/json`. Success is a 2xx (201 in practice) with
`{"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: KES 0.8000", "Recipients": [{"statusCode":
101, "number": "+2547…", "status": "Success", "cost": "KES 0.8000", "messageId": "ATXid_…",
"messageParts": 1}]}}`; a 2xx can still carry a failure for every recipient (`statuses`), and a bad
sender ID is a 201 with `"Message": "InvalidSenderId"` and no recipients. A recipient with
`status: "Success"` and a `messageId` but no `statusCode` (as some AT answers are) was sent.
A wrong key is HTTP 401 `text/plain`; the SDK raises `AfricasTalkingException` on any non-2xx and
lets `requests` errors through.

On a premium (on-demand) short code (AT_PREMIUM_REPLIES=yes), a reply to an SMS is a premium send: the
same path on AT's `content.` host, `from` = the short code the SMS came to, `bulkSMSMode=0` and the
`linkId` passed back (the SDK's `send_premium(..., link_id=...)`); AT refuses a premium reply
without it (failureReason InvalidLinkId).

The SDK has no host setting: its base URLs live in the service's `_baseUrl` and `_contentUrl`, so
a small subclass points them at `AT_API_URL` (or the local simulator, which serves both).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from hotline.africastalking.statuses import (
    ACCEPTED,
    AT_OWN_FAILURE,
    CODES_BY_NAME,
    RETRY_LATER,
    UNDELIVERABLE,
)
from hotline.core.config import Config
from hotline.core.numbers import bounded_int

# AT's own hosts: a premium reply goes to `content.` where everything else goes to `api.`.
LIVE_API, SANDBOX_API = "https://api.africastalking.com", "https://api.sandbox.africastalking.com"

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


@dataclass(frozen=True)
class ReplyTo:
    """What a premium reply passes back to AT: the short code the SMS came to and its `linkId`."""

    short_code: str
    link_id: str


class _PointedSmsService(SMSService):
    """The SDK's SMS service with its base URLs set from our configuration."""

    def __init__(self, username: str, api_key: str, base_url: str):
        self._pointed_at = base_url
        super().__init__(username, api_key)

    def _init_service(self):
        super()._init_service()
        self._baseUrl = self._pointed_at + "/version1"
        self._contentUrl = content_url(self._pointed_at) + "/version1"


def content_url(base_url: str) -> str:
    """Where premium SMS go: AT's `content.` host beside its `api.` host; any other host serves both."""
    if base_url in (LIVE_API, SANDBOX_API):
        return base_url.replace("://api.", "://content.", 1)
    return base_url


class SmsGateway:
    """Sends SMS through AT; one instance per process is enough (the SDK keeps no connection)."""

    def __init__(self, config: Config):
        username = config.at_username or "sandbox"
        api_key = config.at_api_key or "simulator"
        self.service = _PointedSmsService(username, api_key, config.at_base_url)
        self.sender_id = config.at_sender_id
        self.timeout = config.at_timeout

    def send(
        self, message: str, recipients: list[str], enqueue: bool = False, reply_to: ReplyTo | None = None
    ) -> list[RecipientResult]:
        """Send one message to E.164 `recipients`; GatewayError when AT did not take the request.

        `enqueue` asks AT to queue a bulk send and answer at once (status 102 Queued); `reply_to`
        makes it the premium reply to an incoming SMS (its short code and linkId).
        """
        try:
            if reply_to is not None:
                response = self.service.send_premium(
                    message, reply_to.short_code, recipients, link_id=reply_to.link_id, timeout=self.timeout
                )
            else:
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
    status = _text(entry.get("status"))[:40]
    # No readable code: the status name stands for it ("Success" is 101); else it is AT's own failure.
    code = bounded_int(_text(entry.get("statusCode")), 100, 599) or CODES_BY_NAME.get(status, AT_OWN_FAILURE)
    message_id = _text(entry.get("messageId"))
    return RecipientResult(
        number=_text(entry.get("number")),
        status_code=code,
        status=status,
        message_id=message_id if 0 < len(message_id) <= 80 and message_id != "None" else None,
        cost=_text(entry.get("cost"))[:24] or None,
    )


def _text(value) -> str:
    """A JSON scalar as text; None, lists and objects are no value ("")."""
    return "" if value is None or isinstance(value, list | dict) else str(value)
